"""The micro-benchmarks behind `flopcount.analysis.calibrate` (PyTorch, synthetic shapes).

Each function times one family of eager PyTorch calls with a `Clock` and returns SI numbers
(seconds, FLOP/s fractions, bytes/s); `calibrate_local` strings them together. No shape here
appears in the zoo models, so the validation layers stay unseen by the calibration.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable
from functools import partial
from time import perf_counter
from typing import Any

from flopcount.analysis.hardware import Hardware
from flopcount.analysis.kernels import interpolate_log2

__all__ = [
    "Clock",
    "bandwidth_curve",
    "conv_calibration",
    "gemm_efficiency",
    "gemm_peak",
    "kernel_efficiency",
    "no_sync",
    "overheads",
]

FAMILIES = ("elementwise", "conv", "linear", "norm")
GEMM_DIMS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
GEMM_LARGE = 1024  # the two other dimensions of a calibration GEMM
WORKING_SETS = tuple(2**k for k in range(16, 29, 2))  # 64 KiB ... 256 MiB, bytes read + written
Points = tuple[tuple[float, float], ...]


def no_sync() -> None:
    """Host code needs no synchronisation: the call has finished when it returns."""


class Clock:
    """Median seconds per call: each of ``repeats`` samples times a batch of calls lasting
    about a millisecond (so caches stay as warm as in a loop), after one warm-up call.

    ``sync`` waits for queued device work (``torch.cuda.synchronize``) before and after each
    batch: calls in a batch are queued back to back, as a forward pass queues them.
    """

    def __init__(self, repeats: int = 9, sync: Callable[[], None] = no_sync) -> None:
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


def overheads(
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


def gemm_efficiency(torch: Any, peak: float, clock: Clock) -> Points:
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


def bandwidth_curve(torch: Any, clock: Clock, quick: bool) -> Points:
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


def conv_calibration(
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


def kernel_efficiency(torch: Any, hw: Hardware, clock: Clock) -> dict[str, float]:
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


def gemm_peak(torch: Any, clock: Clock) -> float:
    """FLOP/s of a 2048^3 fp32 GEMM on this clock: the compute roof of the calibration."""
    n = 2048
    a = torch.randn(n, n)
    return 2 * n**3 / clock.time(partial(torch.matmul, a, a), 3)  # 2 FLOPs per MAC
