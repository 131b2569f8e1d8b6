"""flopcount.conv.blas: MKL's GEMM against np.matmul, backend choice, and the engine on both."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from _conv_reference import LAYOUTS, Case, check_against_torch
from hypothesis import given, settings
from hypothesis import strategies as st

from flopcount.conv import blas, blas_backend, conv_forward, parallel, set_blas, use_blas
from flopcount.errors import ConvError

RTOL = {np.float32: 1e-5, np.float64: 1e-12}
DTYPES = (np.float32, np.float64)


@pytest.fixture(autouse=True)
def _fresh_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Every test starts from the default backend, and leaves the loader as it found it."""
    monkeypatch.delenv(blas.ENV_VAR, raising=False)
    saved = dict(blas._state)
    blas._state["choice"] = None
    yield
    blas._state.update(saved)


def _random(shape: tuple[int, ...], dtype: type, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def _same(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """blas.matmul on MKL equals np.matmul (in float64, to the dtype's rounding)."""
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    with use_blas("mkl"):
        got = blas.matmul(a, b, out=out)
    if out is not None:
        assert got is out
    assert got.dtype == a.dtype and got.shape == want.shape
    scale = np.abs(want).max()
    np.testing.assert_allclose(got, want, rtol=RTOL[a.dtype.type], atol=RTOL[a.dtype.type] * scale)
    return got


def _t(x: np.ndarray) -> np.ndarray:
    """x stored column-major: the same values, the transpose of a C-contiguous array."""
    return np.ascontiguousarray(x.swapaxes(-1, -2)).swapaxes(-1, -2)


def _operands(kind: str, t: type) -> tuple[np.ndarray, np.ndarray]:
    """(a, b) of one kind: C-contiguous, transposed operands, strided (copied) views, batches."""
    a, b = _random((7, 5), t, 0), _random((5, 9), t, 1)
    a4, b3 = _random((3, 4, 7, 5), t, 0), _random((4, 5, 9), t, 1)
    match kind:
        case "a transposed":
            return _t(a), b
        case "b transposed":
            return a, _t(b)
        case "both transposed":
            return _t(a), _t(b)
        case "row pitch":  # rows of pitch 12 and 20 (lda, ldb > K, N): read in place
            return _random((7, 12), t, 0)[:, 2:7], _random((5, 20), t, 1)[:, 3:12]
        case "every other":  # no unit stride: copied first
            return _random((14, 10), t, 0)[::2, ::2], _random((5, 18), t, 1)[:, ::2]
        case "one row":
            return a[1:2], b
        case "one column":
            return a, b[:, 1:2]
        case "batched":
            return a4[0], b3
        case "broadcast a":
            return a, b3
        case "broadcast 4-D":
            return a4[:2, :1], b3[:3]
        case "batch strided":
            return a4[:, ::2], b3[:2]
        case "batch transposed":
            return _t(a4[0]), b3
    return a, b


OPERANDS = ("contiguous", "a transposed", "b transposed", "both transposed", "row pitch",
            "every other", "one row", "one column", "batched", "broadcast a", "broadcast 4-D",
            "batch strided", "batch transposed")  # fmt: skip


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kind", OPERANDS)
def test_matmul_equals_numpy(kind: str, dtype: type) -> None:
    a, b = _operands(kind, dtype)
    assert _same(a, b).flags.c_contiguous


@pytest.mark.parametrize("dtype", DTYPES)
def test_out_is_written_in_place(dtype: type) -> None:
    a, b = _random((7, 5), dtype, 0), _random((5, 9), dtype, 1)
    _same(a, b, np.empty((7, 9), dtype))  # row-major
    _same(a, b, np.empty((7, 9), dtype, order="F"))  # column-major: out^T = b^T a^T
    _same(a, b, np.empty((14, 18), dtype)[::2, ::2])  # neither stride unit: via scratch
    wide = np.full((7, 12), 5.0, dtype)
    _same(a, b, wide[:, 1:10])  # rows of pitch 12: the margins stay untouched
    assert (wide[:, 0] == 5).all() and (wide[:, 10:] == 5).all()


def test_interleaved_batch_output() -> None:
    """winograd4's pattern: out matrices interleaved along rows (batch stride < one matrix),
    which MKL's batch_strided refuses: one call per matrix instead."""
    a, b = _random((36, 2, 10, 3), np.float32, 0), _random((36, 2, 3, 4), np.float32, 1)
    out = np.empty((36, 10, 2, 4), np.float32).transpose(0, 2, 1, 3)  # 36, G, tiles, C/G
    _same(a, b, out)


@settings(max_examples=40, deadline=None)
@given(
    dims=st.tuples(*(st.integers(1, 9) for _ in range(3))),
    batch=st.sampled_from([(), (1,), (3,), (2, 3)]),
    flags=st.tuples(st.booleans(), st.booleans(), st.booleans()),
    dtype=st.sampled_from(DTYPES),
)
def test_random_shapes(
    dims: tuple[int, int, int], batch: tuple[int, ...], flags: tuple[bool, ...], dtype: type
) -> None:
    m, k, n = dims
    a, b = _random((*batch, m, k), dtype, 2), _random((*batch[1:], k, n), dtype, 3)
    a, b = (_t(x) if flag else x for x, flag in zip((a, b), flags))
    out = np.empty((*batch, n, m), dtype).swapaxes(-1, -2) if flags[2] else None
    _same(a, b, out)


def _stored(shape: tuple[int, ...], dtype: type, rng: np.random.Generator) -> np.ndarray:
    """Random values of ``shape`` as a view into a bigger array: axes stored in a random
    order, some with a step of 2 and a margin."""
    order = rng.permutation(len(shape))
    steps = rng.integers(1, 3, len(shape))
    store = [(shape[o] + 1) * steps[o] for o in order]
    base = rng.standard_normal(store).astype(dtype).transpose(np.argsort(order))
    return base[tuple(slice(0, n * s, s) for n, s in zip(shape, steps))]


@pytest.mark.parametrize("dtype", DTYPES)
def test_random_memory_layouts(dtype: type) -> None:
    """Operands and outputs of any strides, batch dims broadcast or not (copies made for
    MKL must live until it ran: a freed copy gives garbage here)."""
    rng = np.random.default_rng(7)
    for _ in range(150):
        m, k, n = (int(v) for v in rng.integers(1, 7, 3))
        batch = tuple(int(v) for v in rng.integers(1, 4, rng.integers(0, 3)))
        b_batch = tuple(1 if rng.random() < 0.3 else s for s in batch)[rng.integers(0, 3) :]
        a, b = _stored((*batch, m, k), dtype, rng), _stored((*b_batch, k, n), dtype, rng)
        _same(a, b, _stored((*batch, m, n), dtype, rng) if rng.random() < 0.5 else None)


@pytest.mark.parametrize("shape", [(1, 256, 192, 160), (2, 192, 96, 64), (8, 40, 64, 32)])
def test_threaded_split(monkeypatch: pytest.MonkeyPatch, shape: tuple[int, ...]) -> None:
    """Big GEMMs split by rows, columns or batch over the copy threads: same result."""
    monkeypatch.setattr(parallel, "thread_count", lambda: 3)
    monkeypatch.setattr(blas, "MIN_SPLIT_MACS", 1 << 10)
    batch, m, k, n = shape
    _same(_random((batch, m, k), np.float32, 4), _random((batch, k, n), np.float32, 5))
    _same(_random((m, k), np.float32, 4), _random((k, 3 * n), np.float32, 5))  # columns


def test_fallbacks_to_numpy() -> None:
    """Integer, mixed-dtype, 1-D and empty products run on np.matmul with its results."""
    ints = np.arange(6).reshape(2, 3)
    with use_blas("mkl"):
        assert (blas.matmul(ints, ints.T) == ints @ ints.T).all()
        mixed = blas.matmul(ints.astype(np.float32), ints.T.astype(np.float64))
        assert mixed.dtype == np.float64
        vec = blas.matmul(np.ones(3), np.ones((3, 2)))  # 1-D: (3,) @ (3, 2) -> (2,)
        assert vec.tolist() == [3.0, 3.0]
        assert blas.matmul(np.ones((2, 0)), np.ones((0, 4))).tolist() == [[0.0] * 4] * 2
        with pytest.raises(ValueError):  # NumPy's own shape error
            blas.matmul(np.ones((2, 3)), np.ones((4, 2)))


def test_numpy_backend_never_calls_mkl(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    single, execute = blas._single_call, blas._execute

    def spy_single(*args: Any) -> bool:
        done = single(*args)
        calls.extend(["single"] if done else [])
        return done

    def spy_execute(*args: Any) -> None:
        calls.append("planned")
        execute(*args)

    monkeypatch.setattr(blas, "_single_call", spy_single)
    monkeypatch.setattr(blas, "_execute", spy_execute)
    a, b = _random((4, 3), np.float32, 0), _random((3, 2), np.float32, 1)
    with use_blas("numpy"):
        np.testing.assert_allclose(blas.matmul(a, b), a @ b, rtol=1e-6)
        np.testing.assert_allclose(blas.matmul(a[None], b)[0], a @ b, rtol=1e-6)
    assert calls == []
    with use_blas("mkl"):
        np.testing.assert_allclose(blas.matmul(a, b), a @ b, rtol=1e-6)  # one direct call
        np.testing.assert_allclose(blas.matmul(a.T.T[::1], b), a @ b, rtol=1e-6)
        np.testing.assert_allclose(blas.matmul(a[None], b)[0], a @ b, rtol=1e-6)  # batched
    assert calls == ["single", "single", "planned"]


def test_backend_from_env_and_set(monkeypatch: pytest.MonkeyPatch) -> None:
    assert blas_backend() == "mkl"  # installed (requirements/dev.txt): the default
    monkeypatch.setenv(blas.ENV_VAR, "numpy")
    assert blas_backend() == "numpy"
    monkeypatch.setenv(blas.ENV_VAR, " MKL ")
    assert blas_backend() == "mkl"
    with use_blas("numpy"):  # set_blas and use_blas win over the environment
        assert blas_backend() == "numpy"
    assert blas_backend() == "mkl"
    set_blas("numpy")
    assert blas_backend() == "numpy"
    set_blas(None)
    monkeypatch.setenv(blas.ENV_VAR, "openblas")
    with pytest.raises(ConvError, match="unknown BLAS backend 'openblas'"):
        blas_backend()
    with pytest.raises(ConvError, match="choose one of"):
        set_blas("cublas")


def test_missing_mkl(monkeypatch: pytest.MonkeyPatch) -> None:
    """No libmkl_rt: the default falls back to numpy; asking for mkl says what to install."""
    monkeypatch.setattr(blas, "library_candidates", lambda: ["/nonexistent/libmkl_rt.so.3"])
    blas._state.update(tried=False, library=None, path=None)
    assert blas_backend() == "numpy" and blas.library_path() is None
    a = _random((3, 3), np.float64, 0)
    np.testing.assert_allclose(blas.matmul(a, a), a @ a, rtol=1e-12)
    with pytest.raises(ConvError, match="pip install mkl"):
        set_blas("mkl")
    monkeypatch.setenv(blas.ENV_VAR, "mkl")
    with pytest.raises(ConvError, match=f"{blas.ENV_VAR}=mkl"):
        blas.matmul(a, a)


def test_loading_is_lazy() -> None:
    """Importing the geometry (what the cost formulas need) loads neither NumPy nor MKL."""
    import subprocess
    import sys

    code = (
        "import sys, flopcount.conv.geometry; "
        "assert 'numpy' not in sys.modules and 'flopcount.conv.blas' not in sys.modules"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# The engine on both backends: a representative case per method family, float32 and float64.
CONV_CASES = {
    "3x3": Case((2, 16, 9, 8), (24, 16, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 1, True),
    "1x1 batched": Case((3, 32, 5, 5), (16, 32, 1, 1), (1, 1), ((0, 0), (0, 0)), (1, 1), 1, False),
    "strided": Case((1, 8, 11, 11), (16, 8, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 1, True),
    "grouped": Case((2, 12, 6, 7), (12, 3, 3, 3), (1, 1), ((1, 1), (1, 1)), (1, 1), 4, True),
    "transposed": Case(
        (2, 6, 5, 4), (6, 4, 3, 3), (2, 2), ((1, 1), (1, 1)), (1, 1), 2, True, True, (1, 0)
    ),
}
METHODS = {
    "3x3": ("im2col", "gemm", "winograd", "winograd4", "auto"),
    "1x1 batched": ("im2col", "gemm", "auto"),
    "strided": ("im2col", "gemm", "auto"),
    "grouped": ("im2col", "gemm", "winograd", "winograd4"),
    "transposed": ("im2col", "gemm", "auto"),
}


@pytest.mark.parametrize("backend", blas.BACKENDS)
@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", CONV_CASES)
def test_methods_match_torch_on_each_backend(
    name: str, dtype: type, layout: str, backend: str
) -> None:
    with use_blas(backend):
        for method in METHODS[name]:
            check_against_torch(CONV_CASES[name], method, layout, dtype)


@pytest.mark.parametrize("backend", blas.BACKENDS)
def test_auto_winograd_threshold_follows_the_backend(backend: str) -> None:
    """2 * 7 * 7 = 98 F(2x2) tiles: enough on MKL (MIN_TILES_MKL 96), not on NumPy's BLAS
    (MIN_TILES 144); the measurements are in winograd.py."""
    x, w = np.zeros((2, 192, 14, 14)), np.zeros((192, 192, 3, 3))
    expected = {"mkl": "winograd", "numpy": "gemm"}[backend]
    with use_blas(backend):
        assert conv_forward(x, w, padding=1)[1].method == expected
