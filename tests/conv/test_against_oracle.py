"""Every fast method against the direct oracle (STYLE principle 12), float64."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pytest
from _conv_reference import LAYOUTS, Case, cases, to_layout
from hypothesis import given, settings
from hypothesis import strategies as st

from flopcount.conv import (
    conv_backward,
    conv_forward,
    conv_transpose_backward,
    conv_transpose_forward,
    gemm,
    lowering,
    parallel,
    winograd4,
)


def _run(case: Case, method: str, layout: str) -> list[np.ndarray]:
    """out, dx, dw (and db) of one case by one method."""
    x, w, b = case.arrays(np.float64)
    x, w = to_layout(x, layout), to_layout(w, layout, weight=True)
    run = conv_transpose_forward if case.transposed else conv_forward
    back = conv_transpose_backward if case.transposed else conv_backward
    out, cache = run(x, w, b, layout=layout, method=method, **case.kwargs())
    dout = np.random.default_rng(5).standard_normal(out.shape)
    return [out, *(g for g in back(dout, cache) if g is not None)]


def _agree(case: Case, method: str, layout: str) -> None:
    for got, want in zip(_run(case, method, layout), _run(case, "direct", layout)):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12 * np.abs(want).max())


@pytest.mark.parametrize("method", ["im2col", "gemm"])
@settings(max_examples=30, deadline=None)
@given(case=cases(), layout=st.sampled_from(LAYOUTS))
def test_fast_methods_equal_the_oracle(method: str, case: Case, layout: str) -> None:
    _agree(case, method, layout)


@settings(max_examples=20, deadline=None)
@given(case=cases(transposed=True), layout=st.sampled_from(LAYOUTS))
def test_transposed_gemm_equals_the_oracle(case: Case, layout: str) -> None:
    _agree(case, "gemm", layout)


@pytest.mark.parametrize("method", ["winograd", "winograd4"])
@settings(max_examples=30, deadline=None)
@given(case=cases(winograd=True), layout=st.sampled_from(LAYOUTS))
def test_winograd_equals_the_oracle(method: str, case: Case, layout: str) -> None:
    """F(2x2, 3x3) and F(4x4, 3x3); sizes up to 10 leave partial (cropped) tiles."""
    _agree(case, method, layout)


@settings(max_examples=30, deadline=None)
@given(case=cases(), layout=st.sampled_from(LAYOUTS), columns=st.integers(1, 200))
def test_gemm_chunking_equals_the_oracle(case: Case, layout: str, columns: int) -> None:
    """Small column budgets split the work into row ranges and image groups: same result."""
    c_in, kvol = case.x_shape[1], int(np.prod(case.w_shape[2:]))
    with (
        patch.object(gemm, "CHUNK_BYTES", 4 * c_in * kvol * columns),  # `columns` per chunk
        patch.object(parallel, "thread_count", return_value=1),  # the budget is per thread
        patch.object(gemm, "MIN_GEMM_COLUMNS", 1),
        patch.object(gemm, "POINTWISE_BATCHED_BELOW", columns),
    ):
        _agree(case, "gemm", layout)


@settings(max_examples=15, deadline=None)
@given(case=cases(), layout=st.sampled_from(LAYOUTS))
def test_im2col_one_image_at_a_time_equals_the_oracle(case: Case, layout: str) -> None:
    with patch.object(lowering, "BATCH_BYTES", 1):  # every image its own column matrix
        _agree(case, "im2col", layout)


@settings(max_examples=15, deadline=None)
@given(case=cases(winograd=True), layout=st.sampled_from(LAYOUTS))
def test_winograd4_small_blocks_equal_the_oracle(case: Case, layout: str) -> None:
    with patch.object(winograd4, "BLOCK_TILES", 1):  # every block one tile row of one image
        _agree(case, "winograd4", layout)


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize(
    "stride,dilation",
    [((2, 2), (2, 2)), ((3, 2), (2, 3)), ((4, 1), (2, 1)), ((2, 3), (1, 3))],
)
def test_gemm_tap_classes_with_shared_stride_and_dilation_factors(
    layout: str, stride: tuple[int, int], dilation: tuple[int, int]
) -> None:
    """Strides and dilations with a common factor: the taps that read one stride phase
    are every s / gcd(d, s)-th tap (gemm._tap_classes), some phases are read by no tap."""
    case = Case((2, 3, 13, 12), (4, 3, 4, 3), stride, ((2, 1), (0, 3)), dilation, 1, True)
    _agree(case, "gemm", layout)
