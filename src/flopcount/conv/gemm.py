"""Fast GEMM convolution for stride-1 layers: shifted windows on the flattened padded input.

With stride 1, flatten the padded input's spatial dims into one axis of length L. The input
element under kernel tap t for output position p is then ``flat[p' + offset(t)]``, where p' is
p's index on the *padded* grid and ``offset(t) = sum_i t_i * dilation_i * prod(padded[i+1:])``.
So for a run of consecutive output rows, the rows of the im2col matrix are plain contiguous
slices of ``flat`` (one memcpy each), not a strided gather; the price is a few wasted columns
(padded-grid positions past the output's edge), computed and cropped away. This is the
"shifted" or "implicit" GEMM idea (cf. cuDNN's IMPLICIT_PRECOMP_GEMM; Chetlur et al.,
"cuDNN: Efficient Primitives for Deep Learning", arXiv:1410.0759, section 3).

The work is done in chunks (a few output rows, or a few whole images when they are small)
whose column matrix fits in cache, so the gather writes to cache and the GEMM reads from it.
Pointwise (1x1, unpadded) layers need no gather at all: im2col returns x itself.
Backward passes use `flopcount.conv.im2col`.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import as_strided

from flopcount.conv import im2col
from flopcount.conv.geometry import ConvGeometry, Layout
from flopcount.conv.layouts import add_bias

__all__ = ["forward", "worthwhile"]

# Column-matrix budget per chunk, in bytes: half of this machine's 2 MiB-per-core L2 (measured
# with benchmarks/conv.py; 0.5-2 MiB are within a few percent of each other).
CHUNK_BYTES = 1 << 20
MIN_CHUNK_COLUMNS = 256  # narrower GEMMs run well below peak in OpenBLAS (benchmarks/conv.py)


def worthwhile(geo: ConvGeometry, layout: Layout) -> bool:
    """Stride-1 layers (the shifted gather) and pointwise layers (no gather) gain over im2col."""
    return all(s == 1 for s in geo.stride) or _pointwise(geo)


def _pointwise(geo: ConvGeometry) -> bool:
    return all(k == 1 for k in geo.kernel) and not any(lo or hi for lo, hi in geo.padding)


def _flat_padded(x: np.ndarray, geo: ConvGeometry, layout: Layout, length: int) -> np.ndarray:
    """x zero-padded, spatial dims flattened to ``length`` (>= their product; zero tail).

    Returns (N, C_in, length) for channels_first, (N, length, C_in) for channels_last.
    """
    padded = tuple(i + lo + hi for i, (lo, hi) in zip(geo.in_spatial, geo.padding))
    interior = tuple(slice(lo, lo + i) for i, (lo, _) in zip(geo.in_spatial, geo.padding))
    n, c, size = geo.batch, geo.in_channels, math.prod(padded)
    if layout == "channels_first":
        flat = np.zeros((n, c, length), dtype=x.dtype)
        flat[:, :, :size].reshape(n, c, *padded)[(slice(None), slice(None), *interior)] = x
    else:
        flat = np.zeros((n, length, c), dtype=x.dtype)
        flat[:, :size].reshape(n, *padded, c)[(slice(None), *interior)] = x
    return flat


def _chunks(geo: ConvGeometry, line: int) -> list[tuple[int, int, int, int]]:
    """(n0, n1, r0, r1): images n0:n1 and output rows r0:r1 (first spatial dim) per chunk."""
    columns = max(CHUNK_BYTES // (4 * geo.in_channels * geo.kernel_volume), MIN_CHUNK_COLUMNS)
    rows = geo.out_spatial[0]
    if columns >= rows * line:  # whole images per chunk
        per = max(1, columns // (rows * line))
        return [(n, min(n + per, geo.batch), 0, rows) for n in range(0, geo.batch, per)]
    step = max(1, columns // line)
    return [
        (n, n + 1, r, min(r + step, rows)) for n in range(geo.batch) for r in range(0, rows, step)
    ]


def forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geo: ConvGeometry, layout: Layout
) -> np.ndarray:
    """Convolution by chunked shifted-window GEMMs (stride 1) or a plain GEMM (pointwise).

    x: (N, C_in, *in) or (N, *in, C_in); w: the layout's weight shape; b: (C_out,) or None.
    Returns (N, C_out, *out) or (N, *out, C_out). Other geometries go to im2col.
    """
    if _pointwise(geo) or not all(s == 1 for s in geo.stride):
        return im2col.forward(x, w, b, geo, layout)
    nd, item = geo.ndim, x.itemsize
    padded = [i + lo + hi for i, (lo, hi) in zip(geo.in_spatial, geo.padding)]
    line = math.prod(padded[1:])  # flat elements per step of the first spatial dim
    taps = [d * math.prod(padded[i + 1 :]) for i, d in enumerate(geo.dilation)]  # flat offsets
    full = geo.out_spatial[0] * line  # outputs on the padded grid, per image
    length = max(math.prod(padded), full + sum((k - 1) * t for k, t in zip(geo.kernel, taps)))
    flat = _flat_padded(x, geo, layout, length)
    wm = im2col._weight_matrices(w, geo, layout)  # (G, C_out/G, K) or (G, K, C_out/G)
    if layout == "channels_first":
        out = np.empty((geo.batch, geo.out_channels, *geo.out_spatial), dtype=x.dtype)
    else:
        out = np.empty((geo.batch, *geo.out_spatial, geo.out_channels), dtype=x.dtype)
    crop = tuple(slice(0, o) for o in geo.out_spatial[1:])  # drop the wasted columns
    c, g = geo.in_channels, geo.groups
    for n0, n1, r0, r1 in _chunks(geo, line):
        nb, cols = n1 - n0, (r1 - r0) * line
        base = flat[n0:, :, r0 * line :] if layout == "channels_first" else flat[n0:, r0 * line :]
        if layout == "channels_first":
            view = as_strided(
                base, (nb, c, *geo.kernel, cols),
                (flat.strides[0], flat.strides[1], *(t * item for t in taps), item),
                writeable=False,
            )  # fmt: skip
            col = np.empty((c, *geo.kernel, nb, cols), dtype=x.dtype)
            np.copyto(col, np.moveaxis(view, 0, -2))  # C, *kernel, nb, cols
            res = np.matmul(wm, col.reshape(g, -1, nb * cols))  # G, C_out/G, nb*cols
            res = res.reshape(geo.out_channels, nb, r1 - r0, *padded[1:])
            out[n0:n1, :, r0:r1] = np.moveaxis(res, 0, 1)[(Ellipsis, *crop)]
        else:
            view = as_strided(
                base, (nb, cols, g, *geo.kernel, c // g),
                (flat.strides[0], c * item, c // g * item, *(t * c * item for t in taps), item),
                writeable=False,
            )  # fmt: skip
            col = np.ascontiguousarray(view).reshape(nb * cols, g, -1)  # nb*cols, G, K
            res = np.empty((nb * cols, geo.out_channels), dtype=x.dtype)
            np.matmul(
                col.transpose(1, 0, 2), wm, out=res.reshape(nb * cols, g, -1).transpose(1, 0, 2)
            )
            res = res.reshape(nb, r1 - r0, *padded[1:], geo.out_channels)
            out[n0:n1, r0:r1] = res[(slice(None), slice(None), *crop)]
    del nd
    return add_bias(out, b, layout)
