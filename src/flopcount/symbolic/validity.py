"""Where the formulas hold: the sizes at which every cost formula takes the branch it took.

A cost formula that compares sizes (``min``, ``max``, a broadcast check) computed its
expression on the branch the reference point selects. For each such comparison (`Guard`) on
one symbol, the sizes where it comes out otherwise are found exactly (`guard_failures`); at
each of them the node is costed concretely (its dimensions evaluated there) and compared with
the expression. Sizes where they differ bound the range; a comparison on several symbols is
checked at the sample points only (the report says so).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from flopcount.analysis.core import node_cost
from flopcount.costs.conventions import Convention
from flopcount.ir import Node, TensorSpec
from flopcount.symbolic.costs import FIELDS, SymRow, values_of
from flopcount.symbolic.expr import Floor, require_sympy
from flopcount.symbolic.solve import guard_failures
from flopcount.symbolic.symint import Guard, SymInt

__all__ = ["Range", "validity"]

Range = tuple[int, "int | None"]


def _value(dim: Any, point: Mapping[str, int]) -> Any:
    if isinstance(dim, SymInt):
        return int(dim.expr.evaluate(point))
    if isinstance(dim, (list, tuple)):
        return type(dim)(_value(d, point) for d in dim)
    return dim


def _concrete(node: Node, point: Mapping[str, int]) -> Node:
    """``node`` with every symbolic size evaluated at ``point``."""

    def spec(t: TensorSpec) -> TensorSpec:
        return replace(t, shape=tuple(_value(d, point) for d in t.shape))

    attrs = {k: _value(v, point) for k, v in node.attrs.items()}
    return replace(
        node,
        inputs=tuple(map(spec, node.inputs)),
        outputs=tuple(map(spec, node.outputs)),
        attrs=attrs,
    )


def _matches(row: SymRow, point: Mapping[str, int], conv: Convention) -> bool:
    """True when the node's expressions equal its concrete cost at ``point``."""
    if row.cost is None:
        return True
    try:
        node = _concrete(row.node, point)
        status, cost, _ = node_cost(node)
    except Exception:  # a size of 0 or less: the node does not exist there
        return False
    concrete = values_of(cost, conv.count(node, cost))
    return status == row.status and all(
        name in row.lost or row.cost.get(name).evaluate(point) == want
        for name, want in zip(FIELDS, concrete)
    )


def _node_range(
    row: SymRow, symbol: str, reference: Mapping[str, int], upper: int, conv: Convention
) -> Range:
    failing: set[int] = set()
    for_good = False
    for guard in row.guards:
        if guard.diff.symbols == {symbol}:
            sizes, tail = guard_failures(guard, symbol, upper)
            failing.update(sizes)
            for_good = for_good or tail
    bad = {n for n in failing if not _matches(row, {**reference, symbol: n}, conv)}
    lo = hi = reference[symbol]
    while lo > 1 and lo - 1 not in bad:
        lo -= 1
    while hi < upper and hi + 1 not in bad:
        hi += 1
    return lo, (None if hi == upper and not for_good else hi)


def _first_positive(floor: Floor, limit: int = 1 << 16) -> int | None:
    """The smallest size from which a one-symbol floor with nonnegative numerator coefficients
    (canonical floors have them) is >= 1; it never decreases after."""
    (symbol,) = floor.symbols
    for n in range(1, limit):
        if floor.evaluate({symbol: n}) >= 1:
            return n
    return None


def _definite_bounds(guard: Guard) -> dict[str, int] | None:
    """Lower bounds on the sizes that make a several-symbol guard hold, or None.

    Applies when every coefficient of the difference has one sign: for positive sizes the
    difference then has that sign or is 0, and is 0 only when each of its terms has a zero
    floor. Sizes at which every floor of one term is >= 1 are sufficient (for a one-term
    difference, also necessary); a term without floors makes the guard hold everywhere.
    """
    signs = {c > 0 for c in guard.diff.terms.values()}
    if len(signs) != 1 or not guard.holds(1 if signs.pop() else -1):
        return None
    if guard.holds(0):
        return {}
    best: dict[str, int] | None = None
    for mono in guard.diff.terms:
        bounds: dict[str, int] = {}
        for atom, _ in mono:
            if isinstance(atom, Floor):
                if len(atom.symbols) != 1:
                    break
                first = _first_positive(atom)
                if first is None:
                    break
                (symbol,) = atom.symbols
                bounds[symbol] = max(bounds.get(symbol, 1), first)
        else:
            if best is None or sum(bounds.values()) < sum(best.values()):
                best = bounds
    return best


def _factor_runs(
    guard: Guard, reference: Mapping[str, int], upper: Mapping[str, int]
) -> dict[str, Range] | None:
    """Sizes where a several-symbol guard surely holds, from the factors of its difference.

    sympy's ``factor_list`` splits the difference into factors of one symbol each (floors
    kept as they are), e.g. ``16*B*(F - 1)**2``. Where every factor keeps the sign it has at
    the reference point, the product does, and so does the comparison: per symbol, the run of
    sizes around the reference where its factors keep their signs (exact when the difference
    is a single term of one symbol per factor, sufficient otherwise). None when a factor
    holds several symbols or the reference difference is 0.
    """
    sympy = require_sympy()
    _, factors = sympy.factor_list(guard.diff.to_sympy())
    runs: dict[str, Range] = {}
    for factor, _ in factors:
        names = {str(x) for x in factor.free_symbols}
        if len(names) != 1:
            return None
        (name,) = names
        function = sympy.lambdify(next(iter(factor.free_symbols)), factor, "math")
        signs = [_sign(function(n)) for n in range(1, upper[name] + 1)]
        ref = _sign(function(reference[name]))
        if ref == 0:
            return None
        lo = hi = reference[name]
        while lo > 1 and signs[lo - 2] == ref:
            lo -= 1
        while hi < upper[name] and signs[hi] == ref:
            hi += 1
        runs[name] = _intersect(runs.get(name, (1, None)), (lo, None if hi == upper[name] else hi))
    return runs


def _sign(value: float) -> int:
    return (value > 0) - (value < 0)


def _intersect(a: Range, b: Range) -> Range:
    hi = a[1] if b[1] is None else b[1] if a[1] is None else min(a[1], b[1])
    return max(a[0], b[0]), hi


def _tighten(ranges: dict[str, Range], symbol: str, lo: int, hi: int | None) -> bool:
    new = _intersect(ranges[symbol], (lo, hi))
    changed = new != ranges[symbol]
    ranges[symbol] = new
    return changed


def _bound_text(symbol: str, valid: Range) -> str:
    return (
        f"{symbol} >= {valid[0]}" if valid[1] is None else f"{symbol} in [{valid[0]}, {valid[1]}]"
    )


def validity(
    rows: Sequence[SymRow],
    reference: Mapping[str, int],
    upper: Mapping[str, int],
    conv: Convention,
) -> tuple[dict[str, Range], list[str]]:
    """Per symbol the sizes ``(lo, hi)`` (``hi`` None: unbounded) where every formula holds,
    and the reasons for each bound."""
    ranges: dict[str, Range] = {s: (1, None) for s in reference}
    why: list[str] = []
    unchecked: list[str] = []
    seen: set[int] = set()
    for row in rows:
        if not row.guards or id(row.guards) in seen:
            continue
        seen.add(id(row.guards))  # rows of one distinct node share their guards
        where = f"node #{row.index} ({row.op} in {row.scope or '(top level)'})"
        for guard in (g for g in row.guards if len(g.diff.symbols) > 1):
            bounds = _definite_bounds(guard)
            runs: dict[str, Range] | None = None
            if bounds is not None:
                runs = {symbol: (lo, None) for symbol, lo in bounds.items()}
            else:
                runs = _factor_runs(guard, reference, upper)
            if runs is None:
                unchecked.append(f"{where} compares {guard}")
            for symbol, (lo, hi) in (runs or {}).items():
                if _tighten(ranges, symbol, lo, hi):
                    why.append(f"{_bound_text(symbol, ranges[symbol])}: {where} compares {guard}")
        for symbol in sorted({s for g in row.guards for s in g.diff.symbols}):
            lo, hi = _node_range(row, symbol, reference, upper[symbol], conv)
            if _tighten(ranges, symbol, lo, hi):
                why.append(
                    f"{_bound_text(symbol, ranges[symbol])}: outside, {where} costs differently "
                    "or cannot exist"
                )
    if unchecked:
        more = f" (and {len(unchecked) - 2} more)" if len(unchecked) > 2 else ""
        why.append(f"checked at the sample points only: {'; '.join(unchecked[:2])}{more}")
    return ranges, list(dict.fromkeys(why))
