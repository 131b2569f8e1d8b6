"""The threaded copies (flopcount.conv.parallel) and the methods that use them."""

from __future__ import annotations

from unittest.mock import patch

import numpy as np
import pytest

from flopcount.conv import conv_forward, parallel


@pytest.mark.parametrize("axis", [0, 1, 2])
def test_copyto_copies_every_slab(axis: int) -> None:
    """A strided (transposed) source copied in slabs equals np.copyto's result."""
    src = np.arange(5 * 7 * 3, dtype=np.float32).reshape(3, 7, 5).transpose(2, 1, 0)  # 5, 7, 3
    dst = np.zeros((5, 7, 3), np.float32)
    with (
        patch.object(parallel, "MIN_BYTES", 0),
        patch.object(parallel, "thread_count", return_value=3),
    ):
        parallel.copyto(dst, src, axis=axis)
    np.testing.assert_array_equal(dst, src)


def test_thread_count_follows_the_blas_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "1")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert parallel.thread_count() == 1


def test_run_reraises_a_failing_job() -> None:
    def fail() -> None:
        raise RuntimeError("job failed")

    with (
        patch.object(parallel, "thread_count", return_value=2),
        pytest.raises(RuntimeError, match="job failed"),
    ):
        parallel.run([fail, fail])


@pytest.mark.parametrize("method", ["im2col", "gemm", "winograd4"])
@pytest.mark.parametrize("layout", ["channels_first", "channels_last"])
def test_threaded_copies_give_the_same_result(method: str, layout: str) -> None:
    """Every copy split over 3 threads (no size floor) gives the single-threaded result."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 5, 13, 11))  # N, C_in, H, W
    w = rng.standard_normal((4, 5, 3, 3))  # C_out, C_in, 3, 3
    if layout == "channels_last":
        x, w = x.transpose(0, 2, 3, 1).copy(), w.transpose(2, 3, 1, 0).copy()
    with patch.object(parallel, "thread_count", return_value=1):
        want = conv_forward(x, w, padding=1, layout=layout, method=method)[0]
    with (
        patch.object(parallel, "MIN_BYTES", 0),
        patch.object(parallel, "thread_count", return_value=3),
    ):
        got = conv_forward(x, w, padding=1, layout=layout, method=method)[0]
    np.testing.assert_array_equal(got, want)
