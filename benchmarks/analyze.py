"""Side-by-side: flopcount vs the popular PyTorch counters, each run in a fresh process.

    python benchmarks/analyze.py            # resnet50, vit_b_16, gpt2 + llama2-70b @ 4096 tokens
    python benchmarks/analyze.py --quick    # resnet50 only, fewer repeats

For every (tool, model) pair a fresh interpreter imports the tool, builds the model and counts it;
the parent measures wall time (imports included) and the child's peak RSS (``os.wait4``). Each
tool's total is printed with the unit that tool reports. flopcount and FlopCounterMode run on
meta tensors (no weights); fvcore, thop, ptflops and calflops need real weights, so they get the
same architecture materialised on the CPU (uninitialised memory: values do not change counts).

Targets (issue 3): flopcount no slower than FlopCounterMode on any of the three (goal 2x faster);
llama2-70b at 4,096 tokens in under 10 s with under 1.5 GB peak RSS.
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import subprocess
import sys
import time
from typing import Any

MODELS = ("resnet50", "vit_b_16", "gpt2")
TOOLS = ("flopcount", "FlopCounterMode", "fvcore", "thop", "ptflops", "calflops")


# -- workers: run inside the fresh process ----------------------------------------------------


def _zoo(name: str, seq: int | None, materialise: bool) -> tuple[Any, tuple[Any, ...]]:
    import torch

    from flopcount import zoo

    model, inputs = zoo.build(name, seq=seq)
    if materialise:
        model = model.to_empty(device="cpu").eval()
        # zeros: valid token ids for every vocabulary, and values never change a count
        inputs = tuple(torch.zeros(t.shape, dtype=t.dtype) for t in inputs)
    return model, inputs


def work_flopcount(name: str, seq: int | None) -> tuple[float, str]:
    import flopcount

    report = flopcount.analyze(f"zoo:{name}", seq=seq, convention="flops")
    return report.total.flops, "FLOPs"


def work_flopcountermode(name: str, seq: int | None) -> tuple[float, str]:
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    model, inputs = _zoo(name, seq, materialise=False)
    with torch.no_grad(), FlopCounterMode(display=False) as mode:
        model(*inputs)
    return mode.get_total_flops(), "FLOPs (2 per MAC, contractions only)"


def work_fvcore(name: str, seq: int | None) -> tuple[float, str]:
    from fvcore.nn import FlopCountAnalysis

    model, inputs = _zoo(name, seq, materialise=True)
    analysis = FlopCountAnalysis(model, inputs)
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    return analysis.total(), "fvcore 'flops' (= MACs)"


def work_thop(name: str, seq: int | None) -> tuple[float, str]:
    from thop import profile

    model, inputs = _zoo(name, seq, materialise=True)
    macs, _ = profile(model, inputs=inputs, verbose=False)
    return macs, "MACs (thop)"


def work_ptflops(name: str, seq: int | None) -> tuple[float, str]:
    from ptflops import get_model_complexity_info

    model, inputs = _zoo(name, seq, materialise=True)

    first_arg = next(iter(inspect.signature(model.forward).parameters))

    def construct(_: Any) -> dict[str, Any]:  # ptflops calls model(**construct(shape))
        return {first_arg: inputs[0]}

    macs, _ = get_model_complexity_info(
        model,
        tuple(inputs[0].shape),
        as_strings=False,
        print_per_layer_stat=False,
        input_constructor=construct,
        backend="aten",
        verbose=False,
    )
    return macs, "MACs (ptflops, aten backend)"


def work_calflops(name: str, seq: int | None) -> tuple[float, str]:
    from calflops import calculate_flops

    model, inputs = _zoo(name, seq, materialise=True)
    flops, _macs, _params = calculate_flops(
        model=model,
        args=list(inputs),
        output_as_string=False,
        print_results=False,
        print_detailed=False,
    )
    return flops, "FLOPs (calflops)"


WORKERS = {
    "flopcount": work_flopcount,
    "FlopCounterMode": work_flopcountermode,
    "fvcore": work_fvcore,
    "thop": work_thop,
    "ptflops": work_ptflops,
    "calflops": work_calflops,
}


# -- parent: spawn, time, measure --------------------------------------------------------------


def measure(tool: str, model: str, seq: int | None) -> dict[str, Any]:
    """Run one worker in a fresh interpreter; wall time and the child's own peak RSS."""
    cmd = [sys.executable, __file__, "--worker", tool, model, str(seq or 0)]
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    out = proc.stdout.read() if proc.stdout else ""
    err = proc.stderr.read() if proc.stderr else ""
    result: dict[str, Any] = {
        "tool": tool,
        "model": model,
        "wall_s": wall,
        "rss_mb": usage.ru_maxrss / 1024,
    }
    if os.waitstatus_to_exitcode(status) != 0 or not out.strip():
        last = (err.strip().splitlines() or ["no output"])[-1]
        return result | {"error": last[:120]}
    return result | json.loads(out.strip().splitlines()[-1])


def _row(r: dict[str, Any], reference: dict[str, Any] | None) -> str:
    if "error" in r:
        return f"{r['model']:<11} {r['tool']:<16} {'failed: ' + r['error']}"
    ratio = f"{r['wall_s'] / reference['wall_s']:.2f}x" if reference else "-"
    work = f"{r['work_s']:.2f} s"
    work_ratio = f"{r['work_s'] / reference['work_s']:.2f}x" if reference else "-"
    return (
        f"{r['model']:<11} {r['tool']:<16} {r['wall_s']:>8.2f} s {ratio:>7} {work:>8} "
        f"{work_ratio:>7} {r['rss_mb']:>8.0f} MB  {r['total']:>20,.0f} {r['unit']}"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--worker", nargs=3, help=argparse.SUPPRESS)
    p.add_argument("--quick", action="store_true", help="resnet50 only, one repeat")
    p.add_argument("--repeats", type=int, default=3, help="runs per pair; the median is shown")
    p.add_argument("--tools", default=",".join(TOOLS))
    args = p.parse_args()
    if args.worker:
        tool, model, seq = args.worker
        import torch  # noqa: F401  (every tool needs it; its import is not the tool's work)

        start = time.perf_counter()
        total, unit = WORKERS[tool](model, int(seq) or None)
        work = time.perf_counter() - start  # the tool's own import, model build and count
        print(json.dumps({"total": float(total), "unit": unit, "work_s": work}))
        return
    models = ("resnet50",) if args.quick else MODELS
    repeats = 1 if args.quick else args.repeats
    print("wall: whole fresh process, imports included; work: after `import torch`, the tool's")
    print("own import, model build and count. Ratios: time / flopcount's time (>1: slower).")
    print(
        f"{'model':<11} {'tool':<16} {'wall':>10} {'ratio':>7} {'work':>8} {'ratio':>7} "
        f"{'peak RSS':>11}  total"
    )
    for model in models:
        ref = None
        for tool in args.tools.split(","):
            runs = [measure(tool, model, None) for _ in range(repeats)]
            ok = [r for r in runs if "error" not in r]
            best = runs[0] if not ok else min(ok, key=lambda r: r["wall_s"])
            if ok:
                best = best | {
                    "wall_s": statistics.median(r["wall_s"] for r in ok),
                    "work_s": statistics.median(r["work_s"] for r in ok),
                }
            ref = ref or (best if tool == "flopcount" and "error" not in best else None)
            print(_row(best, ref if tool != "flopcount" else None), flush=True)
    if not args.quick:
        big = measure("flopcount", "llama2-70b", 4096)
        print(_row(big, None))
        if "error" not in big:
            verdict = big["wall_s"] < 10 and big["rss_mb"] < 1536
            print(
                f"llama2-70b @ 4096 tokens: {big['wall_s']:.2f} s, {big['rss_mb']:.0f} MB peak "
                f"RSS -> target (< 10 s, < 1.5 GB) {'met' if verdict else 'MISSED'}"
            )


if __name__ == "__main__":
    main()
