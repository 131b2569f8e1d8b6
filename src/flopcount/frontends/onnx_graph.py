"""Walking an ONNX graph into flopcount's IR: order, scopes, attributes, tensor specs.

`Lowering` turns each ONNX node into a `flopcount.ir.Node` in topological order. Control flow
(If, Loop, Scan) and model-local functions are handed to `onnx_control`, which lowers their
bodies through the same `Lowering.lower_graph` with a scope prefix and a repeat count.
"""

from __future__ import annotations

import heapq
from collections import ChainMap
from collections.abc import Iterable, MutableMapping, Sequence
from typing import Any, Protocol

from flopcount.errors import FrontendError, ShapeError
from flopcount.frontends.onnx_proto import attr_values, dtype_name, small_value, subgraphs
from flopcount.frontends.onnx_values import ABSENT, Symbols, Value
from flopcount.ir import Node, TensorKind, TensorSpec

__all__ = ["CONST_INPUTS", "CONTROL_OPS", "Env", "Lowering", "Shapes", "free_names", "torch_scope"]

Env = MutableMapping[str, Value]

# Ops whose bodies are subgraphs, lowered by `onnx_control` (its CONTROL_FLOW table).
CONTROL_OPS = frozenset({"If", "Loop", "Scan"})


class Shapes(Protocol):
    """What `Lowering` asks of shape inference: `onnx_infer.NodeShapes` (ONNX's inference
    and flopcount's rules) or `onnx_fastshape.FastShapes` (pure Python rules only)."""

    notes: list[str]
    versions: dict[str, int]

    def outputs(
        self, node: Any, attrs: dict[str, Any], ins: list[Value | None], label: str
    ) -> list[Value]: ...


# Inputs whose constant value a cost formula (or a reader) needs, copied into ``Node.attrs``
# under the name of the attribute older opsets used. Keyed by op, then input index.
CONST_INPUTS: dict[str, dict[int, str]] = {
    "Reshape": {1: "shape"}, "Expand": {1: "shape"}, "Tile": {1: "repeats"},
    "Slice": {1: "starts", 2: "ends", 3: "axes", 4: "steps"},
    "Pad": {1: "pads", 2: "constant_value", 3: "axes"},
    "Resize": {1: "roi", 2: "scales", 3: "sizes"}, "Upsample": {1: "scales"},
    "TopK": {1: "k"}, "Squeeze": {1: "axes"}, "Unsqueeze": {1: "axes"}, "Split": {1: "split"},
    "CumSum": {1: "axis"}, "CumProd": {1: "axis"}, "Clip": {1: "min", 2: "max"},
    "ConstantOfShape": {0: "shape"}, "Range": {0: "start", 1: "limit", 2: "delta"},
    "OneHot": {1: "depth"}, "DFT": {1: "dft_length", 2: "axis"}, "Trilu": {1: "k"},
    "STFT": {1: "frame_step", 3: "frame_length"}, "AffineGrid": {1: "size"},
    "HannWindow": {0: "size"}, "HammingWindow": {0: "size"}, "BlackmanWindow": {0: "size"},
    "MelWeightMatrix": {0: "num_mel_bins", 1: "dft_length", 2: "sample_rate",
                        3: "lower_edge_hertz", 4: "upper_edge_hertz"},
    "NonMaxSuppression": {2: "max_output_boxes_per_class", 3: "iou_threshold",
                          4: "score_threshold"},
    "Col2Im": {1: "image_shape", 2: "block_shape"}, "CenterCropPad": {1: "shape"},
    "Dropout": {1: "ratio", 2: "training_mode"},
}  # fmt: skip
for _reduce in ("Sum", "Mean", "Max", "Min", "Prod", "L1", "L2", "SumSquare", "LogSum"):
    CONST_INPUTS[f"Reduce{_reduce}"] = {1: "axes"}
CONST_INPUTS["ReduceLogSumExp"] = {1: "axes"}
# The same for com.microsoft ops (ONNX Runtime's ContribOperators.md input lists).
MS_CONST_INPUTS: dict[str, dict[int, str]] = {
    "GroupQueryAttention": {6: "total_sequence_length"},
    "Attention": {6: "past_sequence_length"},
    "MultiHeadAttention": {8: "past_sequence_length"},
}

# Constant inputs that are scalars in spirit even when stored as a 1-element tensor.
SCALAR_ATTRS = frozenset(
    {"k", "axis", "depth", "size", "constant_value", "dft_length", "frame_step", "frame_length",
     "num_mel_bins", "sample_rate", "lower_edge_hertz", "upper_edge_hertz", "ratio",
     "training_mode", "max_output_boxes_per_class", "iou_threshold", "score_threshold", "min",
     "max", "start", "limit", "delta", "total_sequence_length", "past_sequence_length"}
)  # fmt: skip


def torch_scope(name: str) -> str:
    """The module path of a node named the way exporters name them, else the name itself.

    ``"/layer1/layer1.0/conv1/Conv"`` -> ``"layer1.0.conv1"`` (torch.onnx writes each module
    level, repeating the parent's path for container children); ``"/transformer/h.0/attn/
    c_attn/Gemm"`` -> ``"transformer.h.0.attn.c_attn"``; ``"conv_3"`` -> ``"conv_3"``.
    """
    if "/" not in name:
        return name
    path: list[str] = []
    for part in [p for p in name.split("/") if p][:-1]:
        if path and part.startswith(path[-1] + "."):
            path[-1] = part  # "layer1" then "layer1.0": the child repeats its parent's name
        else:
            path.append(part)
    return ".".join(path)


def free_names(graph: Any) -> set[str]:
    """Names a (sub)graph reads but does not define: its outer-scope references."""
    defined = {i.name for i in graph.input} | {t.name for t in graph.initializer}
    used: set[str] = set()
    for node in graph.node:
        used.update(n for n in node.input if n)
        for attr in node.attribute:
            for sub in subgraphs(attr):
                used.update(free_names(sub))
        defined.update(node.output)
    used.update(o.name for o in graph.output)
    return used - defined


def _reads(node: Any) -> list[str]:
    names = [n for n in node.input if n]
    for attr in node.attribute:
        for sub in subgraphs(attr):
            names.extend(sorted(free_names(sub)))
    return names


def _label(node: Any, index: int) -> str:
    return node.name or f"{node.op_type}_{index}"


def topo_order(nodes: Iterable[Any], defined: Iterable[str]) -> list[Any]:
    """``nodes`` in a topological order (their own order when it is one); `FrontendError` for
    a node reading an undefined tensor or for a cycle."""
    nodes = list(nodes)
    known = set(defined)
    producer = {out: i for i, node in enumerate(nodes) for out in node.output if out}
    reads = [_reads(node) for node in nodes]
    for i, names in enumerate(reads):
        for name in names:
            if name not in known and name not in producer:
                raise FrontendError(
                    f"{nodes[i].op_type} node {_label(nodes[i], i)!r} reads tensor {name!r}, "
                    "which no node, initializer or graph input defines: the model is malformed; "
                    "re-export it (onnx.checker.check_model names the problem)"
                )
    waiting = [sum(1 for n in names if n in producer) for names in reads]
    users: dict[int, list[int]] = {}
    for i, names in enumerate(reads):
        for name in names:
            if name in producer:
                users.setdefault(producer[name], []).append(i)
    ready = [i for i, count in enumerate(waiting) if count == 0]
    heapq.heapify(ready)
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for user in users.get(i, ()):
            waiting[user] -= 1
            if waiting[user] == 0:
                heapq.heappush(ready, user)
    if len(order) < len(nodes):
        stuck = [_label(nodes[i], i) for i, count in enumerate(waiting) if count][:5]
        raise FrontendError(
            f"the graph has a cycle through nodes {stuck}: ONNX graphs must be acyclic "
            "(loops are Loop/Scan nodes); re-export the model"
        )
    return [nodes[i] for i in order]


class Lowering:
    """Lowers ONNX (sub)graphs into a flat list of IR nodes, collecting parameters and notes."""

    def __init__(self, model: Any, shapes: Shapes, symbols: Symbols) -> None:
        self.model = model
        self.shapes = shapes
        self.symbols = symbols
        self.notes = shapes.notes
        self.nodes: list[Node] = []
        self.parameters: dict[str, TensorSpec] = {}
        self.functions = {(f.domain, f.name): f for f in model.functions}
        self.count = 0
        self.fixed_scope: str | None = None  # set while inlining a function call
        # In a torch.onnx export, names without a module path ("Constant_12") belong to the
        # root module; elsewhere a node's name is its scope.
        self.torch_names = any(n.name.startswith("/") for n in model.graph.node)

    def add_initializers(self, graph: Any, env: Env, constants: set[str]) -> None:
        """Initializers become parameters, except those only ever used as shape arguments."""
        for tensor in graph.initializer:
            kind: TensorKind = "constant" if tensor.name in constants else "parameter"
            value = Value(
                name=tensor.name, dtype=dtype_name(tensor.data_type), shape=tuple(tensor.dims),
                value=small_value(tensor), kind=kind, producer="initializer",
            )  # fmt: skip
            env[tensor.name] = value
            if kind == "parameter" and tensor.name not in self.parameters:
                self.parameters[tensor.name] = self.spec(value, "initializer")

    def spec(self, value: Value, where: str) -> TensorSpec:
        try:
            return self.symbols.spec(value)
        except ShapeError as exc:
            raise ShapeError(f"{where}: {exc}") from None

    def lower_graph(self, graph: Any, env: Env, prefix: str, repeat: int) -> None:
        """Lower ``graph``'s nodes (inputs and initializers already in ``env``)."""
        for node in topo_order(graph.node, env.keys()):
            self.lower_node(node, env, prefix, repeat)

    def lower_node(self, node: Any, env: Env, prefix: str, repeat: int) -> None:
        label = _label(node, self.count)
        self.count += 1
        own = torch_scope(node.name) if "/" in node.name or not self.torch_names else ""
        scope = _join(prefix, own)
        if self.fixed_scope is not None:
            scope = self.fixed_scope
        ins = [env[name] if name else None for name in node.input]
        attrs = attr_values(node)
        domain = node.domain if node.domain != "ai.onnx" else ""
        if (node.domain, node.op_type) in self.functions:
            from flopcount.frontends import onnx_control

            onnx_control.inline_function(self, node, env, scope or label, repeat)
            return
        self._derived_attrs(node.op_type, domain, ins, attrs)
        if domain == "" and node.op_type in CONTROL_OPS:
            from flopcount.frontends import onnx_control

            inner = _join(scope, label.split("/")[-1]) if "/" in label else scope or label
            call = onnx_control.Call(self, node, ins, env, attrs, inner, repeat)
            outs = onnx_control.CONTROL_FLOW[node.op_type](call)
        else:
            outs = self.shapes.outputs(node, attrs, ins, label)
        if repeat != 1:
            attrs["repeat"] = repeat
        where = f"{node.op_type} node {label!r}"
        self.nodes.append(
            Node(
                op=node.op_type, inputs=self._specs(ins, where), outputs=self._specs(outs, where),
                attrs=attrs, scope=scope, name=label, domain=domain,
            )
        )  # fmt: skip
        for name, value in zip(node.output, outs):
            if name:
                env[name] = value

    def _derived_attrs(
        self, op: str, domain: str, ins: list[Value | None], attrs: dict[str, Any]
    ) -> None:
        """Attributes a formula needs that the node holds elsewhere: constant inputs
        (`CONST_INPUTS`) and defaults that changed between opsets."""
        if domain in ("", "com.microsoft"):
            table = CONST_INPUTS if domain == "" else MS_CONST_INPUTS
            _const_attrs(table.get(op, {}), ins, attrs)
        if domain == "" and op == "DFT" and "axis" not in attrs:
            # DFT-17's axis attribute defaults to 1; DFT-20's axis input to -2 (formula default)
            attrs.update({"axis": 1} if self.shapes.versions.get("ai.onnx", 0) < 20 else {})

    def _specs(self, values: Sequence[Value | None], where: str) -> tuple[TensorSpec, ...]:
        specs = [ABSENT if v is None or not v.name else self.spec(v, where) for v in values]
        while specs and specs[-1] is ABSENT:
            specs.pop()
        return tuple(specs)

    def child(self, env: Env) -> Env:
        """A scope for a subgraph: sees ``env``, writes its own names apart."""
        return ChainMap({}, env) if not isinstance(env, ChainMap) else env.new_child()


def _join(prefix: str, scope: str) -> str:
    return f"{prefix}.{scope}" if prefix and scope else prefix or scope


def _const_attrs(table: dict[int, str], ins: list[Value | None], attrs: dict[str, Any]) -> None:
    """Copy known constant inputs into ``attrs`` (an attribute already there wins)."""
    for index, key in table.items():
        value = ins[index] if index < len(ins) else None
        if value is None or value.value is None or key in attrs:
            continue
        array = value.value
        if key in SCALAR_ATTRS and array.size == 1:
            attrs[key] = array.reshape(()).item()
        else:
            attrs[key] = array.tolist()
