"""Benchmark: flopcount's ONNX frontend against onnx-tool's profiler (not part of the tests).

Exports ResNet-50, ViT-B/16 and GPT-2 (random weights, built here from `flopcount.zoo` on the
CPU, exported with torch.onnx's TorchScript exporter, weights included in the file), then runs
each tool on each model in a fresh Python process several times:

- flopcount: ``flopcount.frontends.onnx.lower(path)`` + summing the registry's costs;
- onnx-tool 1.0.1: ``onnx_tool.model_profile(path)`` (its shape inference and profile).

It reports the median wall time of each process (interpreter start and imports included), the
median analysis time inside it (loading the file to the totals, imports excluded) and the
process's peak resident memory (``ru_maxrss`` of the child itself), then the ratios.
flopcount's modules are byte-compiled first, as ``pip install`` compiles an installed package
(and compiled onnx-tool's): otherwise, in a checkout run with ``PYTHONDONTWRITEBYTECODE``, each
child would compile every flopcount module it imports from source.

    PYTHONPATH=src python benchmarks/bench_onnx.py [--repeat 7] [--workdir DIR]
        [--onnx-tool-python /path/to/python]

onnx-tool conflicts with nothing here but is not a flopcount dependency: install it into any
Python (``python -m venv /tmp/ot && /tmp/ot/bin/pip install onnx-tool==1.0.1``) and pass that
interpreter with ``--onnx-tool-python``; without it the onnx-tool rows are skipped.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

_HERE = Path(__file__).resolve().parent

MODELS = {"resnet50": {"batch": 1}, "vit_b_16": {"batch": 1}, "gpt2": {"batch": 1, "seq": 128}}

FLOPCOUNT_RUN = """
import json, resource, sys, time
start = time.perf_counter()
import flopcount.costs as costs
from flopcount.costs import msft_ops, onnx_ops, onnx_recurrent, onnx_sampling, onnx_signal
from flopcount.costs import quantized
from flopcount.frontends.onnx import lower
start = time.perf_counter()
graph = lower(sys.argv[1])
macs = sum((costs.REGISTRY.cost(n) or costs.ZERO).macs for n in graph.nodes)
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"macs": macs, "rss_kb": rss, "inner_s": time.perf_counter() - start}))
"""

ONNX_TOOL_RUN = """
import contextlib, io, json, resource, sys, time
start = time.perf_counter()
import onnx_tool
start = time.perf_counter()
model = onnx_tool.Model(sys.argv[1], {"verbose": False})
graph = model.graph
with contextlib.redirect_stdout(io.StringIO()):
    graph.graph_reorder_nodes()
    graph.shape_infer(None)
    graph.profile()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
macs = int(graph.macs[0])
print(json.dumps({"macs": macs, "rss_kb": rss, "inner_s": time.perf_counter() - start}))
"""


def export(name: str, workdir: Path) -> Path:
    """Export zoo model ``name`` to ``workdir/name.onnx`` (cached), in a child process: a
    forked child inherits its parent's peak RSS, so the parent never loads torch."""
    path = workdir / f"{name}.onnx"
    if not path.exists():
        env = dict(os.environ, PYTHONPATH=str(_HERE.parent / "src"))
        command = [sys.executable, __file__, "--export", name, str(path)]
        subprocess.run(command, check=True, env=env)
    return path


def _export_now(name: str, path: Path) -> None:
    """Build zoo model ``name`` with random weights on the CPU and export it to ``path``."""
    import warnings

    import torch

    from flopcount import zoo

    entry = zoo.get(name)
    sizes = entry.resolve(**MODELS[name])
    torch.manual_seed(0)
    model = entry.factory(sizes).eval()  # CPU parameters, random initialisation
    inputs = tuple(
        torch.randint(0, 50000, shape) if dtype == torch.int64 else torch.randn(shape)
        for shape, dtype in entry.input_specs(sizes)
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(model, inputs, str(path), dynamo=False, opset_version=17)


def run(python: str, code: str, path: Path, env: dict[str, str]) -> dict[str, float]:
    """One fresh process: its wall time (seconds), peak RSS and the MACs it found."""
    start = time.perf_counter()
    done = subprocess.run(
        [python, "-c", code, str(path)], capture_output=True, text=True, env=env, check=False
    )
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(f"{python} failed on {path}:\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["wall_s"] = wall
    return result


def measure_pair(tools: list[tuple[str, str]], path: Path, repeat: int) -> list[dict[str, float]]:
    """For each ``(python, code)`` tool: median wall time and largest peak RSS over ``repeat``
    fresh processes, the tools' runs interleaved (a drift of the shared machine's speed then
    falls on every tool alike)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1] / "src")
    runs: list[list[dict[str, float]]] = [[] for _ in tools]
    for _ in range(repeat):
        for samples, (python, code) in zip(runs, tools):
            samples.append(run(python, code, path, env))
    return [_summary(samples) for samples in runs]


def _summary(runs: list[dict[str, float]]) -> dict[str, float]:
    return {
        "wall_s": statistics.median(r["wall_s"] for r in runs),
        "inner_s": statistics.median(r["inner_s"] for r in runs),
        "rss_mb": max(r["rss_kb"] for r in runs) / 1024,
        "macs": runs[0]["macs"],
    }


def compile_sources() -> None:
    """Write the bytecode caches of flopcount's modules (``python -m compileall src``)."""
    import compileall

    compileall.compile_dir(str(_HERE.parent / "src" / "flopcount"), quiet=1)


def onnx_tool_python(given: str | None) -> str | None:
    """An interpreter that imports onnx_tool: ``given``, else this one if it can."""
    candidates = [given] if given else [sys.executable, "/tmp/onnxtool-venv/bin/python"]
    for python in candidates:
        if python and Path(python).exists():
            check = subprocess.run([python, "-c", "import onnx_tool"], capture_output=True)
            if check.returncode == 0:
                return python
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/flopcount-onnx-bench"))
    parser.add_argument("--onnx-tool-python", default=None)
    parser.add_argument("--models", nargs="*", default=list(MODELS))
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    compile_sources()
    other = onnx_tool_python(args.onnx_tool_python)
    if other is None:
        print("onnx-tool is not importable: install onnx-tool==1.0.1 (see --help); its rows skip")
    header = f"{'model':<10} {'size MB':>8} {'tool':<10} {'wall s':>7} {'analysis s':>10} "
    header += f"{'peak MB':>8} {'GMACs':>8}"
    print(header)
    ratios = []
    for name in args.models:
        path = export(name, args.workdir)
        size = path.stat().st_size / 2**20
        tools = [(sys.executable, FLOPCOUNT_RUN)]
        tools += [(other, ONNX_TOOL_RUN)] if other is not None else []
        ours, *others = measure_pair(tools, path, args.repeat)
        rows = [("flopcount", ours)]
        if others:
            theirs = others[0]
            rows.append(("onnx-tool", theirs))
            ratios.append((name, *(theirs[k] / ours[k] for k in ("wall_s", "inner_s", "rss_mb"))))
        for tool, r in rows:
            print(f"{name:<10} {size:>8.0f} {tool:<10} {r['wall_s']:>7.3f} {r['inner_s']:>10.3f} "
                  f"{r['rss_mb']:>8.0f} {r['macs'] / 1e9:>8.3f}")  # fmt: skip
    if ratios:
        print("\nonnx-tool / flopcount (higher = flopcount better)")
        for name, speed, analysis, memory in ratios:
            print(f"{name:<10} wall x{speed:.1f}  analysis x{analysis:.1f}  memory x{memory:.1f}")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--export"]:
        _export_now(sys.argv[2], Path(sys.argv[3]))
    else:
        main()
