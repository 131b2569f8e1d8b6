"""Every invalid configuration raises ConvError naming the problem; NaN and inf propagate."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from _conv_reference import METHODS

from flopcount.conv import (
    conv_backward,
    conv_forward,
    conv_transpose_backward,
    conv_transpose_forward,
)
from flopcount.errors import ConvError


def _a(*shape: int, dtype: Any = np.float64) -> np.ndarray:
    return np.ones(shape, dtype=dtype)


X, W = _a(1, 4, 6, 6), _a(2, 4, 3, 3)

BAD_CALLS = {
    "channel mismatch": (
        (X, _a(2, 3, 3, 3)),
        {},
        ["channel mismatch", "(1, 4, 6, 6)", "(2, 3, 3, 3)"],
    ),
    "groups vs C_in": ((_a(1, 3, 6, 6), _a(2, 1, 3, 3)), {"groups": 2}, ["groups=2", "3 input"]),
    "groups vs C_out": ((X, _a(3, 2, 3, 3)), {"groups": 2}, ["groups=2", "3 output"]),
    "groups zero": ((X, W), {"groups": 0}, ["groups=0"]),
    "kernel too big": ((_a(1, 4, 2, 2), W), {}, ["kernel larger", "(1, 4, 2, 2)"]),
    "kernel too big dilated": ((X, W), {"dilation": 3}, ["kernel larger", "spans 7"]),
    "stride zero": ((X, W), {"stride": 0}, ["stride=0", ">= 1"]),
    "stride negative": ((X, W), {"stride": (1, -2)}, ["stride=(1, -2)"]),
    "dilation zero": ((X, W), {"dilation": 0}, ["dilation=0"]),
    "negative padding": ((X, W), {"padding": -1}, ["padding=-1", ">= 0"]),
    "negative pair": ((X, W), {"padding": ((0, -1), (1, 1))}, ["padding=", ">= 0"]),
    "padding word": ((X, W), {"padding": "full"}, ["padding='full'"]),
    "x rank 2": ((_a(4, 6), _a(2, 4)), {}, ["rank 2", "(4, 6)"]),
    "x rank 6": ((_a(1, 1, 2, 2, 2, 2), _a(1, 1, 1, 1, 1, 1)), {}, ["rank 6"]),
    "w rank": ((X, _a(2, 4, 3)), {}, ["(2, 4, 3)", "same rank"]),
    "x/w dtype": ((X.astype(np.float32), W), {}, ["dtype mismatch", "float32", "float64"]),
    "bias dtype": ((X, W, _a(2, dtype=np.float32)), {}, ["bias", "float32"]),
    "bias shape": ((X, W, _a(3)), {}, ["bias", "(3,)", "(2,)"]),
    "int dtype": ((X.astype(np.int64), W.astype(np.int64)), {}, ["int64", "float32 or float64"]),
    "float16": ((X.astype(np.float16), W.astype(np.float16)), {}, ["float16"]),
    "empty x": ((_a(0, 4, 6, 6), W), {}, ["x is empty", "(0, 4, 6, 6)"]),
    "empty w": ((X, _a(0, 4, 3, 3)), {}, ["w is empty"]),
    "not an array": (([[1.0]], W), {}, ["numpy.ndarray", "list"]),
    "layout": ((X, W), {"layout": "NCHW"}, ["layout='NCHW'", "channels_first"]),
    "method": ((X, W), {"method": "fft"}, ["method='fft'", "'im2col'"]),
}


@pytest.mark.parametrize("name", list(BAD_CALLS))
def test_conv_forward_rejects(name: str) -> None:
    args, kwargs, fragments = BAD_CALLS[name]
    with pytest.raises(ConvError) as info:
        conv_forward(*args, **kwargs)
    for fragment in fragments:
        assert fragment in str(info.value), (fragment, str(info.value))


def test_transpose_rejects_big_output_padding() -> None:
    with pytest.raises(ConvError, match=r"output_padding=\(2, 2\).*smaller than stride \(2\)"):
        conv_transpose_forward(X, _a(4, 2, 3, 3), stride=2, output_padding=2)


def test_transpose_rejects_channel_mismatch() -> None:
    with pytest.raises(ConvError, match=r"channel mismatch.*expects 3 input channels"):
        conv_transpose_forward(X, _a(3, 2, 3, 3))


def test_backward_rejects_wrong_dout() -> None:
    out, cache = conv_forward(X, W)
    with pytest.raises(ConvError, match=r"dout has shape \(1, 2, 3, 3\).*\(1, 2, 4, 4\)"):
        conv_backward(_a(1, 2, 3, 3), cache)
    with pytest.raises(ConvError, match="dtype mismatch: dout is float32"):
        conv_backward(out.astype(np.float32), cache)


def test_backward_rejects_the_other_cache() -> None:
    out, cache = conv_forward(X, W)
    with pytest.raises(ConvError, match="conv_transpose_backward needs the cache"):
        conv_transpose_backward(out, cache)
    out_t, cache_t = conv_transpose_forward(X, _a(4, 2, 3, 3))
    with pytest.raises(ConvError, match="conv_backward needs the cache from conv_forward"):
        conv_backward(out_t, cache_t)


@pytest.mark.parametrize("method", METHODS)
def test_nan_and_inf_propagate(method: str) -> None:
    """A NaN input poisons exactly the outputs whose window covers it; inf gives inf."""
    x = np.ones((1, 1, 5, 5))
    x[0, 0, 0, 0] = np.nan
    x[0, 0, 4, 4] = np.inf
    with np.errstate(invalid="ignore"):
        out, _ = conv_forward(x, np.ones((1, 1, 3, 3)), method=method)  # 3x3 output
    expected = np.full((3, 3), 9.0)  # nine ones under each window
    expected[0, 0] = np.nan  # window rows 0-2, cols 0-2 holds x[0, 0]
    expected[2, 2] = np.inf  # window rows 2-4, cols 2-4 holds x[4, 4]
    np.testing.assert_array_equal(out[0, 0], expected)


@pytest.mark.parametrize("method,tile", [("winograd", 2), ("winograd4", 4)])
def test_winograd_keeps_nan_and_inf_within_their_tiles(method: str, tile: int) -> None:
    """F(t x t, 3x3) mixes each (t + 2) x (t + 2) input tile, so a non-finite input may also
    poison the other outputs of its t x t output tile, but never outputs of other tiles."""
    size = 2 * tile + 2  # two tiles per side: output 2t x 2t
    x = np.ones((1, 1, size, size))
    x[0, 0, 0, 0] = np.nan  # only in output (0, 0)'s window: tile (0, 0)
    x[0, 0, -1, -1] = np.inf  # only in output (2t-1, 2t-1)'s window: tile (1, 1)
    with np.errstate(invalid="ignore"):
        out, _ = conv_forward(x, np.ones((1, 1, 3, 3)), method=method)  # 2t x 2t output
    finite = np.isfinite(out[0, 0])
    assert not finite[0, 0] and not finite[-1, -1]
    assert finite[:tile, tile:].all() and finite[tile:, :tile].all()  # the untouched tiles
    np.testing.assert_allclose(out[0, 0][finite], 9.0, rtol=1e-12)  # nine ones per window


def test_geometry_is_memoised_but_errors_are_not() -> None:
    from flopcount.conv.geometry import ConvGeometry

    args = {"stride": 2, "padding": ((1, 0), (0, 1)), "groups": 2}
    first = ConvGeometry.from_shapes((1, 4, 9, 9), (6, 2, 3, 3), **args)
    assert ConvGeometry.from_shapes((1, 4, 9, 9), (6, 2, 3, 3), **args) is first
    # a list is unhashable: validated without the memo, to an equal geometry
    listed = ConvGeometry.from_shapes([1, 4, 9, 9], [6, 2, 3, 3], stride=[2, 2],
                                      padding=[[1, 0], [0, 1]], groups=2)  # fmt: skip
    assert listed == first and first.out_spatial == ((9 + 1 - 3) // 2 + 1,) * 2
    for _ in range(2):  # an invalid call raises every time, never memoised
        with pytest.raises(ConvError, match="groups=3 does not divide"):
            ConvGeometry.from_shapes((1, 4, 9, 9), (6, 2, 3, 3), groups=3)
    ConvGeometry.from_shapes((1, 4, 9, 9), (6, 4, 3, 3), stride=1)
    for stride in (True, (1, True)):  # equal to 1 and (1, 1) as keys, but not valid strides
        with pytest.raises(ConvError, match="stride"):
            ConvGeometry.from_shapes((1, 4, 9, 9), (6, 4, 3, 3), stride=stride)
