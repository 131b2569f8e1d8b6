"""Pools: full-window FLOPs and in-bounds exact counts, checked against a naive tap loop."""

from __future__ import annotations

import itertools
import math

import pytest
from costs_helpers import cost

from flopcount.errors import CostError


def naive_inside_taps(
    spatial: tuple[int, ...],
    outs: tuple[int, ...],
    kernel: tuple[int, ...],
    strides: tuple[int, ...],
    begins: tuple[int, ...],
    dilations: tuple[int, ...] | None = None,
) -> int:
    """Count, window by window and tap by tap, the taps that read inside the input."""
    dilations = dilations or (1,) * len(spatial)
    count = 0
    for window in itertools.product(*(range(o) for o in outs)):
        for tap in itertools.product(*(range(k) for k in kernel)):
            positions = [
                o * s - b + t * d for o, s, b, t, d in zip(window, strides, begins, tap, dilations)
            ]
            count += all(0 <= p < n for p, n in zip(positions, spatial))
    return count


def test_maxpool_resnet_stem() -> None:
    c = cost("MaxPool", (1, 64, 112, 112), kernel_shape=[3, 3], strides=[2, 2], pads=[1] * 4)
    outputs = 64 * 56 * 56  # (112 + 2 - 3) // 2 + 1 = 56
    assert c.flops == outputs * 3 * 3  # one compare per tap of every window
    inside = 64 * naive_inside_taps((112, 112), (56, 56), (3, 3), (2, 2), (1, 1))
    assert c.flops_exact == inside - outputs  # v - 1 compares over the v in-bounds taps
    assert inside == 64 * 167 * 167  # per axis: 55 + 56 + 56 in-bounds taps


def test_average_pool_and_count_include_pad() -> None:
    c = cost("AveragePool", (1, 3, 8, 8), kernel_shape=[2, 2], strides=[2, 2])
    outputs = 3 * 4 * 4
    assert (c.flops, c.flops_exact) == (outputs * (4 + 1), outputs * (3 + 1))  # adds + divide
    padded = {"kernel_shape": [3, 3], "pads": [1] * 4}
    excl = cost("AveragePool", (1, 1, 5, 5), **padded)
    incl = cost("AveragePool", (1, 1, 5, 5), count_include_pad=1, **padded)
    assert excl == incl  # only the divisor changes
    assert excl.flops_exact == naive_inside_taps((5, 5), (5, 5), (3, 3), (1, 1), (1, 1))


def test_ceil_mode_truncates_and_drops_windows() -> None:
    c = cost("AveragePool", (1, 1, 5, 5), kernel_shape=[2, 2], strides=[2, 2], ceil_mode=1)
    assert c.flops == 3 * 3 * (4 + 1)  # ceil((5 - 2) / 2) + 1 = 3 windows per axis
    assert c.flops_exact == naive_inside_taps((5, 5), (3, 3), (2, 2), (2, 2), (0, 0)) == 5 * 5
    # A last window starting in the end padding is dropped: ceil(5 / 2) + 1 = 4 -> 3
    dropped = cost("MaxPool", (1, 1, 6), kernel_shape=[2], strides=[2], pads=[0, 1], ceil_mode=1)
    assert dropped.flops == 3 * 2


def test_auto_pad_same_and_dilation() -> None:
    same = cost("MaxPool", (1, 1, 7, 7), kernel_shape=[3, 3], strides=[2, 2], auto_pad="SAME_UPPER")
    assert same.flops == math.ceil(7 / 2) ** 2 * 9  # 4 x 4 windows
    begins = ((4 - 1) * 2 + 3 - 7) // 2  # total padding 2 split 1 / 1
    assert same.flops_exact == naive_inside_taps((7, 7), (4, 4), (3, 3), (2, 2), (begins,) * 2) - 16
    dilated = cost("MaxPool", (1, 1, 10), kernel_shape=[3], dilations=[2])
    assert (dilated.flops, dilated.flops_exact) == (6 * 3, 6 * 2)  # span 5: 10 - 5 + 1 = 6


def test_lp_pool() -> None:
    c = cost("LpPool", (1, 2, 6, 6), kernel_shape=[3, 3], strides=[3, 3])
    outputs = 2 * 2 * 2
    assert (c.flops, c.flops_exact) == (outputs * (2 * 9 + 1), outputs * 2 * 9)  # |x|^p, add, root


def test_global_pools() -> None:
    planes, size = 2 * 3, 7 * 7
    gmax = cost("GlobalMaxPool", (2, 3, 7, 7))
    assert (gmax.flops, gmax.flops_exact) == (planes * size, planes * (size - 1))
    gavg = cost("GlobalAveragePool", (2, 3, 7, 7))
    assert (gavg.flops, gavg.flops_exact) == (planes * (size + 1), planes * size)
    glp = cost("GlobalLpPool", (2, 3, 7, 7))
    assert (glp.flops, glp.flops_exact) == (planes * (2 * size + 1), planes * 2 * size)


@pytest.mark.parametrize(
    ("op", "shape", "attrs"),
    [
        ("MaxPool", (1, 1, 5, 5), {}),  # kernel_shape is required
        ("MaxPool", (1, 1, 5, 5), {"kernel_shape": [7, 7]}),  # larger than the input
        ("AveragePool", (1, 1, 5, 5), {"kernel_shape": [2]}),  # one size for two axes
        ("GlobalAveragePool", (4, 5), {}),  # no spatial dims
    ],
)
def test_malformed_pools_raise(op: str, shape: tuple[int, ...], attrs: dict[str, object]) -> None:
    with pytest.raises(CostError, match=rf"{op} .*model.block.*{shape[0]}, {shape[1]}"):
        cost(op, shape, **attrs)
