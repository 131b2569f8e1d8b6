"""Memory-bound NumPy copies on a few threads.

BLAS runs the GEMMs on its own threads, but NumPy's copies and element-wise operations (the
im2col gather, Winograd's tile gathers and output assembly) run on one. NumPy releases the
GIL while it copies numeric arrays, so splitting one copy into slabs and handing them to a
thread pool (`concurrent.futures.ThreadPoolExecutor`) runs them in parallel.

Thread count: the CPUs this process may run on (``os.sched_getaffinity``), capped by
``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS`` or ``MKL_NUM_THREADS`` when set (so a run
limited to one BLAS thread copies on one thread too; `flopcount.conv.blas` splits MKL's
GEMMs over these threads as well) and by `MAX_THREADS`.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache, partial
from itertools import pairwise

import numpy as np

__all__ = ["copyto", "run", "thread_count"]

MAX_THREADS = 4  # copies are memory-bound: more threads stop paying (benchmarks/conv.py)
MIN_BYTES = 1 << 20  # smaller copies cost less than a thread hand-off (tens of microseconds)


def thread_count() -> int:
    """Threads for copies: affinity, capped by the OpenMP / OpenBLAS limits and MAX_THREADS."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cpus = os.cpu_count() or 1
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        value = os.environ.get(var, "")
        if value.isdigit() and int(value) > 0:
            cpus = min(cpus, int(value))
    return max(1, min(cpus, MAX_THREADS))


@lru_cache(maxsize=1)
def _pool(threads: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(threads, thread_name_prefix="flopcount-conv")


def _call(job: Callable[[], object]) -> object:
    return job()


def run(jobs: Sequence[Callable[[], object]]) -> None:
    """Call every job, spread over `thread_count` threads (in order on one thread)."""
    threads = min(thread_count(), len(jobs))
    if threads <= 1:
        for job in jobs:
            job()
        return
    for _ in _pool(threads).map(_call, jobs):  # re-raises a job's exception here
        pass


def _slab_copy(dst: np.ndarray, src: np.ndarray, axis: int, lo: int, hi: int) -> None:
    index = (slice(None),) * axis + (slice(lo, hi),)
    np.copyto(dst[index], src[index])


def copyto(dst: np.ndarray, src: np.ndarray, axis: int = 0) -> None:
    """``dst[...] = src`` (same shapes), split into one slab per thread along ``axis``."""
    threads = min(thread_count(), dst.shape[axis])
    if threads <= 1 or dst.nbytes < MIN_BYTES:
        np.copyto(dst, src)
        return
    bounds = [dst.shape[axis] * i // threads for i in range(threads + 1)]
    run([partial(_slab_copy, dst, src, axis, lo, hi) for lo, hi in pairwise(bounds)])
