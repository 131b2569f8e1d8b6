"""Pure-Python shape inference for the fast ONNX path (no NumPy, no onnx).

`FastShapes` is the fast path's `onnx_graph.Shapes`: it gives each node's outputs from rules
for the ops plain CNN and transformer exports use, each a transcription of the output-shape
and type rules of the ONNX operator spec (onnx/docs/Operators.md; broadcasting per
onnx/docs/Broadcasting.md), then folds small values as `onnx_infer.NodeShapes._fold` does.
Every rule checks what ONNX's own inference checks (ranks, matching sizes, dtypes) and raises
`NotFastError` on anything it cannot settle with concrete dimensions: the model is then lowered
through onnx, so the fast path only ever returns what that path returns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flopcount.frontends.onnx_fastfold import FOLDED_OPS, fast_fold, fast_shape_value
from flopcount.frontends.onnx_fastnn import NN_RULES
from flopcount.frontends.onnx_fastrules import MOVEMENT_RULES, Ins, Outs
from flopcount.frontends.onnx_graph import CONST_INPUTS
from flopcount.frontends.onnx_proto import (
    ATTR_FLOAT,
    ATTR_FLOATS,
    ATTR_INT,
    ATTR_INTS,
    dtype_name,
    small_value,
)
from flopcount.frontends.onnx_small import NotFastError, Small, f32
from flopcount.frontends.onnx_values import Value

__all__ = ["RULES", "SINCE", "FastShapes"]

RULES = {**MOVEMENT_RULES, **NN_RULES}
# The opset each op entered the default domain (Operators.md): before it, no schema.
SINCE = {"Gelu": 20, "LayerNormalization": 17, "Trilu": 14, "HardSwish": 14, "Mish": 18}


class FastShapes:
    """Node outputs from the pure rules; every output it gave, by name, in ``values``."""

    def __init__(self, versions: dict[str, int], notes: list[str]) -> None:
        self.versions = versions
        self.notes = notes
        self.values: dict[str, Value] = {}

    def outputs(self, node: Any, attrs: dict[str, Any], ins: Ins, label: str) -> list[Value]:
        """One `Value` per output of ``node``; `NotFastError` when a rule cannot settle it."""
        if node.domain not in ("", "ai.onnx"):
            raise NotFastError(f"op {node.domain}::{node.op_type}")
        producer = f"output of {node.op_type} node {label!r}"
        if node.op_type == "Constant":
            outs = [_constant(node, producer)]
        else:
            for value in ins:
                if value is not None and (value.sequence or not _concrete(value.shape)):
                    raise NotFastError(f"input {value.name!r} of unknown shape")
            rule = RULES.get(node.op_type)
            version = self.versions.get("ai.onnx", 1)
            if rule is None or version < SINCE.get(node.op_type, 1):
                raise NotFastError(f"no shape rule for {node.op_type}")
            _check_moved(node, version)
            found: Outs = rule(node, attrs, ins)
            if len(found) != len(node.output):
                raise NotFastError(f"{node.op_type} with {len(node.output)} outputs")
            outs = [
                Value(name=name, dtype=dtype, shape=tuple(shape), producer=producer)
                for name, (dtype, shape) in zip(node.output, found)
            ]
            self._fold(node, attrs, ins, outs)
        for value in outs:
            if value.name:
                self.values[value.name] = value
        return outs

    def _fold(self, node: Any, attrs: dict[str, Any], ins: Ins, outs: list[Value]) -> None:
        """`onnx_infer.NodeShapes._fold`, with the pure folders."""
        if len(outs) != 1 or not ins or ins[0] is None:
            return
        op = node.op_type
        if op in ("Shape", "Size"):
            value = fast_shape_value(op, ins[0].concrete or (), attrs)
        elif op in FOLDED_OPS and all(v is None or v.value is not None for v in ins):
            value = fast_fold(op, [v.value for v in ins if v is not None], attrs)
        else:
            return
        if value is not None:
            if value.shape != outs[0].shape:
                raise NotFastError(f"{op} folds to shape {value.shape}, not {outs[0].shape}")
            outs[0].value = value


# Reduce ops that kept an ``axes`` attribute until opset 18 (ReduceSum moved it at 13).
_AXES_ATTR_UNTIL_18 = frozenset(
    {"ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
     "ReduceLogSum", "ReduceLogSumExp", "ReduceSumSquare"}
)  # fmt: skip


# Attributes and inputs added to an op's schema at an opset inside FAST_OPSETS (Operators.md
# version history): used at an older opset, ONNX's inference rejects the node.
_ATTR_SINCE = {
    ("Reshape", "allowzero"): 14, ("Split", "num_outputs"): 18, ("Shape", "start"): 15,
    ("Shape", "end"): 15, ("AveragePool", "dilations"): 19, ("Cast", "saturate"): 19,
    ("BatchNormalization", "training_mode"): 14,
}  # fmt: skip
_ATTR_SINCE.update({(op, "noop_with_empty_axes"): 18 for op in _AXES_ATTR_UNTIL_18})
_INPUT_SINCE = {("Pad", 3): 18}
_INPUT_SINCE.update({(op, 1): 18 for op in _AXES_ATTR_UNTIL_18})


def _check_moved(node: Any, version: int) -> None:
    """`NotFastError` for an attribute the op's schema at this opset takes as an input
    (Unsqueeze's ``axes`` since 13...): `Lowering` prefers the attribute, ONNX the input; and
    for an attribute or input the schema gains only at a later opset."""
    moved = set(CONST_INPUTS.get(node.op_type, {}).values())
    clash = moved.intersection(attr.name for attr in node.attribute) if moved else set()
    if clash and not (clash == {"axes"} and node.op_type in _AXES_ATTR_UNTIL_18 and version < 18):
        raise NotFastError(f"{node.op_type} attributes {sorted(clash)} at opset {version}")
    for attr in node.attribute:
        if version < _ATTR_SINCE.get((node.op_type, attr.name), 0):
            raise NotFastError(f"{node.op_type} attribute {attr.name!r} at opset {version}")
    for index, name in enumerate(node.input):
        if name and version < _INPUT_SINCE.get((node.op_type, index), 0):
            raise NotFastError(f"{node.op_type} input {index} at opset {version}")


def _concrete(shape: Any) -> bool:
    """Whether ``shape`` is a tuple of ints (every rule reads input shapes as such)."""
    return type(shape) is tuple and all(type(d) is int for d in shape)


def _scalar(attr: Any, is_int: bool, many: bool) -> Small:
    """The value of a Constant's ``value_int(s)`` / ``value_float(s)`` attribute (NumPy's
    int64 / float32 arrays in `onnx_infer._constant`)."""
    dtype = "int64" if is_int else "float32"
    cast: Callable[[Any], Any] = int if is_int else f32
    raw = (attr.ints if is_int else attr.floats) if many else [attr.i if is_int else attr.f]
    shape = (len(raw),) if many else ()
    return Small(dtype, shape, tuple(cast(x) for x in raw))


def _constant(node: Any, producer: str) -> Value:
    """`onnx_infer._constant` for the tensor and number attributes; `NotFastError` for others."""
    name = node.output[0] if len(node.output) == 1 else ""
    if not name or len(node.attribute) != 1:
        raise NotFastError("a Constant without exactly one output and one attribute")
    attr = node.attribute[0]
    if attr.name == "value":
        tensor = attr.t
        return Value(
            name=name, dtype=dtype_name(tensor.data_type), shape=tuple(tensor.dims),
            value=small_value(tensor), kind="constant", producer=producer,
        )  # fmt: skip
    kinds = {"value_int": ATTR_INT, "value_ints": ATTR_INTS, "value_float": ATTR_FLOAT}
    kinds["value_floats"] = ATTR_FLOATS
    if kinds.get(attr.name) != attr.type:
        raise NotFastError(f"Constant attribute {attr.name!r}")
    value = _scalar(attr, attr.name.startswith("value_int"), attr.name.endswith("s"))
    return Value(
        name=name, dtype=value.dtype, shape=value.shape, value=value, kind="constant",
        producer=producer,
    )  # fmt: skip
