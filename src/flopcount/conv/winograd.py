"""Winograd F(2x2, 3x3): 3x3 stride-1 convolutions with 2.25 times fewer multiplies.

Lavin & Gray, "Fast Algorithms for Convolutional Neural Networks" (CVPR 2016,
arXiv:1509.09308), section 4.1: every 2x2 output tile is ``Y = A^T [(G g G^T) * (B^T d B)] A``
for the 4x4 input tile d and 3x3 filter g, with

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]]

Summed over input channels, the 16 elementwise products become 16 GEMMs of
(tiles x C_in) @ (C_in x C_out): 16 multiplies per tile and channel pair instead of 36.
B^T and A^T hold only 0 and +-1, so both transforms are additions, done here with whole-array
NumPy operations, channels innermost, on the input split into its four (row, column) parity
phases, so every operand is a slice with long contiguous runs. kron(G, G) holds only 0,
+-1/4, +-1/2 and 1 (exact in binary); the transforms add a few roundings, far inside the
float32 tests' 1e-4 (benchmark layers: below 1e-6 of the largest output).
"""

from __future__ import annotations

import numpy as np

from flopcount.conv import blas
from flopcount.conv.geometry import ConvGeometry, Layout
from flopcount.conv.layouts import add_bias

__all__ = ["filter_transform", "forward", "unsupported", "worthwhile"]

# G of F(2x2, 3x3) (Lavin & Gray 2016, section 4.1).
G_MATRIX = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])
KRON_G = np.kron(G_MATRIX, G_MATRIX)  # (16, 9): (i*4 + j, a*3 + b) -> G[i,a] G[j,b], exact
# Fewer tiles and the per-call filter transform (16 * C_in * C_out values) and the 16 small
# GEMMs lose to `gemm` (benchmarks/conv.py, one thread: 8 x 512 x 7 x 7, 128 tiles, 116
# against 129 GFLOP/s; 1 x 192 x 24 x 24, 144 tiles, 125 against 112).
MIN_TILES = 144
# On MKL's GEMM (flopcount.conv.blas) the 16 batched GEMMs run faster and F(2x2) wins from
# fewer tiles (one thread, channels_first, an A/B of the two methods: 8 x 512 x 7 x 7, 128
# tiles, 92 against 84 GFLOP/s, and 105-120 against 92-108 in three benchmarks/conv.py runs;
# 2 x 256 x 14 x 14, 98 tiles, 101 against 82; 4 x 512 x 7 x 7, 64 tiles, 76 against 77).
MIN_TILES_MKL = 96
MIN_CHANNELS = 192  # narrower and the transforms cost more than they save (benchmarks/conv.py)


def unsupported(geo: ConvGeometry) -> str | None:
    """Why F(2x2, 3x3) cannot run ``geo``, or None: 2-D, 3x3, stride 1, dilation 1."""
    if geo.ndim != 2 or geo.kernel != (3, 3):
        return f"Winograd F(2x2, 3x3) needs a 2-D 3x3 kernel, got kernel {geo.kernel}"
    if geo.stride != (1, 1) or geo.dilation != (1, 1):
        return f"Winograd needs stride 1 and dilation 1, got {geo.stride} and {geo.dilation}"
    return None


def worthwhile(geo: ConvGeometry, layout: Layout) -> bool:
    """Whether F(2x2, 3x3) beats the shifted GEMM (measured with benchmarks/conv.py).

    The transforms cost about 16 * tiles * (C_in + C_out) element operations against the
    GEMM's 16 * tiles * C_in * C_out multiply-adds, so they only pay for wide layers; and
    the 16 GEMMs need enough tiles to run near peak.
    """
    th, tw = _tiles(geo)
    narrow = min(geo.in_channels, geo.out_channels) // geo.groups
    least = MIN_TILES_MKL if blas.blas_backend() == "mkl" else MIN_TILES
    return geo.batch * th * tw >= least and narrow >= MIN_CHANNELS


def _tiles(geo: ConvGeometry) -> tuple[int, int]:
    """2x2 output tiles per image along H and W (the last ones may overhang and be cropped)."""
    return (-(-geo.out_spatial[0] // 2), -(-geo.out_spatial[1] // 2))


def filter_transform(
    w: np.ndarray, geo: ConvGeometry, layout: Layout, kron: np.ndarray = KRON_G
) -> np.ndarray:
    """U = G g G^T for every filter: (P, G, C_in/G, C_out/G), the right-hand GEMM operand.

    w: (C_out, C_in/G, 3, 3) or (3, 3, C_in/G, C_out); kron: kron(G, G), (P, 9) with P the
    tile positions (16 here, 36 for F(4x4, 3x3)). One small GEMM; the result may be a view.
    """
    kron = kron.astype(w.dtype)  # (i*t + j, a*3 + b) -> G[i,a] G[j,b]
    p, c_out, g = kron.shape[0], geo.out_channels, geo.groups
    if layout == "channels_last":
        u = blas.matmul(kron, w.reshape(9, -1)).reshape(
            p, -1, g, c_out // g
        )  # P, C_in/G, G, C_out/G
        return u.transpose(0, 2, 1, 3)
    u = blas.matmul(
        kron, w.reshape(-1, 9).T
    )  # P, C_out * C_in/G (BLAS reads the transpose in place)
    return u.reshape(p, g, c_out // g, -1).transpose(0, 1, 3, 2)


def _phases(x: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """The zero-padded input by row and column parity, channels last:
    P[r, s, n, i, j, c] = xpad[n, c, 2i + r, 2j + s]. Returns (2, 2, N, th + 1, tw + 1, C)."""
    th, tw = _tiles(geo)
    (lo_h, _), (lo_w, _) = geo.padding
    x_last = x if layout == "channels_last" else x.transpose(0, 2, 3, 1)  # N, H, W, C (view)
    phases = np.zeros((2, 2, geo.batch, th + 1, tw + 1, geo.in_channels), dtype=x.dtype)
    for r in range(2):
        for s in range(2):
            h0, w0 = (r - lo_h) % 2, (s - lo_w) % 2  # first input row/column of this parity
            part = x_last[:, h0::2, w0::2]
            i0, j0 = (lo_h + h0) // 2, (lo_w + w0) // 2  # where it lands in the phase
            phases[r, s, :, i0 : i0 + part.shape[1], j0 : j0 + part.shape[2]] = part
    return phases


def input_transform(x: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """V = B^T d B for every 4x4 input tile d: (16, G, N * T, C_in/G), the left GEMM operand.

    x: (N, C, H, W) or (N, H, W, C); T = th * tw tiles per image. Tile row a of tile i is
    phase row a % 2 at index i + a // 2, so each B^T row is one whole-array operation.
    """
    th, tw = _tiles(geo)
    n, c, g = geo.batch, geo.in_channels, geo.groups
    p = _phases(x, geo, layout)  # 2 (row parity), 2 (column parity), N, th+1, tw+1, C
    d = [p[a % 2, :, :, a // 2 : th + a // 2] for a in range(4)]  # tile rows: 2, N, th, tw+1, C
    rows = np.empty((4, 2, n, th, tw + 1, c), dtype=x.dtype)  # B^T d
    np.subtract(d[0], d[2], out=rows[0])
    np.add(d[1], d[2], out=rows[1])
    np.subtract(d[2], d[1], out=rows[2])
    np.subtract(d[1], d[3], out=rows[3])
    e = [rows[:, b % 2, :, :, b // 2 : tw + b // 2] for b in range(4)]  # tile columns
    v = np.empty((4, 4, n, th, tw, c), dtype=x.dtype)  # B^T d B: i, j, N, th, tw, C
    np.subtract(e[0], e[2], out=v[:, 0])
    np.add(e[1], e[2], out=v[:, 1])
    np.subtract(e[2], e[1], out=v[:, 2])
    np.subtract(e[1], e[3], out=v[:, 3])
    return v.reshape(16, n * th * tw, g, c // g).transpose(0, 2, 1, 3)


def output_transform(m: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """Y = A^T M A for every tile, assembled into the output (overhanging tiles cropped).

    m: (16, N * T, C_out). Returns (N, C_out, H_out, W_out) or (N, H_out, W_out, C_out).
    """
    th, tw = _tiles(geo)
    n, k = geo.batch, geo.out_channels
    m = m.reshape(4, 4, n, th, tw, k)
    rows = np.empty((2, 4, n, th, tw, k), dtype=m.dtype)  # A^T M: a, j, N, th, tw, C_out
    np.add(m[0], m[1], out=rows[0])
    rows[0] += m[2]
    np.subtract(m[1], m[2], out=rows[1])
    rows[1] -= m[3]
    full = np.empty((n, th, 2, tw, 2, k), dtype=m.dtype)  # N, th, a, tw, b, C_out
    y = full.transpose(4, 2, 0, 1, 3, 5)  # b, a, N, th, tw, C_out
    np.add(rows[:, 0], rows[:, 1], out=y[0])
    y[0] += rows[:, 2]
    np.subtract(rows[:, 1], rows[:, 2], out=y[1])
    y[1] -= rows[:, 3]
    h, w = geo.out_spatial
    out = full.reshape(n, 2 * th, 2 * tw, k)[:, :h, :w]  # N, H_out, W_out, C_out
    if layout == "channels_first":
        return np.ascontiguousarray(out.transpose(0, 3, 1, 2))
    return out if (h, w) == (2 * th, 2 * tw) else np.ascontiguousarray(out)


def forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geo: ConvGeometry, layout: Layout
) -> np.ndarray:
    """F(2x2, 3x3) convolution. x: (N, C_in, H, W) or (N, H, W, C_in); w: (C_out, C_in/G,
    3, 3) or (3, 3, C_in/G, C_out); b: (C_out,) or None. Returns the layout's output."""
    v = input_transform(x, geo, layout)  # 16, G, N*T, C_in/G
    m = blas.matmul(v, filter_transform(w, geo, layout))  # 16, G, N*T, C_out/G
    m = m.transpose(0, 2, 1, 3).reshape(16, -1, geo.out_channels)  # 16, N*T, C_out
    return add_bias(output_transform(m, geo, layout), b, layout)
