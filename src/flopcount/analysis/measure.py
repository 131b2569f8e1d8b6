"""Measure this machine's achieved GEMM FLOP/s and memory bandwidth, as a `Hardware` profile.

- **GEMM**: an ``n x n`` by ``n x n`` matrix product counts ``2 * n**3`` FLOPs (``n**2``
  outputs, ``n`` multiply-accumulates each, 2 FLOPs per MAC). NumPy measures float64 and
  float32 through its BLAS; PyTorch, when installed, float32 and bfloat16 on the CPU. Each
  size runs once to warm up, then ``repeats`` times; the **median** time is kept.
- **Bandwidth**: STREAM's Copy, Scale and Add kernels (McCalpin, "Memory Bandwidth and Machine
  Balance in Current High Performance Computers", IEEE TCCA Newsletter, 1995; the STREAM
  benchmark) on float64 arrays far larger than the caches, split over one thread per core
  (NumPy releases the GIL inside these loops). Bytes are counted as STREAM counts them: Copy
  and Scale 16 bytes per element, Add 24 (write-allocate traffic not counted), and as in
  STREAM the **best** time after the first trial is kept. The profile's bandwidth is the best
  kernel's rate.

Achieved rates are what real kernels reach on this machine, so a profile is a realistic
"peak" for the roofline of a CPU run; it is not the CPU's theoretical peak.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import platform
import socket
import statistics
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from time import perf_counter
from typing import Any

import numpy as np

from flopcount.analysis.hardware import Hardware

__all__ = ["MeasurePlan", "ProgressFn", "cpu_cores", "measure_local"]

ProgressFn = Callable[[str, float], None]
"""``progress(message, fraction_done)``, called before each step and once at the end."""

STREAM_BYTES_PER_ELEMENT = {"copy": 16, "scale": 16, "add": 24}  # float64, STREAM counting


@dataclass(frozen=True)
class MeasurePlan:
    """Sizes and repeats of one measurement (`FULL` takes seconds, `QUICK` well under one)."""

    gemm_n: int
    gemm_repeats: int
    stream_elements: int
    stream_trials: int


FULL = MeasurePlan(gemm_n=2048, gemm_repeats=5, stream_elements=32 * 2**20, stream_trials=5)
# 32 Mi float64 = 256 MiB per array, far beyond any CPU's last-level cache (STREAM asks 4x).
QUICK = MeasurePlan(gemm_n=192, gemm_repeats=3, stream_elements=2**20, stream_trials=3)


def cpu_cores() -> int:
    """CPUs this process may run on (its affinity mask where the OS has one)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _median_time(run: Callable[[], Any], repeats: int) -> float:
    run()  # warm-up: page faults, BLAS thread start-up, kernel selection
    times = []
    for _ in range(repeats):
        start = perf_counter()
        run()
        times.append(perf_counter() - start)
    return statistics.median(times)


def _numpy_gemm(dtype: str, n: int, repeats: int) -> float:
    """Achieved FLOP/s of an ``n x n`` NumPy matrix product in ``dtype``."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n)).astype(dtype)  # n, n
    b = rng.standard_normal((n, n)).astype(dtype)  # n, n
    out = np.empty((n, n), dtype=dtype)  # n, n

    def run() -> None:
        np.matmul(a, b, out=out)

    return 2 * n**3 / _median_time(run, repeats)


def _torch_gemm(dtype: str, n: int, repeats: int) -> float:
    """Achieved FLOP/s of an ``n x n`` PyTorch CPU matrix product in ``dtype``."""
    import torch  # optional; callers check it is installed

    gen = torch.Generator().manual_seed(0)
    a = torch.randn(n, n, generator=gen).to(getattr(torch, dtype))  # n, n
    b = torch.randn(n, n, generator=gen).to(getattr(torch, dtype))  # n, n
    out = torch.empty(n, n, dtype=a.dtype)  # n, n

    def run() -> None:
        with torch.no_grad():
            torch.matmul(a, b, out=out)

    return 2 * n**3 / _median_time(run, repeats)


def _stream(kernel: str, arrays: list[np.ndarray], threads: int, trials: int) -> float:
    """Best STREAM-counted bytes/s of ``kernel`` over ``trials`` (the first one discarded)."""
    a, b, c = arrays
    n = a.size
    bounds = [(i * n // threads, (i + 1) * n // threads) for i in range(threads)]

    def chunk(span: tuple[int, int]) -> None:
        lo, hi = span
        if kernel == "copy":  # c = a
            np.copyto(c[lo:hi], a[lo:hi])
        elif kernel == "scale":  # b = 3 c
            np.multiply(c[lo:hi], 3.0, out=b[lo:hi])
        else:  # add: c = a + b
            np.add(a[lo:hi], b[lo:hi], out=c[lo:hi])

    best = float("inf")
    with ThreadPoolExecutor(max_workers=threads) as pool:
        for trial in range(trials + 1):
            start = perf_counter()
            list(pool.map(chunk, bounds))
            elapsed = perf_counter() - start
            if trial:
                best = min(best, elapsed)
    return STREAM_BYTES_PER_ELEMENT[kernel] * n / best


def _physical_memory() -> float:
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return 0.0


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _torch_version() -> str:
    try:
        return importlib.metadata.version("torch")
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def measure_local(
    progress: ProgressFn | None = None,
    quick: bool = False,
    use_torch: bool | None = None,
) -> Hardware:
    """Measure this machine and return it as a `Hardware` (save it with `save_profile`).

    ``quick`` uses small sizes (for tests; well under a second, numbers noisy and cache-bound).
    ``use_torch`` defaults to "installed and not quick" (importing torch alone takes seconds).
    """
    plan = QUICK if quick else FULL
    torch_on = (_torch_available() and not quick) if use_torch is None else use_torch
    cores = cpu_cores()
    n, repeats = plan.gemm_n, plan.gemm_repeats
    steps: list[tuple[str, Callable[[], float]]] = [
        ("gemm_numpy_fp64", partial(_numpy_gemm, "float64", n, repeats)),
        ("gemm_numpy_fp32", partial(_numpy_gemm, "float32", n, repeats)),
    ]
    if torch_on:
        steps.append(("gemm_torch_fp32", partial(_torch_gemm, "float32", n, repeats)))
        steps.append(("gemm_torch_bf16", partial(_torch_gemm, "bfloat16", n, repeats)))
    arrays = [np.full(plan.stream_elements, value) for value in (1.0, 2.0, 0.0)]
    for kernel in STREAM_BYTES_PER_ELEMENT:
        steps.append(
            (f"stream_{kernel}", partial(_stream, kernel, arrays, cores, plan.stream_trials))
        )
    measured: dict[str, float] = {}
    for done, (label, step) in enumerate(steps):
        _report(progress, label, done / len(steps))
        measured[label] = step()
    _report(progress, "done", 1.0)
    return _profile(measured, plan, cores, torch_on)


def _report(progress: ProgressFn | None, label: str, fraction: float) -> None:
    if progress is not None:
        what = label.replace("_", " ")
        progress(f"measuring {what}" if label != "done" else "measurement done", fraction)


def _profile(measured: dict[str, float], plan: MeasurePlan, cores: int, torch_on: bool) -> Hardware:
    peaks = {"fp64": measured["gemm_numpy_fp64"], "fp32": measured["gemm_numpy_fp32"]}
    if torch_on:
        peaks["fp32"] = max(peaks["fp32"], measured["gemm_torch_fp32"])
        peaks["bf16"] = measured["gemm_torch_bf16"]
    bandwidth = max(measured[f"stream_{k}"] for k in STREAM_BYTES_PER_ELEMENT)
    host = socket.gethostname()
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    libraries = f"numpy {np.__version__}" + (f", torch {_torch_version()}" if torch_on else "")
    notes = (
        f"Achieved, not theoretical: median of {plan.gemm_repeats} GEMMs of n={plan.gemm_n} "
        f"({libraries}); STREAM Copy/Scale/Add best of {plan.stream_trials} on 3 arrays of "
        f"{plan.stream_elements * 8 // 2**20} MiB over {cores} threads."
        + (" Quick mode: sizes too small to be representative." if plan == QUICK else "")
    )
    raw = {k: v / 1e9 for k, v in measured.items()}  # GFLOP/s and GB/s
    raw.update(gemm_n=plan.gemm_n, stream_array_mib=plan.stream_elements * 8 / 2**20)
    return Hardware(
        name=f"local CPU ({host})",
        vendor=_cpu_model(),
        peak_flops=peaks,
        memory_bandwidth=bandwidth,
        memory_bytes=_physical_memory(),
        source=f"measured on {host} at {stamp}",
        notes=notes,
        cores=cores,
        measured=raw,
    )
