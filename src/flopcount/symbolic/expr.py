"""`Poly`: exact polynomials in named integer dimensions, with ``floor(poly / c)`` atoms.

The symbolic analysis needs exact, fast arithmetic on dimension expressions (thousands of
nodes, each with a few products and sums), so it does not build sympy objects on the hot
path: a `Poly` is a dict ``monomial -> rational coefficient``. A monomial is a sorted tuple
of ``(atom, power)``; an atom is a symbol name (``"seq"``) or a `Floor` (``floor(N / c)`` with
``N`` a `Poly` of integer coefficients and ``c >= 2`` an integer). sympy enters only when a
result is shown or solved (`Poly.to_sympy`).

Floors stay exact and canonical (``docs/symbolic.md``):

- ``floor(P / c)`` splits off the integer part: with ``P / c = Q + R / L`` (``Q`` integer
  coefficients, ``R``'s coefficients in ``[0, L)``) it is ``Q + floor(R / L)``, because an
  integer-coefficient ``Q`` is an integer at integer points;
- a common factor of ``R`` and ``L`` cancels (``floor(2x / 4) = floor(x / 2)``);
- nested floors collapse: ``floor((floor(N / d) + k) / c) = floor((N + k*d) / (c*d))`` for
  integers ``k``, ``c, d >= 1`` (``floor(floor(y) / n) = floor(y / n)`` for integer ``n >= 1``;
  Graham, Knuth & Patashnik, *Concrete Mathematics*, eq. 3.11), which is why chains of strided
  convolutions and pools reduce to one floor per symbol.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from fractions import Fraction
from functools import cached_property
from typing import Any, Union

from flopcount.errors import MissingDependencyError

__all__ = ["Atom", "Floor", "Poly", "Rational", "require_sympy", "sympy_symbol"]

Rational = Union[int, Fraction]
Atom = Union[str, "Floor"]
Monomial = tuple[tuple[Atom, int], ...]


def _norm(value: Rational) -> Rational:
    """A `Fraction` with denominator 1 becomes an ``int`` (cheaper, prints plainly)."""
    if isinstance(value, Fraction) and value.denominator == 1:
        return int(value)
    return value


def _atom_key(atom: Atom) -> tuple[int, str]:
    return (0, atom) if isinstance(atom, str) else (1, atom.key)


def _mono_key(mono: Monomial) -> tuple[Any, ...]:
    return tuple((_atom_key(a), p) for a, p in mono)


def _mono_mul(a: Monomial, b: Monomial) -> Monomial:
    if not a:
        return b
    if not b:
        return a
    powers: dict[Atom, int] = dict(a)
    for atom, p in b:
        powers[atom] = powers.get(atom, 0) + p
    return tuple(sorted(powers.items(), key=lambda item: _atom_key(item[0])))


class Floor:
    """The atom ``floor(num / den)``: ``num`` a `Poly` with integer coefficients, ``den >= 2``."""

    __slots__ = ("den", "key", "num")

    def __init__(self, num: Poly, den: int) -> None:
        self.num, self.den = num, den
        self.key = f"floor(({num})/{den})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Floor) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return self.key

    def evaluate(self, point: Mapping[str, int]) -> int:
        return math.floor(self.num.evaluate(point) / self.den)

    @property
    def symbols(self) -> frozenset[str]:
        return self.num.symbols


class Poly:
    """An exact polynomial ``sum(coef * monomial)`` over symbols and `Floor` atoms; immutable."""

    def __init__(self, terms: Mapping[Monomial, Rational] | None = None) -> None:
        self.terms: dict[Monomial, Rational] = {
            m: _norm(c) for m, c in (terms or {}).items() if c != 0
        }

    # -- construction ------------------------------------------------------------------------
    @staticmethod
    def _raw(terms: dict[Monomial, Rational]) -> Poly:
        """A polynomial from terms already normalised (no zero, no integral `Fraction`)."""
        poly = object.__new__(Poly)
        poly.terms = terms
        return poly

    @staticmethod
    def const(value: Rational) -> Poly:
        return Poly({(): value})

    @staticmethod
    def symbol(name: str) -> Poly:
        return Poly({((name, 1),): 1})

    @staticmethod
    def atom(atom: Atom, coef: Rational = 1) -> Poly:
        return Poly({((atom, 1),): coef})

    # -- inspection --------------------------------------------------------------------------
    @property
    def is_constant(self) -> bool:
        terms = self.terms
        return not terms or (len(terms) == 1 and () in terms)

    @property
    def constant(self) -> Rational:
        """The constant term (the whole value of a constant polynomial)."""
        return self.terms.get((), 0)

    @cached_property
    def symbols(self) -> frozenset[str]:
        """Every symbol the polynomial depends on, inside floors too."""
        names: set[str] = set()
        for mono in self.terms:
            for atom, _ in mono:
                names.update([atom] if isinstance(atom, str) else atom.symbols)
        return frozenset(names)

    @cached_property
    def floors(self) -> frozenset[Floor]:
        return frozenset(a for m in self.terms for a, _ in m if isinstance(a, Floor))

    @property
    def integral(self) -> bool:
        """True when every coefficient is an integer."""
        return all(isinstance(c, int) for c in self.terms.values())

    def sorted_terms(self) -> list[tuple[Monomial, Rational]]:
        return sorted(self.terms.items(), key=lambda item: _mono_key(item[0]))

    # -- equality and printing ---------------------------------------------------------------
    def __eq__(self, other: object) -> bool:
        if isinstance(other, int):
            return self.is_constant and self.constant == other
        return isinstance(other, Poly) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(frozenset(self.terms.items()))

    def __str__(self) -> str:
        parts = []
        for mono, coef in self.sorted_terms():
            factors = [a if p == 1 else f"{a}**{p}" for a, p in mono]
            if coef != 1 or not factors:
                factors.insert(0, str(coef) if isinstance(coef, int) else f"({coef})")
            parts.append("*".join(str(f) for f in factors))
        return " + ".join(parts) or "0"

    def __repr__(self) -> str:
        return f"Poly({self})"

    # -- arithmetic --------------------------------------------------------------------------
    def __add__(self, other: Poly) -> Poly:
        terms = dict(self.terms)
        for mono, coef in other.terms.items():
            terms[mono] = terms.get(mono, 0) + coef
        return Poly(terms)

    def __neg__(self) -> Poly:
        return Poly({m: -c for m, c in self.terms.items()})

    def __sub__(self, other: Poly) -> Poly:
        return self + (-other)

    def __mul__(self, other: Poly) -> Poly:
        if other.is_constant:
            return self.scale(other.constant)
        if self.is_constant:
            return other.scale(self.constant)
        terms: dict[Monomial, Rational] = {}
        for ma, ca in self.terms.items():
            for mb, cb in other.terms.items():
                mono = _mono_mul(ma, mb)
                terms[mono] = terms.get(mono, 0) + ca * cb
        return Poly(terms)

    def scale(self, factor: Rational) -> Poly:
        if factor == 1:
            return self
        if factor == 0:
            return Poly._raw({})
        if isinstance(factor, int) and self.integral:
            return Poly._raw({m: c * factor for m, c in self.terms.items()})
        return Poly({m: c * factor for m, c in self.terms.items()})

    def __pow__(self, exponent: int) -> Poly:
        result = Poly.const(1)
        for _ in range(exponent):
            result = result * self
        return result

    def floordiv(self, divisor: int) -> Poly:
        """``floor(self / divisor)`` for an integer-valued ``self`` and an integer divisor != 0."""
        if divisor < 0:
            return (-self).floordiv(-divisor)
        exact = {m: Fraction(c) / divisor for m, c in self.terms.items()}
        lcm = math.lcm(*(c.denominator for c in exact.values())) if exact else 1
        if lcm == 1:
            return Poly(exact)
        numer = {m: int(c * lcm) for m, c in exact.items()}
        whole = Poly({m: n // lcm for m, n in numer.items()})  # integer coefficients
        rest = {m: n % lcm for m, n in numer.items() if n % lcm}
        if all(not m for m in rest):
            return whole  # 0 <= constant remainder < lcm: its floor is 0
        common = math.gcd(lcm, *rest.values())
        rest, lcm = {m: n // common for m, n in rest.items()}, lcm // common
        return whole + _floor_atom(Poly(rest), lcm)

    def exact_div(self, other: Poly) -> Poly | None:
        """``self / other`` when ``other`` divides ``self`` exactly, else None.

        Multivariate long division by one polynomial (graded order on the monomials, floors
        as variables): the remainder is zero exactly when ``other`` divides ``self``.
        """
        if not other.terms:
            return None
        lead, lead_coef = max(other.terms.items(), key=_graded)
        remainder, quotient = self, Poly._raw({})
        for _ in range(4 * len(self.terms) + 8):  # each step removes a leading term
            if not remainder.terms:
                return quotient
            mono, coef = max(remainder.terms.items(), key=_graded)
            factor = _mono_div(mono, lead)
            if factor is None:
                return None
            step = Poly({factor: Fraction(coef) / lead_coef})
            quotient = quotient + step
            remainder = remainder - other * step
        return None

    # -- evaluation --------------------------------------------------------------------------
    def evaluate(self, point: Mapping[str, int]) -> Rational:
        """The exact value at ``point`` (symbol -> integer)."""
        total: Rational = 0
        floors: dict[Floor, int] = {}
        for mono, coef in self.terms.items():
            term: Rational = coef
            for atom, power in mono:
                if isinstance(atom, str):
                    value = point[atom]
                else:
                    if atom not in floors:
                        floors[atom] = atom.evaluate(point)
                    value = floors[atom]
                term = term * value**power
            total += term
        return _norm(total)

    def partial(self, point: Mapping[str, int]) -> Poly:
        """This polynomial with the symbols in ``point`` replaced by their values."""
        total = Poly.const(0)
        for mono, coef in self.terms.items():
            term = Poly.const(coef)
            for atom, power in mono:
                if isinstance(atom, str):
                    factor = Poly.const(point[atom]) if atom in point else Poly.symbol(atom)
                else:
                    factor = atom.num.partial(point).floordiv(atom.den)
                term = term * factor**power
            total = total + term
        return total

    def degree(self, symbol: str) -> int:
        """Degree in ``symbol``; a floor counts with the degree of its numerator."""
        return max((_mono_degree(m, symbol) for m in self.terms), default=0)

    # -- sympy -------------------------------------------------------------------------------
    def to_sympy(self) -> Any:
        """This polynomial as a sympy expression (positive integer symbols, `sympy.floor`)."""
        sympy = require_sympy()
        total = sympy.Integer(0)
        for mono, coef in self.sorted_terms():
            term = sympy.Rational(coef.numerator, coef.denominator)
            for atom, power in mono:
                term *= _atom_sympy(atom) ** power
            total += term
        return total


def _graded(item: tuple[Monomial, Rational]) -> tuple[Any, ...]:
    """Sort key of a term: total degree, then the atoms (a graded order for division)."""
    mono = item[0]
    return (sum(p for _, p in mono), _mono_key(mono))


def _mono_div(a: Monomial, b: Monomial) -> Monomial | None:
    """``a / b`` as a monomial, or None when ``b`` does not divide ``a``."""
    powers = dict(a)
    for atom, power in b:
        left = powers.get(atom, 0) - power
        if left < 0:
            return None
        powers[atom] = left
    return tuple(sorted(((k, p) for k, p in powers.items() if p), key=lambda i: _atom_key(i[0])))


def _mono_degree(mono: Monomial, symbol: str) -> int:
    degree = 0
    for atom, power in mono:
        if atom == symbol:
            degree += power
        elif isinstance(atom, Floor):
            degree += atom.num.degree(symbol) * power
    return degree


def sympy_symbol(name: str) -> Any:
    """The sympy symbol of dimension ``name``: a positive integer."""
    return require_sympy().Symbol(name, integer=True, positive=True)


def require_sympy() -> Any:
    """The sympy module, or `MissingDependencyError` naming the ``symbolic`` extra."""
    try:
        import sympy
    except ImportError:
        raise MissingDependencyError("sympy", "symbolic") from None
    return sympy


def _atom_sympy(atom: Atom) -> Any:
    if isinstance(atom, str):
        return sympy_symbol(atom)
    return require_sympy().floor(atom.num.to_sympy() / atom.den)


def _floor_atom(rest: Poly, den: int) -> Poly:
    """``floor(rest / den)``, ``rest``'s coefficients in ``[0, den)``; nested floors collapse."""
    if len(rest.terms) <= 2:
        inner = [(m, c) for m, c in rest.terms.items() if m]
        if len(inner) == 1 and inner[0][1] == 1 and len(inner[0][0]) == 1:
            atom, power = inner[0][0][0]
            if isinstance(atom, Floor) and power == 1:
                # floor((floor(N / d) + k) / c) = floor((N + k*d) / (c*d))
                shifted = atom.num + Poly.const(rest.constant * atom.den)
                return shifted.floordiv(den * atom.den)
    return Poly.atom(Floor(rest, den))


def poly_sum(polys: Iterable[Poly]) -> Poly:
    """The sum of ``polys`` in one pass (faster than chained ``+``)."""
    terms: dict[Monomial, Rational] = {}
    for poly in polys:
        for mono, coef in poly.terms.items():
            terms[mono] = terms.get(mono, 0) + coef
    return Poly(terms)
