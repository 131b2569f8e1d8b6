"""Fast GEMM convolution: im2col in small chunks, gathered from stride-phase grids.

Split the zero-padded input by stride phase (position modulo the stride, per spatial dim;
one phase when the stride is 1): a space-to-depth split, after which every kernel tap reads
its phase's grid with stride 1. Kernel tap t (per dim) reads phase ``(t * dilation) %
stride`` at grid position ``p + (t * dilation) // stride`` for output position p. The taps
that read one phase form an arithmetic progression per dim (step ``stride / gcd(dilation,
stride)`` taps, ``dilation / gcd`` grid positions), so all of them are ONE strided view of
that phase's grid, and the column matrix of a chunk is gathered by one copy per phase (four
for the ResNet stem, one for a stride-1 layer) with runs of a whole output row contiguous,
instead of one copy per tap.

The work runs in chunks of output rows (or of whole images, for small ones) whose column
matrix fits in the L2 cache (`CHUNK_BYTES`): the gather writes it there and the GEMM reads
it from there, then writes the chunk's outputs straight into the result. This is im2col as
Caffe lowers it (Jia et al., "Caffe", arXiv:1408.5093) with the per-chunk lowering of
Chetlur et al. ("cuDNN: Efficient Primitives for Deep Learning", arXiv:1410.0759, section
3); pointwise (1x1, unpadded) layers need no gather at all and run as one plain GEMM.
Backward passes use `flopcount.conv.lowering`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product

import numpy as np
from numpy.lib.stride_tricks import as_strided

from flopcount.conv import blas, parallel
from flopcount.conv.geometry import ConvGeometry, Layout
from flopcount.conv.layouts import add_bias, spatial_axes
from flopcount.conv.lowering import is_pointwise, weight_matrices

__all__ = ["forward"]

# Column-matrix budget per chunk and copy thread: half the L2 cache of one core (2 MB on
# the benchmark machine), so the GEMM reads what the gather just wrote from there
# (measured, benchmarks/conv.py layers: one thread, 1 MB beat 2 and 4 MB on the stem; two
# threads, 2 MB in all beat 1 MB there: each BLAS call has a thread hand-off to pay for).
CHUNK_BYTES = 1 << 20
MIN_GEMM_COLUMNS = 512  # narrower GEMMs run well under OpenBLAS's peak (benchmarks/conv.py)
# Pointwise layers with fewer output positions per image than this run as one GEMM over the
# whole batch (two transposes); 7x7 maps gain, 14x14 ones already lose (benchmarks/conv.py).
POINTWISE_BATCHED_BELOW = 128


@dataclass(frozen=True)
class _TapClass:
    """The kernel taps that read one stride phase, as one strided view.

    phase: the phase number (row-major over the stride residues); taps: per dim, the slice
    of kernel taps (first::step); offsets: per dim, the grid offset of the first tap;
    shifts: per dim, the grid offset between consecutive taps; counts: taps per dim.
    """

    phase: int
    taps: tuple[slice, ...]
    offsets: tuple[int, ...]
    shifts: tuple[int, ...]
    counts: tuple[int, ...]


def _dim_classes(k: int, d: int, s: int) -> dict[int, list[int]]:
    """Taps of one dim by the phase they read: residue (t * d) % s -> taps, ascending."""
    classes: dict[int, list[int]] = {}
    for t in range(k):
        classes.setdefault(t * d % s, []).append(t)
    return classes


def _tap_classes(geo: ConvGeometry) -> list[_TapClass]:
    """Every phase some tap reads, with its taps (module docstring): t * d = r (mod s) holds
    for t = t0 + i * s / gcd(d, s), at grid offsets (t0 * d) // s + i * d / gcd(d, s)."""
    per_dim = [_dim_classes(*kds) for kds in zip(geo.kernel, geo.dilation, geo.stride)]
    result = []
    for residues in product(*(sorted(classes) for classes in per_dim)):
        taps = [classes[r] for classes, r in zip(per_dim, residues)]
        steps = [math.gcd(d, s) for d, s in zip(geo.dilation, geo.stride)]
        result.append(
            _TapClass(
                phase=int(np.ravel_multi_index(residues, geo.stride)),
                taps=tuple(slice(t[0], None, s // g) for t, s, g in zip(taps, geo.stride, steps)),
                offsets=tuple(t[0] * d // s for t, d, s in zip(taps, geo.dilation, geo.stride)),
                shifts=tuple(d // g for d, g in zip(geo.dilation, steps)),
                counts=tuple(len(t) for t in taps),
            )
        )
    return result


def _phase_grids(x: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """x zero-padded and split by stride phase (one copy of x): phase number p of residues
    r holds padded positions r + stride * i. Returns (N, phases, C_in, *grid) for
    channels_first, (N, phases, *grid, C_in) for channels_last; grid = ceil(padded / stride).
    """
    n, c, nd = geo.batch, geo.in_channels, geo.ndim
    padded = [i + lo + hi for i, (lo, hi) in zip(geo.in_spatial, geo.padding)]
    grid = [-(-p // s) for p, s in zip(padded, geo.stride)]
    phases = math.prod(geo.stride)
    if layout == "channels_first":
        grids = np.zeros((n, phases, c, *grid), dtype=x.dtype)
    else:
        grids = np.zeros((n, phases, *grid, c), dtype=x.dtype)
    for number, residue in enumerate(product(*(range(s) for s in geo.stride))):
        source, target = [], []
        for r, s, (lo, _), size_in in zip(residue, geo.stride, geo.padding, geo.in_spatial):
            first = (r - lo) % s  # first input index whose padded position is r modulo s
            count = len(range(first, size_in, s))
            source.append(slice(first, size_in, s))
            target.append(slice((lo + first) // s, (lo + first) // s + count))
        space = spatial_axes(nd, layout)
        src_index, dst_index = [slice(None)] * (nd + 2), [slice(None)] * (nd + 2)
        for axis, src, dst in zip(space, source, target):
            src_index[axis], dst_index[axis] = src, dst
        grids[:, number][tuple(dst_index)] = x[tuple(src_index)]
    return grids


def _chunks(geo: ConvGeometry) -> list[tuple[int, int, int, int]]:
    """(n0, n1, r0, r1): images n0:n1 and output rows r0:r1 (first spatial dim) per chunk,
    as few and as even as the column budget allows."""
    budget = CHUNK_BYTES * parallel.thread_count() // (4 * geo.in_channels * geo.kernel_volume)
    columns = max(budget, MIN_GEMM_COLUMNS)
    rows, line = geo.out_spatial[0], math.prod(geo.out_spatial[1:])
    if columns >= rows * line:  # whole images per chunk
        per = _even(geo.batch, columns // (rows * line))
        return [(n, min(n + per, geo.batch), 0, rows) for n in range(0, geo.batch, per)]
    step = _even(rows, max(1, columns // line))
    return [
        (n, n + 1, r, min(r + step, rows)) for n in range(geo.batch) for r in range(0, rows, step)
    ]


def _even(total: int, most: int) -> int:
    """The chunk size that splits ``total`` into the fewest chunks of at most ``most``, evenly."""
    count = -(-total // max(most, 1))
    return -(-total // count)


def _class_view(grids: np.ndarray, tap: _TapClass, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """Read-only strided view of what the taps of ``tap`` read, for every output:
    (C, *counts, N, *out) channels_first, (N, *out, G, *counts, C/G) channels_last.
    Every index stays inside the grid: output p and tap t read grid position
    p + (t * d) // s <= (padded - 1) // s."""
    first = tuple(slice(f, None) for f in tap.offsets)
    if layout == "channels_first":
        base = grids[:, tap.phase][(slice(None), slice(None), *first)]
        image, channel, *space = base.strides
        shape = (geo.in_channels, *tap.counts, geo.batch, *geo.out_spatial)
        strides = (channel, *(h * s for h, s in zip(tap.shifts, space)), image, *space)
    else:
        base = grids[:, tap.phase][(slice(None), *first)]
        image, *space, channel = base.strides
        c_group = geo.in_channels // geo.groups
        shape = (geo.batch, *geo.out_spatial, geo.groups, *tap.counts, c_group)
        taps = (h * s for h, s in zip(tap.shifts, space))
        strides = (image, *space, channel * c_group, *taps, channel)
    return as_strided(base, shape, strides, writeable=False)


def _gather(
    col: np.ndarray, views: list[tuple[_TapClass, np.ndarray]], layout: Layout,
    chunk: tuple[int, int, int, int],
) -> None:  # fmt: skip
    """One chunk's column matrix, one (threaded) copy per tap class: col is
    (C, *kernel, nb, rows, *out[1:]) or (nb, rows, *out[1:], G, *kernel, C/G); views: each
    tap class with its `_class_view`."""
    n0, n1, r0, r1 = chunk
    copy = parallel.copyto if col.nbytes >= parallel.MIN_BYTES else _copy  # small: no hand-off
    for tap, view in views:
        if layout == "channels_first":
            part = view[(slice(None),) * (1 + len(tap.taps)) + (slice(n0, n1), slice(r0, r1))]
            copy(col[(slice(None), *tap.taps)], part, axis=0)  # split by channel
        else:
            part = view[n0:n1, r0:r1]
            target = col[(slice(None),) * (col.ndim - len(tap.taps) - 1) + tap.taps]
            copy(target, part, axis=1)  # split by output row


def _copy(dst: np.ndarray, src: np.ndarray, axis: int) -> None:
    """``dst[...] = src`` on the calling thread (the signature of `parallel.copyto`)."""
    np.copyto(dst, src)


def _chunk(
    views: list[tuple[_TapClass, np.ndarray]], wm: np.ndarray, geo: ConvGeometry,
    layout: Layout, chunk: tuple[int, int, int, int], buffer: np.ndarray, out: np.ndarray,
) -> None:  # fmt: skip
    """Gather one chunk's column matrix into ``buffer`` and multiply it by the weights into
    ``out``: (N, C_out, P) channels_first, (N, P, C_out) channels_last, P = prod(out)."""
    n0, n1, r0, r1 = chunk
    line = math.prod(geo.out_spatial[1:])
    nb, cols, g = n1 - n0, (r1 - r0) * line, geo.groups
    size, rest = geo.in_channels * geo.kernel_volume * nb * cols, geo.out_spatial[1:]
    if layout == "channels_first":
        col = buffer[:size].reshape(geo.in_channels, *geo.kernel, nb, r1 - r0, *rest)
        _gather(col, views, layout, chunk)
        col_groups = col.reshape(g, -1, nb * cols)  # G, K, nb*cols: rows (c, *tap)
        if nb == 1:  # straight into the output rows
            target = out[n0, :, r0 * line : r1 * line].reshape(g, -1, cols)  # G, C_out/G, cols
            blas.matmul(wm, col_groups, out=target)
        else:  # whole small images: one wide GEMM, then (C_out, nb, P) -> (nb, C_out, P)
            res = blas.matmul(wm, col_groups).reshape(geo.out_channels, nb, cols)
            out[n0:n1] = res.transpose(1, 0, 2)
        return
    c_group = geo.in_channels // g
    col = buffer[:size].reshape(nb, r1 - r0, *rest, g, *geo.kernel, c_group)
    _gather(col, views, layout, chunk)
    col_groups = col.reshape(nb * cols, g, -1).transpose(1, 0, 2)  # G, nb*cols, K: (*tap, c)
    target = out[n0:n1, r0 * line : r1 * line].reshape(nb * cols, g, -1)  # contiguous
    blas.matmul(col_groups, wm, out=target.transpose(1, 0, 2))


def _lowered(x: np.ndarray, w: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """Any convolution by chunked GEMMs on column matrices gathered from the phase grids.

    x: (N, C_in, *in) or (N, *in, C_in). Returns (N, C_out, *out) or (N, *out, C_out).
    """
    grids = _phase_grids(x, geo, layout)
    views = [(tap, _class_view(grids, tap, geo, layout)) for tap in _tap_classes(geo)]
    wm = weight_matrices(w, geo, layout)  # (G, C_out/G, K) or (G, K, C_out/G)
    n, k, positions = geo.batch, geo.out_channels, math.prod(geo.out_spatial)
    chunks = _chunks(geo)
    widest = max((n1 - n0) * (r1 - r0) for n0, n1, r0, r1 in chunks)  # image rows
    line = positions // geo.out_spatial[0]
    buffer = np.empty(widest * line * geo.in_channels * geo.kernel_volume, dtype=x.dtype)
    if layout == "channels_first":
        out = np.empty((n, k, positions), dtype=x.dtype)
    else:
        out = np.empty((n, positions, k), dtype=x.dtype)
    for chunk in chunks:
        _chunk(views, wm, geo, layout, chunk, buffer, out)
    if layout == "channels_first":
        return out.reshape(n, k, *geo.out_spatial)
    return out.reshape(n, *geo.out_spatial, k)


def _pointwise(x: np.ndarray, w: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """1x1 convolution as a plain GEMM (strided: on the subsampled input)."""
    if any(s > 1 for s in geo.stride):
        index = [slice(None)] * x.ndim
        for axis, s in zip(spatial_axes(geo.ndim, layout), geo.stride):
            index[axis] = slice(None, None, s)
        x = np.ascontiguousarray(x[tuple(index)])
    n, g, wm = geo.batch, geo.groups, weight_matrices(w, geo, layout)
    positions = math.prod(geo.out_spatial)
    if layout == "channels_last":  # one (N*P, C_in/G) @ (C_in/G, C_out/G) GEMM per group
        rows = np.empty((n * positions, geo.out_channels), dtype=x.dtype)
        x_rows = x.reshape(n * positions, g, -1).transpose(1, 0, 2)  # G, N*P, C_in/G
        blas.matmul(x_rows, wm, out=rows.reshape(n * positions, g, -1).transpose(1, 0, 2))
        return rows.reshape(n, *geo.out_spatial, geo.out_channels)
    xg = x.reshape(n, g, -1, positions)  # N, G, C_in/G, P
    if n == 1 or positions >= POINTWISE_BATCHED_BELOW:
        per_image = blas.matmul(wm, xg)  # N, G, C_out/G, P: one GEMM per image and group
        return per_image.reshape(n, geo.out_channels, *geo.out_spatial)
    # small images: one wide GEMM over all images, at the price of two transposes
    xt = np.ascontiguousarray(xg.transpose(1, 2, 0, 3)).reshape(g, -1, n * positions)
    res = blas.matmul(wm, xt).reshape(geo.out_channels, n, positions)  # C_out, N, P
    return np.ascontiguousarray(res.transpose(1, 0, 2)).reshape(n, -1, *geo.out_spatial)


def forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geo: ConvGeometry, layout: Layout
) -> np.ndarray:
    """Pointwise layers as one GEMM, all others by chunked GEMMs (module docstring).

    x: (N, C_in, *in) or (N, *in, C_in); w: the layout's weight shape; b: (C_out,) or None.
    Returns (N, C_out, *out) or (N, *out, C_out).
    """
    compute = _pointwise if is_pointwise(geo) else _lowered
    return add_bias(compute(x, w, geo, layout), b, layout)
