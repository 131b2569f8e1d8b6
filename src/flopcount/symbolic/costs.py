"""Symbolic node costs: the ordinary cost formulas run on `SymInt` shapes, then verified.

`node_cost` (`flopcount.analysis.core`) is called once per distinct symbolic node (same op,
attributes and dimension expressions: the layers of a transformer share a handful). Its
result is only trusted after the check: evaluated at every sample point, every field must
equal the concrete cost of the same node in the graph lowered at that point. A node that fails
(a formula used ``/``, ``int()`` or NumPy on a dimension, or took a branch that differs
between points) is reported as not symbolic, with the field and point that disagree.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from typing import Any

from flopcount.analysis.core import node_cost
from flopcount.analysis.memory import live_bytes_per_node
from flopcount.costs.conventions import Convention
from flopcount.costs.cost import Cost
from flopcount.ir import Graph, Node
from flopcount.symbolic.expr import Poly, poly_sum
from flopcount.symbolic.symint import Guard, SymInt, as_poly, recording

__all__ = ["FIELDS", "SymCost", "SymRow", "node_rows", "peak_candidates", "values_of"]

FIELDS = (*(f.name for f in fields(Cost)), "count")
Point = Mapping[str, int]


@dataclass(frozen=True)
class SymCost:
    """`Cost`'s fields as exact polynomials, plus ``count`` (the headline of the convention)."""

    macs: Poly
    flops: Poly
    flops_exact: Poly
    int_ops: Poly
    params: Poly
    bytes_read: Poly
    bytes_written: Poly
    count: Poly

    def get(self, name: str) -> Poly:
        if name == "bytes_total":
            return self.bytes_read + self.bytes_written
        return getattr(self, name)  # type: ignore[no-any-return]

    @staticmethod
    def total(costs: Sequence[SymCost]) -> SymCost:
        return SymCost(*(poly_sum(getattr(c, name) for c in costs) for name in FIELDS))


@dataclass(frozen=True)
class SymRow:
    """One node: its status and symbolic cost, or ``cost is None`` with ``why`` it is not."""

    index: int
    node: Node
    status: str  # costed, free or unsupported (`flopcount.costs.registry.OpStatus`)
    cost: SymCost | None
    reason: str = ""  # an unsupported node's formula message
    why: str = ""  # why the node (or some of its fields) is not symbolic
    lost: tuple[str, ...] = ()  # fields left out of the totals (all of them when cost is None)
    guards: tuple[Guard, ...] = ()  # comparisons its cost formula made on sizes

    def symbolic(self, name: str) -> bool:
        """True when field ``name`` of this node is an exact expression (counted in totals)."""
        return self.cost is not None and name not in self.lost

    @property
    def scope(self) -> str:
        return self.node.scope

    @property
    def op(self) -> str:
        return self.node.op


def _dim_key(dim: int) -> Any:
    return dim.expr if isinstance(dim, SymInt) else dim


def _signature(node: Node) -> tuple[Any, ...]:
    def specs(group: Sequence[Any]) -> tuple[Any, ...]:
        return tuple((tuple(map(_dim_key, t.shape)), t.dtype, t.kind) for t in group)

    return (
        node.op,
        node.domain,
        node.phase,
        specs(node.inputs),
        specs(node.outputs),
        repr(node.attrs),
    )


def values_of(cost: Cost, count: int) -> tuple[int, ...]:
    return (*(getattr(cost, f.name) for f in fields(Cost)), count)


def _evaluate(
    sym: Node,
    concrete: Sequence[Node],
    points: Sequence[Point],
    conv: Convention,
) -> tuple[str, SymCost | None, str, str, tuple[str, ...], tuple[Guard, ...]]:
    """(status, cost, unsupported reason, why not symbolic, fields lost, guards) of one node.

    A field whose expression disagrees with the concrete cost at some point is *lost*: it is
    zero in ``cost`` and the totals of that field exclude the node (the report says so).
    """
    with recording() as guards:
        status, cost, reason = node_cost(sym)
        polys = [as_poly(v) for v in values_of(cost, conv.count(sym, cost))]
    lost: dict[str, str] = {}
    for node, point in zip(concrete, points):
        c_status, c_cost, _ = node_cost(node)
        if c_status != status:
            return status, None, reason, f"its status is {c_status} at {dict(point)}", FIELDS, ()
        expected = values_of(c_cost, conv.count(node, c_cost))
        for name, poly, want in zip(FIELDS, polys, expected):
            got = poly.evaluate(point)
            if got != want and name not in lost:
                lost[name] = f"{name} = {poly} gives {got} at {dict(point)}, concrete {want}"
    if not lost:
        return status, SymCost(*polys), reason, "", (), tuple(guards)
    kept = [Poly.const(0) if name in lost else p for name, p in zip(FIELDS, polys)]
    why = "the cost formula lost the dimension expressions: " + "; ".join(lost.values())
    return status, SymCost(*kept), reason, why, tuple(lost), tuple(guards)


def node_rows(
    lifted: Graph,
    graphs: Sequence[Graph],
    points: Sequence[Point],
    bad: Mapping[int, str],
    conv: Convention,
) -> list[SymRow]:
    """Every node's `SymRow`; distinct nodes are costed once and checked at every point."""
    seen: dict[tuple[Any, ...], Any] = {}
    rows = []
    for index, node in enumerate(lifted.nodes):
        if index in bad:
            status, _, reason = node_cost(graphs[0].nodes[index])
            rows.append(SymRow(index, node, status, None, reason, bad[index], FIELDS))
            continue
        key = _signature(node)
        if key not in seen:
            concrete = [g.nodes[index] for g in graphs]
            seen[key] = _evaluate(node, concrete, points, conv)
        rows.append(SymRow(index, node, *seen[key]))
    return rows


def _dominated(poly: Poly, by: Poly) -> bool:
    """True when ``by - poly`` has no negative coefficient: ``poly <= by`` for positive sizes."""
    return all(c >= 0 for c in (by - poly).terms.values())


def peak_candidates(
    lifted: Graph, graphs: Sequence[Graph], points: Sequence[Point], ref: int
) -> tuple[list[Poly], str]:
    """Peak live activation bytes as ``max(candidates)``, or ``([], why not)``.

    Live bytes per node are summed symbolically (`live_bytes_per_node` on `SymInt` shapes);
    the peak is their maximum, kept exact as the maximum of the expressions not dominated by
    another (coefficient-wise, all sizes positive). Checked at every other point than the
    reference ``ref`` (whose values the symbolic graph holds) against the concrete peak.
    """
    live = [as_poly(v) for v in live_bytes_per_node(lifted)]
    distinct = list(dict.fromkeys(live))
    kept: list[Poly] = []
    for poly in sorted(distinct, key=lambda p: -p.evaluate(points[-1])):
        if not any(_dominated(poly, other) for other in kept):
            kept.append(poly)
    kept = [p for p in kept if not any(q is not p and _dominated(p, q) for q in kept)]
    for index, (graph, point) in enumerate(zip(graphs, points)):
        if index == ref:
            continue  # the symbolic graph holds this graph's values: nothing to check
        want = max(live_bytes_per_node(graph), default=0)
        got = max((p.evaluate(point) for p in kept), default=0)
        if got != want:
            return [], f"peak live bytes {got} at {dict(point)} differ from the concrete {want}"
    return kept, ""
