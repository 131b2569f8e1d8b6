"""Backward passes by centred finite differences (float64), and im2col/col2im as adjoints."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest
from _conv_reference import LAYOUTS, Case, cases, to_layout
from hypothesis import given, settings
from hypothesis import strategies as st

from flopcount.conv import (
    ConvGeometry,
    col2im,
    conv_backward,
    conv_forward,
    conv_transpose_backward,
    conv_transpose_forward,
    im2col,
)

EPS = 1e-6  # centred differences: truncation error O(EPS**2), rounding O(1e-16 / EPS)


def _numeric_grad(loss: Callable[[], float], a: np.ndarray) -> np.ndarray:
    """d loss / d a by centred differences, perturbing ``a`` in place one entry at a time."""
    grad = np.zeros_like(a)
    for index in np.ndindex(*a.shape):
        saved = a[index]
        a[index] = saved + EPS
        up = loss()
        a[index] = saved - EPS
        down = loss()
        a[index] = saved
        grad[index] = (up - down) / (2 * EPS)
    return grad


GRAD_CASES = [
    Case((2, 2, 5, 4), (3, 2, 3, 2), (1, 1), ((1, 0), (2, 1)), (1, 2), 1, True),
    Case((1, 4, 7), (4, 2, 3), (2,), ((1, 1),), (1,), 2, True),
    Case(
        (1, 2, 3, 4, 3), (2, 1, 2, 2, 2), (1, 2, 1), ((0, 1), (1, 0), (1, 1)), (1, 1, 1), 2, False
    ),
    Case((1, 2, 3, 3), (2, 3, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1, True, True, (1, 0)),
]


@pytest.mark.parametrize("method", ["direct", "im2col", "gemm"])
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", GRAD_CASES, ids=["2d", "1d-groups", "3d-groups", "transposed"])
def test_backward_matches_finite_differences(case: Case, layout: str, method: str) -> None:
    x, w, b = case.arrays(np.float64)
    x, w = to_layout(x, layout), to_layout(w, layout, weight=True)
    run = conv_transpose_forward if case.transposed else conv_forward
    back = conv_transpose_backward if case.transposed else conv_backward
    kwargs = {"layout": layout, "method": method, **case.kwargs()}
    out, cache = run(x, w, b, **kwargs)
    dout = np.random.default_rng(2).standard_normal(out.shape)

    def loss() -> float:  # L = <conv(x, w, b), dout>, so dL/d(out) = dout
        return float(np.sum(run(x, w, b, **kwargs)[0] * dout))

    dx, dw, db = back(dout, cache)
    np.testing.assert_allclose(dx, _numeric_grad(loss, x), rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(dw, _numeric_grad(loss, w), rtol=1e-6, atol=1e-7)
    if b is None:
        assert db is None
    else:
        np.testing.assert_allclose(db, _numeric_grad(loss, b), rtol=1e-6, atol=1e-7)


@settings(max_examples=40, deadline=None)
@given(case=cases(), layout=st.sampled_from(LAYOUTS))
def test_im2col_and_col2im_are_adjoint(case: Case, layout: str) -> None:
    """<im2col(x), y> == <x, col2im(y)> for every x and y: col2im is im2col's transpose."""
    x = to_layout(case.arrays(np.float64)[0], layout)
    geo = ConvGeometry.from_shapes(
        x.shape, to_layout(np.empty(case.w_shape), layout, weight=True).shape,
        layout=layout, **case.kwargs(),
    )  # fmt: skip
    cols = im2col(x, geo, layout)
    assert cols.shape[0] == geo.batch and cols.size == (
        geo.batch * geo.in_channels * geo.kernel_volume * int(np.prod(geo.out_spatial))
    )  # N * C_in * kvol * P
    y = np.random.default_rng(3).standard_normal(cols.shape)
    back = col2im(y, geo, layout)
    assert back.shape == x.shape
    lhs, rhs = np.vdot(cols, y), np.vdot(x, back)
    assert abs(lhs - rhs) <= 1e-10 * max(1.0, abs(lhs))


def test_col2im_counts_overlaps() -> None:
    """col2im of all-ones columns counts how many windows cover each input element."""
    geo = ConvGeometry.from_shapes((1, 1, 4), (1, 1, 3))  # windows [0:3], [1:4]
    back = col2im(np.ones((1, 3, 2)), geo)  # (N, C*kvol, P) = (1, 1*3, 2)
    np.testing.assert_array_equal(back, [[[1, 2, 2, 1]]])
