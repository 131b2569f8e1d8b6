"""Reconstructing expressions from sample values, the window rules, and lost expressions."""

from __future__ import annotations

from flopcount.costs.conventions import get_convention
from flopcount.ir import Graph, Node, TensorSpec
from flopcount.symbolic.costs import node_rows
from flopcount.symbolic.expr import Poly
from flopcount.symbolic.fit import Fitter
from flopcount.symbolic.lift import lift
from flopcount.symbolic.rules import window_output_sizes
from flopcount.symbolic.symint import SymInt, as_poly

S = Poly.symbol("s")
POINTS = [{"s": v} for v in (83, 130, 517, 98, 261)]


def vector(f, n: int = 3) -> tuple[int, ...]:  # type: ignore[no-untyped-def]
    return tuple(f(p["s"]) for p in POINTS[:n])


def test_polynomials_from_three_points() -> None:
    fitter = Fitter(["s"], POINTS[:3])
    fits = fitter.fit_all([vector(lambda s: s + 1), vector(lambda s: 3 * s * s)])
    assert fits[vector(lambda s: s + 1)].poly == S + Poly.const(1)  # a class token
    assert fits[vector(lambda s: 3 * s * s)].poly == (S * S).scale(3)


def test_two_symbols_products() -> None:
    points = [{"B": b, "T": t} for b, t in ((3, 83), (8, 130), (5, 517), (13, 98))]
    fitter = Fitter(["B", "T"], points)
    bt = tuple(p["B"] * p["T"] for p in points)  # (B, T, D) -> (B*T, D) before a Linear
    heads = tuple(12 * p["B"] for p in points)  # (B, 12, T, T) -> (B*12, T, T)
    fits = fitter.fit_all([bt, heads])
    assert fits[bt].poly == Poly.symbol("B") * Poly.symbol("T")
    assert fits[heads].poly == Poly.symbol("B").scale(12)


def test_a_floor_is_found_once_the_points_tell_it_apart() -> None:
    out = vector(lambda s: (s - 1) // 2 + 1, 5)  # stride-2, pad-1, kernel-3 conv
    fit = Fitter(["s"], POINTS).fit_all([out])[out]
    assert fit.poly == (S + Poly.const(1)).floordiv(2)


def test_ambiguous_values_stay_unresolved() -> None:
    # floor((s + b)/32) for nearby b agree on these residues: no unique answer, no guess
    out = vector(lambda s: (s + 5) // 32, 3)
    fit = Fitter(["s"], POINTS[:3]).fit_all([out])[out]
    assert fit.poly is None and fit.ambiguous


def test_polynomial_of_a_floor_after_flatten() -> None:
    floor = (S + Poly.const(7)).floordiv(8)
    flat = tuple(int((floor * floor).evaluate(p)) for p in POINTS)
    fitter = Fitter(["s"], POINTS)
    assert fitter.fit_all([flat])[flat].poly is None  # not a polynomial of s, not one floor
    assert fitter.fit_with_floors([flat], floor.floors)[flat].poly == floor * floor


def test_window_rule_gives_conv_and_pool_floors() -> None:
    h = SymInt(131, S)
    conv = Node(
        "Conv",
        (TensorSpec((1, 3, h, h)), TensorSpec((8, 3, 3, 3), kind="parameter")),
        attrs={"strides": [2, 2], "pads": [1, 1, 1, 1]},
    )
    sizes = window_output_sizes(conv, (h, h))
    assert sizes is not None
    # ONNX Conv: floor((in + pads - dilation*(k - 1) - 1)/stride) + 1 = floor((s - 1)/2) + 1
    assert as_poly(sizes[0]) == (S - Poly.const(1)).floordiv(2) + Poly.const(1)
    pool = Node(
        "MaxPool",
        (TensorSpec((1, 8, h, h)),),
        attrs={"kernel_shape": [3, 3], "strides": [2, 2], "pads": [1, 1, 1, 1], "ceil_mode": 1},
    )
    sizes = window_output_sizes(pool, (h, h))
    assert sizes is not None and all(
        as_poly(sizes[0]).evaluate({"s": s}) == -(-(s + 2 - 3) // 2) + 1 for s in range(3, 90)
    )


def _dft_graph(length: int) -> Graph:
    x = TensorSpec((1, length, 2), name="x", kind="input")
    y = TensorSpec((1, length, 2), name="y")
    return Graph(nodes=[Node("DFT", (x,), (y,), {"axis": 1}, scope="fft")], inputs=[x])


def test_a_formula_that_drops_the_expression_is_reported_not_symbolic() -> None:
    # DFT costs 5 N log2 N FLOPs (onnx_signal.fft_flops): not a polynomial, and its int()
    # drops the expression; the check against the concrete cost must catch it.
    points = POINTS[:3]
    graphs = [_dft_graph(p["s"]) for p in points]
    lifted = lift(graphs, points, ref=2)
    (row,) = node_rows(lifted.graph, graphs, points, lifted.bad, get_convention("flops"))
    assert "flops" in row.lost and "count" in row.lost
    assert "lost the dimension expressions" in row.why
    # traffic stays exact: (1, s, 2) float32 read and written, 1 * s * 2 * 4 bytes each
    assert row.cost is not None and row.cost.bytes_read == S.scale(1 * 2 * 4)
    assert row.cost.flops == Poly.const(0)  # lost fields are zero and left out of totals
