"""Predict, then measure, eager PyTorch latency per layer and per model (issue 6 validation).

For each zoo model and batch size this script analyses the model once with flopcount (shapes
only), predicts every Conv2d / Linear layer and the whole forward pass with the roofline under
each configuration (``none`` = the plain roofline, ``cpu-eager`` = calibrated), then builds
the same model with real (random) weights and times it:

- a layer: its module alone, on the input captured by a forward hook; attention projections
  that ``nn.MultiheadAttention`` runs functionally are timed as ``F.linear`` on their shapes;
- the model: whole forward passes under ``torch.no_grad`` in eval mode.

Each figure is a `Clock` median: batches of back-to-back calls lasting about 1 ms, with
``torch.cuda.synchronize`` around each batch on a GPU (calls queue as in a forward pass).

Timing runs in rounds (3; 2 with ``--quick``): each round times every model's forward pass
and layers, and the reported figure is the median over rounds, so that each number spans the
whole run; on CPU a calibration pass (`calibrate_local`) runs before the first round and after
each, and the profile's calibration is their entry-by-entry median (`median_calibration`).

A layer's prediction is the time of its report rows (scope == module name, op Conv, Gemm or
MatMul, plus a separate bias Add). Printed per model: the median of |pred - meas| / meas over
layers above 10 MFLOPs, the fraction within 25 %, the whole-model error, and the median
measured / predicted ratio per layer kind (1x1, 3x3, depthwise, strided, linear).

    PYTHONPATH=src python benchmarks/roofline_validation.py            # ~6 min on 1 core
    PYTHONPATH=src python benchmarks/roofline_validation.py --quick    # ~1 min
    PYTHONPATH=src python benchmarks/roofline_validation.py --device cuda --hardware h200

On CPU the profile is ``--profile FILE`` or measured now (`measure_local`, pinned to
``--threads`` cores); results and the merged calibration are described in
docs/roofline-validation.md.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import json
import math
import os
import resource
import statistics
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from functools import partial
from typing import Any

import torch
from torch import nn

import flopcount
from flopcount import zoo
from flopcount.analysis.calibrate import (
    CAL_PREFIX,
    Calibration,
    Clock,
    calibrate_local,
    calibrate_overheads,
    median_calibration,
)
from flopcount.analysis.hardware import Hardware, get_hardware, save_profile
from flopcount.analysis.measure import measure_local
from flopcount.analysis.probes import no_sync
from flopcount.analysis.roofline import get_preset, is_depthwise, roofline
from flopcount.costs import Cost
from flopcount.ir import Node

MODELS = ("resnet50", "mobilenet_v2", "vit_b_16")
CONTRACTIONS = ("Conv", "Gemm", "MatMul")
KINDS = ("1x1 conv", "3x3 conv", "depthwise", "strided", "other conv", "linear")
BIG_LAYER_FLOPS = 10e6  # the targets apply to layers above 10 MFLOPs
WITHIN = 0.25  # the per-layer tolerance (targets: median error <= 25 %, model <= 30 %)


@dataclass
class Layer:
    """One timed layer: module name (or scope#row for functional GEMMs) and its numbers."""

    name: str
    kind: str
    flops: int
    measured_s: float  # median seconds
    rows: list[int]  # the report rows this layer stands for
    predicted_s: dict[str, float] = field(default_factory=dict)  # roofline config -> seconds


@dataclass
class ModelResult:
    """Whole-model and per-layer numbers of one (model, batch)."""

    model: str
    batch: int
    measured_s: float
    predicted_s: dict[str, float] = field(default_factory=dict)
    layers: list[Layer] = field(default_factory=list)
    pairs: list[tuple[Node, Cost]] = field(default_factory=list, repr=False)
    page_faults: float = 0.0  # minor page faults per forward pass, after the timing rounds


# --- the allocator --------------------------------------------------------------------------

# glibc <malloc.h>: mallopt parameters.
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3


def set_allocator(mode: str) -> str:
    """``reuse``: make glibc's malloc keep freed memory for reuse; ``glibc``: leave it as is.

    glibc returns large freed blocks to the kernel (``munmap`` above the mmap threshold, heap
    trimming above the trim threshold; mallopt(3)), so a forward pass that allocates new
    activations page-faults and zeroes fresh pages (MobileNetV2 at batch 1: ~2,300 faults and
    ~5 ms of ~22 ms). That cost depends on the allocator's history, not on the model's shapes,
    and a deployment avoids it with a caching allocator (PyTorch's CPU performance tuning guide
    recommends jemalloc or TCMalloc for this reason). ``reuse`` raises both thresholds with
    ``mallopt`` so glibc behaves like one; the report states the mode and the faults per pass.
    """
    if mode == "glibc":
        return "glibc malloc defaults (freed memory returned to the kernel)"
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
    mallopt = getattr(libc, "mallopt", None)
    if mallopt is None or not (
        mallopt(M_TRIM_THRESHOLD, ctypes.c_int(2**31 - 1))
        and mallopt(M_MMAP_THRESHOLD, ctypes.c_int(1 << 30))
    ):
        raise SystemExit("--allocator reuse needs glibc's mallopt; use --allocator glibc")
    return "malloc keeps freed memory (mallopt trim and mmap thresholds raised)"


def page_faults(forward: Callable[[], object], passes: int = 3) -> float:
    """Minor page faults per call of ``forward`` (``getrusage``), after one warm-up call."""
    with torch.no_grad():
        forward()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(passes):
            forward()
        after = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    return (after - before) / passes


# --- the hardware profile ----------------------------------------------------------------


def _pinned(cores: int) -> Callable[[], None]:
    """Pin this process to ``cores`` CPUs (so measure_local sees that many); returns undo."""
    if not hasattr(os, "sched_setaffinity"):
        return lambda: None
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, sorted(before)[:cores])
    return lambda: os.sched_setaffinity(0, before)


def cpu_profile(args: argparse.Namespace) -> Hardware:
    """The profile from ``--profile``, or measured now on ``--threads`` cores and saved."""
    if args.profile:
        return get_hardware(args.profile)
    undo = _pinned(args.threads)
    try:
        hw = measure_local()
    finally:
        undo()
    save_profile(hw, args.save_profile)
    return hw


def calibrate(hw: Hardware, args: argparse.Namespace, passes: list[Hardware]) -> None:
    """One calibration pass (when the profile has none of its own), kept in ``passes``."""
    if f"{CAL_PREFIX}threads" in hw.measured:
        return
    print(f"calibration pass {len(passes) + 1} ...", file=sys.stderr)
    passes.append(calibrate_local(hw, threads=args.threads))


# --- models with real weights ------------------------------------------------------------


def real_model(name: str, batch: int, device: str, dtype: torch.dtype) -> tuple[nn.Module, Any]:
    """The zoo model with small random weights on ``device`` and a random input."""
    model, inputs = zoo.build(name, batch=batch)
    model = model.to_empty(device=device)
    torch.manual_seed(0)
    with torch.no_grad():
        for pname, p in model.named_parameters():
            if p.dim() > 1:  # std 1/sqrt(fan_in) keeps activations O(1) (LeCun init)
                p.normal_(0.0, 1.0 / math.sqrt(p[0].numel()))
            else:
                p.fill_(0.0 if pname.endswith("bias") else 1.0)
        for bname, b in model.named_buffers():
            b.fill_(1 if bname.endswith("running_var") else 0)
    model = model.to(dtype).eval()
    return model, torch.randn(inputs[0].shape, device=device, dtype=dtype)


def capture_inputs(model: nn.Module, x: torch.Tensor) -> dict[str, tuple[nn.Module, Any]]:
    """Name -> (module, its first input) for every Conv2d and Linear the forward pass calls."""
    seen: dict[str, tuple[nn.Module, Any]] = {}
    handles = []
    for mname, module in model.named_modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):

            def hook(mod: nn.Module, args: tuple[Any, ...], out: Any, key: str = mname) -> None:
                seen.setdefault(key, (mod, args[0].detach().clone()))

            handles.append(module.register_forward_hook(hook))
    with torch.no_grad():
        model(x)
    for handle in handles:
        handle.remove()
    return seen


# --- matching the report to layers ---------------------------------------------------------


def layer_kind(node: Node) -> str:
    """1x1 conv, 3x3 conv, depthwise, strided (stride > 1), other conv, or linear."""
    if node.op != "Conv":
        return "linear"
    if is_depthwise(node):
        return "depthwise"
    if any(s > 1 for s in node.attrs.get("strides", (1,))):
        return "strided"
    kernel = tuple(node.inputs[1].shape[2:])
    return {(1, 1): "1x1 conv", (3, 3): "3x3 conv"}.get(kernel, "other conv")


def group_rows(rows: list[Any], modules: set[str]) -> dict[str, list[int]]:
    """Layer key -> its contraction rows and bias Adds: a module's scope, or scope#row for a
    GEMM run functionally (no module call, e.g. nn.MultiheadAttention's projections)."""
    groups: dict[str, list[int]] = {}
    for row in rows:
        if row.op in CONTRACTIONS:
            key = row.scope if row.scope in modules else f"{row.scope}#{row.index}"
            groups.setdefault(key, []).append(row.index)
        elif row.op == "Add" and row.scope in groups and row.node.inputs[-1].kind == "parameter":
            groups[row.scope].append(row.index)
    return groups


def functional_gemm(node: Node, device: str, dtype: torch.dtype) -> Callable[[], object]:
    """``F.linear`` on random tensors of a Gemm node's shapes (A (M, K), B, optional C)."""
    dims = [t.shape for t in node.inputs]
    m, k = dims[0]
    n = dims[1][0] if node.attrs.get("transB") else dims[1][1]
    a = torch.randn(m, k, device=device, dtype=dtype)
    w = torch.randn(n, k, device=device, dtype=dtype) / math.sqrt(k)
    bias = torch.zeros(n, device=device, dtype=dtype) if len(dims) > 2 else None
    return partial(torch.nn.functional.linear, a, w, bias)


# --- one model ----------------------------------------------------------------------------


@dataclass
class Bench:
    """One (model, batch) ready to time: its forward pass and one callable per layer."""

    result: ModelResult
    forward: Callable[[], object]
    runs: list[Callable[[], object]]
    samples: list[list[float]]  # per-round medians: the forward pass first, then each layer


def analyse(name: str, batch: int, dtype: torch.dtype) -> Any:
    """flopcount's report of a zoo model in ``dtype``, from shapes alone (meta device)."""
    meta, meta_inputs = zoo.build(name, batch=batch)
    return flopcount.analyze(meta.to(dtype), torch.empty_like(meta_inputs[0], dtype=dtype))


def prepare(name: str, batch: int, args: argparse.Namespace) -> Bench:
    """Analyse one model (shapes only), build it with weights and capture each layer's input."""
    dtype = getattr(torch, args.dtype)
    report = analyse(name, batch, dtype)
    model, x = real_model(name, batch, args.device, dtype)
    captured = capture_inputs(model, x)
    result = ModelResult(name, batch, 0.0, pairs=[(r.node, r.cost) for r in report.rows])
    runs: list[Callable[[], object]] = []
    for scope, indices in group_rows(report.rows, set(captured)).items():
        node = report.rows[indices[0]].node
        if scope in captured:
            runs.append(partial(captured[scope][0], captured[scope][1]))
        elif node.op == "Gemm" and len(node.inputs[0].shape) == 2:
            runs.append(functional_gemm(node, args.device, dtype))
        else:
            continue
        flops = sum(report.rows[i].cost.flops for i in indices)
        result.layers.append(Layer(scope, layer_kind(node), flops, 0.0, indices))
    return Bench(result, partial(model, x), runs, [[] for _ in range(len(runs) + 1)])


def measure_round(bench: Bench, timer: Clock, args: argparse.Namespace) -> None:
    """One round: the forward pass, then every layer alone; each a median of a few calls."""
    with torch.no_grad():
        bench.samples[0].append(timer.time(bench.forward, args.model_repeats))
        for samples, run in zip(bench.samples[1:], bench.runs):
            samples.append(timer.time(run))


def finish(bench: Bench) -> ModelResult:
    """Median over rounds: a shared machine's speed drifts over minutes, rounds spread it."""
    bench.result.measured_s = statistics.median(bench.samples[0])
    for layer, samples in zip(bench.result.layers, bench.samples[1:]):
        layer.measured_s = statistics.median(samples)
    return bench.result


def predict(result: ModelResult, hw: Hardware, configs: dict[str, str]) -> None:
    """Fill every layer's and the model's predicted seconds under each configuration."""
    for config, preset in configs.items():
        options = get_preset(preset)
        result.predicted_s[config] = roofline(result.pairs, hw, options=options).total_time_s
        # A layer timed alone in a loop keeps its weights in cache: no cold-weight streaming.
        alone = roofline(result.pairs, hw, options=replace(options, cold_weights=False))
        for layer in result.layers:
            layer.predicted_s[config] = sum(alone.rows[i].time_s for i in layer.rows)


# --- statistics and tables ----------------------------------------------------------------


def errors(layers: list[Layer], config: str) -> list[float]:
    """|pred - meas| / meas of every layer above 10 MFLOPs."""
    big = [ly for ly in layers if ly.flops > BIG_LAYER_FLOPS]
    return [abs(ly.predicted_s[config] - ly.measured_s) / ly.measured_s for ly in big]


def summary_rows(results: list[ModelResult], configs: list[str]) -> list[str]:
    out = [
        "| model | batch | config | layers > 10 MFLOP | median layer error | within 25 % "
        "| model predicted ms | model measured ms | model error | page faults / pass |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for res in results:
        for c in configs:
            errs = errors(res.layers, c)
            med = statistics.median(errs) if errs else math.nan
            within = sum(e <= WITHIN for e in errs) / len(errs) if errs else math.nan
            meas = res.measured_s
            out.append(
                f"| {res.model} | {res.batch} | {c} | {len(errs)} | {med:.0%} | {within:.0%} "
                f"| {res.predicted_s[c] * 1e3:.1f} | {meas * 1e3:.1f} "
                f"| {(res.predicted_s[c] - meas) / meas:+.0%} | {res.page_faults:,.0f} |"
            )
    return out


def kind_rows(results: list[ModelResult], configs: list[str]) -> list[str]:
    """Median measured / predicted per layer kind, over every model and batch (> 10 MFLOPs)."""
    head = " | ".join(f"meas/pred {c}" for c in configs)
    out = [f"| kind | layers | {head} |", "|---|---|" + "---|" * len(configs)]
    layers = [ly for res in results for ly in res.layers if ly.flops > BIG_LAYER_FLOPS]
    for kind in KINDS:
        group = [ly for ly in layers if ly.kind == kind]
        if not group:
            continue
        ratios = [
            statistics.median(ly.measured_s / ly.predicted_s[c] for ly in group) for c in configs
        ]
        cells = " | ".join(f"{r:.2f}" for r in ratios)
        out.append(f"| {kind} | {len(group)} | {cells} |")
    return out


def render(results: list[ModelResult], configs: list[str], hw: Hardware, args: Any) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    threads = f", {args.threads} thread(s)" if args.device == "cpu" else ""
    lines = [
        f"Run {stamp}: {hw.name} ({hw.vendor}), {args.device}, {args.dtype}{threads}, "
        f"torch {torch.__version__}, {args.allocator_note}; profile peak "
        f"{hw.peak_for(args.dtype) / 1e9:.0f} GFLOP/s, "
        f"bandwidth {hw.memory_bandwidth / 1e9:.1f} GB/s."
    ]
    if f"{CAL_PREFIX}threads" in hw.measured:
        cal = Calibration.from_measured(hw.measured)
        overheads = ", ".join(f"{k} {v * 1e6:.1f}" for k, v in cal.overhead_s.items())
        lines[0] += f" Per-op overhead (us): {overheads}."
        if cal.peak:
            lines[0] += f" Calibration: GEMM roof {cal.peak / 1e9:.0f} GFLOP/s."
    lines += ["", *summary_rows(results, configs), "", *kind_rows(results, configs)]
    return "\n".join(lines)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", help="hardware profile JSON (default: measure now)")
    parser.add_argument("--save-profile", default="local_profile.json")
    parser.add_argument("--hardware", default="h200", help="device name for --device cuda")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    parser.add_argument("--dtype", default=None, help="float32 (CPU default) or bfloat16")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads (default 1)")
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--batches", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, batch 1 only")
    parser.add_argument(
        "--allocator", default="reuse", choices=("reuse", "glibc"),
        help="reuse: glibc malloc keeps freed memory (default); glibc: its defaults",
    )  # fmt: skip
    parser.add_argument("--json", help="write every layer's numbers here")
    parser.add_argument("--replay", help="re-predict the measurements of a --json file")
    args = parser.parse_args(argv)
    args.dtype = args.dtype or ("float32" if args.device == "cpu" else "bfloat16")
    args.rounds, args.repeats, args.model_repeats = (2, 3, 2) if args.quick else (3, 5, 3)
    if args.quick:
        args.batches = [1]
    return args


def replay(args: argparse.Namespace) -> int:
    """Predict again, with today's code and ``--profile``, what a ``--json`` run measured."""
    hw = get_hardware(args.profile)
    configs = {"plain": "none", "cpu-eager": "cpu-eager"}
    with open(args.replay, encoding="utf-8") as saved:
        results = []
        for entry in json.load(saved):
            layers = [Layer(**{**ly, "predicted_s": {}}) for ly in entry.pop("layers")]
            result = ModelResult(**{**entry, "predicted_s": {}, "pairs": []}, layers=layers)
            report = analyse(result.model, result.batch, getattr(torch, args.dtype))
            result.pairs = [(r.node, r.cost) for r in report.rows]
            predict(result, hw, configs)
            results.append(result)
    print(render(results, list(configs), hw, args))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    if args.replay:
        args.allocator_note = "allocator of the replayed run"
        return replay(args)
    if args.device == "cpu":
        args.allocator_note = set_allocator(args.allocator)
    else:
        args.allocator_note = "PyTorch's CUDA caching allocator"
    passes: list[Hardware] = []
    if args.device == "cpu":
        torch.set_num_threads(args.threads)
        torch.set_flush_denormal(True)
        hw, configs = cpu_profile(args), {"plain": "none", "cpu-eager": "cpu-eager"}
        calibrate(hw, args, passes)
    else:
        hw = calibrate_overheads(get_hardware(args.hardware), args.device, args.dtype)
        configs = {"plain": "none", "eager-gpu": "eager-gpu", "calibrated": "eager-gpu-calibrated"}
    benches = [prepare(name, batch, args) for name in args.models for batch in args.batches]
    sync = torch.cuda.synchronize if args.device == "cuda" else no_sync
    timer = Clock(args.repeats, sync)
    for round_ in range(args.rounds):
        for bench in benches:
            print(f"round {round_ + 1}: {bench.result.model} batch {bench.result.batch}",
                  file=sys.stderr)  # fmt: skip
            measure_round(bench, timer, args)
        if args.device == "cpu":
            calibrate(hw, args, passes)  # passes spread over the run: see median_calibration
    results = [finish(bench) for bench in benches]
    for bench, result in zip(benches, results):
        result.page_faults = page_faults(bench.forward)
    if passes:
        hw = median_calibration(passes)
        save_profile(hw, args.save_profile)
        print(f"calibrated profile saved to {args.save_profile}", file=sys.stderr)
    for result in results:
        predict(result, hw, configs)
    print(render(results, list(configs), hw, args))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            json.dump([asdict(replace(r, pairs=[])) for r in results], out, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
