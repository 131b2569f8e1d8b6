"""count_ops runs the direct algorithm on counting scalars; it must equal the closed form."""

from __future__ import annotations

import numpy as np
import pytest
from _conv_reference import to_layout

from flopcount.conv import ConvGeometry, OpCount, conv_forward, count_ops
from flopcount.conv.counting import run_counted
from flopcount.costs import conv_cost

SEEDS = range(60)


def _random_problem(seed: int) -> tuple[tuple[int, ...], tuple[int, ...], dict, bool]:
    """A small random geometry (1-3 spatial dims, groups, stride, padding, dilation, layout)."""
    rng = np.random.default_rng(seed)
    nd = int(rng.integers(1, 4))
    groups = int(rng.integers(1, 3))
    c_in, c_out = groups * int(rng.integers(1, 3)), groups * int(rng.integers(1, 3))
    kernel = tuple(int(k) for k in rng.integers(1, 4, nd))
    stride = tuple(int(s) for s in rng.integers(1, 3, nd))
    dilation = tuple(int(d) for d in rng.integers(1, 3, nd))
    padding = tuple((int(lo), int(hi)) for lo, hi in rng.integers(0, 2, (nd, 2)))
    spans = [d * (k - 1) + 1 for k, d in zip(kernel, dilation)]
    spatial = tuple(
        max(s - lo - hi, 1) + int(rng.integers(0, 3)) for s, (lo, hi) in zip(spans, padding)
    )
    layout = "channels_first" if rng.integers(2) else "channels_last"
    x_shape = (1, c_in, *spatial)
    w_shape = (c_out, c_in // groups, *kernel)
    kwargs = {
        "stride": stride, "padding": padding, "dilation": dilation, "groups": groups,
        "layout": layout,
    }  # fmt: skip
    x_shape = to_layout(np.empty(x_shape), layout).shape
    w_shape = to_layout(np.empty(w_shape), layout, weight=True).shape
    return x_shape, w_shape, kwargs, bool(rng.integers(2))


@pytest.mark.parametrize("seed", SEEDS)
def test_count_ops_equals_exact_formula(seed: int) -> None:
    x_shape, w_shape, kwargs, bias = _random_problem(seed)
    counted = count_ops(x_shape, w_shape, bias, **kwargs)
    geo = ConvGeometry.from_shapes(x_shape, w_shape, **kwargs)
    assert counted.total == conv_cost(geo, bias).flops_exact
    assert counted.mults == geo.macs  # one multiply per MAC
    k = geo.kernel_volume * geo.in_channels // geo.groups  # dot-product length
    outputs = geo.output_elements
    assert counted.adds == outputs * (k - 1) + (outputs if bias else 0)


def test_bias_costs_one_add_not_a_multiply_add() -> None:
    """With bias, each output costs 2K operations, not the often-quoted 2K + 1."""
    counted = count_ops((1, 3, 6, 6), (4, 3, 3, 3), bias=True, padding=1)
    k = 3 * 3 * 3  # C_in * kh * kw
    outputs = 1 * 4 * 6 * 6  # N * C_out * H_out * W_out
    assert counted == OpCount(mults=outputs * k, adds=outputs * (k - 1) + outputs)
    assert counted.total == outputs * 2 * k
    assert counted.total != outputs * (2 * k + 1)
    without_bias = count_ops((1, 3, 6, 6), (4, 3, 3, 3), bias=False, padding=1)
    assert without_bias.total == outputs * (2 * k - 1)


def test_padding_zeros_are_multiplied() -> None:
    """The direct algorithm multiplies padding zeros too, as the formula assumes."""
    padded = count_ops((1, 1, 3), (1, 1, 3), padding=1)  # 3 outputs of 3 terms, 2 on zeros
    assert padded == OpCount(mults=3 * 3, adds=3 * 2)


@pytest.mark.parametrize("seed", range(5))
def test_counting_run_computes_the_real_convolution(seed: int) -> None:
    """The counting scalars really compute: their output equals the float64 direct method."""
    x_shape, w_shape, kwargs, bias = _random_problem(seed)
    rng = np.random.default_rng(seed)
    x, w = rng.standard_normal(x_shape), rng.standard_normal(w_shape)
    geo = ConvGeometry.from_shapes(x_shape, w_shape, **kwargs)
    b = rng.standard_normal(geo.out_channels) if bias else None
    values, counted = run_counted(x, w, b, geo, kwargs["layout"])
    expected, _ = conv_forward(x, w, b, method="direct", **kwargs)
    if kwargs["layout"] == "channels_last":
        expected = np.moveaxis(expected, -1, 1)
    np.testing.assert_allclose(values, expected, rtol=1e-12, atol=1e-12)
    assert counted.total == conv_cost(geo, bias).flops_exact


def test_opcount_total() -> None:
    assert OpCount(mults=5, adds=4).total == 9
    assert OpCount(mults=2, adds=4).total == 2 + 4
