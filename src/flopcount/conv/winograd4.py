"""Winograd F(4x4, 3x3): 3x3 stride-1 convolutions with 4 times fewer multiplies.

Every 4x4 output tile is ``Y = A^T [(G g G^T) * (B^T d B)] A`` for the 6x6 input tile d
(tiles overlap by 2) and 3x3 filter g (Lavin & Gray, "Fast Algorithms for Convolutional
Neural Networks", arXiv:1509.09308, section 4.2). Summed over input channels, the 36
elementwise products become 36 GEMMs of (tiles x C_in) @ (C_in x C_out), done as ONE batched
`blas.matmul`: 36 multiplies per tile and channel pair instead of 16 * 9 = 144.

The transforms are matrix products too, so BLAS runs them instead of element-wise NumPy
loops: with tiles flattened row-major, ``vec(B^T d B) = kron(B^T, B^T) vec(d)``, so the input
transform of every tile and channel is one (36 x 36) @ (36 x tiles*C_in) GEMM, the output
transform one (16 x 36) @ (36 x tiles*C_out) GEMM and the filter transform one (36 x 9) GEMM.
Channels are innermost throughout, so gathering the 36 tile positions copies runs of C_in
contiguous values (one strided-view copy per block).

The tiles go through in blocks of about `BLOCK_TILES` (tile rows of one image, or whole
small images): gather, input transform, the 36 GEMMs and the output transform of one block
work on arrays of a few MB that stay in cache, instead of streaming 2.25 times the input
and output through memory once per stage (measured: 1.2x faster on 64 channels at 56x56,
batch 8).

Points: 0, -1, 1, 1/2, -2 and infinity (`POINTS`), the set Barabasz et al. (ACM TOMS 46(4),
2020, section 5) found accurate for F(4, 3), instead of Lavin & Gray's 0, +-1, +-2. Measured
here (float32, 2 x 128 x 28 x 28, 128 filters, against float64): max error 3.4e-6 of the
largest output, against 8.9e-6 for 0, +-1, +-2 and 9.0e-6 for 0, +-1, +-1/2 (F(2x2, 3x3)
and the GEMM methods: about 5e-7). The matrices come from `flopcount.conv.toomcook`.
"""

from __future__ import annotations

from fractions import Fraction

import numpy as np
from numpy.lib.stride_tricks import as_strided

from flopcount.conv import blas, parallel
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
# Tiles per block (the M of the 36 GEMMs): 256 to 1024 ran alike, 64 and fewer slower
# (benchmarks/conv.py layers, one thread).
BLOCK_TILES = 256


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


def _blocks(geo: ConvGeometry) -> list[tuple[int, int, int, int]]:
    """(n0, n1, r0, r1): images n0:n1 and tile rows r0:r1 per block, about `BLOCK_TILES`
    tiles each (whole images when one has fewer tiles)."""
    th, tw = _tiles(geo)
    if th * tw >= BLOCK_TILES:
        rows = -(-th // -(-th * tw // BLOCK_TILES))  # even split of the tile rows
        return [
            (n, n + 1, r, min(r + rows, th)) for n in range(geo.batch) for r in range(0, th, rows)
        ]
    per = max(1, BLOCK_TILES // (th * tw))
    per = -(-geo.batch // -(-geo.batch // per))  # even split of the images
    return [(n, min(n + per, geo.batch), 0, th) for n in range(0, geo.batch, per)]


def _tile_view(xpad: np.ndarray, block: tuple[int, int, int, int], tw: int) -> np.ndarray:
    """Every 6x6 input tile of one block as a read-only view, tile position first:
    (6, 6, nb, rows, tw, C) with [a, b, n, i, j] = xpad[n0 + n, 4 (r0 + i) + a, 4 j + b]."""
    n0, n1, r0, r1 = block
    image, row, pixel, channel = xpad.strides
    shape = (6, 6, n1 - n0, r1 - r0, tw, xpad.shape[3])
    strides = (row, pixel, image, TILE * row, TILE * pixel, channel)
    return as_strided(xpad[n0:, TILE * r0 :], shape, strides, writeable=False)


def _block(
    xpad: np.ndarray, u: np.ndarray, geo: ConvGeometry, layout: Layout,
    block: tuple[int, int, int, int], full: np.ndarray, work: np.ndarray,
) -> None:  # fmt: skip
    """F(4x4, 3x3) of one block of tiles into ``full`` (the output on the whole tile grid:
    (N, C_out, 4 th, 4 tw) or (N, 4 th, 4 tw, C_out)); u: (36, G, C_in/G, C_out/G); work:
    scratch memory for the block's arrays, reused block after block."""
    n0, n1, r0, r1 = block
    tw, g, k = _tiles(geo)[1], geo.groups, geo.out_channels
    nb, rows = n1 - n0, r1 - r0
    tiles = nb * rows * tw
    c_size, k_size = 36 * tiles * geo.in_channels, 36 * tiles * k
    d = work[:c_size].reshape(36, -1)  # tile positions, tiles * C_in
    parallel.copyto(d.reshape(6, 6, nb, rows, tw, -1), _tile_view(xpad, block, tw))  # by a
    v = work[c_size : 2 * c_size].reshape(36, -1)
    blas.matmul(KRON_B.astype(xpad.dtype), d, out=v)  # B^T d B
    v_groups = v.reshape(36, tiles, g, -1).transpose(0, 2, 1, 3)  # 36, G, tiles, C_in/G
    m = work[:k_size].reshape(36, tiles, k)  # d is no longer needed
    if k_size > c_size:  # would overlap v
        m = work[2 * c_size : 2 * c_size + k_size].reshape(36, tiles, k)
    blas.matmul(v_groups, u, out=m.reshape(36, tiles, g, -1).transpose(0, 2, 1, 3))
    kron = KRON_A.astype(m.dtype)
    y = work[-16 * tiles * k :]  # after every other array (see `forward`)
    if layout == "channels_first":  # tile outputs innermost: the assembly copies runs of 4
        blas.matmul(m.reshape(36, -1).T, kron.T, out=y.reshape(-1, 16))  # tiles * C_out, i * j
        target = full[n0:n1, :, TILE * r0 : TILE * r1].reshape(nb, k, rows, TILE, tw, TILE)
        tiles_out = y.reshape(nb, rows, tw, k, TILE, TILE).transpose(0, 3, 1, 4, 2, 5)
        parallel.copyto(target, tiles_out, axis=1)  # split by output channel
    else:  # channels innermost
        blas.matmul(kron, m.reshape(36, -1), out=y.reshape(16, -1))  # i * j, tiles * C_out
        target = full[n0:n1, TILE * r0 : TILE * r1].reshape(nb, rows, TILE, tw, TILE, k)
        tiles_out = y.reshape(TILE, TILE, nb, rows, tw, k).transpose(2, 3, 0, 4, 1, 5)
        parallel.copyto(target, tiles_out, axis=1)  # split by tile row


def forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geo: ConvGeometry, layout: Layout
) -> np.ndarray:
    """F(4x4, 3x3) convolution. x: (N, C_in, H, W) or (N, H, W, C_in); w: (C_out, C_in/G,
    3, 3) or (3, 3, C_in/G, C_out); b: (C_out,) or None. Returns the layout's output.

    The filter transform runs once, the rest block by block (`_blocks`); overhanging tiles
    are cropped at the end.
    """
    u = filter_transform(w, geo, layout, KRON_G)  # 36, G, C_in/G, C_out/G
    th, tw = _tiles(geo)
    n, k = geo.batch, geo.out_channels
    xpad = _padded_last(x, geo, layout)
    if layout == "channels_first":
        full = np.empty((n, k, TILE * th, TILE * tw), x.dtype)
    else:
        full = np.empty((n, TILE * th, TILE * tw, k), x.dtype)
    blocks = _blocks(geo)
    tiles = max((n1 - n0) * (r1 - r0) for n0, n1, r0, r1 in blocks) * tw
    c_in = geo.in_channels
    m_apart = k if k > c_in else 0  # m reuses d's place when it fits there (`_block`)
    work = np.empty(36 * tiles * (2 * c_in + m_apart) + 16 * tiles * k, x.dtype)
    for block in blocks:
        _block(xpad, u, geo, layout, block, full, work)
    h, w_out = geo.out_spatial
    if (h, w_out) != (TILE * th, TILE * tw):
        full = np.ascontiguousarray(
            full[:, :, :h, :w_out] if layout == "channels_first" else full[:, :h, :w_out]
        )
    return add_bias(full, b, layout)
