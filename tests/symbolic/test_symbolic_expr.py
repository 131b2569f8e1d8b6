"""`Poly`, `SymInt` and the evaluation helpers: exact arithmetic, floors, guards."""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
import sympy

from flopcount.symbolic.expr import Poly
from flopcount.symbolic.solve import compile_poly, crossover, guard_failures, leading_terms
from flopcount.symbolic.symint import SymInt, as_poly, recording

H, T, B = Poly.symbol("H"), Poly.symbol("T"), Poly.symbol("B")


def c(value: int) -> Poly:
    return Poly.const(value)


def test_ring_arithmetic_is_exact() -> None:
    p = (B * T + c(3)) * (T - c(1))  # B*T**2 - B*T + 3*T - 3
    assert p.terms == {(("B", 1), ("T", 2)): 1, (("B", 1), ("T", 1)): -1, (("T", 1),): 3, (): -3}
    for b, t in ((2, 5), (7, 130)):
        assert p.evaluate({"B": b, "T": t}) == (b * t + 3) * (t - 1)
    assert (p - p).terms == {}
    assert (T**3).evaluate({"T": 11}) == 1331


@pytest.mark.parametrize(("shift", "divisor"), [(0, 2), (-1, 2), (5, 3), (-9, 8), (31, 32)])
def test_floordiv_matches_python_floor_division(shift: int, divisor: int) -> None:
    poly = (H + c(shift)).floordiv(divisor)
    assert all(poly.evaluate({"H": h}) == (h + shift) // divisor for h in range(1, 300))


def test_floordiv_of_a_multiple_is_exact_and_gcds_cancel() -> None:
    assert (H.scale(4) + c(8)).floordiv(4) == H + c(2)  # (4H + 8) / 4, no floor
    assert (H.scale(2)).floordiv(4) == H.floordiv(2)  # floor(2H/4) = floor(H/2)


def test_nested_floors_collapse() -> None:
    # Two stride-2 steps: floor((floor((H + 1)/2) + 1)/2) = floor((H + 3)/4)
    # (floor(floor(y)/n) = floor(y/n), Concrete Mathematics eq. 3.11).
    nested = ((H + c(1)).floordiv(2) + c(1)).floordiv(2)
    assert nested == (H + c(3)).floordiv(4)
    assert len(nested.floors) == 1


def test_exact_division_by_a_polynomial() -> None:
    rows = (B * (T * T + c(1))).exact_div(T * T + c(1))  # numel // length of a softmax
    assert rows == B
    assert (B * T + c(1)).exact_div(T) is None


def test_symint_carries_expressions_through_formula_arithmetic() -> None:
    t = SymInt(61, T)
    numel = math.prod((2, t, 768))  # math.prod falls back to __mul__ for int subclasses
    assert isinstance(numel, SymInt) and numel.expr == T.scale(1536)
    assert math.ceil(numel * 4) == 61 * 1536 * 4  # ceil keeps an int (and its expression)
    assert as_poly(math.ceil(numel * 4)) == T.scale(6144)
    assert as_poly(sum([t, 1, t])) == T.scale(2) + c(1)
    conv = (t + 2 - 3) // 2 + 1  # stride-2 conv output size
    assert as_poly(conv) == (T + c(1)).floordiv(2) and conv == 31
    assert as_poly(t % 4) == T - (T.floordiv(4)).scale(4)


def test_symint_loses_the_expression_outside_integer_arithmetic() -> None:
    t = SymInt(61, T)
    assert type(int(t)) is int
    assert type(t / 2) is float
    assert type(t * 0.5) is float


def test_comparisons_are_recorded_as_guards() -> None:
    t = SymInt(61, T)
    with recording() as guards:
        larger = max(t - 1, 0)
        assert t != 1
    assert larger == 60 and as_poly(larger) == T - c(1)
    # max() asks 0 > T - 1, which Python reflects to (T - 1).__lt__(0): recorded as false
    assert [str(g) for g in guards] == ["not (-1 + T < 0)", "-1 + T != 0"]
    assert guard_failures(guards[0], "T", 100) == ([], False)  # T - 1 >= 0 for every size
    failing, for_good = guard_failures(guards[1], "T", 100)
    assert failing == [1] and not for_good  # T - 1 != 0 fails only at T = 1


def test_compiled_evaluation_is_exact_for_huge_values() -> None:
    poly = (T * T).scale(Fraction(9, 32)) + (T + c(7)).floordiv(8).scale(3) + c(5)
    f = compile_poly(poly, ["T"])
    for t in (16, 48, 10**12 + 16, 2**70):  # T**2 * 9/32 is an integer for T % 16 == 0 ...
        assert f(T=t) == poly.evaluate({"T": t})
    big = 2**70
    assert f(T=big) == 9 * big * big // 32 + 3 * ((big + 7) // 8) + 5


def test_sympy_strings_parse_back() -> None:
    poly = B * T * T + (H + c(1)).floordiv(2) * c(3)
    text = str(poly.to_sympy())
    parsed = sympy.sympify(text)
    for b, t, h in ((2, 5, 7), (3, 130, 224)):
        assert parsed.subs({"B": b, "T": t, "H": h}) == poly.evaluate({"B": b, "T": t, "H": h})


def test_leading_terms_and_crossover() -> None:
    # attention 2*T**2*d vs linear 12*d**2*T with d = 64: 2*64*T**2 > 12*64*64*T from T > 384
    d = 64
    attention, linear = (T * T).scale(2 * d), T.scale(12 * d * d)
    assert leading_terms(attention + linear, "T") == attention
    value, _ = crossover(attention, linear, "T", {})
    assert value == 12 * d // 2 + 1  # equal at T = 384, strictly above from 385
