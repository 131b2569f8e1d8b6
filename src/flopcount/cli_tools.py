"""``flopcount hw list|measure`` and ``flopcount mfu``: the hardware side of the CLI.

Each function returns the text to print; `flopcount.cli` does the printing and exit codes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from flopcount.analysis.hardware import Hardware, get_hardware, list_hardware, save_profile
from flopcount.errors import HardwareError
from flopcount.report.format import format_si
from flopcount.report.report import Report

__all__ = ["hw_parser", "mfu_parser", "run_hw", "run_mfu"]

_DTYPES = ("fp64", "fp32", "tf32", "bf16", "fp16", "fp8", "int8")


def hw_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="flopcount hw", description="Hardware peaks (FLOP/s).")
    sub = p.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="the hardware table with datasheet peaks")
    measure = sub.add_parser("measure", help="measure this machine and save a profile")
    measure.add_argument("-o", "--output", type=Path, default=Path("flopcount-hw.json"))
    measure.add_argument("--quick", action="store_true", help="small sizes (seconds, noisy)")
    measure.add_argument(
        "--calibrate",
        action="store_true",
        help="also calibrate the cpu-eager roofline preset (needs PyTorch; about a minute)",
    )
    p.add_argument("--debug", action="store_true", help=argparse.SUPPRESS)
    return p


def _hw_table(devices: list[Hardware]) -> str:
    head = ["device", *(f"{k} FLOP/s" for k in _DTYPES), "bandwidth", "memory"]
    rows = [head]
    for hw in devices:
        peaks = [format_si(hw.peak_flops[k]) if k in hw.peak_flops else "-" for k in _DTYPES]
        memory = format_si(hw.memory_bytes, "B") if hw.memory_bytes else "-"
        rows.append([hw.name, *peaks, format_si(hw.memory_bandwidth, "B/s"), memory])
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    sources = [f"  {hw.name}: {hw.source}" for hw in devices]
    note = "Dense peaks (no structured sparsity). Sources:"
    return "\n".join([*lines, "", note, *sources]) + "\n"


def _progress(message: str, fraction: float) -> None:
    print(f"\r[{fraction:4.0%}] {message:<24}", end="", file=sys.stderr, flush=True)
    if fraction >= 1.0:
        print(file=sys.stderr)


def run_hw(args: argparse.Namespace) -> str:
    if args.action == "list":
        return _hw_table(list_hardware())
    from flopcount.analysis.measure import measure_local

    hw = measure_local(progress=_progress, quick=args.quick)
    preset = ""
    if args.calibrate:
        from flopcount.analysis.calibrate import calibrate_local

        _progress("calibrating cpu-eager", 0.0)
        hw = calibrate_local(hw, quick=args.quick)
        _progress("calibration done", 1.0)
        preset = " --roofline-preset cpu-eager"
    path = save_profile(hw, args.output)
    return _hw_table([hw]) + f"\nSaved profile to {path}; use it with --hardware {path}{preset}\n"


def mfu_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="flopcount mfu",
        description="Model FLOP/s utilisation (PaLM, Chowdhery et al. 2022, appendix B) from a "
        "measured step time or throughput; the model's FLOPs come from the analysis of its "
        "forward and backward pass, not 6N.",
    )
    p.add_argument("model", help="a model spec or file, as for `flopcount MODEL`")
    p.add_argument("--hardware", required=True, help="device name or measured profile")
    p.add_argument("--dtype", default="bf16", help="peak to compare against (default bf16)")
    p.add_argument("--step-time", type=float, help="measured seconds per training step")
    p.add_argument("--tokens-per-s", type=float, help="measured throughput, tokens/s")
    p.add_argument("--tokens-per-step", type=int, help="tokens per step (default: batch*seq)")
    p.add_argument("--n-devices", type=int, default=1, help="devices the step ran on")
    p.add_argument(
        "--recompute",
        choices=["none", "selective", "full"],
        default="none",
        help="activation recomputation, for hardware FLOP/s utilisation (HFU)",
    )
    p.add_argument("--inference", action="store_true", help="forward only (no backward)")
    for flag in ("--batch", "--seq", "--image-size"):
        p.add_argument(flag, type=int)
    p.add_argument("--input-shape", action="append", default=[])
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _recompute_flops(report: Report, mode: str) -> int | None:
    """FLOPs re-executed by activation recomputation (Korthikanti et al. 2022, section 5).

    ``full`` recomputes the whole forward pass once; ``selective`` only the attention core
    (the QK^T, softmax and AV nodes), which that paper shows is cheap to recompute.
    """
    from flopcount.analysis.core import ATTENTION_OPS

    if mode == "none":
        return None
    forward = [r for r in report.rows if r.phase == "forward" and r.status == "costed"]
    if mode == "full":
        return sum(r.cost.flops for r in forward)
    return sum(r.cost.flops for r in forward if r.op in ATTENTION_OPS)


def run_mfu(args: argparse.Namespace) -> str:
    from flopcount.analysis.mfu import mfu
    from flopcount.api import analyze
    from flopcount.cli import parse_shape

    shapes = [parse_shape(s)[1] for s in args.input_shape] or None
    report = analyze(
        args.model,
        training=not args.inference,
        input_shapes=shapes,
        batch=args.batch,
        seq=args.seq,
        image_size=args.image_size,
    )
    hw = get_hardware(args.hardware)
    tokens = args.tokens_per_step
    if tokens is None and args.tokens_per_s is not None:
        ids = [t for r in report.rows for t in r.node.inputs if t.kind == "input"]
        ints = [t for t in ids if t.dtype.startswith("int")]
        if not ints:
            raise HardwareError(
                "--tokens-per-s needs --tokens-per-step for a model without token-id inputs"
            )
        tokens = ints[0].numel
    flops = report.total.flops
    result = mfu(
        flops,
        hardware=hw,
        dtype=args.dtype,
        step_time_s=args.step_time,
        tokens_per_s=args.tokens_per_s,
        tokens_per_step=tokens,
        n_devices=args.n_devices,
        recompute_flops_per_step=_recompute_flops(report, args.recompute),
    )
    lines = [
        f"model FLOPs per step: {format_si(flops, 'FLOPs')} "
        f"({'forward' if args.inference else 'forward + backward'}, from the analysis)",
        f"step time: {result.step_time_s:.4g} s on {args.n_devices} x {hw.name}",
        f"achieved: {format_si(result.achieved_flops_per_s, 'FLOP/s')} of "
        f"{format_si(result.peak_flops_per_s, 'FLOP/s')} peak ({args.dtype})",
        f"MFU: {result.mfu:.1%}",
    ]
    if result.hfu is not None:
        lines.append(f"HFU (with {args.recompute} recomputation): {result.hfu:.1%}")
    lines += [f"note: {n}" for n in result.notes]
    if report.unsupported:
        ops = ", ".join(u.op for u in report.unsupported)
        lines.append(f"warning: unsupported ops not counted in the model FLOPs: {ops}")
    return "\n".join(lines) + "\n"
