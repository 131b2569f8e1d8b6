"""The engine's one GEMM entry point: NumPy's matmul, or Intel MKL's GEMM through ctypes.

Every matrix product of the engine goes through `matmul` (NumPy semantics for two float
arrays of rank >= 2: batch dims broadcast, ``out`` written in place). Two backends:

- ``"mkl"``: ``cblas_sgemm`` / ``cblas_dgemm`` and their ``*_batch_strided`` forms from
  ``libmkl_rt`` (Intel oneMKL developer reference, "cblas_?gemm" and
  "cblas_?gemm_batch_strided"), loaded with ctypes on the first GEMM. ``pip install mkl``
  puts the library in ``sys.prefix/lib``. On the benchmark machine it runs the ResNet-50
  GEMMs at PyTorch's rate (1.01x torch.mm, where OpenBLAS runs 0.87x: docs/conv.md, "BLAS
  backends").
- ``"numpy"``: ``np.matmul`` (NumPy's BLAS, OpenBLAS in the PyPI wheels).

The default is ``"mkl"`` when the library loads, else ``"numpy"``; the environment variable
``FLOPCOUNT_BLAS=numpy|mkl``, `set_blas` and the `use_blas` context manager choose one.
Operands are passed to BLAS in place when each matrix has one unit stride (a C-contiguous
matrix or its transpose, rows of any pitch); others are copied first. An output whose
matrices are column-major is computed as ``out^T = b^T a^T``.

Threads: MKL runs its sequential layer (no OpenMP runtime is loaded next to PyTorch's),
and a GEMM big enough to pay for a thread hand-off is split into `parallel.thread_count`
slabs (batch, rows or columns of the output) run on the engine's copy threads; ctypes
releases the GIL during each call.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import math
import os
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from functools import partial
from itertools import pairwise
from pathlib import Path

import numpy as np

from flopcount.conv import parallel
from flopcount.errors import ConvError

__all__ = [
    "BACKENDS",
    "ENV_VAR",
    "blas_backend",
    "library_candidates",
    "library_path",
    "matmul",
    "set_blas",
    "use_blas",
]

BACKENDS = ("mkl", "numpy")
ENV_VAR = "FLOPCOUNT_BLAS"
# CBLAS enums (cblas.h, as in the reference CBLAS of netlib and in mkl_cblas.h).
ROW_MAJOR, NO_TRANS, TRANS = 101, 111, 112
SEQUENTIAL, LP64 = 1, 0  # MKL_Set_Threading_Layer / MKL_Set_Interface_Layer (mkl_service.h)
INT_MAX = 2**31 - 1  # MKL_INT of the LP64 interface is a 32-bit int
# Least multiply-adds per thread before a GEMM is split: ~80 us at 100 GFLOP/s, well above
# the tens of microseconds a thread hand-off costs (benchmarks/conv.py).
MIN_SPLIT_MACS = 1 << 22

_LOCK = threading.Lock()
_state: dict[str, object] = {"choice": None, "library": None, "tried": False, "path": None}


class _Mkl:
    """libmkl_rt's GEMMs, by NumPy dtype: (gemm, batch_strided)."""

    def __init__(self, lib: ctypes.CDLL) -> None:
        lib.MKL_Set_Interface_Layer(LP64)  # before the first compute call, else ignored
        lib.MKL_Set_Threading_Layer(SEQUENTIAL)
        self.functions = {}
        for dtype, prefix, scalar in ((np.float32, "s", ctypes.c_float),
                                      (np.float64, "d", ctypes.c_double)):  # fmt: skip
            ints, ptr = [ctypes.c_int] * 6, ctypes.c_void_p
            gemm = getattr(lib, f"cblas_{prefix}gemm")
            gemm.argtypes = [*ints, scalar, ptr, ctypes.c_int, ptr, ctypes.c_int, scalar, ptr,
                             ctypes.c_int]  # fmt: skip
            gemm.restype = None
            batch = getattr(lib, f"cblas_{prefix}gemm_batch_strided")
            pitch = [ctypes.c_int] * 2
            batch.argtypes = [*ints, scalar, ptr, *pitch, ptr, *pitch, scalar, ptr, *pitch,
                              ctypes.c_int]  # fmt: skip
            batch.restype = None
            self.functions[np.dtype(dtype)] = (gemm, batch)


def library_candidates() -> list[str]:
    """Where libmkl_rt may be: the environment's lib folder (pip's mkl wheel), then the
    system's library search path."""
    lib = Path(sys.prefix) / "lib"
    found = [str(lib / name) for name in ("libmkl_rt.so.3", "libmkl_rt.so.2", "libmkl_rt.so",
                                          "libmkl_rt.dylib", "mkl_rt.dll")]  # fmt: skip
    system = ctypes.util.find_library("mkl_rt")
    return [*(path for path in found if Path(path).exists()), *([system] if system else [])]


def _library() -> _Mkl | None:
    """libmkl_rt, loaded on first use (None when no candidate loads)."""
    with _LOCK:  # the engine's threads may reach the first GEMM together
        if not _state["tried"]:
            _load()
    return _state["library"]  # type: ignore[return-value]


def _load() -> None:
    """Try every candidate in turn; the first that loads becomes the library."""
    _state["tried"] = True
    for path in library_candidates():
        try:
            _state["library"] = _Mkl(ctypes.CDLL(path))
            _state["path"] = path
            return
        except (OSError, AttributeError):  # not loadable, or too old (no batch_strided)
            continue


def library_path() -> str | None:
    """The file libmkl_rt was loaded from (loading it now if not yet tried), or None."""
    _library()
    return _state["path"]  # type: ignore[return-value]


def _check(name: str, source: str) -> str:
    if name not in BACKENDS:
        raise ConvError(f"unknown BLAS backend {name!r} ({source}); choose one of {BACKENDS}")
    if name == "mkl" and _library() is None:
        raise ConvError(
            f"BLAS backend 'mkl' requested ({source}) but libmkl_rt could not be loaded "
            f"(looked in {Path(sys.prefix) / 'lib'} and the system library path): "
            "`pip install mkl`, or choose 'numpy'"
        )
    return name


def blas_backend() -> str:
    """The backend the next GEMM uses: `set_blas`'s choice, else ``$FLOPCOUNT_BLAS``, else
    ``"mkl"`` when libmkl_rt loads, else ``"numpy"``."""
    choice = _state["choice"]
    if isinstance(choice, str):
        return choice
    env = os.environ.get(ENV_VAR, "").strip().lower()
    if env:
        return _check(env, f"{ENV_VAR}={env}")
    return "mkl" if _library() is not None else "numpy"


def set_blas(name: str | None) -> None:
    """Use backend ``name`` from now on (None: back to the default of `blas_backend`)."""
    _state["choice"] = None if name is None else _check(name, "set_blas")


@contextmanager
def use_blas(name: str) -> Iterator[str]:
    """Run the block's GEMMs on backend ``name``, then restore the previous choice."""
    previous = _state["choice"]
    set_blas(name)
    try:
        yield name
    finally:
        _state["choice"] = previous


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs microseconds more
class _Gemm:
    """One (strided-batched) row-major GEMM C = op(A) op(B): pointers, leading dimensions
    and batch strides in elements."""

    trans_a: int
    trans_b: int
    m: int
    n: int
    k: int
    a: int
    lda: int
    b: int
    ldb: int
    c: int
    ldc: int
    batch: int = 1
    strides: tuple[int, int, int] = (0, 0, 0)


def _describe(shape: tuple[int, int], strides: tuple[int, int], size: int) -> tuple[int, int]:
    """(trans flag, leading dimension) of a (rows, cols) matrix with byte strides, or
    (0, 0) when neither stride is one element."""
    (rows, cols), (row, col) = shape, strides
    if cols == 1 or col == size:  # unit step along a row: rows at pitch `row`
        ld = cols if rows == 1 else row // size
        if rows == 1 or (row % size == 0 and ld >= cols):
            return NO_TRANS, ld
    if rows == 1 or row == size:  # unit step down a column: the transpose, row-major
        ld = rows if cols == 1 else col // size
        if cols == 1 or (col % size == 0 and ld >= rows):
            return TRANS, ld
    return 0, 0


def _operand(x: np.ndarray) -> tuple[np.ndarray, int, int]:
    """x (copied when BLAS cannot read its matrices in place), its trans flag and pitch."""
    if min(x.strides, default=0) >= 0:
        flag, ld = _describe(x.shape[-2:], x.strides[-2:], x.itemsize)  # type: ignore[arg-type]
        if flag:
            return x, flag, ld
    x = np.ascontiguousarray(x)
    return x, NO_TRANS, max(x.shape[-1], 1)


def _address(x: np.ndarray) -> int:
    return int(x.ctypes.data)


def _batches(shape: tuple[int, ...], strides: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Batch dims merged where every operand steps evenly over them, size-1 dims dropped:
    (size, stride_a, stride_b, stride_c) per remaining dim, outermost first."""
    dims = [(s, *(st[i] for st in strides)) for i, s in enumerate(shape) if s != 1]
    merged: list[tuple[int, ...]] = []
    for dim in dims:
        if merged and all(p == q * dim[0] for p, q in zip(merged[-1][1:], dim[1:])):
            merged[-1] = (merged[-1][0] * dim[0], *dim[1:])
        else:
            merged.append(dim)
    return merged


def _plan(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[list[_Gemm], tuple]:
    """The GEMM calls of c = a @ b (c's matrices row-major; a, b broadcast over c's batch),
    and the operands they point into (copies among them), to keep alive until they ran."""
    size = c.itemsize
    a, ta, lda = _operand(a)
    b, tb, ldb = _operand(b)
    _, ldc = _describe(c.shape[-2:], c.strides[-2:], size)  # type: ignore[arg-type]
    base = _Gemm(ta, tb, c.shape[-2], c.shape[-1], a.shape[-1], _address(a), lda, _address(b),
                 ldb, _address(c), ldc)  # fmt: skip
    batch = c.shape[:-2]
    if math.prod(batch) == 1:  # no batch, or only dims of size 1
        return [base], (a, b)
    dims = _batches(batch, [_batch_strides(a, batch), _batch_strides(b, batch), c.strides[:-2]])
    if not dims:
        return [base], (a, b)
    outer = dims
    if _strided_ok(base, dims[-1], size):  # the innermost dim as one batch_strided call
        inner, *outer = dims[-1], *dims[:-1]
        base = replace(base, batch=inner[0], strides=tuple(s // size for s in inner[1:]))  # type: ignore[arg-type]
    calls = [base]
    for count, sa, sb, sc in reversed(outer):
        calls = [replace(g, a=g.a + i * sa, b=g.b + i * sb, c=g.c + i * sc)
                 for i in range(count) for g in calls]  # fmt: skip
    return calls, (a, b)


def _batch_strides(x: np.ndarray, batch: tuple[int, ...]) -> tuple[int, ...]:
    """Byte strides of x's batch dims broadcast to ``batch`` (0 where x repeats)."""
    pad = len(batch) - (x.ndim - 2)
    return tuple(
        0 if i < pad or x.shape[i - pad] == 1 else x.strides[i - pad] for i in range(len(batch))
    )


def _strided_ok(g: _Gemm, dim: tuple[int, ...], size: int) -> bool:
    """Whether batch_strided takes these strides: MKL rejects batch strides shorter than
    a matrix (stride_a >= lda * stored rows, ...; A and B may repeat with stride 0)."""
    rows_a = g.m if g.trans_a == NO_TRANS else g.k
    rows_b = g.k if g.trans_b == NO_TRANS else g.n
    _, sa, sb, sc = (s // size for s in dim)
    return (
        (sa == 0 or sa >= g.lda * rows_a)
        and (sb == 0 or sb >= g.ldb * rows_b)
        and (sc >= g.ldc * g.m)
    )


def _split(call: _Gemm, parts: int, size: int) -> list[_Gemm]:
    """``call`` cut into ``parts`` pieces along its batch, its rows or its columns."""
    if call.batch >= parts:
        sa, sb, sc = (s * size for s in call.strides)
        return [replace(call, batch=hi - lo, a=call.a + lo * sa, b=call.b + lo * sb,
                        c=call.c + lo * sc) for lo, hi in _bounds(call.batch, parts)]  # fmt: skip
    if call.m >= call.n:  # rows of op(A) and of C
        step_a = (call.lda if call.trans_a == NO_TRANS else 1) * size
        return [replace(call, m=hi - lo, a=call.a + lo * step_a, c=call.c + lo * call.ldc * size)
                for lo, hi in _bounds(call.m, parts)]  # fmt: skip
    step_b = (1 if call.trans_b == NO_TRANS else call.ldb) * size
    return [replace(call, n=hi - lo, b=call.b + lo * step_b, c=call.c + lo * size)
            for lo, hi in _bounds(call.n, parts)]  # fmt: skip


def _bounds(total: int, parts: int) -> list[tuple[int, int]]:
    """``range(total)`` in ``parts`` even (lo, hi) pieces."""
    return list(pairwise(total * i // parts for i in range(parts + 1)))


def _execute(lib: _Mkl, dtype: np.dtype, plan: tuple[list[_Gemm], tuple]) -> None:
    """Run a `_plan`'s calls (holding its arrays): on this thread when small, else spread
    over `parallel.thread_count` threads."""
    calls, _arrays = plan
    gemm, batched = lib.functions[dtype]
    macs = sum(g.m * g.n * g.k * g.batch for g in calls)
    if macs < 2 * MIN_SPLIT_MACS:  # too small to split: skip the thread policy's lookups
        for g in calls:
            _call(gemm, batched, g)
        return
    threads = parallel.thread_count()
    if 1 < len(calls) < threads or (len(calls) == 1 and threads > 1):
        parts = max(2, min(threads, macs // MIN_SPLIT_MACS))
        calls = [piece for g in calls for piece in _split(g, parts, dtype.itemsize)]
    parallel.run([partial(_call, gemm, batched, g) for g in calls])


def _call(gemm: Callable[..., None], batched: Callable[..., None], g: _Gemm) -> None:
    if g.batch == 1:
        gemm(ROW_MAJOR, g.trans_a, g.trans_b, g.m, g.n, g.k, 1.0, g.a, g.lda, g.b, g.ldb, 0.0,
             g.c, g.ldc)  # fmt: skip
        return
    sa, sb, sc = g.strides
    batched(ROW_MAJOR, g.trans_a, g.trans_b, g.m, g.n, g.k, 1.0, g.a, g.lda, sa, g.b, g.ldb, sb,
            0.0, g.c, g.ldc, sc, g.batch)  # fmt: skip


def _fits(a: np.ndarray, b: np.ndarray, out: np.ndarray | None) -> bool:
    """Whether MKL can compute this product: two float32 or float64 operands of rank >= 2
    with a common dtype, matching shapes, non-empty, 32-bit sizes, out not overlapping."""
    if a.ndim < 2 or b.ndim < 2 or a.dtype != b.dtype or a.dtype.char not in "fd":
        return False
    if not a.dtype.isnative:
        return False
    if a.shape[-1] != b.shape[-2] or 0 in a.shape or 0 in b.shape:
        return False
    if max(*a.shape, *b.shape, a.size, b.size) > INT_MAX:
        return False
    if out is None:
        return True
    return (
        out.dtype == a.dtype
        and out.flags.writeable
        and not (np.may_share_memory(out, a) or np.may_share_memory(out, b))
    )


def _single_call(lib: _Mkl, a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bool:
    """The common case in one call, without `_plan`: 2-D operands BLAS reads in place, a
    C-contiguous output, one thread (or a GEMM too small to split). False: not this case.
    (The engine's per-call overhead matters: a ResNet-50 1x1 layer at batch 1 is ~0.8 ms.)"""
    size = c.itemsize
    ta, lda = _describe(a.shape, a.strides, size) if min(a.strides) >= 0 else (0, 0)  # type: ignore[arg-type]
    tb, ldb = _describe(b.shape, b.strides, size) if min(b.strides) >= 0 else (0, 0)  # type: ignore[arg-type]
    (m, k), n = a.shape, b.shape[1]
    if not (ta and tb) or (m * n * k >= 2 * MIN_SPLIT_MACS and parallel.thread_count() > 1):
        return False
    gemm = lib.functions[c.dtype][0]
    gemm(ROW_MAJOR, ta, tb, m, n, k, 1.0, a.ctypes.data, lda, b.ctypes.data, ldb, 0.0,
         c.ctypes.data, max(n, 1))  # fmt: skip
    return True


def matmul(a: np.ndarray, b: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """``np.matmul(a, b, out=out)`` on the current backend.

    a: (..., M, K), b: (..., K, N), batch dims broadcast; out: (..., M, N) or None.
    Returns out (or a new C-contiguous array). Products MKL cannot take (integer or mixed
    dtypes, 1-D operands, empty or overlapping arrays) run on ``np.matmul``.
    """
    if blas_backend() == "numpy" or not _fits(a, b, out):
        return np.matmul(a, b, out=out)
    if a.ndim == 2 == b.ndim:
        shape: tuple[int, ...] = (a.shape[0], b.shape[1])
    else:
        shape = (*np.broadcast_shapes(a.shape[:-2], b.shape[:-2]), a.shape[-2], b.shape[-1])
    if out is not None and out.shape != shape:
        return np.matmul(a, b, out=out)  # NumPy's own error message
    if max(shape[-2:]) > INT_MAX or (out is not None and min(out.strides, default=0) < 0):
        return np.matmul(a, b, out=out)
    result = np.empty(shape, dtype=a.dtype) if out is None else out
    lib = _library()
    if lib is None:  # unreachable: blas_backend() returned "mkl"
        return np.matmul(a, b, out=out)
    if a.ndim == 2 == b.ndim and result.flags.c_contiguous and _single_call(lib, a, b, result):
        return result
    flag, _ = _describe(result.shape[-2:], result.strides[-2:], result.itemsize)  # type: ignore[arg-type]
    if flag == NO_TRANS:
        _execute(lib, a.dtype, _plan(a, b, result))
    elif flag == TRANS:  # column-major output: out^T = b^T a^T
        swap = result.swapaxes(-1, -2)
        _execute(lib, a.dtype, _plan(b.swapaxes(-1, -2), a.swapaxes(-1, -2), swap))
    else:  # neither stride unit: compute into a scratch array, then copy
        scratch = np.empty(shape, dtype=a.dtype)
        _execute(lib, a.dtype, _plan(a, b, scratch))
        np.copyto(result, scratch)
    return result
