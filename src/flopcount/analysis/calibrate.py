"""Calibrate the CPU roofline for eager PyTorch: the micro-benchmarks behind preset ``cpu-eager``.

The plain roofline charges every node ``max(flops / peak, bytes / bandwidth)`` with one peak
(a large GEMM) and one bandwidth (STREAM from DRAM). Eager PyTorch on a CPU departs from it
in four measurable ways, each measured here on synthetic shapes (never on a model's layers)
and stored in a hardware profile's ``measured`` map under ``cal_*`` keys:

1. **Per-op overhead** (``cal_overhead_us_<family>``): the Python module call, the dispatcher
   and the output allocation cost microseconds whatever the tensor size. Measured as the
   median time of a trivial instance of each family (1-element ReLU, 8-channel 4x4 conv,
   8 -> 8 linear, 8-channel BatchNorm).
2. **Small GEMM dimensions** (``cal_gemm_eff_d<d>``): a blocked GEMM kernel reaches its peak
   only when every dimension fills its register tile (Goto and van de Geijn, "Anatomy of
   High-Performance Matrix Multiplication", ACM TOMS 34(3), 2008). Measured as the fraction of
   the profile's fp32 peak reached by ``d x 1024 @ 1024 x 1024`` (and the two other placements
   of the small dimension; the median of the three) for d = 1 ... 512.
3. **Convolution kernels** (``cal_conv_factor_pointwise``, ``cal_conv_factor_spatial``): what a
   oneDNN convolution reaches relative to a GEMM of the same implicit-GEMM dimensions (M = N
   H_out W_out, N = C_out / groups, K = C_in / groups k_h k_w), for one synthetic 1x1 and one
   synthetic 3x3 convolution. **Depthwise** convolutions (``cal_depthwise_bw_gbs``) are not
   GEMMs at all: their time follows the bytes they move, at a rate measured on one synthetic
   depthwise 3x3 convolution.
4. **Cache residency** (``cal_bw_gbs_ws<bytes>``): an elementwise op whose working set (bytes
   read + written) fits in L1/L2/L3 streams faster than DRAM. Measured as out-of-place ReLU
   bandwidth (bytes read + written over time less the elementwise overhead) for working sets
   of 64 KiB to 256 MiB; the roofline interpolates in log2(working set).

Everything runs with ``torch.set_num_threads(threads)``; timings are medians after a warm-up.
"""

from __future__ import annotations

import itertools
import math
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from time import perf_counter
from typing import Any

from flopcount.analysis.hardware import Hardware
from flopcount.errors import HardwareError, MissingDependencyError

__all__ = ["CAL_PREFIX", "Calibration", "calibrate_local", "interpolate_log2"]

CAL_PREFIX = "cal_"
FAMILIES = ("elementwise", "conv", "linear", "norm")
GEMM_DIMS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
GEMM_LARGE = 1024  # the two other dimensions of a calibration GEMM
WORKING_SETS = tuple(2**k for k in range(16, 29, 2))  # 64 KiB ... 256 MiB, bytes read + written
GIGA, MICRO = 1e9, 1e-6
Points = tuple[tuple[float, float], ...]


def interpolate_log2(points: Sequence[tuple[float, float]], x: float) -> float:
    """``y`` at ``x`` on a curve of ``(x, y)`` points, linear in log2(x), clamped at the ends.

    >>> interpolate_log2(((4, 0.2), (16, 0.6)), 8)  # halfway in log2: 2 -> 4 -> 3
    0.4
    """
    pts = sorted(points)
    if x <= pts[0][0]:
        return pts[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        if x <= x1:
            t = (math.log2(x) - math.log2(x0)) / (math.log2(x1) - math.log2(x0))
            return y0 + t * (y1 - y0)
    return pts[-1][1]


@dataclass(frozen=True)
class Calibration:
    """Measured departures of eager PyTorch on this CPU from the plain roofline (SI units).

    ``overhead_s``: family -> seconds per op. ``gemm_efficiency``: (smallest GEMM dimension,
    fraction of the fp32 peak). ``bandwidth``: (working-set bytes, bytes/s). ``conv_factor``:
    ``pointwise``/``spatial`` -> conv efficiency / GEMM efficiency at the same dimensions.
    ``depthwise_bandwidth``: bytes/s of a depthwise convolution.
    """

    threads: int
    overhead_s: Mapping[str, float] = field(default_factory=dict)
    gemm_efficiency: Points = ()
    bandwidth: Points = ()
    conv_factor: Mapping[str, float] = field(default_factory=dict)
    depthwise_bandwidth: float = 0.0

    def to_measured(self) -> dict[str, float]:
        """The flat ``cal_*`` entries of a profile's ``measured`` map (us, GB/s, fractions)."""
        out = {f"{CAL_PREFIX}threads": float(self.threads)}
        out.update({f"{CAL_PREFIX}overhead_us_{k}": v / MICRO for k, v in self.overhead_s.items()})
        out.update({f"{CAL_PREFIX}gemm_eff_d{int(d)}": e for d, e in self.gemm_efficiency})
        out.update({f"{CAL_PREFIX}bw_gbs_ws{int(w)}": b / GIGA for w, b in self.bandwidth})
        out.update({f"{CAL_PREFIX}conv_factor_{k}": v for k, v in self.conv_factor.items()})
        out[f"{CAL_PREFIX}depthwise_bw_gbs"] = self.depthwise_bandwidth / GIGA
        return out

    @classmethod
    def from_measured(cls, measured: Mapping[str, float], where: str = "profile") -> Calibration:
        """Parse the ``cal_*`` entries back; `HardwareError` when the profile has none."""
        if f"{CAL_PREFIX}threads" not in measured:
            raise HardwareError(
                f"{where} has no cpu-eager calibration (no cal_* entries in 'measured'); "
                "make one with flopcount.analysis.calibrate.calibrate_local(profile) and "
                "save_profile, or use roofline preset 'none'"
            )

        def pick(prefix: str) -> dict[str, float]:
            start = CAL_PREFIX + prefix
            return {k[len(start) :]: v for k, v in measured.items() if k.startswith(start)}

        return cls(
            threads=int(measured[f"{CAL_PREFIX}threads"]),
            overhead_s={k: v * MICRO for k, v in pick("overhead_us_").items()},
            gemm_efficiency=tuple(sorted((float(k), v) for k, v in pick("gemm_eff_d").items())),
            bandwidth=tuple(sorted((float(k), v * GIGA) for k, v in pick("bw_gbs_ws").items())),
            conv_factor=pick("conv_factor_"),
            depthwise_bandwidth=measured.get(f"{CAL_PREFIX}depthwise_bw_gbs", 0.0) * GIGA,
        )


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("torch", "torch") from None
    return torch


def _median_time(run: Callable[[], object], repeats: int, budget_s: float = 0.05) -> float:
    """Median seconds of ``run`` after two warm-ups; more repeats for fast calls (up to 200)."""
    run()
    start = perf_counter()
    run()
    first = perf_counter() - start
    count = max(repeats, min(200, int(budget_s / max(first, 1e-7))))
    times = []
    for _ in range(count):
        start = perf_counter()
        run()
        times.append(perf_counter() - start)
    return statistics.median(times)


def _overheads(torch: Any, repeats: int) -> dict[str, float]:
    """Seconds per call of a trivial module of each family: pure per-op overhead."""
    nn = torch.nn
    tiny = {
        "elementwise": (nn.ReLU(), torch.randn(1)),
        "conv": (nn.Conv2d(8, 8, 1), torch.randn(1, 8, 4, 4)),
        "linear": (nn.Linear(8, 8), torch.randn(1, 8)),
        "norm": (nn.BatchNorm2d(8).eval(), torch.randn(1, 8, 4, 4)),
    }
    return {k: _median_time(partial(m, x), repeats) for k, (m, x) in tiny.items()}


def _gemm_efficiency(torch: Any, peak: float, repeats: int) -> Points:
    """Fraction of ``peak`` reached with one GEMM dimension ``d`` and the others 1024."""
    big = GEMM_LARGE
    points = []
    for d in GEMM_DIMS:
        fractions = []
        for a_shape, b_shape in (
            ((d, big), (big, big)),
            ((big, d), (d, big)),
            ((big, big), (big, d)),
        ):
            a, b = torch.randn(*a_shape), torch.randn(*b_shape)
            seconds = _median_time(partial(torch.matmul, a, b), repeats)
            fractions.append(2 * d * big * big / seconds / peak)  # 2 FLOPs per MAC
        points.append((float(d), min(1.0, statistics.median(fractions))))
    return tuple(points)


def _bandwidth(torch: Any, overhead: float, repeats: int, quick: bool) -> Points:
    """Out-of-place ReLU bytes/s (read + written, overhead removed) per working set."""
    points = []
    for working_set in WORKING_SETS[:4] if quick else WORKING_SETS:
        x = torch.randn(working_set // 8)  # float32: 4 bytes read + 4 written per element
        seconds = _median_time(partial(torch.relu, x), repeats)
        points.append((float(working_set), working_set / max(seconds - overhead, 1e-9)))
    return tuple(points)


def _conv_seconds(torch: Any, c_in: int, c_out: int, kernel: int, groups: int, size: int,
                  repeats: int) -> float:  # fmt: skip
    conv = torch.nn.Conv2d(c_in, c_out, kernel, padding=kernel // 2, groups=groups, bias=False)
    x = torch.randn(1, c_in, size, size)  # 1, C_in, H, W
    return _median_time(partial(conv, x), repeats)


def _conv_calibration(
    torch: Any, peak: float, gemm: Points, overhead: float, repeats: int
) -> tuple[dict[str, float], float]:
    """Conv / GEMM efficiency for a synthetic 1x1 and 3x3 conv; depthwise bytes/s.

    Shapes (96 -> 384 1x1 and 96 -> 96 3x3 at 40x40; depthwise 3x3 over 192 channels at 40x40)
    are chosen to appear in none of the zoo models, so validation layers stay unseen.
    """
    size, factors = 40, {}
    for name, (c_in, c_out, kernel) in {"pointwise": (96, 384, 1), "spatial": (96, 96, 3)}.items():
        seconds = _conv_seconds(torch, c_in, c_out, kernel, 1, size, repeats) - overhead
        flops = 2 * size * size * c_out * c_in * kernel * kernel  # 2 * M * N * K
        smallest = min(size * size, c_out, c_in * kernel * kernel)
        achieved = flops / max(seconds, 1e-9) / peak
        factors[name] = min(1.0, achieved / interpolate_log2(gemm, smallest))
    channels = 192
    seconds = _conv_seconds(torch, channels, channels, 3, channels, size, repeats) - overhead
    nbytes = 4 * (2 * channels * size * size + channels * 9)  # fp32: input, output, weights
    return factors, nbytes / max(seconds, 1e-9)


def calibrate_local(hw: Hardware, threads: int | None = None, quick: bool = False) -> Hardware:
    """``hw`` with this machine's cpu-eager calibration added to ``measured`` (``cal_*``).

    ``threads`` defaults to ``hw.cores``; ``quick`` uses 3 repeats and working sets up to
    4 MiB only (for tests; seconds, not representative).
    """
    torch = _torch()
    threads = threads or hw.cores or 1
    repeats = 3 if quick else 7
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            overhead = _overheads(torch, repeats)
            gemm = _gemm_efficiency(torch, hw.peak_for("fp32"), repeats)
            bandwidth = _bandwidth(torch, overhead["elementwise"], repeats, quick)
            factors, depthwise = _conv_calibration(
                torch, hw.peak_for("fp32"), gemm, overhead["conv"], repeats
            )
    finally:
        torch.set_num_threads(previous)
    cal = Calibration(threads, overhead, gemm, bandwidth, factors, depthwise)
    note = (
        f" Calibrated for eager PyTorch on {threads} thread(s) (cal_* entries: per-op overhead, "
        "GEMM efficiency by smallest dimension, conv factors, depthwise and cache bandwidths)."
    )
    return replace(hw, measured={**hw.measured, **cal.to_measured()}, notes=hw.notes + note)
