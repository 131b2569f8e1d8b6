"""Every method against PyTorch: forward values and autograd gradients, both layouts."""

from __future__ import annotations

import numpy as np
import pytest
from _conv_reference import (
    LAYOUTS,
    METHODS,
    Case,
    cases,
    check_against_torch,
    to_layout,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from flopcount.conv import conv_forward

DTYPES = st.sampled_from([np.float32, np.float64])


_check = check_against_torch


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=30, deadline=None)
@given(case=cases(), layout=st.sampled_from(LAYOUTS), dtype=DTYPES)
def test_conv_matches_torch(method: str, case: Case, layout: str, dtype: type) -> None:
    _check(case, method, layout, dtype)


@pytest.mark.parametrize("method", ["winograd", "winograd4"])
@settings(max_examples=40, deadline=None)
@given(case=cases(winograd=True), layout=st.sampled_from(LAYOUTS), dtype=DTYPES)
def test_winograd_matches_torch(method: str, case: Case, layout: str, dtype: type) -> None:
    """F(2x2, 3x3) and F(4x4, 3x3) on 3x3 stride-1 cases: any padding, odd sizes (cropped
    tiles), groups."""
    _check(case, method, layout, dtype)


def test_auto_picks_winograd_for_wide_layers() -> None:
    """Wide 3x3 layers go to Winograd under "auto", and still match PyTorch."""
    case = Case((1, 192, 24, 24), (192, 192, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, True)
    x, w, b = case.arrays(np.float32)
    assert conv_forward(x, w, b, padding=1)[1].method == "winograd"
    _check(case, "auto", "channels_first", np.float32)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_auto_picks_winograd4_for_many_tiles(layout: str) -> None:
    """3x3 layers with >= 64 channels and >= 48 4x4 tiles go to F(4x4, 3x3) under "auto"
    (here 2 * 7 * 7 = 98 tiles of a 28x28 map), and match PyTorch in float32 (rtol 1e-4)
    with a wider reduction (C_in * 9 = 576 terms) than hypothesis draws."""
    case = Case((2, 64, 28, 28), (72, 64, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, True)
    x, w, b = case.arrays(np.float32)
    x, w = to_layout(x, layout), to_layout(w, layout, weight=True)
    assert conv_forward(x, w, b, padding=1, layout=layout)[1].method == "winograd4"
    _check(case, "auto", layout, np.float32)


def test_winograd4_float32_error_is_small() -> None:
    """F(4x4, 3x3) in float32 on a ResNet-like 128-channel layer, against float64: the max
    error stays under 2e-5 of the largest output (measured 3.4e-6, see winograd4.py)."""
    case = Case((2, 128, 28, 28), (128, 128, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, False)
    x, w, _ = case.arrays(np.float64)
    ref = conv_forward(x, w, padding=1, method="gemm")[0]
    got = conv_forward(x.astype(np.float32), w.astype(np.float32), padding=1, method="winograd4")
    assert np.abs(got[0] - ref).max() < 2e-5 * np.abs(ref).max()


@pytest.mark.parametrize("method", METHODS)
@settings(max_examples=25, deadline=None)
@given(case=cases(transposed=True), layout=st.sampled_from(LAYOUTS), dtype=DTYPES)
def test_conv_transpose_matches_torch(method: str, case: Case, layout: str, dtype: type) -> None:
    _check(case, method, layout, dtype)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("layout", LAYOUTS)
def test_resnet_like_layers_match_torch(method: str, layout: str) -> None:
    """Bigger channel counts than hypothesis draws: a 3x3, a 1x1, a strided and a depthwise."""
    for case in (
        Case((2, 16, 9, 8), (24, 16, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, True),
        Case((2, 32, 5, 5), (16, 32, 1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, False),
        Case((1, 8, 11, 11), (16, 8, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1, True),
        Case((2, 12, 6, 7), (12, 1, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 12, True),
    ):
        _check(case, method, layout, np.float32)


@pytest.mark.parametrize(
    "x_shape,w_shape,layout,expected",
    [
        ((1, 8, 5, 5), (8, 8, 1, 1), "channels_first", "gemm"),  # pointwise: one GEMM
        ((1, 8, 14, 14), (8, 8, 3, 3), "channels_first", "gemm"),  # channels_first: gemm
        ((2, 14, 14, 8), (3, 3, 8, 8), "channels_last", "im2col"),  # 8 < 64 channels, last
        ((1, 7, 7, 64), (3, 3, 64, 8), "channels_last", "gemm"),  # 64 channels, last
        ((1, 64, 28, 28), (64, 64, 3, 3), "channels_first", "winograd4"),  # 7 * 7 = 49 tiles
        ((1, 192, 24, 24), (192, 192, 3, 3), "channels_first", "winograd"),  # 12 * 12 >= 144
        ((1, 192, 14, 14), (192, 192, 3, 3), "channels_first", "gemm"),  # 7 * 7 < 96 tiles
    ],
)
def test_auto_choice(x_shape: tuple, w_shape: tuple, layout: str, expected: str) -> None:
    """The documented thresholds of methods._auto (docs/conv.md, measured); "same" padding
    keeps every output the input's size."""
    x, w = np.zeros(x_shape), np.zeros(w_shape)
    assert conv_forward(x, w, padding="same", layout=layout)[1].method == expected
