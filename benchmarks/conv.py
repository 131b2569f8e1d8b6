"""Speed of flopcount.conv's methods on the ResNet-50 convolutions, against PyTorch and GEMM.

Achieved GFLOP/s (FLOPs = 2 * MACs, the work of the layer; see docs/conventions.md) of each
method on the ResNet-50 conv shapes (He et al., "Deep Residual Learning for Image
Recognition", arXiv:1512.03385, table 1), float32, channels_first, against
``torch.nn.functional.conv2d`` with the same thread count, and against a NumPy float32 GEMM
of the im2col problem's size (C_out x C_in*k*k times C_in*k*k x N*H_out*W_out: what BLAS
reaches on this machine, the practical peak).

    python benchmarks/conv.py            # batch 1 and 8, ~5 minutes on 2 cores
    python benchmarks/conv.py --quick    # fewer repeats
    env -u OPENBLAS_CORETYPE python benchmarks/conv.py   # if that variable slows NumPy here

Not a test: nothing is asserted. Timings are the best of interleaved repeats.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass


def _limit_threads(threads: int) -> str:
    """Cap BLAS and OpenMP threads: env vars before NumPy loads, then threadpoolctl if present."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import numpy  # noqa: F401  (loads OpenBLAS under the limit)

    try:
        from threadpoolctl import threadpool_limits  # optional
    except ImportError:
        return "environment variables"
    threadpool_limits(threads)
    return "environment variables and threadpoolctl"


@dataclass(frozen=True)
class Layer:
    """One ResNet-50 convolution (square input and kernel)."""

    name: str
    c_in: int
    c_out: int
    size: int
    kernel: int
    stride: int = 1
    padding: int = 0


# ResNet-50 (torchvision): the stem, each stage's 3x3, its 1x1 expand (to 4x) and reduce.
LAYERS = [
    Layer("stem 7x7/2", 3, 64, 224, 7, 2, 3),
    Layer("3x3 64 @56", 64, 64, 56, 3, 1, 1),
    Layer("3x3 128 @28", 128, 128, 28, 3, 1, 1),
    Layer("3x3 256 @14", 256, 256, 14, 3, 1, 1),
    Layer("3x3 512 @7", 512, 512, 7, 3, 1, 1),
    Layer("1x1 64>256 @56", 64, 256, 56, 1),
    Layer("1x1 128>512 @28", 128, 512, 28, 1),
    Layer("1x1 256>1024 @14", 256, 1024, 14, 1),
    Layer("1x1 512>2048 @7", 512, 2048, 7, 1),
    Layer("1x1 256>64 @56", 256, 64, 56, 1),
    Layer("1x1 512>128 @28", 512, 128, 28, 1),
    Layer("1x1 1024>256 @14", 1024, 256, 14, 1),
    Layer("1x1 2048>512 @7", 2048, 512, 7, 1),
]
METHODS = ("im2col", "gemm", "winograd", "auto")
DIRECT_MAX_OUTPUTS = 30_000  # the oracle takes ~5 us per output element: skip bigger layers


def best_seconds(fns: dict[str, Callable[[], object]], repeats: int, min_time: float) -> dict:
    """Per contender, the best over ``repeats`` of the mean time of enough calls to last
    ``min_time``. Contenders take turns within each repeat so they see the same machine load;
    the best (not the median) is the least disturbed run on a shared machine."""
    loops = {}
    for name, fn in fns.items():
        fn()  # warm-up: allocations, BLAS thread start
        start = time.perf_counter()
        fn()
        loops[name] = max(1, int(min_time / max(time.perf_counter() - start, 1e-9)))
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(loops[name]):
                fn()
            best[name] = min(best[name], (time.perf_counter() - start) / loops[name])
    return best


def geomean(values: list[float]) -> float:
    import math

    return math.exp(sum(math.log(v) for v in values) / len(values))


def bench_layer(layer: Layer, batch: int, args: argparse.Namespace) -> tuple[dict[str, float], str]:
    """GFLOP/s of every contender on one layer, the max error of auto vs torch, and the
    method auto chose."""
    import numpy as np
    import torch

    from flopcount.conv import ConvGeometry, conv_forward

    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, layer.c_in, layer.size, layer.size), dtype=np.float32)
    w = rng.standard_normal((layer.c_out, layer.c_in, layer.kernel, layer.kernel), np.float32)
    geo = ConvGeometry.from_shapes(x.shape, w.shape, stride=layer.stride, padding=layer.padding)
    gflop = 2 * geo.macs / 1e9  # 2 FLOPs per MAC
    tx, tw = torch.from_numpy(x), torch.from_numpy(w)
    k_dim = layer.c_in * geo.kernel_volume
    a = rng.standard_normal((layer.c_out, k_dim), dtype=np.float32)
    bmat = rng.standard_normal((k_dim, batch * int(np.prod(geo.out_spatial))), dtype=np.float32)

    def torch_conv() -> object:
        with torch.no_grad():
            return torch.nn.functional.conv2d(tx, tw, stride=layer.stride, padding=layer.padding)

    def numpy_gemm() -> object:
        return a @ bmat

    def ours(method: str) -> Callable[[], object]:
        def run() -> object:
            return conv_forward(x, w, stride=layer.stride, padding=layer.padding, method=method)

        return run

    timed = {"torch": torch_conv, "gemm peak": numpy_gemm}
    timed.update({m: ours(m) for m in METHODS if m != "winograd" or layer.kernel == 3})
    if geo.output_elements <= DIRECT_MAX_OUTPUTS:
        timed["direct"] = ours("direct")
    seconds = best_seconds(timed, args.repeats, args.min_time)
    speeds = {name: gflop / t for name, t in seconds.items()}
    ref = torch_conv().numpy()  # type: ignore[attr-defined]
    got, cache = conv_forward(x, w, stride=layer.stride, padding=layer.padding)
    speeds["max rel err"] = float(np.abs(got - ref).max() / np.abs(ref).max())
    return speeds, cache.method


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="3 repeats of >= 30 ms")
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--batch", type=int, nargs="+", default=[1, 8])
    args = parser.parse_args()
    args.repeats, args.min_time = (3, 0.03) if args.quick else (7, 0.1)
    how = _limit_threads(args.threads)
    import numpy as np
    import torch

    torch.set_num_threads(args.threads)
    print(
        f"{time.strftime('%Y-%m-%d')}  {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; {args.threads} threads for BLAS ({how}) and torch"
    )
    print(
        f"Python {sys.version.split()[0]}, NumPy {np.__version__}, torch {torch.__version__}; "
        f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}"
    )
    print(
        f"float32, channels_first, GFLOP/s = 2 * MACs / time (best of {args.repeats}); "
        f"'-': direct skipped above {DIRECT_MAX_OUTPUTS} outputs (it is the oracle), "
        "winograd runs 3x3 only"
    )
    columns = ["torch", "gemm peak", *METHODS, "direct"]
    header = f"| {'layer':17} | N | " + " | ".join(f"{c:>9}" for c in columns)
    header += " | auto ran | auto/torch | im2col/peak | auto err |"
    print(header)
    print("|" + "|".join("-" * len(p) for p in header.split("|")[1:-1]) + "|")
    ratios: dict[str, list[float]] = {"auto/torch": [], "im2col/peak": [], "auto/peak": []}
    for batch in args.batch:
        for layer in LAYERS:
            s, chosen = bench_layer(layer, batch, args)
            cells = " | ".join(f"{s[c]:9.1f}" if c in s else f"{'-':>9}" for c in columns)
            ratios["auto/torch"].append(s["auto"] / s["torch"])
            ratios["im2col/peak"].append(s["im2col"] / s["gemm peak"])
            ratios["auto/peak"].append(s["auto"] / s["gemm peak"])
            print(
                f"| {layer.name:17} | {batch} | {cells} | {chosen:8} | "
                f"{s['auto'] / s['torch']:10.2f} | "
                f"{s['im2col'] / s['gemm peak']:11.2f} | {s['max rel err']:8.1e} |",
                flush=True,
            )
    print()
    for name, values in ratios.items():
        print(f"geometric mean {name}: {geomean(values):.2f}")


if __name__ == "__main__":
    main()
