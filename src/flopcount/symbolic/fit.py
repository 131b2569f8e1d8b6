"""Reconstruct a dimension's exact expression from its values at the sample points.

A dimension (or integer attribute) takes one value per sample point. `Fitter.fit_all` finds,
for each distinct vector of values, the simplest expression that reproduces *every* value,
with at least one point more than the expression has unknown coefficients (so every accepted
fit is checked on a point it was not solved from):

1. a constant;
2. a sparse polynomial in the symbols: a constant plus at most three monomials of degree
   <= 3 (one symbol) or <= 2 (several), with rational coefficients of denominator <= 2**16
   (``seq``, ``seq + 1``, ``batch*seq``, ``(image_size/16)**2 + 1``...);
3. for one symbol ``s``: ``a*floor((s + b)/c) + d`` with ``2 <= c <= 64`` and ``0 <= b < c``
   (strided convolution and pooling output sizes; nested floors collapse to this form, see
   `flopcount.symbolic.expr`), accepted only when exactly one ``(a, b, c, d)`` fits;
4. (`fit_with_floors`) a sparse polynomial over the symbols *and* known floors, those of
   step 3 and those of the sliding-window rules (`flopcount.symbolic.rules`): ``batch * F**2``
   after flattening a strided feature map.

A vector that no form explains, or explains ambiguously, is unresolved: the caller adds sample
points (`needs_points`) or reports the node as not symbolic, never approximates.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from flopcount.symbolic.expr import Atom, Floor, Poly

__all__ = ["Fit", "Fitter"]

MAX_DENOMINATOR = 2**16  # a coefficient like 1/256 ((H/16)**2) is plausible; 12345/65537 is not
MAX_STRIDE = 64  # largest floor divisor searched (a product of strides: 2**5 = 32 in ResNets)
MAX_SUPPORT = 3  # monomials besides the constant


@dataclass(frozen=True)
class Fit:
    """The expression of one value vector, or why there is none (``poly is None``)."""

    poly: Poly | None
    reason: str = ""
    ambiguous: bool = False


def _solve(rows: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction] | None:
    """The unique exact solution of an overdetermined system, or None (singular/inconsistent).

    Gauss-Jordan elimination on exact fractions; every column needs a pivot (a unique
    solution), and the rows left over must reduce to 0 = 0 (the extra points agree).
    """
    k = len(rows[0])
    aug = [[*row, b] for row, b in zip(rows, rhs)]
    for col in range(k):
        pick = next((r for r in range(col, len(aug)) if aug[r][col] != 0), None)
        if pick is None:
            return None  # a column without pivot: not unique
        aug[col], aug[pick] = aug[pick], aug[col]
        lead = aug[col][col]
        aug[col] = [v / lead for v in aug[col]]
        for r in range(len(aug)):
            if r != col and aug[r][col] != 0:
                factor = aug[r][col]
                aug[r] = [v - factor * p for v, p in zip(aug[r], aug[col])]
    if any(row[k] != 0 for row in aug[k:]):
        return None  # a point the fit does not reproduce
    return [aug[i][k] for i in range(k)]


class Fitter:
    """Fits value vectors observed at ``points`` (one mapping symbol -> value per point)."""

    def __init__(self, symbols: Sequence[str], points: Sequence[Mapping[str, int]]) -> None:
        self.symbols = tuple(symbols)
        self.points = [dict(p) for p in points]
        self.n = len(points)
        self.atoms: dict[Atom, tuple[int, ...]] = {
            s: tuple(p[s] for p in self.points) for s in self.symbols
        }
        self._monomials = self._basis(self.symbols, 3 if len(self.symbols) == 1 else 2)

    # -- candidate monomials -----------------------------------------------------------------
    def _basis(self, atoms: Sequence[Atom], degree: int) -> list[tuple[Poly, tuple[Fraction, ...]]]:
        """Monomials of degree 1..``degree`` over ``atoms`` with their values at the points."""
        out = []
        for d in range(1, degree + 1):
            for combo in itertools.combinations_with_replacement(atoms, d):
                poly = Poly.const(1)
                values = [Fraction(1)] * self.n
                for atom in combo:
                    poly = poly * Poly.atom(atom)
                    values = [v * x for v, x in zip(values, self.atoms[atom])]
                out.append((poly, tuple(values)))
        return out

    # -- the forms -----------------------------------------------------------------------------
    def _polynomial(
        self,
        values: tuple[int, ...],
        basis: list[tuple[Poly, tuple[Fraction, ...]]],
        max_support: int = MAX_SUPPORT,
    ) -> Poly | None:
        rhs = [Fraction(v) for v in values]
        for size in range(1, min(max_support, self.n - 2) + 1):
            for support in itertools.combinations(basis, size):
                rows = [[Fraction(1), *(m[1][i] for m in support)] for i in range(self.n)]
                solution = _solve(rows, rhs)
                if solution is None or any(c.denominator > MAX_DENOMINATOR for c in solution):
                    continue
                poly = Poly.const(solution[0])
                for coef, (mono, _) in zip(solution[1:], support):
                    poly = poly + mono.scale(coef)
                return poly
        return None

    def _floor(self, values: tuple[int, ...]) -> list[Poly]:
        """Every ``a*floor((s + b)/c) + d`` reproducing ``values``."""
        found: dict[Poly, None] = {}
        if self.n < 3:
            return []
        for symbol in self.symbols:
            xs = self.atoms[symbol]
            if len(set(xs)) < 2:
                continue
            for c in range(2, MAX_STRIDE + 1):
                for b in range(c):
                    fs = [(x + b) // c for x in xs]
                    fit = _affine(fs, values)
                    if fit is None or _affine(list(xs), fs) is not None:
                        continue  # no fit, or the floor is itself affine on these points
                    floor = (Poly.symbol(symbol) + Poly.const(b)).floordiv(c)
                    found[floor.scale(fit[0]) + Poly.const(fit[1])] = None
        return list(found)

    # -- driver --------------------------------------------------------------------------------
    def fit_all(self, vectors: Iterable[tuple[int, ...]]) -> dict[tuple[int, ...], Fit]:
        """Fits of every distinct vector by the forms 1-3 (constant, polynomial, one floor)."""
        results: dict[tuple[int, ...], Fit] = {}
        for values in dict.fromkeys(vectors):
            if len(set(values)) == 1:
                results[values] = Fit(Poly.const(values[0]))
                continue
            poly = self._polynomial(values, self._monomials)
            if poly is not None:
                results[values] = Fit(poly)
                continue
            polys = self._floor(values)
            if len(polys) == 1:
                results[values] = Fit(polys[0])
            else:
                results[values] = Fit(None, _unresolved(values, len(polys) > 1), len(polys) > 1)
        return results

    def fit_with_floors(
        self, vectors: Iterable[tuple[int, ...]], floors: Iterable[Floor]
    ) -> dict[tuple[int, ...], Fit]:
        """Form 4: polynomials over the symbols and ``floors`` (found by forms 3 or by rules)."""
        known = list(dict.fromkeys(floors))
        for floor in known:
            self.atoms[floor] = tuple(floor.evaluate(p) for p in self.points)
        basis = self._basis([*self.symbols, *known], 2) if known else []
        results = {}
        for values in dict.fromkeys(vectors):
            poly = self._polynomial(values, basis, 2) if basis else None
            if poly is not None:
                results[values] = Fit(poly)
        return results


def _affine(xs: Sequence[int], ys: Sequence[int]) -> tuple[Fraction, Fraction] | None:
    """``(a, d)`` with ``y = a*x + d`` at every point and ``a != 0``, or None."""
    base = next((i for i in range(1, len(xs)) if xs[i] != xs[0]), None)
    if base is None:
        return None
    a = Fraction(ys[base] - ys[0], xs[base] - xs[0])
    d = ys[0] - a * xs[0]
    if a == 0 or any(a * x + d != y for x, y in zip(xs, ys)):
        return None
    return a, d


def _unresolved(values: tuple[int, ...], ambiguous: bool) -> str:
    shown = ", ".join(map(str, values))
    if ambiguous:
        return f"values ({shown}) fit several floor expressions; more sample points needed"
    return f"no exact expression reproduces the values ({shown}) at the sample points"
