"""`Report`: the data an analysis returns. Renderers (table, JSON, CSV, Markdown) only read it.

Per-node rows carry the full `Cost`; aggregations by scope and by op are computed from the rows
on demand, so a report can be re-viewed at any depth or convention without re-analysing.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from flopcount.costs.conventions import Convention, get_convention

if TYPE_CHECKING:
    from flopcount.analysis.hardware import Hardware
    from flopcount.analysis.memory import MemoryReport
    from flopcount.analysis.roofline import RooflineResult
from flopcount.costs.cost import ZERO, Cost
from flopcount.costs.registry import OpStatus
from flopcount.ir import Node

__all__ = ["Aggregate", "NodeRow", "Report", "UnsupportedOp"]


@dataclass(frozen=True, slots=True)
class NodeRow:
    """One node of the analysed graph with its status and full cost."""

    index: int
    node: Node
    status: OpStatus
    cost: Cost
    reason: str = ""  # why an unsupported node could not be costed, when a formula said so

    @property
    def scope(self) -> str:
        return self.node.scope

    @property
    def op(self) -> str:
        return self.node.op

    @property
    def phase(self) -> str:
        return self.node.phase

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.node.inputs if t.kind == "parameter" and t.name)


@dataclass(frozen=True, slots=True)
class Aggregate:
    """Summed cost of a group of rows (a scope subtree or an op type).

    ``params`` counts each named parameter of the group once, however many nodes read it.
    """

    key: str
    nodes: int
    cost: Cost
    count: int
    params: int
    unsupported: int = 0
    time_s: float | None = None  # roofline estimate, with --hardware


@dataclass(frozen=True, slots=True)
class UnsupportedOp:
    """An op that could not be costed: how often it occurred and where."""

    op: str
    count: int
    scopes: tuple[str, ...]
    reasons: tuple[str, ...] = ()  # distinct messages of formulas that could not cost it


@dataclass
class Report:
    """Result of `flopcount.analyze`: rows, totals, aggregations, unsupported ops, coverage."""

    model: str
    framework: str
    convention: str
    rows: list[NodeRow]
    params: int
    buffers: int
    param_numels: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    causal_exact: Cost | None = None
    memory: MemoryReport | None = None
    hardware: Hardware | None = None  # set with roofline (--hardware)
    roofline: RooflineResult | None = None

    # -- conventions -------------------------------------------------------------------------
    @property
    def conv(self) -> Convention:
        return get_convention(self.convention)

    @property
    def unit(self) -> str:
        return self.conv.unit

    def with_convention(self, name: str) -> Report:
        """The same analysis viewed under another convention."""
        get_convention(name)
        return replace(self, convention=name)

    def count_of(self, rows: Iterable[NodeRow]) -> int:
        """Headline count (in `unit`) of ``rows`` under this report's convention.

        Free and unsupported rows carry no arithmetic, so they add zero under the cost-field
        conventions; ``tfprof`` reads the TF op type and so sees every row.
        """
        return sum(self.conv.count(r.node, r.cost) for r in rows)

    # -- totals ------------------------------------------------------------------------------
    def _sum(self, rows: Iterable[NodeRow]) -> Cost:
        return sum((r.cost for r in rows), ZERO)

    def _phase(self, phase: str) -> list[NodeRow]:
        return [r for r in self.rows if r.phase == phase]

    @property
    def total(self) -> Cost:
        """All nodes (forward and, for a training analysis, backward); ``params`` unique."""
        return self._sum(self.rows).replace(params=self.params)

    @property
    def forward(self) -> Cost:
        return self._sum(self._phase("forward")).replace(params=self.params)

    @property
    def backward(self) -> Cost:
        return self._sum(self._phase("backward")).replace(params=self.params)

    @property
    def has_backward(self) -> bool:
        return any(r.phase == "backward" for r in self.rows)

    @property
    def total_count(self) -> int:
        return self.count_of(self.rows)

    # -- aggregation -------------------------------------------------------------------------
    def _aggregate(self, key_rows: dict[str, list[NodeRow]]) -> list[Aggregate]:
        out = []
        for key, rows in key_rows.items():
            names = {n for r in rows for n in r.param_names}
            out.append(
                Aggregate(
                    key=key,
                    nodes=len(rows),
                    cost=self._sum(rows).replace(
                        params=sum(self.param_numels.get(n, 0) for n in names)
                    ),
                    count=self.count_of(rows),
                    params=sum(self.param_numels.get(n, 0) for n in names),
                    unsupported=sum(r.status == "unsupported" for r in rows),
                    time_s=self._time(rows),
                )
            )
        return out

    def _time(self, rows: list[NodeRow]) -> float | None:
        if self.roofline is None:
            return None
        return sum(self.roofline.rows[r.index].time_s for r in rows)

    def by_scope(self, depth: int | None = None) -> list[Aggregate]:
        """Cost per module scope truncated to ``depth`` dotted levels (None: full scopes).

        Scopes appear in first-execution order; "" is work done at the model's top level.
        """
        groups: dict[str, list[NodeRow]] = defaultdict(list)
        for row in self.rows:
            parts = row.scope.split(".") if row.scope else []
            key = ".".join(parts if depth is None else parts[:depth])
            groups[key].append(row)
        return self._aggregate(groups)

    def scope_tree(self, depth: int) -> list[Aggregate]:
        """Every scope prefix down to ``depth`` levels, parents before children (for tables)."""
        groups: dict[str, list[NodeRow]] = defaultdict(list)
        for row in self.rows:
            parts = row.scope.split(".") if row.scope else []
            for level in range(1, min(depth, len(parts)) + 1):
                groups[".".join(parts[:level])].append(row)
            if not parts:
                groups[""].append(row)
        return self._aggregate(groups)

    def by_op(self) -> list[Aggregate]:
        """Cost per op type, largest headline count first."""
        groups: dict[str, list[NodeRow]] = defaultdict(list)
        for row in self.rows:
            groups[row.op].append(row)
        return sorted(self._aggregate(groups), key=lambda a: (-a.count, a.key))

    # -- what could not be counted -----------------------------------------------------------
    @property
    def unsupported(self) -> list[UnsupportedOp]:
        """Ops that could not be costed, most frequent first, with the scopes they ran in."""
        seen: dict[str, list[NodeRow]] = defaultdict(list)
        for row in self.rows:
            if row.status == "unsupported":
                seen[row.op].append(row)
        return sorted(
            (
                UnsupportedOp(
                    op,
                    len(rows),
                    tuple(dict.fromkeys(r.scope for r in rows)),
                    tuple(dict.fromkeys(r.reason for r in rows if r.reason)),
                )
                for op, rows in seen.items()
            ),
            key=lambda u: (-u.count, u.op),
        )

    @property
    def coverage(self) -> float:
        """Share of nodes that are costed or explicitly free (1.0 for an empty graph)."""
        if not self.rows:
            return 1.0
        return sum(r.status != "unsupported" for r in self.rows) / len(self.rows)

    def status_counts(self) -> dict[str, int]:
        counts = {"costed": 0, "free": 0, "unsupported": 0}
        for row in self.rows:
            counts[row.status] += 1
        return counts

    def nodes(self, ops: Sequence[str] | None = None) -> list[NodeRow]:
        """Rows, optionally only those whose op is in ``ops``."""
        return [r for r in self.rows if ops is None or r.op in ops]

    def _repr_html_(self) -> str:
        """Jupyter displays a report as the HTML report."""
        from flopcount.report.render import render

        return render(self, "html")
