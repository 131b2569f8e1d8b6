"""TensorFlow graphs without TensorFlow: node records, output inference and pruning.

Every TensorFlow input (a GraphDef file, a ``tf.Graph``, a traced function) is first turned into
a `TfGraph`: a list of `TfNode` records decoded from the GraphDef protocol buffer, plus what the
loader knew about shapes (``hints``) and variables. The rest of the frontend works on that
record alone, so a frozen ``.pb`` file can be analysed where TensorFlow is not installed.

Only the subgraph that computes the outputs is lowered (`prune`); everything left out is
counted by the reason it exists (initializers, savers, optimizer, regularizers...) for
``Graph.notes``, so an unfrozen TF1 graph gives the same count as its frozen form.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from flopcount.errors import FrontendError

__all__ = [
    "TfGraph",
    "TfNode",
    "TfTensorValue",
    "VariableInfo",
    "infer_outputs",
    "prune",
    "scope_of",
    "split_ref",
]

Dims = tuple[int | None, ...]


@dataclass(frozen=True, slots=True)
class TfTensorValue:
    """A ``TensorProto`` attribute: dtype and shape, values only for small integer tensors."""

    dtype: str
    shape: tuple[int, ...]
    values: np.ndarray | None = None  # shape == self.shape; None for weights (never decoded)


@dataclass(slots=True)
class TfNode:
    """One ``NodeDef``: ``inputs`` are data tensors ``"node:index"``; control edges kept apart."""

    name: str
    op: str
    inputs: list[str] = field(default_factory=list)
    control_inputs: list[str] = field(default_factory=list)
    attrs: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class VariableInfo:
    """A variable a node stands for (a ``VariableV2`` or a captured resource placeholder)."""

    name: str
    shape: tuple[int, ...]
    dtype: str
    trainable: bool = True


@dataclass(slots=True)
class TfGraph:
    """A decoded graph plus what the loader knew: TF's own shapes and the variables."""

    nodes: list[TfNode]
    hints: dict[str, Dims] = field(default_factory=dict)  # "node:i" -> TF's static shape
    variables: dict[str, VariableInfo] = field(default_factory=dict)  # node name -> variable
    outputs: list[str] = field(default_factory=list)  # known outputs (a function's), if any
    notes: list[str] = field(default_factory=list)
    name: str = ""
    inputs_bound: bool = False  # input shapes were fixed while loading (Keras, tf.function)
    layer_names: frozenset[str] = frozenset()  # Keras layer names, to undo "conv_1" suffixes
    categories: dict[str, str] = field(default_factory=dict)  # node -> why it exists (TF1)

    def by_name(self) -> dict[str, TfNode]:
        return {node.name: node for node in self.nodes}


def split_ref(ref: str) -> tuple[str, int]:
    """``"conv/Conv2D:1"`` -> ``("conv/Conv2D", 1)``; a bare node name is output 0."""
    name, sep, index = ref.rpartition(":")
    if sep and index.isdigit():
        return name, int(index)
    return ref, 0


_CALL_PREFIX = re.compile(r"^((Func/)?(Stateful)?PartitionedCall(_\d+)?/)+")


def scope_of(node_name: str, layer_names: frozenset[str] = frozenset()) -> str:
    """The node's name scope with ``/`` as ``.``, minus the op's own name and call prefixes.

    ``StatefulPartitionedCall/model/conv1/Conv2D`` -> ``model.conv1`` (function inlining adds the
    call's name in front of every inlined node; it is not part of the model's structure). Keras
    opens a layer's name scope again when the model is traced, and TF makes it unique with a
    suffix (``conv1_1``); with the model's ``layer_names`` known, the suffix is dropped.
    """
    path = _CALL_PREFIX.sub("", node_name).rpartition("/")[0]
    parts = path.split("/") if path else []
    if layer_names:
        parts = [_layer_name(part, layer_names) for part in parts]
    return ".".join(parts)


def _layer_name(part: str, layer_names: frozenset[str]) -> str:
    base, sep, count = part.rpartition("_")
    if part not in layer_names and sep and count.isdigit() and base in layer_names:
        return base
    return part


# Op types that never produce a model output when nothing consumes them (state and bookkeeping).
_BOOKKEEPING_OPS = frozenset(
    {
        "NoOp", "Const", "Placeholder", "PlaceholderWithDefault", "VariableV2", "Variable",
        "VarHandleOp", "VarIsInitializedOp", "IsVariableInitialized", "Assert", "Print",
        "PrintV2", "SaveV2", "RestoreV2", "SaveSlices", "RestoreSlice", "MergeV2Checkpoints",
        "ShardedFilename", "ShardedFilespec", "StringJoin", "MergeSummary", "ScalarSummary",
        "HistogramSummary", "ImageSummary", "WriteSummary", "DestroyResourceOp",
    }
)  # fmt: skip
_ASSIGN_OPS = frozenset(
    {"Assign", "AssignAdd", "AssignSub", "AssignVariableOp", "AssignAddVariableOp",
     "AssignSubVariableOp"}
)  # fmt: skip
_SAVER_SCOPE = re.compile(r"(^|/)save(_\d+)?/")
_OPTIMIZER_SCOPE = re.compile(r"(^|/)(gradients(_\d+)?|training|train|optimizer)(/|$)", re.I)


def _own_category(node: TfNode, known: dict[str, str] | None = None) -> str | None:
    """Why a node exists: from a graph collection, else its op type and name (None: a
    computation)."""
    op, name = node.op, node.name
    if known and name in known:
        return known[name]
    if "regularizer" in name.lower():
        return "regularizers"
    if (
        op in _ASSIGN_OPS
        or op in ("VarIsInitializedOp", "IsVariableInitialized")
        or "Initializer" in name
        or name == "init"
        or name.endswith("/init")
    ):
        return "initializers"
    if op in ("SaveV2", "RestoreV2", "MergeV2Checkpoints") or _SAVER_SCOPE.search(name):
        return "savers"
    if re.match(r"(Resource)?(Sparse)?Apply", op) or _OPTIMIZER_SCOPE.search(name):
        return "optimizer and gradients"
    if op == "ReadVariableOp" or name.endswith("/read"):
        return "variable reads"
    if op.endswith("Summary") or "summaries" in name:
        return "summaries"
    return None


_SIDE_CHAINS = frozenset(
    {"initializers", "savers", "regularizers", "summaries", "variable reads",
     "moving-average updates"}
)  # fmt: skip


def _categories(
    nodes: list[TfNode], known: dict[str, str], side_only: bool
) -> dict[str, str | None]:
    """Why each node exists: its own category, else the one its consumers share.

    With ``side_only``, a category passes to a node's inputs only when every consumer has a
    side-chain category (an initializer's random_normal, a regularizer's square); the optimizer
    does not pass its category on, so a loss the gradients consume stays a computation.
    Otherwise any categorised consumer passes on its category (to explain left-out nodes).
    Consumers are visited before their inputs (nodes on a cycle keep their own category).
    """
    by_name = {node.name: node for node in nodes}
    consumers: dict[str, list[str]] = {node.name: [] for node in nodes}
    for node in nodes:
        for ref in [*node.inputs, *node.control_inputs]:
            consumers.setdefault(split_ref(ref)[0], []).append(node.name)
    pending = {name: len(users) for name, users in consumers.items()}
    ready = [node.name for node in nodes if not consumers[node.name]]
    found: dict[str, str | None] = {}
    while ready:
        node = by_name[ready.pop()]
        found[node.name] = _own_category(node, known) or _shared(
            [found.get(user) for user in consumers[node.name]], side_only
        )
        for ref in [*node.inputs, *node.control_inputs]:
            source = split_ref(ref)[0]
            pending[source] = pending.get(source, 1) - 1
            if pending[source] == 0 and source in by_name:
                ready.append(source)
    for node in nodes:
        found.setdefault(node.name, _own_category(node, known))
    return found


def _shared(categories: list[str | None], side_only: bool) -> str | None:
    named = [c for c in categories if c is not None]
    if not named or (side_only and (len(named) < len(categories) or set(named) - _SIDE_CHAINS)):
        return None
    return Counter(named).most_common(1)[0][0]


def infer_outputs(graph: TfGraph) -> list[str]:
    """The graph's outputs: the sinks of its computation.

    Bookkeeping (assignments, savers, initializers, variable reads, optimizer updates and
    gradients, regularizer losses, summaries, no-ops) and the side chains that feed only
    bookkeeping are set aside first; the outputs are the remaining nodes that no remaining
    node consumes. In a TF1 training graph that makes the loss an output although the
    gradients consume it.
    """
    categories = _categories(graph.nodes, graph.categories, side_only=True)
    kept = [
        node
        for node in graph.nodes
        if categories[node.name] is None
        and node.op not in _BOOKKEEPING_OPS
        and node.op not in _ASSIGN_OPS
    ]
    consumed: set[str] = set()
    for node in kept:
        consumed.update(split_ref(ref)[0] for ref in node.inputs)
        consumed.update(node.control_inputs)
    outputs = [node.name for node in kept if node.name not in consumed]
    if not outputs:
        raise FrontendError(
            f"graph {graph.name or '<unnamed>'} has {len(graph.nodes)} nodes but no output that "
            "computes data (every sink is an assignment, saver, initializer or no-op); name the "
            "outputs with outputs=[...]"
        )
    return outputs


def _topological(needed: set[str], nodes: dict[str, TfNode]) -> list[TfNode]:
    """The needed nodes, inputs before consumers, otherwise in the GraphDef's order.

    A GraphDef need not be sorted; a depth-first walk from each node in file order sorts it
    and leaves an already sorted graph as it is.
    """
    order: list[TfNode] = []
    state: dict[str, int] = {}  # 1 = on the stack, 2 = done
    for root in (name for name in nodes if name in needed):
        stack: list[tuple[str, int]] = [(root, 0)]
        while stack:
            name, child = stack.pop()
            if child == 0:
                if state.get(name) == 2:
                    continue
                state[name] = 1
            inputs = [split_ref(ref)[0] for ref in nodes[name].inputs]
            if child < len(inputs):
                stack.append((name, child + 1))
                nxt = inputs[child]
                if state.get(nxt) == 1:
                    raise FrontendError(f"graph has a cycle through node {nxt!r} (a while loop?)")
                if state.get(nxt) != 2:
                    stack.append((nxt, 0))
            else:
                state[name] = 2
                order.append(nodes[name])
    return order


def _needed(outputs: list[str], nodes: dict[str, TfNode]) -> set[str]:
    needed: set[str] = set()
    todo = list(outputs)
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        node = nodes.get(name)
        if node is None:
            raise FrontendError(f"output or input {name!r} is not a node of the graph")
        needed.add(name)
        for ref in node.inputs:
            src = split_ref(ref)[0]
            if src not in nodes:
                raise FrontendError(
                    f"node {name!r} ({node.op}) reads {ref!r}, which no node produces: the "
                    "GraphDef is incomplete (truncated file, or a subgraph cut out of a graph)"
                )
            todo.append(src)
    return needed


def _left_out_note(graph: TfGraph, removed: list[TfNode], outputs: list[str]) -> str:
    """``left out 10 ops not needed for outputs [...]: 6 initializers (Assign x2, ...), ...``."""
    categories = _categories(removed, graph.categories, side_only=False)
    groups: dict[str, Counter[str]] = {}
    for node in removed:
        groups.setdefault(categories[node.name] or "unused ops", Counter())[node.op] += 1
    parts = []
    for why, ops in sorted(groups.items(), key=lambda item: -sum(item[1].values())):
        listing = ", ".join(f"{op} x{n}" if n > 1 else op for op, n in ops.most_common())
        parts.append(f"{sum(ops.values())} {why} ({listing})")
    return f"left out {len(removed)} ops not needed for outputs {outputs}: " + "; ".join(parts)


def prune(graph: TfGraph, outputs: list[str]) -> tuple[list[TfNode], list[str]]:
    """The nodes that compute ``outputs`` (node names or ``node:i``) in topological order.

    Data edges decide what is needed; control edges do not (they order side effects such as
    variable initialisation or moving-average updates, which are not part of the computation).
    Returns the nodes and the notes saying what was left out and why.
    """
    nodes = graph.by_name()
    needed = _needed([split_ref(ref)[0] for ref in outputs], nodes)
    order = _topological(needed, nodes)
    removed = [node for node in graph.nodes if node.name not in needed]
    notes = [_left_out_note(graph, removed, outputs)] if removed else []
    return order, notes
