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

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from flopcount.analysis.hardware import Hardware
from flopcount.analysis.kernels import interpolate_log2
from flopcount.analysis.probes import (
    Clock,
    bandwidth_curve,
    conv_calibration,
    gemm_efficiency,
    gemm_peak,
    kernel_efficiency,
    no_sync,
    overheads,
)
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
GIGA, MICRO = 1e9, 1e-6  # GB/s and GFLOP/s, microseconds in the profile
Points = tuple[tuple[float, float], ...]


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
            peak = gemm_peak(torch, clock)
            overhead = overheads(torch, clock)
            gemm = gemm_efficiency(torch, peak, clock)
            bandwidth = bandwidth_curve(torch, clock, quick)
            factors, depthwise = conv_calibration(torch, peak, gemm, overhead["conv"], clock)
            cal = Calibration(threads, overhead, gemm, bandwidth, factors, depthwise, peak=peak)
            partial_hw = replace(hw, measured={**hw.measured, **cal.to_measured()})
            kernels = kernel_efficiency(torch, partial_hw, clock)
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
    sync = torch.cuda.synchronize if device.startswith("cuda") else no_sync
    with torch.no_grad():
        overhead = overheads(torch, Clock(9, sync), device, dtype)
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
