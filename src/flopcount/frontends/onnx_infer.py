"""Output shapes and small values of one ONNX node, from every source flopcount has.

In order of trust: (1) the whole-model ONNX shape inference run once before lowering (with
data propagation and the user's bindings), (2) where that left a dimension unknown, ONNX's
per-node inference of the node's schema fed with flopcount's own knowledge of its inputs,
including small folded values, (3) flopcount's rules for the com.microsoft contrib ops,
(4) constant folding (`onnx_fold`), whose value fixes the shape exactly, and (5) for ops whose
output size depends on tensor values (NonZero, Unique...), the documented upper bound, with a
note and a name to bind the true size with.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import onnx
from onnx import defs, helper, numpy_helper, shape_inference

from flopcount.errors import ShapeError
from flopcount.frontends import onnx_msft_shapes as msft
from flopcount.frontends.onnx_fold import FOLDERS, fold, shape_value
from flopcount.frontends.onnx_load import dtype_name, elem_type, small_value
from flopcount.frontends.onnx_values import Dim, Shape, Symbols, Value, type_shape

__all__ = ["NodeShapes"]

# Outputs whose size depends on tensor values, with their upper bounds (`_bounds`).
DATA_DEPENDENT = frozenset({"NonZero", "Compress", "Unique", "NonMaxSuppression", "TopK"})


# Ops ONNX Runtime defines in the default domain although ONNX does not (its optimizer emits
# them there): shaped by the contrib rules.
ORT_DEFAULT_DOMAIN = frozenset({"SimplifiedLayerNormalization"})

# ai.onnx ops whose schema has no shape inference (function ops): the output is X's shape.
SAME_SHAPE = frozenset({"MeanVarianceNormalization"})


def _unknowns(shape: Shape) -> int:
    return 1 << 20 if shape is None else sum(isinstance(d, str) for d in shape)


class NodeShapes:
    """Infers node outputs; holds the whole-model inference result and the symbol bindings."""

    def __init__(
        self,
        inferred: dict[str, onnx.TypeProto],
        symbols: Symbols,
        opsets: list[onnx.OperatorSetIdProto],
        notes: list[str],
    ) -> None:
        self.inferred = inferred
        self.symbols = symbols
        self.opsets = opsets
        self.versions = {o.domain or "ai.onnx": o.version for o in opsets}
        self.notes = notes

    def _from_type(self, name: str) -> Value:
        type_proto = self.inferred.get(name)
        if type_proto is None:
            return Value(name=name, dtype="", shape=None)
        dtype, shape, sequence = type_shape(type_proto, name)
        return Value(name=name, dtype=dtype, shape=self.symbols.shape(shape), sequence=sequence)

    def outputs(
        self, node: onnx.NodeProto, attrs: dict[str, Any], ins: list[Value | None], label: str
    ) -> list[Value]:
        """One `Value` per output name of ``node`` (an empty name gets an unused placeholder)."""
        producer = f"output of {node.op_type} node {label!r}"
        if node.op_type == "Constant" and node.domain in ("", "ai.onnx"):
            return [_constant(node, producer)]
        outs = [self._from_type(name) for name in node.output]
        if any(_unknowns(v.shape) and not v.sequence for v in outs):
            for value, (dtype, shape) in zip(outs, self._candidates(node, attrs, ins)):
                if _unknowns(shape) < _unknowns(value.shape):
                    value.shape = shape
                value.dtype = value.dtype or dtype
        self._fold(node, attrs, ins, outs)
        if node.op_type == "Reshape" and node.domain in ("", "ai.onnx"):
            _check_reshape(ins, outs, label)
        if node.op_type in DATA_DEPENDENT:
            self._bound(node, ins, outs, attrs, label)
        first = next((v.dtype for v in ins if v is not None), "float32")
        for value in outs:
            value.dtype = value.dtype or first
            value.producer = producer
            self._tensor_bindings(value)
        return outs

    def _tensor_bindings(self, value: Value) -> None:
        """Apply ``dims["TENSOR[AXIS]"]`` bindings now, so later nodes see the sizes."""
        if value.shape is None or not any(isinstance(d, str) for d in value.shape):
            return
        dims: list[Dim] = []
        for axis, dim in enumerate(value.shape):
            bound = self.symbols.resolve(f"{value.name}[{axis}]") if isinstance(dim, str) else dim
            dims.append(bound if isinstance(bound, int) else dim)
        value.shape = tuple(dims)

    def _candidates(
        self, node: onnx.NodeProto, attrs: dict[str, Any], ins: list[Value | None]
    ) -> list[tuple[str, Shape]]:
        domain = node.domain or "ai.onnx"
        shapes = [None if v is None else v.shape for v in ins]
        if domain == "com.microsoft" or node.op_type in ORT_DEFAULT_DOMAIN:
            return self._msft(node, attrs, ins, shapes)
        if domain == "ai.onnx" and node.op_type in SAME_SHAPE:
            return [(ins[0].dtype, shapes[0])] if ins and ins[0] is not None else []
        if domain == "ai.onnx":
            return self._onnx_node(node, ins, self.versions.get("ai.onnx", 1))
        return []

    def _msft(
        self, node: onnx.NodeProto, attrs: dict[str, Any], ins: list[Value | None], shapes: list
    ) -> list[tuple[str, Shape]]:
        dtype = _msft_dtype(node.op_type, ins)
        if node.op_type in msft.SAME_AS_INPUT:
            return [(dtype, shapes[0])] * len(node.output)
        rule = msft.MSFT_RULES.get(node.op_type)
        if rule is not None:
            return [(dtype, s) for s in rule(attrs, shapes)]
        if node.op_type in msft.AS_ONNX_OP and not attrs.get("channels_last"):
            op, count = msft.AS_ONNX_OP[node.op_type]
            schema_attrs = _schema_attributes(op)
            proxy = helper.make_node(op, list(node.input[:count]), list(node.output[:1]))
            proxy.attribute.extend(a for a in node.attribute if a.name in schema_attrs)
            return self._onnx_node(proxy, ins[:count], self.versions.get("ai.onnx", 1))
        return []

    def _onnx_node(
        self, node: onnx.NodeProto, ins: list[Value | None], version: int
    ) -> list[tuple[str, Shape]]:
        """ONNX's own inference of this one node from flopcount's view of its inputs."""
        types, data = {}, {}
        for name, value in zip(node.input, ins):
            if value is None or value.shape is None or value.sequence:
                continue
            types[name] = helper.make_tensor_type_proto(elem_type(value.dtype), value.shape)
            if value.value is not None:
                data[name] = numpy_helper.from_array(value.value, name)
        try:
            schema = defs.get_schema(node.op_type, version, node.domain)
            result = shape_inference.infer_node_outputs(
                schema, node, types, data, opset_imports=self.opsets
            )
        except Exception:  # ONNX raises several types (SchemaError, InferenceError, ...)
            return []
        found: list[tuple[str, Shape]] = []
        for name in node.output:
            type_proto = result.get(name)
            if type_proto is None:
                found.append(("", None))
                continue
            dtype, shape, _ = type_shape(type_proto, name)
            found.append((dtype, self.symbols.shape(shape)))
        return found

    def _fold(
        self, node: onnx.NodeProto, attrs: dict[str, Any], ins: list[Value | None], outs: list
    ) -> None:
        if node.domain not in ("", "ai.onnx") or len(outs) != 1 or not ins or ins[0] is None:
            return
        op = node.op_type
        if op in ("Shape", "Size"):
            dims = ins[0].concrete
            value = None if dims is None else shape_value(op, dims, attrs)
        elif op in FOLDERS and all(v is None or v.value is not None for v in ins):
            value = fold(op, [v.value for v in ins if v is not None], attrs)  # type: ignore[misc]
        else:
            return
        if value is not None:
            outs[0].value = value
            outs[0].shape = tuple(int(d) for d in value.shape)

    def _bound(
        self,
        node: onnx.NodeProto,
        ins: list[Value | None],
        outs: list[Value],
        attrs: dict[str, Any],
        label: str,
    ) -> None:
        """Replace value-dependent dimensions by their bound (or the user's binding)."""
        bound = _upper_bound(node.op_type, ins, attrs)
        if bound is None:
            return
        for value in outs:
            if value.shape is None:
                continue
            dims: list[Dim] = list(value.shape)
            for axis, dim in enumerate(dims):
                if not isinstance(dim, str):
                    continue
                key = f"{value.name}[{axis}]"
                size = self.symbols.resolve(key)
                if isinstance(size, str):
                    size = bound
                    self.notes.append(
                        f"{node.op_type} node {label!r}: axis {axis} of {value.name!r} depends on "
                        f"tensor values; counted its upper bound {bound} (bind the true size "
                        f"with --dim '{key}=VALUE')"
                    )
                dims[axis] = size
            value.shape = tuple(dims)


def _check_reshape(ins: list[Value | None], outs: list[Value], label: str) -> None:
    """A Reshape must keep its element count; a mismatch means the model baked a size."""
    before = ins[0].concrete if ins and ins[0] is not None else None
    after = outs[0].concrete if outs else None
    if before is None or after is None or math.prod(before) == math.prod(after):
        return
    raise ShapeError(
        f"Reshape node {label!r} reshapes {before} ({math.prod(before):,} elements) to {after} "
        f"({math.prod(after):,}): the model's shape computation holds a size fixed at export "
        "time (torch.onnx's tracer bakes some sizes into constants); analyse it with the "
        "dimension values it was exported with, or re-export with those you want"
    )


def _upper_bound(op: str, ins: list[Value | None], attrs: dict[str, Any]) -> int | None:
    """The largest size a value-dependent output dimension of ``op`` can take."""
    x = ins[0].concrete if ins and ins[0] is not None else None
    if x is None:
        return None
    axis = attrs.get("axis")
    if op == "NonZero" or (op == "Unique" and axis is None):
        return math.prod(x)
    if op in ("Unique", "TopK"):
        return x[int(axis if axis is not None else -1) % len(x)]
    if op == "Compress":
        cond = ins[1].concrete if len(ins) > 1 and ins[1] is not None else None
        size = math.prod(x) if axis is None else x[int(axis) % len(x)]
        return size if cond is None else min(size, cond[0])
    if op == "NonMaxSuppression":
        scores = ins[1].concrete if len(ins) > 1 and ins[1] is not None else None
        if scores is None or len(x) != 3:
            return None
        given = len(ins) > 2 and ins[2] is not None  # absent: 0 boxes (ONNX spec default)
        per_class = min(x[1], int(attrs.get("max_output_boxes_per_class", x[1] if given else 0)))
        return scores[0] * scores[1] * per_class
    return None


def _constant(node: onnx.NodeProto, producer: str) -> Value:
    """The output of a Constant node, from whichever ``value*`` attribute it carries."""
    name = node.output[0]
    for attr in node.attribute:
        if attr.name == "value":
            return Value(
                name=name, dtype=dtype_name(attr.t.data_type), shape=tuple(attr.t.dims),
                value=small_value(attr.t), kind="constant", producer=producer,
            )  # fmt: skip
        if attr.name == "sparse_value":
            dims = tuple(attr.sparse_tensor.dims)
            return Value(name, dtype_name(attr.sparse_tensor.values.data_type), dims)
        if attr.name in ("value_float", "value_floats", "value_int", "value_ints"):
            raw = helper.get_attribute_value(attr)
            is_int = attr.name.startswith("value_int")
            value = np.array(raw, dtype=np.int64 if is_int else np.float32)
            return Value(
                name=name, dtype=str(value.dtype), shape=value.shape, value=value,
                kind="constant", producer=producer,
            )  # fmt: skip
        if attr.name in ("value_string", "value_strings"):
            shape = () if attr.name == "value_string" else (len(attr.strings),)
            return Value(name=name, dtype="string", shape=shape, kind="constant")
    return Value(name=name, dtype="float32", shape=None, producer=producer)


def _schema_attributes(op: str) -> set[str]:
    try:
        return set(defs.get_schema(op).attributes)
    except Exception:
        return set()


def _msft_dtype(op: str, ins: list[Value | None]) -> str:
    """The output dtype of a contrib op: the y zero point's for QLinear*, else input 0's."""
    zero_point = {"QLinearAdd": 7, "QLinearMul": 7, "QLinearConv": 7, "QGemm": 8}.get(op)
    if op.startswith("QLinear") and zero_point is None:
        zero_point = 4 if op != "QLinearConcat" else 1
    if zero_point is not None and zero_point < len(ins) and ins[zero_point] is not None:
        return ins[zero_point].dtype  # type: ignore[union-attr]
    if op in ("DynamicQuantizeMatMul", "MatMulIntegerToFloat", "QAttention"):
        return "float32"
    if op == "EmbedLayerNormalization" and len(ins) > 2 and ins[2] is not None:
        return ins[2].dtype
    return ins[0].dtype if ins and ins[0] is not None else "float32"
