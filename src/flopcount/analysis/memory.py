"""Model memory from tensor specs: parameters by dtype, activations, and peak live memory.

Peak live activation memory follows tensor *liveness* over the nodes in topological order
(the order the frontend gave, which is the order they would run):

- a tensor is live from the node that produces it to its last consumer, both included, so a
  node's inputs and outputs are live together while it runs (no in-place reuse is assumed);
- graph inputs, and tensors consumed but produced by no node, are live from the first node;
- graph outputs stay live to the last node;
- a tensor produced and never consumed (and not an output) is live during its own node only;
- parameters, buffers and constants are stored, not live, and are reported apart.

Tensors are identified by `TensorSpec.name` (frontends give unique names). A nameless tensor
cannot be followed from node to node, so it counts as live during the node that mentions it
only, once per mention. In a training graph (nodes with ``phase == "backward"``), tensors the
forward pass made that a backward node reads are the activations *saved for backward*.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flopcount.ir import Graph, TensorSpec

__all__ = ["MemoryReport", "live_bytes_per_node", "memory_report", "saved_for_backward"]

_STORED = frozenset({"parameter", "buffer", "constant"})


@dataclass(frozen=True)
class MemoryReport:
    """Memory of one model, in bytes.

    ``live_bytes[i]`` is the activation memory live while node ``i`` runs; the peak is its
    maximum, first reached at node ``peak_at_node`` (``None`` for a graph without nodes).
    ``saved_for_backward_estimated`` is True when training was asked for but the graph has no
    backward nodes, so the saved bytes are the upper-bound estimate described in
    `saved_for_backward`.
    """

    param_bytes_by_dtype: dict[str, int]
    param_bytes: int
    buffer_bytes: int
    constant_bytes: int
    input_bytes: int
    activation_bytes: int
    peak_activation_bytes: int
    peak_at_node: int | None
    saved_for_backward_bytes: int
    training: bool
    saved_for_backward_estimated: bool
    live_bytes: tuple[int, ...]


def _distinct_bytes(specs: Iterable[TensorSpec]) -> int:
    """Bytes of ``specs`` counting each named tensor once and each nameless one every time."""
    named: dict[str, int] = {}
    anonymous = 0
    for spec in specs:
        if spec.name:
            named[spec.name] = max(named.get(spec.name, 0), spec.nbytes)
        else:
            anonymous += spec.nbytes
    return sum(named.values()) + anonymous


def _parameter_specs(graph: Graph) -> list[TensorSpec]:
    """Graph.parameters, or the parameter inputs of the nodes when a frontend left it empty."""
    if graph.parameters:
        return list(graph.parameters.values())
    return [t for node in graph.nodes for t in node.inputs if t.kind == "parameter"]


def _param_bytes_by_dtype(specs: list[TensorSpec]) -> dict[str, int]:
    by_dtype: dict[str, list[TensorSpec]] = {}
    for spec in specs:
        by_dtype.setdefault(spec.dtype, []).append(spec)
    return {dtype: _distinct_bytes(group) for dtype, group in sorted(by_dtype.items())}


def _intervals(graph: Graph) -> list[tuple[int, int, int]]:
    """``(first, last, nbytes)`` node indices during which each activation tensor is live."""
    last_node = len(graph.nodes) - 1
    born: dict[str, int] = {}
    dies: dict[str, int] = {}
    size: dict[str, int] = {}
    seen: dict[str, TensorSpec] = {}  # the last spec met under each name
    spans: list[tuple[int, int, int]] = []  # nameless tensors: live for their node only

    def see(spec: TensorSpec, index: int, birth: int) -> None:
        if spec.kind in _STORED:
            return
        name = spec.name
        if not name:
            spans.append((index, index, spec.nbytes))
            return
        dies[name] = index  # calls come in non-decreasing index order: the last use wins
        if seen.get(name) is spec:
            return  # frontends pass one spec object from producer to consumers: sized once
        seen[name] = spec
        born.setdefault(name, birth)
        size[name] = max(size.get(name, 0), spec.nbytes)

    for spec in graph.inputs:
        see(spec, 0, 0)
    for index, node in enumerate(graph.nodes):
        for spec in node.inputs:
            see(spec, index, 0)  # consumed before any producer: it came from outside
        for spec in node.outputs:
            see(spec, index, index)
    for spec in graph.outputs:
        see(spec, last_node, 0)
    spans.extend((born[name], dies[name], size[name]) for name in born)
    return spans


def live_bytes_per_node(graph: Graph) -> tuple[int, ...]:
    """Activation bytes live while each node runs (see the module docstring for the rules)."""
    n = len(graph.nodes)
    delta = [0] * (n + 1)
    for first, last, nbytes in _intervals(graph):
        delta[first] += nbytes
        delta[last + 1] -= nbytes
    live, running = [], 0
    for change in delta[:n]:
        running += change
        live.append(running)
    return tuple(live)


def _forward_names(graph: Graph) -> set[str]:
    """Named non-stored tensors that exist before the backward pass starts."""
    names = {t.name for t in graph.inputs if t.name and t.kind not in _STORED}
    for node in graph.nodes:
        if node.phase != "forward":
            continue
        names.update(t.name for t in (*node.inputs, *node.outputs) if t.name)
    return names


def saved_for_backward(graph: Graph) -> tuple[int, bool]:
    """``(bytes, estimated)`` of the forward tensors kept for the backward pass.

    With backward nodes: each distinct named forward tensor (graph input or forward output,
    not a parameter, buffer or constant) that some backward node reads. Without them, an
    upper-bound estimate: every distinct activation input of every forward node, as if each
    op saved its inputs (autograd saves a subset), and ``estimated`` is True.
    """
    backward = [n for n in graph.nodes if n.phase == "backward"]
    if not backward:
        inputs = (t for n in graph.nodes for t in n.inputs if t.kind not in _STORED)
        return _distinct_bytes(inputs), True
    forward = _forward_names(graph)
    read = (t for n in backward for t in n.inputs if t.name in forward and t.kind not in _STORED)
    return _distinct_bytes(read), False


def memory_report(graph: Graph, training: bool | None = None) -> MemoryReport:
    """Parameter, buffer, activation and peak live memory of ``graph``.

    ``training`` defaults to whether the graph holds backward nodes; pass True for a forward-
    only graph to get the saved-for-backward estimate.
    """
    has_backward = any(n.phase == "backward" for n in graph.nodes)
    training = has_backward if training is None else training
    params = _parameter_specs(graph)
    live = live_bytes_per_node(graph)
    peak = max(live, default=0)
    saved, estimated = saved_for_backward(graph) if training else (0, False)
    forward_outputs = (
        t for n in graph.nodes if n.phase == "forward" for t in n.outputs if t.kind not in _STORED
    )
    all_inputs = (t for n in graph.nodes for t in n.inputs)
    by_dtype = _param_bytes_by_dtype(params)
    return MemoryReport(
        param_bytes_by_dtype=by_dtype,
        param_bytes=sum(by_dtype.values()),
        buffer_bytes=_distinct_bytes(graph.buffers.values()),
        constant_bytes=_distinct_bytes(t for t in all_inputs if t.kind == "constant"),
        input_bytes=_distinct_bytes(t for t in graph.inputs if t.kind not in _STORED),
        activation_bytes=_distinct_bytes(forward_outputs),
        peak_activation_bytes=peak,
        peak_at_node=live.index(peak) if live else None,
        saved_for_backward_bytes=saved,
        training=training,
        saved_for_backward_estimated=estimated,
        live_bytes=live,
    )
