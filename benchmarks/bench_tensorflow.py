"""flopcount vs tf.profiler on frozen Keras ResNet50 and MobileNetV2 graphs.

Each measurement runs in a fresh Python process, imports included, as a user would run it:
flopcount lowers the frozen ``.pb`` (its own GraphDef reader; TensorFlow is not imported) and
sums the ``flops`` and ``tfprof`` conventions; the profiler imports TensorFlow, imports the
GraphDef into a ``tf.Graph`` and runs ``profile(..., float_operation())``. Reported: median
wall time of the whole process over ``--repeat`` runs, and the process's peak RSS.

    PYTHONPATH=src python benchmarks/bench_tensorflow.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MODELS = ("ResNet50", "MobileNetV2")
SRC = Path(__file__).resolve().parents[1] / "src"

FREEZE = """
import os, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras, tensorflow as tf
from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2
model = getattr(keras.applications, sys.argv[1])(weights=None)
spec = tf.TensorSpec((1, 224, 224, 3), tf.float32, name="x")
function = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
graph_def = convert_variables_to_constants_v2(function).graph.as_graph_def()
open(sys.argv[2], "wb").write(graph_def.SerializeToString())
print("{}")
"""

FLOPCOUNT = """
import json, resource, sys
from flopcount.costs import REGISTRY
from flopcount.costs.tfprof import tfprof_flops
from flopcount.frontends.tensorflow import lower
graph = lower(sys.argv[1])
flops = sum(REGISTRY.cost(node).flops for node in graph.nodes)
tfprof = sum(tfprof_flops(node) for node in graph.nodes)
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"flops": flops, "tfprof": tfprof, "rss_kb": peak,
                  "tensorflow_imported": "tensorflow" in sys.modules}))
"""

PROFILER = """
import json, os, resource, sys
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import tensorflow as tf
from tensorflow.python.profiler import option_builder
graph_def = tf.compat.v1.GraphDef.FromString(open(sys.argv[1], "rb").read())
graph = tf.Graph()
with graph.as_default():
    tf.graph_util.import_graph_def(graph_def, name="")
builder = option_builder.ProfileOptionBuilder
options = builder(builder.float_operation()).with_empty_output().build()
total = tf.compat.v1.profiler.profile(graph, options=options).total_float_ops
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"tfprof": total, "rss_kb": peak}))
"""


def run(script: str, *args: str) -> tuple[float, dict[str, int]]:
    """Wall seconds of a fresh interpreter running ``script``, and the JSON it printed."""
    env = dict(os.environ, PYTHONPATH=str(SRC), TF_CPP_MIN_LOG_LEVEL="3")
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", script, *args], capture_output=True, text=True, env=env, check=True
    )
    seconds = time.perf_counter() - start
    return seconds, json.loads(done.stdout.strip().splitlines()[-1])


def measure(script: str, path: Path, repeat: int) -> tuple[float, float, dict[str, int]]:
    """(median wall seconds, peak RSS in MiB, last result) over ``repeat`` fresh processes."""
    runs = [run(script, str(path)) for _ in range(repeat)]
    wall = statistics.median(seconds for seconds, _ in runs)
    rss = max(result["rss_kb"] for _, result in runs) / 1024  # Linux reports KiB
    return wall, rss, runs[-1][1]


def _row(model: str, tool: str, figure: tuple[float, float, dict[str, int]]) -> str:
    wall, rss, result = figure
    return f"{model:<12} {tool:<10} {wall:>8.2f} {rss:>9.0f} {result['tfprof']:>15,}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="fresh processes per figure")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        header = f"{'model':<12} {'tool':<10} {'wall s':>8} {'peak MiB':>9} {'float ops':>15}"
        rows = [header, "-" * len(header)]
        ratios = []
        for model in MODELS:
            path = Path(folder) / f"{model}.pb"
            run(FREEZE, model, str(path))
            ours = measure(FLOPCOUNT, path, args.repeat)
            theirs = measure(PROFILER, path, args.repeat)
            if ours[2]["tfprof"] != theirs[2]["tfprof"] or ours[2]["tensorflow_imported"]:
                raise SystemExit(f"{model}: results differ: {ours[2]} vs {theirs[2]}")
            rows.append(_row(model, "flopcount", ours))
            rows.append(_row("", "tfprof", theirs))
            ratios.append((model, theirs[0] / ours[0], theirs[1] / ours[1], ours[2]["flops"]))
        print("\n".join(rows))
        print()
        for model, speed, memory, flops in ratios:
            print(
                f"{model}: flopcount is {speed:.1f}x faster and uses {memory:.1f}x less memory "
                f"than tf.profiler (same tfprof total; flopcount's own flops: {flops:,})"
            )


if __name__ == "__main__":
    main()
