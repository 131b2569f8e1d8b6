"""`SymbolicReport`: costs as exact expressions in the named dimensions (data, no printing).

Every count is a `Poly` (`flopcount.symbolic.expr`); ``report.sympy(poly)`` gives the sympy
expression, ``report.evaluate(poly, seq=4096)`` the exact integer. Nodes that are not
symbolic (``report.not_symbolic``) are left out of every total, and the report says so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from flopcount.costs.conventions import get_convention
from flopcount.symbolic.bindings import SymbolicError
from flopcount.symbolic.costs import SymCost, SymRow
from flopcount.symbolic.expr import Poly, poly_sum
from flopcount.symbolic.families import FAMILIES, family
from flopcount.symbolic.solve import compile_poly, crossover, leading_terms

__all__ = ["SymAggregate", "SymbolicReport"]


@dataclass(frozen=True)
class SymAggregate:
    """Summed symbolic cost of a group of rows (a scope, an op type or an op family)."""

    key: str
    nodes: int
    cost: SymCost
    params: Poly
    not_symbolic: int = 0  # rows whose headline count is not symbolic (left out)
    unsupported: int = 0


@dataclass
class SymbolicReport:
    """Result of `flopcount.analyze_symbolic`.

    ``points`` are the sample points the model was lowered at (every expression reproduces
    the concrete analysis at each of them); ``reference`` is the point whose concrete values
    the formulas ran on. ``peak_activation_bytes`` is the maximum of its expressions (one
    expression: exact; empty: not symbolic, ``peak_why`` says why). ``valid`` gives, per
    symbol, the sizes ``(lo, hi)`` (``hi`` None: unbounded) where every formula holds: a cost
    formula that compares sizes takes one branch only there (``valid_why`` names them).
    """

    model: str
    framework: str
    convention: str
    symbols: tuple[str, ...]
    points: list[dict[str, int]]
    reference: dict[str, int]
    rows: list[SymRow]
    param_numels: dict[str, Poly]
    peak_activation_bytes: list[Poly] = field(default_factory=list)
    peak_why: str = ""
    valid: dict[str, tuple[int, int | None]] = field(default_factory=dict)
    valid_why: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    # -- basics ------------------------------------------------------------------------------
    @property
    def unit(self) -> str:
        return get_convention(self.convention).unit

    @property
    def params(self) -> Poly:
        return poly_sum(self.param_numels.values())

    @property
    def not_symbolic(self) -> list[SymRow]:
        """Rows with a field that is not an exact expression (left out of that field's totals)."""
        return [r for r in self.rows if r.lost]

    def excluded(self, name: str) -> list[SymRow]:
        """Rows whose field ``name`` the totals leave out."""
        return [r for r in self.rows if not r.symbolic(name)]

    @property
    def unsupported(self) -> list[SymRow]:
        return [r for r in self.rows if r.status == "unsupported"]

    @property
    def total(self) -> SymCost:
        """Every symbolic node (the not-symbolic ones are excluded); ``params`` unique."""
        return self._sum(self.rows, self.params)

    def _sum(self, rows: Iterable[SymRow], params: Poly) -> SymCost:
        return replace(SymCost.total([r.cost for r in rows if r.cost is not None]), params=params)

    # -- aggregation -------------------------------------------------------------------------
    def _aggregate(self, groups: Mapping[str, list[SymRow]]) -> list[SymAggregate]:
        out = []
        for key, rows in groups.items():
            names = dict.fromkeys(
                t.name for r in rows for t in r.node.inputs if t.kind == "parameter" and t.name
            )
            params = poly_sum(self.param_numels[n] for n in names if n in self.param_numels)
            out.append(
                SymAggregate(
                    key,
                    len(rows),
                    self._sum(rows, params),
                    params,
                    sum(not r.symbolic("count") for r in rows),
                    sum(r.status == "unsupported" for r in rows),
                )
            )
        return out

    def _grouped(self, key: Callable[[SymRow], Iterable[str]]) -> list[SymAggregate]:
        groups: dict[str, list[SymRow]] = defaultdict(list)
        for row in self.rows:
            for name in key(row):
                groups[name].append(row)
        return self._aggregate(groups)

    def scope_tree(self, depth: int) -> list[SymAggregate]:
        """Every scope prefix down to ``depth`` levels, parents before children."""

        def prefixes(row: SymRow) -> list[str]:
            parts = row.scope.split(".") if row.scope else []
            return [".".join(parts[:k]) for k in range(1, min(depth, len(parts)) + 1)] or [""]

        return self._grouped(prefixes)

    def by_op(self) -> list[SymAggregate]:
        """Per op type, largest headline count at the reference point first."""
        groups = self._grouped(lambda row: [row.op])
        return sorted(groups, key=lambda a: (-a.cost.count.evaluate(self.reference), a.key))

    def by_family(self) -> list[SymAggregate]:
        """Per op family (`flopcount.symbolic.families`), in `FAMILIES` order."""
        groups = {a.key: a for a in self._grouped(lambda row: [family(row.node)])}
        return [groups[f] for f in FAMILIES if f in groups]

    # -- evaluation and analysis -------------------------------------------------------------
    def check_point(self, values: Mapping[str, int]) -> dict[str, int]:
        """``values`` completed and validated: every symbol once, positive integers."""
        unknown = sorted(set(values) - set(self.symbols))
        if unknown:
            raise SymbolicError(
                f"unknown dimension(s) {unknown}: this analysis has symbols {list(self.symbols)}"
            )
        missing = [s for s in self.symbols if s not in values]
        if missing:
            raise SymbolicError(f"give a value for {missing} (e.g. --at {missing[0]}=1024)")
        for name, value in values.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise SymbolicError(f"{name}={value!r}: sizes are positive integers")
            lo, hi = self.valid.get(name, (1, None))
            if value < lo or (hi is not None and value > hi):
                span = f">= {lo}" if hi is None else f"in [{lo}, {hi}]"
                raise SymbolicError(
                    f"{name}={value} is outside the sizes where the formulas hold ({name} "
                    f"{span}; {'; '.join(self.valid_why)}); analyse that size concretely"
                )
        return dict(values)

    def below_samples(self, values: Mapping[str, int]) -> list[str]:
        """Symbols set below every sample value: the graph there was not seen (notably size 1,
        which frameworks often lower differently, eliding broadcast copies)."""
        return [
            s for s, v in values.items() if s in self.symbols and v < min(p[s] for p in self.points)
        ]

    def evaluate(self, poly: Poly, **values: int) -> int:
        """The exact value of ``poly`` with every symbol set (``seq=4096``)."""
        return int(poly.evaluate(self.check_point(values)))

    def evaluator(self, poly: Poly) -> Callable[..., int]:
        """A fast exact function of the symbols (keyword arguments) computing ``poly``."""
        return compile_poly(poly, self.symbols)

    def peak_at(self, **values: int) -> int | None:
        if not self.peak_activation_bytes:
            return None
        point = self.check_point(values)
        return max(int(p.evaluate(point)) for p in self.peak_activation_bytes)

    def leading(self, poly: Poly) -> dict[str, Poly]:
        """For each symbol, the terms of ``poly`` of highest degree in it."""
        return {s: leading_terms(poly, s) for s in self.symbols}

    def crossovers(self, at: Mapping[str, int] | None = None) -> list[dict[str, Any]]:
        """Where the attention family's headline count overtakes the matmul family's.

        For each symbol in which attention grows faster: the smallest integer value from which
        attention's count exceeds matmul's for good, other symbols at ``at`` (default 1).
        """
        families = {a.key: a.cost.count for a in self.by_family()}
        attention, matmul = families.get("attention"), families.get("matmul")
        if attention is None or matmul is None:
            return []
        out = []
        for symbol in self.symbols:
            if attention.degree(symbol) <= matmul.degree(symbol):
                continue
            fixed = {s: (at or {}).get(s, 1) for s in self.symbols if s != symbol}
            value, why = crossover(attention, matmul, symbol, fixed)
            out.append(
                {
                    "symbol": symbol,
                    "above": "attention",
                    "below": "matmul",
                    "at": fixed,
                    "from": value,
                    "why": why,
                }
            )
        return out

    def sweep(
        self, symbol: str, low: int, high: int, at: Mapping[str, int] | None = None
    ) -> tuple[list[str], list[list[int]]]:
        """Headline count per family and in total at the powers of 2 in ``[low, high]``."""
        if symbol not in self.symbols:
            raise SymbolicError(f"--sweep {symbol}: not a symbol of this analysis {self.symbols}")
        if not 1 <= low <= high:
            raise SymbolicError(f"--sweep {symbol}={low}..{high}: need 1 <= low <= high")
        values = [1 << k for k in range(high.bit_length()) if low <= 1 << k <= high] or [low, high]
        fixed = {s: (at or {}).get(s, 1) for s in self.symbols if s != symbol}
        aggregates = [a for a in self.by_family() if a.cost.count != 0]
        columns = [a.key for a in aggregates]
        functions = [self.evaluator(a.cost.count) for a in aggregates]
        total = self.evaluator(self.total.count)
        table = []
        for value in sorted(set(values)):
            point = self.check_point({**fixed, symbol: value})
            table.append([value, *(f(**point) for f in functions), total(**point)])
        return [symbol, *columns, "total"], table

    @staticmethod
    def sympy(poly: Poly) -> Any:
        """``poly`` as a sympy expression (symbols are positive integers)."""
        return poly.to_sympy()
