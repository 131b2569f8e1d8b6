"""Build the IR `Graph` from pruned, shape-inferred TensorFlow nodes.

Sources become tensor specs, not nodes: placeholders are the graph's inputs; variables and
frozen weights are parameters (non-trainable variables and batch-norm statistics are buffers);
other constants are constants. A frozen graph has lost the trainable flag, so there every
floating-point constant with more than one element counts as a parameter.
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

from flopcount.errors import FrontendError
from flopcount.frontends import tf_lower_nn  # noqa: F401  (registers the NN lowerings)
from flopcount.frontends.tf_graph import TfGraph, TfNode, scope_of, split_ref
from flopcount.frontends.tf_infer import Inference
from flopcount.frontends.tf_lower import LOWERERS, Ctx, tf_dtype
from flopcount.frontends.tf_shapes import TfTensor
from flopcount.ir import Graph, Node, TensorKind, TensorSpec

__all__ = ["build_graph"]

_ALIASES = frozenset(
    {"Identity", "IdentityN", "Snapshot", "StopGradient", "PreventGradient", "CheckNumerics",
     "EnsureShape", "PlaceholderWithDefault", "ReadVariableOp"}
)  # fmt: skip
_VIEWS = frozenset({"Reshape", "Squeeze", "ExpandDims", "Transpose"})
# Ops that move or read integer shape values; with known values they are folded. Arithmetic on
# shape values (Mul, Add, Prod...) is kept: it is integer work (``int_ops``), and the profiler
# counts it too.
_SHAPE_OPS = frozenset(
    {"Shape", "ShapeN", "Size", "Rank", "StridedSlice", "Slice", "Pack", "Unpack", "ConcatV2",
     "Concat", "Reshape", "Squeeze", "ExpandDims", "Transpose", "Cast", "GatherV2", "Gather",
     "Range", "Fill", "Tile"}
)  # fmt: skip
_FLOATS = frozenset({"float32", "float64", "float16", "bfloat16"})
_SOURCES = frozenset({"VariableV2", "Variable", "VarHandleOp"})


class _Builder:
    def __init__(self, tfg: TfGraph, inference: Inference) -> None:
        self.tfg = tfg
        self.tensors = inference.tensors
        self.specs: dict[str, TensorSpec] = {}
        self.sources: dict[str, TensorSpec] = {}  # stored tensors, at their stored shape
        self.graph = Graph(framework="tensorflow", name=tfg.name)
        self.folded: dict[str, Counter[str]] = {}
        self.index: dict[str, list[int]] = {}
        for ref in sorted(self.tensors, key=split_ref):
            name, i = split_ref(ref)
            self.index.setdefault(name, []).append(i)

    def outputs_of(self, node: TfNode) -> list[tuple[str, TfTensor]]:
        """The node's inferred outputs, ``("node:i", tensor)`` by output index."""
        return [
            (f"{node.name}:{i}", self.tensors[f"{node.name}:{i}"])
            for i in self.index.get(node.name, [])
        ]

    def fold(self, node: TfNode, why: str, specs: list[tuple[str, TensorSpec]]) -> None:
        self.folded.setdefault(why, Counter())[node.op] += 1
        self.specs.update(specs)

    def source(self, name: str, tensor: TfTensor, kind: TensorKind) -> TensorSpec:
        shape = tensor.handle if tensor.handle is not None else tensor.shape
        spec = TensorSpec(shape, tf_dtype(tensor.dtype), name, kind)
        self.sources[name] = spec
        return spec

    def variable(self, node: TfNode, tensor: TfTensor) -> TensorSpec:
        """A variable (VariableV2, VarHandleOp, a captured resource placeholder) as a spec."""
        var = self.tfg.variables.get(node.name)
        name = var.name if var else str(node.attrs.get("shared_name") or node.name)
        kind: TensorKind = "parameter" if var is None or var.trainable else "buffer"
        if var is not None:
            tensor = TfTensor(tensor.shape, var.dtype, None, var.shape)
        elif tensor.dtype == "resource":
            if tensor.handle is None:  # shape unknown here: its reads carry TF's static shape
                return TensorSpec((), "string", name, kind)
            dtype = str(node.attrs.get("dtype", "float32"))
            tensor = TfTensor((), "float32" if dtype == "resource" else dtype, None, tensor.handle)
        return self.source(name, tensor, kind)

    def add(self, node: TfNode) -> None:
        outs = self.outputs_of(node)
        op = node.op
        if (
            op == "Placeholder"
            and outs[0][1].dtype != "resource"
            and node.name not in self.tfg.variables
        ):
            spec = TensorSpec(outs[0][1].shape, tf_dtype(outs[0][1].dtype), node.name, "input")
            self.graph.inputs.append(spec)
            self.specs[outs[0][0]] = spec
        elif op == "Placeholder" or op in _SOURCES:
            self.specs[outs[0][0]] = self.variable(node, outs[0][1])
        elif op == "Const":
            ref, tensor = outs[0]
            weight = tensor.dtype in _FLOATS and math.prod(tensor.shape) > 1
            self.specs[ref] = self.source(node.name, tensor, "parameter" if weight else "constant")
        else:
            self.add_computed(node, outs)

    def add_computed(self, node: TfNode, outs: list[tuple[str, TfTensor]]) -> None:
        ins = [self.spec(ref) for ref in node.inputs]
        if node.op in _ALIASES:
            specs = [
                (ref, replace(ins[i], shape=t.shape, dtype=tf_dtype(t.dtype)))
                for i, (ref, t) in enumerate(outs)
            ]
            self.fold(node, "identities", specs)
        elif node.op in _VIEWS and ins and ins[0].kind != "activation" and ins[0].kind != "input":
            ref, tensor = outs[0]
            self.fold(node, "views of weights", [(ref, replace(ins[0], shape=tensor.shape))])
        elif node.op in _SHAPE_OPS and outs and all(t.value is not None for _, t in outs):
            specs = [
                (ref, TensorSpec(t.shape, tf_dtype(t.dtype), ref, "constant")) for ref, t in outs
            ]
            self.fold(node, "shape computations", specs)
        else:
            out_specs = [TensorSpec(t.shape, tf_dtype(t.dtype), ref) for ref, t in outs]
            self.specs.update((spec.name, spec) for spec in out_specs)
            self.emit(node, ins, out_specs)

    def spec(self, ref: str) -> TensorSpec:
        found = self.specs.get(ref)
        if found is None:  # a tensor whose producer was never lowered: describe it as is
            tensor = self.tensors[ref]
            found = TensorSpec(tensor.shape, tf_dtype(tensor.dtype), ref)
        return found

    def emit(self, node: TfNode, ins: list[TensorSpec], outs: list[TensorSpec]) -> None:
        values = [self.tensors[ref].value for ref in node.inputs]
        ctx = Ctx(node, ins, values, outs, scope_of(node.name, self.tfg.layer_names))
        lowerer = LOWERERS.get(node.op)
        if lowerer is None:
            attrs = {"tf_op": node.op}
            ctx.emitted.append(
                Node(f"tf.{node.op}", tuple(ins), tuple(outs), attrs, ctx.scope, node.name)
            )
        else:
            try:
                lowerer(ctx)
            except (IndexError, ValueError, TypeError, KeyError, AttributeError) as exc:
                raise FrontendError(
                    f"cannot lower {node.op} node {node.name!r} (inputs "
                    f"{[s.shape for s in ins]}): {type(exc).__name__}: {exc}"
                ) from None
        for ir_node in ctx.emitted:
            self.graph.nodes.append(ir_node)
            for spec in ir_node.inputs:
                self.register(spec)

    def register(self, spec: TensorSpec) -> None:
        stored = replace(self.sources.get(spec.name, spec), kind=spec.kind)
        if spec.kind == "parameter" and spec.name not in self.graph.buffers:
            self.graph.parameters.setdefault(spec.name, stored)
        elif spec.kind == "buffer":
            self.graph.parameters.pop(spec.name, None)
            self.graph.buffers.setdefault(spec.name, stored)

    def notes(self) -> list[str]:
        if not self.folded:
            return []
        total = sum(sum(c.values()) for c in self.folded.values())
        parts = []
        for why, ops in self.folded.items():
            listing = ", ".join(f"{op} x{n}" if n > 1 else op for op, n in ops.most_common())
            parts.append(f"{sum(ops.values())} {why} ({listing})")
        return [f"folded {total} ops into the tensors they produce: " + "; ".join(parts)]


def build_graph(
    tfg: TfGraph, nodes: list[TfNode], inference: Inference, outputs: list[str]
) -> Graph:
    """The IR graph of ``nodes`` (pruned, topologically ordered, shapes in ``inference``)."""
    builder = _Builder(tfg, inference)
    for node in nodes:
        builder.add(node)
    graph = builder.graph
    graph.outputs = [builder.spec(ref if ":" in ref else f"{ref}:0") for ref in outputs]
    graph.notes.extend(builder.notes())
    return graph
