"""The analysis pass: cost every node of a `Graph` once and collect a `Report`."""

from __future__ import annotations

import os

from flopcount.analysis.hardware import Hardware, get_hardware
from flopcount.analysis.memory import memory_report
from flopcount.analysis.roofline import get_preset, roofline
from flopcount.costs import REGISTRY, ZERO, Cost
from flopcount.costs.attention import SDPA, attention_causal_exact, attention_dims
from flopcount.costs.conventions import get_convention
from flopcount.errors import CostError
from flopcount.ir import Graph, Node
from flopcount.report.report import NodeRow, Report

__all__ = ["analyze_graph", "node_cost"]

ATTENTION_OPS = (SDPA, "Attention")


def _traffic(node: Node) -> Cost:
    """Parameters read and bytes moved by ``node``, from its tensor specs alone.

    A node a frontend marks ``attrs["view"]`` (PyTorch's view, expand, permute...) only
    reinterprets its input's storage: it moves no bytes (``docs/conventions.md``).
    """
    params = sum(t.numel for t in node.inputs if t.kind == "parameter")
    if node.attrs.get("view"):
        return Cost(params=params)
    return Cost(
        params=params,
        bytes_read=sum(t.nbytes for t in node.inputs),
        bytes_written=sum(t.nbytes for t in node.outputs),
    )


def node_cost(node: Node) -> tuple[str, Cost, str]:
    """``(status, cost, reason)`` of one node: arithmetic from the registry, traffic from specs.

    A node inside a loop body carries ``attrs["repeat"]`` (trip count x enclosing repeats) and
    costs that many times. A node the registry knows but cannot cost (a formula needs a value
    the frontend could not fold, say) is *unsupported* with the formula's message as
    ``reason``; an unsupported node still reports its traffic (its bytes are real).
    """
    repeat = int(node.attrs.get("repeat", 1))
    status, reason = REGISTRY.status(node.op, node.domain), ""
    try:
        arithmetic = REGISTRY.cost(node)
    except CostError as exc:
        status, reason, arithmetic = "unsupported", str(exc), None
    except (ValueError, TypeError, IndexError, KeyError, ZeroDivisionError) as exc:
        status, arithmetic = "unsupported", None
        reason = (
            f"cannot cost {node.op} node {node.name or '<unnamed>'} in scope "
            f"{node.scope or '<top>'} with inputs {[t.shape for t in node.inputs]}: {exc}"
        )
    return status, ((arithmetic or ZERO) + _traffic(node)).scaled(repeat), reason


def _causal_exact(rows: list[NodeRow]) -> Cost | None:
    """Totals with causal attention counting only unmasked pairs; None without causal attention.

    The headline stays dense (what the plain algorithm computes; ``docs/conventions.md``).
    """
    total, causal = ZERO, False
    for row in rows:
        if row.op in ATTENTION_OPS and row.status == "costed" and attention_dims(row.node).causal:
            repeat = int(row.node.attrs.get("repeat", 1))
            total += (attention_causal_exact(row.node) + _traffic(row.node)).scaled(repeat)
            causal = True
        else:
            total += row.cost
    return total if causal else None


def analyze_graph(
    graph: Graph,
    convention: str = "flops",
    model: str = "",
    hardware: str | Hardware | None = None,
    dtype: str | None = None,
    roofline_preset: str | None = None,
) -> Report:
    """Cost every node of ``graph`` and return the `Report` (no printing, no side effects).

    With ``hardware`` (a device name from the table, a profile path, or a `Hardware`), the
    report also carries a roofline latency estimate per node (``dtype`` forces the peak used,
    ``roofline_preset`` names refinements from `flopcount.analysis.roofline.PRESETS`).
    """
    get_convention(convention)  # fail early on a typo
    rows = []
    for index, node in enumerate(graph.nodes):
        status, cost, reason = node_cost(node)
        rows.append(NodeRow(index, node, status, cost, reason))  # type: ignore[arg-type]
    numels = {name: spec.numel for name, spec in graph.parameters.items()}
    device = get_hardware(hardware) if isinstance(hardware, (str, os.PathLike)) else hardware
    estimate = None
    if device is not None:
        options = get_preset(roofline_preset) if roofline_preset else None
        pairs = [(row.node, row.cost) for row in rows]
        estimate = roofline(pairs, device, dtype=dtype, options=options)
    return Report(
        model=model or graph.name,
        framework=graph.framework,
        convention=convention,
        rows=rows,
        params=sum(numels.values()),
        buffers=sum(spec.numel for spec in graph.buffers.values()),
        param_numels=numels,
        notes=list(graph.notes),
        causal_exact=_causal_exact(rows),
        memory=memory_report(graph),
        hardware=device,
        roofline=estimate,
    )
