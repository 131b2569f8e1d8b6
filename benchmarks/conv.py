"""Speed of flopcount.conv's methods on the ResNet-50 convolutions, against PyTorch and GEMM.

Achieved GFLOP/s (FLOPs = 2 * MACs, the work of the layer; see docs/conventions.md) of each
method on the ResNet-50 conv shapes (He et al., "Deep Residual Learning for Image
Recognition", arXiv:1512.03385, table 1), float32, channels_first, against
``torch.nn.functional.conv2d`` with the same thread count, and against a NumPy float32 GEMM
of the im2col problem's size (C_out x C_in*k*k times C_in*k*k x N*H_out*W_out: what BLAS
reaches on this machine, the practical peak): "gemm peak" is ``np.matmul`` (NumPy's
OpenBLAS), "mkl peak" (with the mkl backend) Intel MKL through `flopcount.conv.blas`, and the
im2col/peak and auto/peak ratios use the peak of the backend the engine ran on.

    python benchmarks/conv.py            # batch 1 and 8, ~5 minutes on 2 cores
    python benchmarks/conv.py --quick    # fewer repeats
    python benchmarks/conv.py --blas numpy   # the engine's GEMMs on np.matmul, not MKL

Not a test: nothing is asserted. Timings are the median (or, with ``--best``, the best) of
interleaved repeats. ``OPENBLAS_CORETYPE`` is removed from this process's environment before
NumPy loads (it can force an older, slower OpenBLAS kernel); the header prints its old value,
the BLAS kernel threadpoolctl reports, and the load average before and after the run.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass


def _limit_threads(threads: int) -> str:
    """Cap BLAS and OpenMP threads: env vars before NumPy loads, then threadpoolctl if present.
    Returns how, and the BLAS kernels threadpoolctl sees."""
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(threads)
    import numpy  # noqa: F401  (loads OpenBLAS under the limit)

    try:
        from threadpoolctl import threadpool_info, threadpool_limits  # optional
    except ImportError:
        return "environment variables; BLAS kernel unknown (no threadpoolctl)"
    threadpool_limits(threads)
    kernels = ", ".join(
        f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')}"
        for i in threadpool_info()
        if i.get("user_api") == "blas"
    )
    return f"environment variables and threadpoolctl; BLAS: {kernels}"


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
METHODS = ("im2col", "gemm", "winograd", "winograd4", "auto")
WINOGRAD = ("winograd", "winograd4")  # 3x3 stride 1 only
PEAKS = {"numpy": "gemm peak", "mkl": "mkl peak"}  # the GEMM-rate column of each backend


def ratios(backend: str) -> dict[str, tuple[str, str]]:
    """Geometric means printed at the end, overall and per layer family: name -> (numerator,
    denominator) columns. "peak/torch gemm" is a BLAS against PyTorch's on the same
    matrices: the share of the gap to PyTorch that no change to the engine's own code can
    close. im2col/peak and auto/peak divide by the peak of ``backend``."""
    peak = PEAKS[backend]
    table = {
        "auto/torch": ("auto", "torch"),
        "im2col/peak": ("im2col", peak),
        "auto/peak": ("auto", peak),
        "peak/torch gemm": ("gemm peak", "torch gemm"),
        "torch gemm/torch": ("torch gemm", "torch"),
    }
    if backend == "mkl":
        table["mkl peak/torch gemm"] = ("mkl peak", "torch gemm")
    return table


DIRECT_MAX_OUTPUTS = 30_000  # the oracle takes ~5 us per output element: skip bigger layers


def seconds_per_call(
    fns: dict[str, Callable[[], object]], repeats: int, min_time: float, best: bool
) -> dict:
    """Per contender, the median (or the best) over ``repeats`` of the mean time of enough
    calls to last ``min_time``. Contenders take turns within each repeat so they see the same
    machine load."""
    loops = {}
    for name, fn in fns.items():
        fn()  # warm-up: allocations, BLAS thread start
        start = time.perf_counter()
        fn()
        loops[name] = max(1, int(min_time / max(time.perf_counter() - start, 1e-9)))
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            for _ in range(loops[name]):
                fn()
            times[name].append((time.perf_counter() - start) / loops[name])
    pick = min if best else statistics.median
    return {name: pick(values) for name, values in times.items()}


def geomean(values: list[float]) -> float:
    import math

    return math.exp(sum(math.log(v) for v in values) / len(values))


def bench_layer(layer: Layer, batch: int, args: argparse.Namespace) -> tuple[dict[str, float], str]:
    """GFLOP/s of every contender on one layer, the max error of auto vs torch, and the
    method auto chose."""
    import numpy as np
    import torch

    from flopcount.conv import ConvGeometry, blas, conv_forward

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

    ta, tb = torch.from_numpy(a), torch.from_numpy(bmat)

    def numpy_gemm() -> object:
        return a @ bmat

    def torch_gemm() -> object:  # PyTorch's own BLAS on the same matrices
        return torch.mm(ta, tb)

    def mkl_gemm() -> object:  # Intel MKL on the same matrices, as the engine calls it
        return blas.matmul(a, bmat)

    def ours(method: str) -> Callable[[], object]:
        def run() -> object:
            return conv_forward(x, w, stride=layer.stride, padding=layer.padding, method=method)

        return run

    timed = {"torch": torch_conv, "torch gemm": torch_gemm, "gemm peak": numpy_gemm}
    if args.backend == "mkl":
        timed["mkl peak"] = mkl_gemm
    winograd_ok = layer.kernel == 3 and layer.stride == 1
    timed.update({m: ours(m) for m in METHODS if m not in WINOGRAD or winograd_ok})
    if geo.output_elements <= DIRECT_MAX_OUTPUTS:
        timed["direct"] = ours("direct")
    seconds = seconds_per_call(timed, args.repeats, args.min_time, args.best)
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
    parser.add_argument("--best", action="store_true", help="best of the repeats, not median")
    parser.add_argument("--blas", choices=("numpy", "mkl"), help="the engine's GEMM backend")
    args = parser.parse_args()
    args.repeats, args.min_time = (3, 0.03) if args.quick else (7, 0.1)
    coretype = os.environ.pop("OPENBLAS_CORETYPE", "(unset)")  # before NumPy loads OpenBLAS
    how = _limit_threads(args.threads)
    import numpy as np
    import torch

    from flopcount.conv import blas

    torch.set_num_threads(args.threads)
    blas.set_blas(args.blas)  # None: the default (mkl when installed)
    args.backend = blas.blas_backend()
    table = ratios(args.backend)
    peak = PEAKS[args.backend]
    print(
        f"{time.strftime('%Y-%m-%d')}  {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} cores; {args.threads} threads for BLAS ({how}) and torch"
    )
    print(
        f"Python {sys.version.split()[0]}, NumPy {np.__version__}, torch {torch.__version__}; "
        f"OPENBLAS_CORETYPE was {coretype}, removed for this run; "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    print(
        f"float32, channels_first, GFLOP/s = 2 * MACs / time "
        f"({'best' if args.best else 'median'} of {args.repeats}); "
        f"'-': direct skipped above {DIRECT_MAX_OUTPUTS} outputs (it is the oracle), "
        "winograd and winograd4 run 3x3 only"
    )
    print(
        f"flopcount.conv BLAS backend: {args.backend} "
        f"({blas.library_path() if args.backend == 'mkl' else 'np.matmul'}); "
        f"im2col/peak against '{peak}'"
    )
    peaks = ["gemm peak", "mkl peak"] if args.backend == "mkl" else ["gemm peak"]
    columns = ["torch", "torch gemm", *peaks, *METHODS, "direct"]
    header = f"| {'layer':17} | N | " + " | ".join(f"{c:>9}" for c in columns)
    header += " | auto ran  | auto/torch | im2col/peak | auto err |"
    print(header)
    print("|" + "|".join("-" * len(p) for p in header.split("|")[1:-1]) + "|")
    means: dict[str, dict[str, list[float]]] = {name: {} for name in table}
    for batch in args.batch:
        for layer in LAYERS:
            s, chosen = bench_layer(layer, batch, args)
            cells = " | ".join(f"{s[c]:9.1f}" if c in s else f"{'-':>9}" for c in columns)
            family = layer.name.split()[0]  # stem, 3x3 or 1x1
            for name, (top, bottom) in table.items():
                means[name].setdefault(family, []).append(s[top] / s[bottom])
            print(
                f"| {layer.name:17} | {batch} | {cells} | {chosen:9} | "
                f"{s['auto'] / s['torch']:10.2f} | "
                f"{s['im2col'] / s[peak]:11.2f} | {s['max rel err']:8.1e} |",
                flush=True,
            )
    print()
    for name, families in means.items():
        every = [v for values in families.values() for v in values]
        parts = ", ".join(f"{f} {geomean(values):.2f}" for f, values in families.items())
        print(f"- geometric mean {name}: {geomean(every):.2f} ({parts})")
    print(f"- load average after the run: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
