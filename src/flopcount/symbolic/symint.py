"""`SymInt`: an ``int`` that also carries its exact expression in the named dimensions.

The symbolic analysis runs the ordinary cost formulas (`flopcount.analysis.core.node_cost`)
on nodes whose tensor dimensions are `SymInt`s. Each behaves as its concrete value (at the
reference sample point) everywhere an ``int`` is expected, so comparisons, hashing, indexing
and ``bool`` see the concrete value, while ``+ - * // % **``, unary minus, ``abs`` and
``math.ceil``/``math.floor``/``round`` also carry the `Poly` along. Comparisons (and ``bool``)
made inside `recording` are kept as `Guard`s: the formula's result holds wherever each comes
out the same. Operations that leave the integers (``/``, ``float``, ``int()``, NumPy) return
plain numbers: the expression is lost.
Nothing relies on it not being lost: every symbolic cost is checked against the concrete
costs at every sample point, and a node whose check fails is reported as not symbolic.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, SupportsIndex

from flopcount.symbolic.expr import Poly

__all__ = ["Guard", "SymInt", "as_poly", "make", "recording"]


@dataclass(frozen=True)
class Guard:
    """A comparison a cost formula made on sizes: ``relation(diff, 0)`` was ``outcome``.

    ``diff`` is the difference of the two sides; the formula's result holds wherever the
    comparison comes out the same (`flopcount.symbolic.solve.guard_range`).
    """

    diff: Poly
    relation: str  # "lt", "le", "eq", "ne", "gt", "ge" (the `operator` names)
    outcome: bool

    def holds(self, value: int) -> bool:
        """True when ``diff == value`` gives the comparison the same outcome."""
        return getattr(operator, self.relation)(value, 0) is self.outcome

    def __str__(self) -> str:
        symbol = {"lt": "<", "le": "<=", "eq": "==", "ne": "!=", "gt": ">", "ge": ">="}
        text = f"{self.diff} {symbol[self.relation]} 0"
        return text if self.outcome else f"not ({text})"


_RECORDERS: list[list[Guard]] = []


@contextmanager
def recording() -> Iterator[list[Guard]]:
    """Collect the `Guard`s of every comparison on `SymInt`s made inside the block."""
    found: list[Guard] = []
    _RECORDERS.append(found)
    try:
        yield found
    finally:
        _RECORDERS.pop()


def _comparison(name: str) -> Callable[[SymInt, Any], Any]:
    compare = getattr(int, f"__{name}__")

    def method(self: SymInt, other: Any) -> Any:
        result = compare(self, other)
        if _RECORDERS and result is not NotImplemented:
            poly = _operand(other)
            if poly is not None and not (diff := self.expr - poly).is_constant:
                _RECORDERS[-1].append(Guard(diff, name, bool(result)))
        return result

    method.__name__ = f"__{name}__"
    return method


def as_poly(value: int) -> Poly:
    """The `Poly` of a `SymInt`, or the constant polynomial of a plain ``int``."""
    return value.expr if isinstance(value, SymInt) else Poly.const(int(value))


def make(value: int, expr: Poly) -> int:
    """A `SymInt` of ``value`` and ``expr``, or the plain ``int`` when ``expr`` is constant."""
    if expr.is_constant:
        return int(value)
    return SymInt(value, expr)


def _operand(other: Any) -> Poly | None:
    if isinstance(other, SymInt):
        return other.expr
    if isinstance(other, int):
        return Poly.const(int(other))
    return None


class SymInt(int):
    """``int(value)`` carrying ``expr`` (a `Poly` that equals ``value`` at the reference point)."""

    expr: Poly

    def __new__(cls, value: int, expr: Poly) -> SymInt:
        self = super().__new__(cls, value)
        self.expr = expr
        return self

    def __repr__(self) -> str:
        return f"SymInt({int(self)}, {self.expr})"

    # -- ring operations ---------------------------------------------------------------------
    def __add__(self, other: Any) -> Any:
        poly = _operand(other)
        if poly is None:
            return NotImplemented
        return make(int(self) + int(other), self.expr + poly)

    def __radd__(self, other: Any) -> Any:
        return self.__add__(other)

    def __sub__(self, other: Any) -> Any:
        poly = _operand(other)
        if poly is None:
            return NotImplemented
        return make(int(self) - int(other), self.expr - poly)

    def __rsub__(self, other: Any) -> Any:
        poly = _operand(other)
        if poly is None:
            return NotImplemented
        return make(int(other) - int(self), poly - self.expr)

    def __mul__(self, other: Any) -> Any:
        if type(other) is int:  # the common case (dtype sizes, constant dims), memoised:
            if other == 1:  # shapes share their SymInts, so numel * itemsize repeats a lot
                return self
            products = self.__dict__.setdefault("_products", {})
            if other not in products:
                products[other] = make(int(self) * other, self.expr.scale(other))
            return products[other]
        poly = _operand(other)
        if poly is None:
            return NotImplemented
        return make(int(self) * int(other), self.expr * poly)

    def __rmul__(self, other: Any) -> Any:
        return self.__mul__(other)

    def __neg__(self) -> Any:
        return make(-int(self), -self.expr)

    def __pos__(self) -> SymInt:
        return self

    def __abs__(self) -> Any:
        return self if int(self) >= 0 else -self

    def __pow__(self, exponent: Any, modulo: Any = None) -> Any:
        if modulo is not None or not isinstance(exponent, int) or int(exponent) < 0:
            return int(self).__pow__(exponent, modulo)
        return make(int(self) ** int(exponent), self.expr ** int(exponent))

    # -- integer division ---------------------------------------------------------------------
    def __floordiv__(self, other: Any) -> Any:
        return _floordiv(self, other)

    def __rfloordiv__(self, other: Any) -> Any:
        return _floordiv(other, self)

    def __mod__(self, other: Any) -> Any:
        return _mod(self, other)

    def __rmod__(self, other: Any) -> Any:
        return _mod(other, self)

    # -- comparisons see the concrete value and are recorded as guards -----------------------
    __lt__ = _comparison("lt")
    __le__ = _comparison("le")
    __eq__ = _comparison("eq")  # type: ignore[assignment]
    __ne__ = _comparison("ne")  # type: ignore[assignment]
    __gt__ = _comparison("gt")
    __ge__ = _comparison("ge")
    __hash__ = int.__hash__

    def __bool__(self) -> bool:
        return bool(self != 0)

    # -- rounding keeps an integer unchanged --------------------------------------------------
    def __ceil__(self) -> SymInt:
        return self

    def __floor__(self) -> SymInt:
        return self

    def __trunc__(self) -> SymInt:
        return self

    def __round__(self, ndigits: SupportsIndex | None = None) -> SymInt:
        return self


def _floordiv(a: Any, b: Any) -> Any:
    """``a // b`` with the expression kept when ``b`` is constant or a monomial dividing ``a``."""
    pa, pb = _operand(a), _operand(b)
    if pa is None or pb is None:
        return NotImplemented
    value = int(a) // int(b)  # raises ZeroDivisionError like int does
    if pb.is_constant:
        return make(value, pa.floordiv(int(pb.constant)))
    quotient = pa.exact_div(pb)
    if quotient is not None and quotient.integral:
        return make(value, quotient)
    return value  # not expressible here: the expression is dropped (and caught by the check)


def _mod(a: Any, b: Any) -> Any:
    pa, pb = _operand(a), _operand(b)
    if pa is None or pb is None:
        return NotImplemented
    value = int(a) % int(b)
    if not pb.is_constant:
        return value
    return make(value, pa - pb * pa.floordiv(int(pb.constant)))
