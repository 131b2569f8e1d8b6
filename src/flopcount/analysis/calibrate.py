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
3. **Convolution kernels** (``cal_conv_factor_<kind>``): what a convolution reaches relative
   to a GEMM of the same implicit-GEMM dimensions (M = N H_out W_out, N = C_out / groups,
   K = C_in / groups k_h k_w), for one synthetic 1x1 (``pointwise``), 3x3 (``spatial``) and
   3x3 stride-2 (``strided``) convolution. **Depthwise** convolutions
   (``cal_depthwise_bw_gbs``) are not GEMMs at all: their time follows the bytes they move, at
   a rate measured on one synthetic depthwise 3x3 convolution.
4. **Cache residency** (``cal_bw_gbs_ws<bytes>``): an elementwise op whose working set (bytes
   read + written) fits in L1/L2/L3 streams faster than DRAM. Measured as ``torch.neg`` into a
   fixed output (bytes read + written over the time less its 1-element time) for working sets
   of 64 KiB to 256 MiB; the roofline interpolates in log2(working set).
5. **Kernel efficiency** (``cal_kernel_eff_<op>``): some kernels sit far below both roofs
   (PyTorch's NCHW max-pool, multi-pass normalisations, erf-based GELU). One synthetic module
   per op is timed and analysed by flopcount itself; the efficiency is its calibrated roofline
   time over its measured time (other rows and overheads subtracted first).
6. **Compute roof** (``cal_peak_fp32_gflops``): a 2048^3 fp32 GEMM timed with the rest.

Everything runs with ``torch.set_num_threads(threads)``; timings are medians after a warm-up
(`Clock`). Efficiencies are fractions of the calibration's own 2048^3 GEMM rate, measured in
the same minute, so that a shared machine's slow and fast spells shift all of them together.
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

__all__ = [
    "CAL_PREFIX",
    "Calibration",
    "Clock",
    "calibrate_local",
    "calibrate_overheads",
    "interpolate_log2",
    "median_calibration",
]

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
    ``depthwise_bandwidth``: bytes/s of a depthwise convolution. ``kernel_efficiency``: op ->
    its roofline time / its measured time. ``peak``: FLOP/s of a 2048^3 fp32 GEMM measured
    with the rest, the roof every fraction refers to.
    """

    threads: int
    overhead_s: Mapping[str, float] = field(default_factory=dict)
    gemm_efficiency: Points = ()
    bandwidth: Points = ()
    conv_factor: Mapping[str, float] = field(default_factory=dict)
    depthwise_bandwidth: float = 0.0
    kernel_efficiency: Mapping[str, float] = field(default_factory=dict)
    peak: float = 0.0

    def to_measured(self) -> dict[str, float]:
        """The flat ``cal_*`` entries of a profile's ``measured`` map (us, GB/s, fractions)."""
        out = {f"{CAL_PREFIX}threads": float(self.threads)}
        out.update({f"{CAL_PREFIX}overhead_us_{k}": v / MICRO for k, v in self.overhead_s.items()})
        out.update({f"{CAL_PREFIX}gemm_eff_d{int(d)}": e for d, e in self.gemm_efficiency})
        out.update({f"{CAL_PREFIX}bw_gbs_ws{int(w)}": b / GIGA for w, b in self.bandwidth})
        out.update({f"{CAL_PREFIX}conv_factor_{k}": v for k, v in self.conv_factor.items()})
        out[f"{CAL_PREFIX}depthwise_bw_gbs"] = self.depthwise_bandwidth / GIGA
        out.update({f"{CAL_PREFIX}kernel_eff_{k}": v for k, v in self.kernel_efficiency.items()})
        out[f"{CAL_PREFIX}peak_fp32_gflops"] = self.peak / GIGA
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
            kernel_efficiency=pick("kernel_eff_"),
            peak=measured.get(f"{CAL_PREFIX}peak_fp32_gflops", 0.0) * GIGA,
        )


def _torch() -> Any:
    try:
        import torch
    except ImportError:
        raise MissingDependencyError("torch", "torch") from None
    return torch


def _no_sync() -> None:
    """Host code needs no synchronisation: the call has finished when it returns."""


class Clock:
    """Median seconds per call: each of ``repeats`` samples times a batch of calls lasting
    about a millisecond (so caches stay as warm as in a loop), after one warm-up call.

    ``sync`` waits for queued device work (``torch.cuda.synchronize``) before and after each
    batch: calls in a batch are queued back to back, as a forward pass queues them.
    """

    def __init__(self, repeats: int = 9, sync: Callable[[], None] = _no_sync) -> None:
        self.repeats, self.sync = repeats, sync

    def elapsed(self, run: Callable[[], object], calls: int = 1) -> float:
        """Seconds per call of ``calls`` back-to-back calls."""
        self.sync()
        start = perf_counter()
        for _ in range(calls):
            run()
        self.sync()
        return (perf_counter() - start) / calls

    def time(self, run: Callable[[], object], repeats: int | None = None) -> float:
        run()  # warm-up: allocations, kernel selection, caches
        calls = max(1, int(1e-3 / max(self.elapsed(run), 1e-7)))
        return statistics.median(self.elapsed(run, calls) for _ in range(repeats or self.repeats))


def _overheads(
    torch: Any, clock: Clock, device: str = "cpu", dtype: str = "float32"
) -> dict[str, float]:
    """Seconds per call of a trivial module of each family: pure per-op overhead."""
    nn, kind = torch.nn, getattr(torch, dtype)
    tiny = {
        "elementwise": (nn.ReLU(), (1,)),
        "conv": (nn.Conv2d(8, 8, 1), (1, 8, 4, 4)),
        "linear": (nn.Linear(8, 8), (1, 8)),
        "norm": (nn.BatchNorm2d(8).eval(), (1, 8, 4, 4)),
    }
    times = {}
    for family, (module, shape) in tiny.items():
        x = torch.randn(*shape, device=device, dtype=kind)
        times[family] = clock.time(partial(module.to(device, kind), x))
    return times


def _gemm_efficiency(torch: Any, peak: float, clock: Clock) -> Points:
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
            seconds = clock.time(partial(torch.matmul, a, b))
            fractions.append(2 * d * big * big / seconds / peak)  # 2 FLOPs per MAC
        points.append((float(d), min(1.0, statistics.median(fractions))))
    return tuple(points)


def _bandwidth(torch: Any, clock: Clock, quick: bool) -> Points:
    """Elementwise bytes/s (torch.neg into a fixed output: read + written, overhead removed).

    Sizes whose time is mostly the fixed overhead (the transfer under a quarter of the time)
    carry no bandwidth information and are left out; below the first kept size the roofline
    uses that size's rate.
    """
    one, out_one = torch.randn(1), torch.empty(1)
    overhead = clock.time(partial(torch.neg, one, out=out_one))
    points = []
    for working_set in WORKING_SETS[:4] if quick else WORKING_SETS:
        x, out = torch.randn(working_set // 8), torch.empty(working_set // 8)  # fp32 in + out
        seconds = clock.time(partial(torch.neg, x, out=out))
        if seconds - overhead >= seconds / 4:
            points.append((float(working_set), working_set / (seconds - overhead)))
    return tuple(points) or ((float(working_set), working_set / seconds),)


# Synthetic convolutions (C_in, C_out, kernel, stride, groups) at 40 x 40: shapes that appear in
# none of the zoo models, so the validation layers stay unseen by the calibration.
CONV_PROBES = {
    "pointwise": (96, 384, 1, 1, 1),
    "spatial": (96, 96, 3, 1, 1),
    "strided": (96, 192, 3, 2, 1),
}
DEPTHWISE_PROBE = (192, 192, 3, 1, 192)
PROBE_SIZE = 40


def _conv_seconds(torch: Any, probe: tuple[int, ...], clock: Clock) -> float:
    c_in, c_out, kernel, stride, groups = probe
    conv = torch.nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False)
    x = torch.randn(1, c_in, PROBE_SIZE, PROBE_SIZE)  # 1, C_in, H, W
    return clock.time(partial(conv, x))


def _conv_calibration(
    torch: Any, peak: float, gemm: Points, overhead: float, clock: Clock
) -> tuple[dict[str, float], float]:
    """Conv efficiency / GEMM efficiency at the same implicit-GEMM dims; depthwise bytes/s."""
    factors = {}
    for name, probe in CONV_PROBES.items():
        c_in, c_out, kernel, stride, _ = probe
        out = (PROBE_SIZE - 1) // stride + 1  # "same" padding
        m, n, k = out * out, c_out, c_in * kernel * kernel  # implicit GEMM
        seconds = _conv_seconds(torch, probe, clock) - overhead
        achieved = 2 * m * n * k / max(seconds, 1e-9) / peak  # 2 FLOPs per MAC
        factors[name] = min(1.0, achieved / interpolate_log2(gemm, min(m, n, k)))
    channels = DEPTHWISE_PROBE[0]
    seconds = _conv_seconds(torch, DEPTHWISE_PROBE, clock) - overhead
    nbytes = 4 * (2 * channels * PROBE_SIZE**2 + channels * 9)  # fp32: input, output, weights
    return factors, nbytes / max(seconds, 1e-9)


def _module(torch: Any, function: Callable[[Any], Any]) -> Any:
    """``function`` as a ``torch.nn.Module`` (so that flopcount's frontend can lower it)."""

    class Wrapped(torch.nn.Module):  # type: ignore[misc,name-defined]
        def forward(self, x: Any) -> Any:
            return function(x)

    return Wrapped()


def _probes(torch: Any) -> dict[str, tuple[Any, tuple[int, ...]]]:
    """IR op -> (synthetic module, input shape): one probe per non-GEMM kernel family.

    Out-of-place like the models' own modules, so allocation of the output is included.
    """
    nn, functional = torch.nn, torch.nn.functional

    def self_attention(q: Any) -> Any:
        return functional.scaled_dot_product_attention(q, q, q)

    def residual(x: Any) -> Any:
        return x + x

    image = (1, 48, 80, 80)  # 1.2 MiB of fp32
    return {
        "MaxPool": (nn.MaxPool2d(3, 2, 1), image),
        "BatchNormalization": (nn.BatchNorm2d(48), image),
        "Relu": (nn.ReLU(), image),
        "Clip": (nn.ReLU6(), image),
        "Add": (_module(torch, residual), image),
        "LayerNormalization": (nn.LayerNorm(640), (1, 160, 640)),
        "Gelu": (nn.GELU(), (1, 160, 2560)),
        "ScaledDotProductAttention": (_module(torch, self_attention), (1, 10, 160, 64)),
    }


def _kernel_efficiency(torch: Any, hw: Hardware, clock: Clock) -> dict[str, float]:
    """Per op: its calibrated roofline time / its measured time, on one synthetic probe each.

    ``hw`` carries the calibration so far; every other row of the probe's analysis and all
    overheads are subtracted from the measured time first.
    """
    from flopcount.analysis.core import analyze_graph  # late: core imports the roofline
    from flopcount.analysis.roofline import get_preset, roofline
    from flopcount.frontends.load import lower

    efficiency = {}
    for op, (module, shape) in _probes(torch).items():
        x = torch.randn(*shape)
        measured = clock.time(partial(module.eval(), x))
        rows = analyze_graph(lower(module, x)).rows
        result = roofline([(r.node, r.cost) for r in rows], hw, options=get_preset("cpu-eager"))
        kernel = sum(t.time_s - t.overhead_s for r, t in zip(rows, result.rows) if r.op == op)
        rest = result.total_time_s - kernel
        efficiency[op] = min(1.0, kernel / max(measured - rest, 1e-9))
    return efficiency


def _gemm_peak(torch: Any, clock: Clock) -> float:
    """FLOP/s of a 2048^3 fp32 GEMM on this clock: the compute roof of the calibration."""
    n = 2048
    a = torch.randn(n, n)
    return 2 * n**3 / clock.time(partial(torch.matmul, a, a), 3)  # 2 FLOPs per MAC


def calibrate_local(hw: Hardware, threads: int | None = None, quick: bool = False) -> Hardware:
    """``hw`` with this machine's cpu-eager calibration added to ``measured`` (``cal_*``).

    ``threads`` defaults to ``hw.cores``; ``quick`` uses 3 repeats and working sets up to
    4 MiB only (for tests; not representative). The calibration's own 2048^3 GEMM rate,
    measured beside the rest, is its compute roof (``cal_peak_fp32_gflops``); the profile's
    peak stays as it was.
    """
    torch = _torch()
    threads = threads or hw.cores or 1
    repeats = 3 if quick else 9
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        with torch.no_grad():
            clock = Clock(repeats)
            peak = _gemm_peak(torch, clock)
            overhead = _overheads(torch, clock)
            gemm = _gemm_efficiency(torch, peak, clock)
            bandwidth = _bandwidth(torch, clock, quick)
            factors, depthwise = _conv_calibration(torch, peak, gemm, overhead["conv"], clock)
            cal = Calibration(threads, overhead, gemm, bandwidth, factors, depthwise, peak=peak)
            partial_hw = replace(hw, measured={**hw.measured, **cal.to_measured()})
            kernels = _kernel_efficiency(torch, partial_hw, clock)
    finally:
        torch.set_num_threads(previous)
    cal = replace(cal, kernel_efficiency=kernels)
    note = (
        f" Calibrated for eager PyTorch on {threads} thread(s) (cal_* entries: per-op overhead, "
        "GEMM efficiency by smallest dimension, conv factors, depthwise and cache bandwidths, "
        "kernel efficiency of pooling, normalisation, GELU and attention)."
    )
    return replace(hw, measured={**hw.measured, **cal.to_measured()}, notes=hw.notes + note)


def calibrate_overheads(hw: Hardware, device: str = "cuda", dtype: str = "bfloat16") -> Hardware:
    """``hw`` with the per-op overheads of eager PyTorch driving ``device`` (``cal_*``).

    Only the overheads: on an accelerator the host's per-module dispatch (the Python module
    call, the dispatcher, the kernel launch) is what small layers cost when queued back to
    back. ``cal_threads`` is 0: the calibration did not pin host threads.
    """
    torch = _torch()
    sync = torch.cuda.synchronize if device.startswith("cuda") else _no_sync
    with torch.no_grad():
        overhead = _overheads(torch, Clock(9, sync), device, dtype)
    cal = Calibration(threads=0, overhead_s=overhead).to_measured()
    note = f" Per-op overheads of eager PyTorch on {device} ({dtype}) calibrated (cal_*)."
    return replace(hw, measured={**hw.measured, **cal}, notes=hw.notes + note)


def median_calibration(passes: Sequence[Hardware]) -> Hardware:
    """The first profile with each ``cal_*`` entry replaced by its median over ``passes``.

    One calibration is a snapshot of a few seconds; on a shared machine whose speed drifts
    over minutes, passes spread over a run and merged entry by entry stand for the whole run.
    An entry missing from some passes (a bandwidth size left out) takes the median of the rest.
    """
    if not passes:
        raise HardwareError("median_calibration needs at least one calibrated profile")
    keys = {k for hw in passes for k in hw.measured if k.startswith(CAL_PREFIX)}
    merged = {
        key: statistics.median(hw.measured[key] for hw in passes if key in hw.measured)
        for key in sorted(keys)
    }
    note = f" Calibration: median of {len(passes)} passes." if len(passes) > 1 else ""
    first = passes[0]
    return replace(first, measured={**first.measured, **merged}, notes=first.notes + note)
