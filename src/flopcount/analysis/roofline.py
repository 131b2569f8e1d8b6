"""Roofline latency estimate: each node is limited by arithmetic or by memory traffic.

Williams, Waterman and Patterson, "Roofline: An Insightful Visual Performance Model for
Multicore Architectures", Communications of the ACM 52(4), 2009: attainable FLOP/s is
``min(peak, intensity * bandwidth)``, so one node takes

    time = max(flops / peak(dtype), (bytes_read + bytes_written) / bandwidth)

and is *compute-bound* when the first term wins, *memory-bound* otherwise. Its arithmetic
intensity is ``flops / bytes`` (FLOP per byte); the machine balance (ridge point) is
``peak / bandwidth``: nodes below it are memory-bound. The model latency estimate is the sum
of node times (nodes run one after another; no overlap between nodes is assumed). Quantized
integer work (``Cost.int_ops``) runs at the device's int8 peak.

Refinements live in `RooflineOptions`, each off by default and switchable on its own:
per-op compute efficiency (fraction of peak an op reaches), a memory efficiency, a fixed
per-kernel launch overhead, and a cache-fit rule for producer -> consumer hand-offs; `PRESETS`
names the combinations that were checked against measured op times (``docs/hardware.md``).
The ``cpu-eager`` preset reads its numbers from a calibrated hardware profile
(`flopcount.analysis.calibrate`; ``docs/roofline-validation.md``): per-op overhead, GEMM
efficiency by the smallest GEMM dimension, conv factors, depthwise and cache bandwidths.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from flopcount.analysis.calibrate import Calibration
from flopcount.analysis.hardware import Hardware, dtype_key
from flopcount.analysis.kernels import (
    VIEW_OPS,
    folded_matmuls,
    gemm_dims,
    interpolate_log2,
    is_depthwise,
    view_savings,
)
from flopcount.costs import Cost
from flopcount.errors import HardwareError
from flopcount.ir import Node

__all__ = [
    "PRESETS",
    "RooflineOptions",
    "RooflineResult",
    "RooflineRow",
    "get_preset",
    "node_dtype",
    "roofline",
    "with_calibration",
]

Bound = Literal["compute", "memory", "none"]
_FLOAT_KEYS = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8")
FALLBACK_DTYPE = "fp32"  # for nodes with no floating-point tensor at all


@dataclass(frozen=True)
class RooflineOptions:
    """Optional refinements of the plain roofline; the defaults switch every one off.

    - ``compute_efficiency``: op -> fraction of peak that op's kernels reach (``{"Conv": 0.6}``);
      ops not listed use ``default_compute_efficiency``.
    - ``memory_efficiency``: fraction of the datasheet bandwidth streaming kernels reach.
    - ``launch_overhead_s``: fixed time added to every node that does work (a kernel launch:
      a few microseconds on CUDA, NVIDIA Technical Blog "Getting Started with CUDA Graphs",
      2019; 10.8 us per eager PyTorch op and 0.9 us under graph replay measured on an H200).
    - ``cache_bytes``: when the activations a node reads from the node just before it total at
      most this many bytes, they are read from cache, not from DRAM (0 = off).
    - ``op_overhead_s``: op -> overhead replacing ``launch_overhead_s`` for that op.
    - ``view_ops``: ops the framework runs as views (no data moved, no kernel): zero time.
    - ``gemm_efficiency``: (smallest GEMM dimension, fraction of peak) points for Conv, Gemm,
      MatMul and attention (`gemm_dims`), interpolated in log2; multiplies the op efficiency.
    - ``conv_factor``: ``strided`` (a stride > 1) / ``pointwise`` (1x1) / ``spatial`` (larger
      kernel, `conv_kind`) -> a conv's efficiency relative to a GEMM of the same implicit-GEMM
      dimensions.
    - ``depthwise_bandwidth``: bytes/s at which depthwise convs move their bytes (0 = off).
    - ``bandwidth_curve``: (working-set bytes, bytes/s) points replacing the device bandwidth:
      a node whose bytes read + written fit a cache streams at that cache's rate.
    - ``kernel_efficiency``: op -> fraction of its roofline rate (both roofs) the framework's
      kernel for that op reaches (a slow pooling kernel, a multi-pass normalisation).
    - ``peak_scale``: multiplies every peak (a calibration's own GEMM rate over the profile's).
    - ``overlap_overhead``: asynchronous launches (a GPU): the host's overhead overlaps the
      kernel, so a node takes max(kernel, overhead) instead of their sum.
    - ``cold_weights``: a whole forward pass touches every weight once, so a layer's weights
      were last read one pass earlier; when the model's weights exceed the cache they come from
      memory, and a GEMM-based kernel reads (packs) them before it computes. Each Conv, Gemm,
      MatMul and ConvTranspose (not depthwise) then takes an extra parameter bytes / rate,
      the rate at a working set of the model's parameter bytes (``bandwidth_curve``, else the
      device bandwidth). Off for a layer timed alone in a loop, whose weights stay in cache.
    - ``calibrated``: fill the overheads and the six refinements above them from the hardware
      profile's ``cal_*`` entries.
    - With ``view_ops``, consumers of a view are charged the bytes of the storage it aliases.
    """

    compute_efficiency: Mapping[str, float] = field(default_factory=dict)
    default_compute_efficiency: float = 1.0
    memory_efficiency: float = 1.0
    launch_overhead_s: float = 0.0
    cache_bytes: int = 0
    op_overhead_s: Mapping[str, float] = field(default_factory=dict)
    view_ops: frozenset[str] = frozenset()
    gemm_efficiency: tuple[tuple[float, float], ...] = ()
    conv_factor: Mapping[str, float] = field(default_factory=dict)
    depthwise_bandwidth: float = 0.0
    bandwidth_curve: tuple[tuple[float, float], ...] = ()
    kernel_efficiency: Mapping[str, float] = field(default_factory=dict)
    peak_scale: float = 1.0
    overlap_overhead: bool = False
    cold_weights: bool = False
    calibrated: bool = False

    def __post_init__(self) -> None:
        fractions = {"default_compute_efficiency": self.default_compute_efficiency,
                     "memory_efficiency": self.memory_efficiency,
                     **{f"compute_efficiency[{op!r}]": v
                        for op, v in self.compute_efficiency.items()},
                     **{f"conv_factor[{k!r}]": v for k, v in self.conv_factor.items()},
                     **{f"kernel_efficiency[{k!r}]": v
                        for k, v in self.kernel_efficiency.items()},
                     **{f"gemm_efficiency at {d}": e for d, e in self.gemm_efficiency}}  # fmt: skip
        for what, value in fractions.items():
            if not 0 < value <= 1:
                raise HardwareError(f"roofline option {what} must be in (0, 1], got {value!r}")
        rates = [self.depthwise_bandwidth, *(b for _, b in self.bandwidth_curve)]
        overheads = [self.launch_overhead_s, *self.op_overhead_s.values()]
        if min(overheads) < 0 or self.cache_bytes < 0 or min(rates) < 0 or self.peak_scale <= 0:
            raise HardwareError("roofline overheads, cache_bytes and bandwidths must be >= 0")


# Presets measured on an NVIDIA H200 (PyTorch 2.11, CUDA 13; docs/hardware.md, "Validation"):
# bf16 GEMM reached 787.5 of 989.4 TFLOP/s (0.80), a device copy 4.26 of 4.8 TB/s (0.89);
# a tiny op costs 10.8 us back to back in eager mode and 0.9 us under CUDA-graph replay.
# Over 32 ops the plain roofline was within 2x of the measured time for 38% of them, the
# eager preset for 91% (median error 1.2x). The cache-fit rule made a chain of L2-sized ops
# worse, so no preset turns it on.
PRESETS: dict[str, RooflineOptions] = {
    "none": RooflineOptions(),
    "eager-gpu": RooflineOptions(
        default_compute_efficiency=0.8,
        memory_efficiency=0.9,
        launch_overhead_s=10e-6,
        view_ops=VIEW_OPS,
    ),
    "graph-gpu": RooflineOptions(
        default_compute_efficiency=0.8,
        memory_efficiency=0.9,
        launch_overhead_s=1e-6,
        view_ops=VIEW_OPS,
    ),
    # Eager PyTorch on a CPU: every number from the profile's calibration (calibrate.py).
    "cpu-eager": RooflineOptions(calibrated=True, view_ops=VIEW_OPS, cold_weights=True),
    # Eager PyTorch on a GPU: eager-gpu's efficiencies, per-module overheads measured on the
    # host that drives it (calibrate_overheads), overlapping the kernels they launch.
    "eager-gpu-calibrated": RooflineOptions(
        default_compute_efficiency=0.8,
        memory_efficiency=0.9,
        view_ops=VIEW_OPS,
        overlap_overhead=True,
        calibrated=True,
    ),
}


def get_preset(name: str) -> RooflineOptions:
    """A named set of refinements (`PRESETS`); unknown names raise `HardwareError`."""
    try:
        return PRESETS[name]
    except KeyError:
        raise HardwareError(
            f"unknown roofline preset {name!r}; choose one of {', '.join(PRESETS)}"
        ) from None


@dataclass(frozen=True)
class RooflineRow:
    """One node: estimated ``time_s``, what bounds it, and its FLOP/byte ``intensity``."""

    index: int
    time_s: float
    bound: Bound
    intensity: float
    compute_time_s: float = 0.0
    memory_time_s: float = 0.0
    dtype: str = ""
    overhead_s: float = 0.0  # launch/dispatch overhead included in time_s
    weights_s: float = 0.0  # cold weights streamed before computing, included in time_s


@dataclass(frozen=True)
class RooflineResult:
    """Per-node rows and their sums; ``ridge_point`` is peak(``dtype``) / bandwidth."""

    rows: list[RooflineRow]
    total_time_s: float
    compute_bound_time_s: float
    memory_bound_time_s: float
    ridge_point: float
    hardware: str = ""
    dtype: str = ""
    overhead_time_s: float = 0.0


def node_dtype(node: Node) -> str:
    """The peak key a node computes in: its first floating-point input, else output, else fp32."""
    for spec in (*node.inputs, *node.outputs):
        try:
            key = dtype_key(spec.dtype)
        except HardwareError:
            continue
        if key in _FLOAT_KEYS:
            return key
    return FALLBACK_DTYPE


def _peak(hardware: Hardware, key: str, node: Node, index: int) -> float:
    try:
        return hardware.peak_for(key)
    except HardwareError as exc:
        raise HardwareError(
            f"node {index} ({node.op} in scope {node.scope or '<top>'}) computes in {key}: {exc}"
        ) from None


def _cached_bytes(node: Node, previous: Node | None, cache_bytes: int) -> int:
    """Bytes of ``node``'s inputs that ``previous`` just wrote, when they fit in the cache."""
    if previous is None or cache_bytes <= 0:
        return 0
    fresh = {t.name for t in previous.outputs if t.name}
    handed = {t.name: t.nbytes for t in node.inputs if t.name in fresh}
    total = sum(handed.values())
    return total if total <= cache_bytes else 0


def _intensity(flops: int, nbytes: int) -> float:
    if nbytes:
        return flops / nbytes
    return math.inf if flops else 0.0


def _efficiency(node: Node, options: RooflineOptions, folded: bool) -> float:
    """Fraction of peak: the op's efficiency x GEMM-shape efficiency x conv-kernel factor."""
    efficiency = options.compute_efficiency.get(node.op, options.default_compute_efficiency)
    if is_depthwise(node):
        return efficiency  # not a GEMM: see depthwise_bandwidth
    dims = gemm_dims(node, folded) if options.gemm_efficiency else None
    if dims:
        efficiency *= interpolate_log2(options.gemm_efficiency, max(min(dims), 1))
    if node.op == "Conv" and options.conv_factor:
        efficiency *= options.conv_factor.get(conv_kind(node), 1.0)
    return efficiency


def conv_kind(node: Node) -> str:
    """``strided`` (some stride > 1), ``pointwise`` (1x1) or ``spatial``: the `conv_factor`
    key of a Conv node (each measured by its own probe, `flopcount.analysis.probes`)."""
    if any(s > 1 for s in node.attrs.get("strides", ())):
        return "strided"
    return "pointwise" if all(k == 1 for k in node.inputs[1].shape[2:]) else "spatial"


def _bandwidth(node: Node, nbytes: int, hardware: Hardware, options: RooflineOptions) -> float:
    """Bytes/s for ``node``: depthwise rate, cache-curve rate at its working set, or DRAM."""
    if options.depthwise_bandwidth and is_depthwise(node):
        return options.depthwise_bandwidth
    if options.bandwidth_curve and nbytes:
        return interpolate_log2(options.bandwidth_curve, nbytes) * options.memory_efficiency
    return hardware.memory_bandwidth * options.memory_efficiency


_PACKED_OPS = frozenset({"Conv", "ConvTranspose", "Gemm", "MatMul"})


def _parameter_bytes(node: Node) -> int:
    return sum(t.nbytes for t in node.inputs if t.kind == "parameter")


def _cold_weight_seconds(
    pairs: Sequence[tuple[Node, Cost]], hardware: Hardware, options: RooflineOptions
) -> list[float]:
    """Seconds per node to stream its weights from memory (`RooflineOptions.cold_weights`)."""
    if not options.cold_weights:
        return [0.0] * len(pairs)
    distinct = {t.name or id(t): t.nbytes for n, _ in pairs for t in n.inputs
                if t.kind == "parameter"}  # fmt: skip
    total = sum(distinct.values())
    if options.bandwidth_curve and total:
        rate = interpolate_log2(options.bandwidth_curve, total) * options.memory_efficiency
    else:
        rate = hardware.memory_bandwidth * options.memory_efficiency
    return [
        _parameter_bytes(n) / rate if n.op in _PACKED_OPS and not is_depthwise(n) else 0.0
        for n, _ in pairs
    ]


def _row(
    index: int, node: Node, cost: Cost, key: str, hardware: Hardware,
    options: RooflineOptions, unread: int, folded: bool = False, weights: float = 0.0,
) -> RooflineRow:  # fmt: skip
    """One node's time; ``unread`` input bytes come from cache or alias a smaller storage;
    ``weights`` seconds stream its cold weights (added, not overlapped)."""
    nbytes = max(cost.bytes_total - min(unread, cost.bytes_read), 0)
    intensity = _intensity(cost.flops, nbytes)
    if node.op in options.view_ops:
        return RooflineRow(index, 0.0, "none", intensity, dtype=key)
    efficiency = _efficiency(node, options, folded) * options.peak_scale
    compute = cost.flops / (_peak(hardware, key, node, index) * efficiency) if cost.flops else 0.0
    if cost.int_ops:
        compute += cost.int_ops / (_peak(hardware, "int8", node, index) * efficiency)
    memory = nbytes / _bandwidth(node, nbytes, hardware, options)
    time = max(compute, memory) / options.kernel_efficiency.get(node.op, 1.0)
    weights = weights if time > 0 else 0.0
    time += weights
    bound: Bound = "none" if time == 0 else ("compute" if compute >= memory else "memory")
    overhead = options.op_overhead_s.get(node.op, options.launch_overhead_s) if time > 0 else 0.0
    if options.overlap_overhead:  # the host dispatches the next op while this one runs
        overhead = max(overhead - time, 0.0)
    return RooflineRow(
        index, time + overhead, bound, intensity, compute, memory, key, overhead, weights
    )


# Calibration overhead families (calibrate.py) -> the IR ops each one stands for.
_OVERHEAD_OPS = {
    "conv": ("Conv", "ConvTranspose"),
    "linear": ("Gemm", "MatMul"),
    "norm": ("BatchNormalization", "LayerNormalization", "GroupNormalization",
             "InstanceNormalization"),
}  # fmt: skip


def with_calibration(options: RooflineOptions, hardware: Hardware) -> RooflineOptions:
    """``options`` with ``calibrated`` resolved from ``hardware``'s ``cal_*`` entries.

    Fields set explicitly in ``options`` win over the calibration. A profile without a
    calibration raises `HardwareError` saying how to make one.
    """
    if not options.calibrated:
        return options
    cal = Calibration.from_measured(hardware.measured, where=f"hardware {hardware.name!r}")
    per_op = {op: cal.overhead_s[family] for family, ops in _OVERHEAD_OPS.items()
              if family in cal.overhead_s for op in ops}  # fmt: skip
    return replace(
        options,
        calibrated=False,
        launch_overhead_s=options.launch_overhead_s or cal.overhead_s.get("elementwise", 0.0),
        op_overhead_s={**per_op, **options.op_overhead_s},
        gemm_efficiency=options.gemm_efficiency or cal.gemm_efficiency,
        conv_factor={**cal.conv_factor, **options.conv_factor},
        depthwise_bandwidth=options.depthwise_bandwidth or cal.depthwise_bandwidth,
        bandwidth_curve=options.bandwidth_curve or cal.bandwidth,
        kernel_efficiency={**cal.kernel_efficiency, **options.kernel_efficiency},
        peak_scale=options.peak_scale if options.peak_scale != 1.0 else _peak_scale(cal, hardware),
    )


def _peak_scale(cal: Calibration, hardware: Hardware) -> float:
    """The calibration's own fp32 GEMM rate over the profile's fp32 peak (1 when unknown)."""
    if not cal.peak or "fp32" not in hardware.peak_flops:
        return 1.0
    return cal.peak / hardware.peak_flops["fp32"]


def _dominant_dtype(pairs: Sequence[tuple[Node, Cost]], keys: list[str], hw: Hardware) -> str:
    """The dtype key carrying the most FLOPs (fp32, or the device's first key, when none do)."""
    flops: dict[str, int] = {}
    for (_, cost), key in zip(pairs, keys):
        flops[key] = flops.get(key, 0) + cost.flops
    if any(flops.values()):
        return max(flops, key=flops.__getitem__)
    return FALLBACK_DTYPE if FALLBACK_DTYPE in hw.peak_flops else next(iter(hw.peak_flops))


def roofline(
    pairs: Sequence[tuple[Node, Cost]],
    hardware: Hardware,
    dtype: str | None = None,
    options: RooflineOptions | None = None,
) -> RooflineResult:
    """Roofline time of every ``(node, cost)`` pair on ``hardware`` and the model total.

    ``dtype`` (``"bf16"``, ``"float16"``...) forces the peak used for every node; by default
    each node uses `node_dtype`. A node whose dtype has no peak on the device raises
    `HardwareError` naming the node; nodes with no FLOPs and no bytes take zero time.
    """
    options = with_calibration(options or RooflineOptions(), hardware)
    forced = dtype_key(dtype) if dtype is not None else None
    keys = [forced or node_dtype(node) for node, _ in pairs]
    nodes = [node for node, _ in pairs]
    savings = view_savings(nodes, options.view_ops) if options.view_ops else [0] * len(nodes)
    folded = folded_matmuls(nodes, options.view_ops) if options.view_ops else [False] * len(nodes)
    cold = _cold_weight_seconds(pairs, hardware, options)
    rows, previous = [], None
    for index, ((node, cost), key) in enumerate(zip(pairs, keys)):
        unread = _cached_bytes(node, previous, options.cache_bytes) + savings[index]
        rows.append(
            _row(index, node, cost, key, hardware, options, unread, folded[index], cold[index])
        )
        previous = node
    ridge_dtype = forced or _dominant_dtype(pairs, keys, hardware)
    return RooflineResult(
        rows=rows,
        total_time_s=sum(r.time_s for r in rows),
        compute_bound_time_s=sum(r.time_s for r in rows if r.bound == "compute"),
        memory_bound_time_s=sum(r.time_s for r in rows if r.bound == "memory"),
        ridge_point=hardware.ridge_point(ridge_dtype),
        hardware=hardware.name,
        dtype=ridge_dtype,
        overhead_time_s=sum(r.overhead_s for r in rows),
    )
