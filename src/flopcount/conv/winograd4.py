"""Winograd F(4x4, 3x3): 3x3 stride-1 convolutions with 4 times fewer multiplies.

Every 4x4 output tile is ``Y = A^T [(G g G^T) * (B^T d B)] A`` for the 6x6 input tile d
(tiles overlap by 2) and 3x3 filter g (Lavin & Gray, "Fast Algorithms for Convolutional
Neural Networks", arXiv:1509.09308, section 4.2). Summed over input channels, the 36
elementwise products become 36 GEMMs of (tiles x C_in) @ (C_in x C_out), done as ONE batched
``np.matmul``: 36 multiplies per tile and channel pair instead of 16 * 9 = 144.

The transforms are matrix products too, so BLAS runs them instead of element-wise NumPy
loops: with tiles flattened row-major, ``vec(B^T d B) = kron(B^T, B^T) vec(d)``, so the input
transform of every tile and channel is one (36 x 36) @ (36 x tiles*C_in) GEMM, the output
transform one (16 x 36) @ (36 x tiles*C_out) GEMM and the filter transform one (36 x 9) GEMM.
Channels are innermost throughout, so gathering the 36 tile positions copies runs of C_in
contiguous values.

Points: 0, -1, 1, 1/2, -2 and infinity (`POINTS`), the set Barabasz et al. (ACM TOMS 46(4),
2020, section 5) found accurate for F(4, 3), instead of Lavin & Gray's 0, +-1, +-2. Measured
here (float32, 2 x 128 x 28 x 28, 128 filters, against float64): max error 3.4e-6 of the
largest output, against 8.9e-6 for 0, +-1, +-2 and 9.0e-6 for 0, +-1, +-1/2 (F(2x2, 3x3)
and the GEMM methods: about 5e-7). The matrices come from `flopcount.conv.toomcook`.
"""

from __future__ import annotations

from dataclasses import replace
from fractions import Fraction
from functools import partial

import numpy as np

from flopcount.conv import parallel
from flopcount.conv.geometry import ConvGeometry, Layout
from flopcount.conv.layouts import add_bias
from flopcount.conv.toomcook import winograd_matrices
from flopcount.conv.winograd import filter_transform, unsupported

__all__ = ["POINTS", "forward", "unsupported", "worthwhile"]

TILE = 4  # outputs per tile side: F(4x4, 3x3)
POINTS = (Fraction(0), Fraction(-1), Fraction(1), Fraction(1, 2), Fraction(-2))
A_T, G_MATRIX, B_T = winograd_matrices(TILE, 3, POINTS)  # (4, 6), (6, 3), (6, 6)
KRON_B = np.kron(B_T, B_T)  # (36, 36): vec(B^T d B) = kron(B^T, B^T) vec(d), row-major vec
KRON_A = np.kron(A_T, A_T)  # (16, 36): vec(A^T M A)
KRON_G = np.kron(G_MATRIX, G_MATRIX)  # (36, 9): vec(G g G^T)
MIN_CHANNELS = 64  # narrower and the transforms cost more than they save (benchmarks/conv.py)
# The filter transform writes 36 * C_in * C_out values per call whatever the batch, against
# 36 * C_in * C_out * tiles multiply-adds: with fewer tiles it dominates (benchmarks/conv.py).
MIN_TILES = 48
# Transformed tiles per group of images (36 x tiles x channels): ResNet-50's layers at
# batch 8 fit in one group; bigger batches are split so memory stays bounded.
CHUNK_BYTES = 64 << 20


def worthwhile(geo: ConvGeometry, layout: Layout) -> bool:
    """Whether F(4x4, 3x3) beats the shifted GEMM (measured with benchmarks/conv.py):
    at least `MIN_TILES` 4x4 tiles in the batch and `MIN_CHANNELS` channels per group."""
    th, tw = _tiles(geo)
    narrow = min(geo.in_channels, geo.out_channels) // geo.groups
    return geo.batch * th * tw >= MIN_TILES and narrow >= MIN_CHANNELS


def _tiles(geo: ConvGeometry) -> tuple[int, int]:
    """4x4 output tiles per image along H and W (the last ones may overhang and be cropped)."""
    return (-(-geo.out_spatial[0] // TILE), -(-geo.out_spatial[1] // TILE))


def _padded_last(x: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """x zero-padded to the tile grid, channels last: (N, 4 th + 2, 4 tw + 2, C_in)."""
    th, tw = _tiles(geo)
    (lo_h, _), (lo_w, _) = geo.padding
    h, w = geo.in_spatial
    x_last = x if layout == "channels_last" else x.transpose(0, 2, 3, 1)  # N, H, W, C (view)
    xpad = np.zeros((geo.batch, TILE * th + 2, TILE * tw + 2, geo.in_channels), x.dtype)
    interior = xpad[:, lo_h : lo_h + h, lo_w : lo_w + w]  # fits: 4 th + 2 >= H + lo + hi
    parallel.copyto(interior, x_last, axis=1)  # split by rows
    return xpad


def _gather(d: np.ndarray, xpad: np.ndarray, part: int, parts: int) -> None:
    """Tile positions part, part + parts, ... of every tile: d[6 a + b] = xpad[:, a::4, b::4]
    (cropped to the tile grid). d: (36, N, th, tw, C); xpad: (N, 4 th + 2, 4 tw + 2, C)."""
    th, tw = d.shape[2:4]
    for position in range(part, 36, parts):
        a, b = divmod(position, 6)
        d[position] = xpad[:, a : a + TILE * th : TILE, b : b + TILE * tw : TILE]


def input_transform(x: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """V = B^T d B for every 6x6 input tile d: (36, N * T, C_in), T = th * tw tiles per image.

    x: (N, C, H, W) or (N, H, W, C). Position (a, b) of tile (i, j) is padded pixel
    (4 i + a, 4 j + b): 36 strided copies gather d, one GEMM with kron(B^T, B^T) transforms it.
    """
    th, tw = _tiles(geo)
    xpad = _padded_last(x, geo, layout)
    d = np.empty((36, geo.batch, th, tw, geo.in_channels), x.dtype)  # (a, b), N, th, tw, C
    threads = parallel.thread_count()
    parallel.run([partial(_gather, d, xpad, part, threads) for part in range(threads)])
    v = KRON_B.astype(x.dtype) @ d.reshape(36, -1)  # 36, N * th * tw * C
    return v.reshape(36, -1, geo.in_channels)


def output_transform(m: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """Y = A^T M A for every tile, assembled into the output (overhanging tiles cropped).

    m: (36, N * T, C_out). Returns (N, C_out, H_out, W_out) or (N, H_out, W_out, C_out).
    """
    th, tw = _tiles(geo)
    n, k = geo.batch, geo.out_channels
    kron = KRON_A.astype(m.dtype)
    h, w = geo.out_spatial
    if layout == "channels_first":  # tile outputs innermost, so the assembly copies runs of 4
        y = (m.reshape(36, -1).T @ kron.T).reshape(n, th, tw, k, TILE, TILE)  # ..., i, j
        full = np.empty((n, k, th, TILE, tw, TILE), m.dtype)  # N, C_out, th, i, tw, j
        parallel.copyto(full, y.transpose(0, 3, 1, 4, 2, 5), axis=1)
        out = full.reshape(n, k, TILE * th, TILE * tw)[:, :, :h, :w]
    else:  # channels innermost
        y = (kron @ m.reshape(36, -1)).reshape(TILE, TILE, n, th, tw, k)  # i, j, ...
        full = np.empty((n, th, TILE, tw, TILE, k), m.dtype)  # N, th, i, tw, j, C_out
        parallel.copyto(full, y.transpose(2, 3, 0, 4, 1, 5), axis=1)
        out = full.reshape(n, TILE * th, TILE * tw, k)[:, :h, :w]
    return out if (h, w) == (TILE * th, TILE * tw) else np.ascontiguousarray(out)


def _images(x: np.ndarray, u: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """F(4x4, 3x3) of the images in x (``geo.batch`` of them) with transformed filters u
    (36, G, C_in/G, C_out/G). Returns the layout's output, without bias."""
    g = geo.groups
    v = input_transform(x, geo, layout)  # 36, N*T, C_in
    tiles = v.shape[1]
    v_groups = v.reshape(36, tiles, g, -1).transpose(0, 2, 1, 3)  # 36, G, N*T, C_in/G
    m = np.empty((36, tiles, geo.out_channels), x.dtype)
    np.matmul(v_groups, u, out=m.reshape(36, tiles, g, -1).transpose(0, 2, 1, 3))
    return output_transform(m, geo, layout)


def forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geo: ConvGeometry, layout: Layout
) -> np.ndarray:
    """F(4x4, 3x3) convolution. x: (N, C_in, H, W) or (N, H, W, C_in); w: (C_out, C_in/G,
    3, 3) or (3, 3, C_in/G, C_out); b: (C_out,) or None. Returns the layout's output.

    Images go through in groups whose transformed tiles stay under `CHUNK_BYTES` (the
    transformed arrays are 36 / 16 = 2.25 times the input and output), with the filter
    transform done once.
    """
    u = filter_transform(w, geo, layout, KRON_G)  # 36, G, C_in/G, C_out/G
    th, tw = _tiles(geo)
    per_image = 36 * th * tw * max(geo.in_channels, geo.out_channels) * x.itemsize
    step = max(1, CHUNK_BYTES // per_image)
    if step >= geo.batch:
        return add_bias(_images(x, u, geo, layout), b, layout)
    parts = [
        _images(x[n : n + step], u, replace(geo, batch=min(step, geo.batch - n)), layout)
        for n in range(0, geo.batch, step)
    ]
    return add_bias(np.concatenate(parts), b, layout)
