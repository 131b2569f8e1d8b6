"""Working with the expressions: fast exact evaluation, leading terms, crossover points."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from fractions import Fraction

from flopcount.symbolic.expr import Atom, Floor, Poly, require_sympy, sympy_symbol
from flopcount.symbolic.symint import Guard

__all__ = ["compile_poly", "crossover", "guard_failures", "leading_terms"]


def _integer_form(poly: Poly) -> tuple[Poly, int]:
    """``(N, L)`` with ``poly = N / L``, ``N`` of integer coefficients, ``L >= 1``."""
    lcm = math.lcm(*(getattr(c, "denominator", 1) for c in poly.terms.values()))
    return poly.scale(lcm), lcm


def _code(poly: Poly, names: Mapping[str, str]) -> str:
    """Python source computing an integer-valued ``poly`` with integer operations only."""
    numer, lcm = _integer_form(poly)
    terms = []
    for mono, coef in numer.sorted_terms():
        factors = [str(int(coef))] + [f"{_atom_code(a, names)}**{p}" for a, p in mono]
        terms.append("*".join(factors))
    body = " + ".join(terms) or "0"
    return f"(({body})//{lcm})" if lcm != 1 else f"({body})"


def _atom_code(atom: Atom, names: Mapping[str, str]) -> str:
    if isinstance(atom, Floor):
        return f"({_code(atom.num, names)}//{atom.den})"
    return names[atom]


def compile_poly(poly: Poly, symbols: Sequence[str]) -> Callable[..., int]:
    """An exact function ``f(**{symbol: int}) -> int`` computing ``poly``.

    The expression becomes Python source with integer ``*``, ``+`` and ``//`` only (rational
    coefficients are cleared by their common denominator first, floors are ``//``), compiled
    once: about a microsecond per point and exact for any size, unlike float evaluation.
    The source holds only integer literals and the generated argument names.
    """
    names = {s: f"_s{i}" for i, s in enumerate(symbols)}
    source = f"lambda {', '.join(names.values()) or '*_'}: {_code(poly, names)}"
    function = eval(compile(source, "<flopcount.symbolic>", "eval"), {"__builtins__": {}})

    def evaluate(**values: int) -> int:
        return int(function(*(values[s] for s in symbols)))

    return evaluate


def leading_terms(poly: Poly, symbol: str) -> Poly:
    """The terms of ``poly`` of highest degree in ``symbol`` (all of it if it has none)."""
    degree = poly.degree(symbol)
    if degree == 0:
        return poly
    return Poly({m: c for m, c in poly.terms.items() if Poly({m: 1}).degree(symbol) == degree})


def crossover(
    above: Poly, below: Poly, symbol: str, fixed: Mapping[str, int]
) -> tuple[int | None, str]:
    """The smallest integer ``n >= 1`` with ``above > below`` at every value from ``n`` on.

    Other symbols take the values in ``fixed``. The difference is a polynomial in ``symbol``;
    its largest real root ``r`` (sympy ``real_roots``, exact) gives ``n = floor(r) + 1``,
    checked by exact evaluation. Returns ``(None, why)`` when there is no such point or the
    difference holds floor terms.
    """
    sympy = require_sympy()
    diff = (above - below).partial(fixed)
    if diff.floors:
        return None, "the difference holds floor terms; use --sweep to compare"
    var = sympy_symbol(symbol)
    poly = sympy.Poly(diff.to_sympy(), var)
    if poly.is_zero or poly.LC() < 0:
        return None, f"{symbol} never makes the first exceed the second for good"
    roots = sympy.real_roots(poly)
    start = max(1, int(sympy.floor(max(roots))) + 1) if roots else 1

    def positive(n: int) -> bool:
        return bool(diff.evaluate({symbol: n}) > 0)

    while not positive(start):  # guards against rounding in floor() of an algebraic root
        start += 1
    while start > 1 and positive(start - 1) and (not roots or start - 1 > max(roots)):
        start -= 1
    return start, ""


def _floor_free(poly: Poly) -> Poly:
    """``poly`` with every ``floor(N / c)`` replaced by ``N / c`` (its value up to < 1)."""
    total = Poly.const(0)
    for mono, coef in poly.terms.items():
        term = Poly.const(coef)
        for atom, power in mono:
            base = (
                Poly.symbol(atom)
                if isinstance(atom, str)
                else _floor_free(atom.num).scale(Fraction(1, atom.den))
            )
            term = term * base**power
        total = total + term
    return total


def guard_failures(guard: Guard, symbol: str, upper: int) -> tuple[list[int], bool]:
    """Sizes in ``1..upper`` where ``guard`` does not hold, and whether it fails for good later.

    ``guard.diff`` must depend on ``symbol`` alone. The scan is exact (compiled integer
    evaluation). Beyond ``upper``: a difference whose floor-free form grows without bound
    keeps the sign of its leading term (the guard then holds or fails for good); one without
    growth is periodic (floors only), so the scan has already seen every case.
    """
    evaluate = compile_poly(guard.diff, [symbol])
    failing = [n for n in range(1, upper + 1) if not guard.holds(evaluate(**{symbol: n}))]
    smooth = _floor_free(guard.diff)
    if smooth.degree(symbol) == 0:
        return failing, False
    leading = leading_terms(smooth, symbol).evaluate({symbol: 1})
    return failing, not guard.holds(1 if leading > 0 else -1)
