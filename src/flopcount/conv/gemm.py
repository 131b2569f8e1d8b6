"""Fast GEMM convolution: im2col rows copied as contiguous runs ("shifted windows").

Split the zero-padded input by stride phase (position modulo the stride, per spatial dim;
one phase when the stride is 1) and flatten each phase's spatial grid to one axis. Kernel tap
t reads, for output position p, phase ``(t * dilation) % stride`` at grid position
``p + (t * dilation) // stride``. Flattened, that is ``flat[p' + offset(t)]`` with p' the index
of p on the phase grid: so each im2col row is one contiguous run of ``flat``, copied at
memcpy speed, instead of a strided gather. The price is a few wasted columns (grid positions
past the output's edge) computed and cropped away. This is the "implicit"/"shifted" GEMM
idea (Chetlur et al., "cuDNN: Efficient Primitives for Deep Learning", arXiv:1410.0759,
section 3), with the stride handled by a space-to-depth split of the input.

The work runs in chunks of whole images (or of output rows, for big images) so the column
matrix stays a few MB; pointwise (1x1, unpadded) layers need no gather at all and run as one
plain GEMM. Backward passes use `flopcount.conv.lowering`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import partial
from itertools import product

import numpy as np

from flopcount.conv import parallel
from flopcount.conv.geometry import ConvGeometry, Layout
from flopcount.conv.layouts import add_bias, spatial_axes
from flopcount.conv.lowering import is_pointwise, weight_matrices

__all__ = ["forward"]

# Column-matrix budget per chunk: one 56x56x64 3x3 image (7.5 MB) fits; bigger chunks pay
# page faults on fresh memory, narrower ones GEMM efficiency (measured: benchmarks/conv.py).
CHUNK_BYTES = 8 << 20
MIN_GEMM_COLUMNS = 512  # narrower GEMMs run well under OpenBLAS's peak (benchmarks/conv.py)
# Pointwise layers with fewer output positions per image than this run as one GEMM over the
# whole batch (two transposes); 7x7 maps gain, 14x14 ones already lose (benchmarks/conv.py).
POINTWISE_BATCHED_BELOW = 128


@dataclass(frozen=True)
class _Plan:
    """Phase grids of one convolution and where each kernel tap reads them.

    grid: the phase grid per dim, ceil(padded / stride); line: flat elements per step along
    the first dim; full: grid outputs per image; length: flat length of one phase incl. the
    zero tail the last tap reads; taps: (phase number, flat offset) per tap, in kernel order.
    """

    grid: tuple[int, ...]
    line: int
    full: int
    length: int
    taps: tuple[tuple[int, int], ...]

    @classmethod
    def of(cls, geo: ConvGeometry) -> _Plan:
        padded = [i + lo + hi for i, (lo, hi) in zip(geo.in_spatial, geo.padding)]
        grid = tuple(-(-p // s) for p, s in zip(padded, geo.stride))
        steps = [math.prod(grid[i + 1 :]) for i in range(geo.ndim)]  # flat stride per dim
        taps = []
        for tap in np.ndindex(*geo.kernel):
            reach = [t * d for t, d in zip(tap, geo.dilation)]  # position inside the window
            phase = int(
                np.ravel_multi_index([r % s for r, s in zip(reach, geo.stride)], geo.stride)
            )
            taps.append((phase, sum(r // s * st for r, s, st in zip(reach, geo.stride, steps))))
        line = steps[0]
        full = geo.out_spatial[0] * line
        length = max(math.prod(grid), full + max(offset for _, offset in taps))
        return cls(grid, line, full, length, tuple(taps))


def _flat_phases(x: np.ndarray, geo: ConvGeometry, layout: Layout, plan: _Plan) -> np.ndarray:
    """x zero-padded, split by stride phase, each phase's grid flattened (one copy of x).

    Returns (N, phases, C_in, length) for channels_first, (N, phases, length, C_in) last.
    """
    n, c, size = geo.batch, geo.in_channels, math.prod(plan.grid)
    phases = math.prod(geo.stride)
    x_first = x if layout == "channels_first" else np.moveaxis(x, -1, 1)  # view
    if layout == "channels_first":
        flat = np.zeros((n, phases, c, plan.length), dtype=x.dtype)
    else:
        flat = np.zeros((n, phases, plan.length, c), dtype=x.dtype)
    for number, residue in enumerate(product(*(range(s) for s in geo.stride))):
        source, target = [], []
        for r, s, (lo, _), size_in in zip(residue, geo.stride, geo.padding, geo.in_spatial):
            first = (r - lo) % s  # first input index whose padded position is r modulo s
            count = len(range(first, size_in, s))
            source.append(slice(first, size_in, s))
            target.append(slice((lo + first) // s, (lo + first) // s + count))
        if layout == "channels_first":
            grid = flat[:, number, :, :size].reshape(n, c, *plan.grid)  # N, C, *grid
            grid[(slice(None), slice(None), *target)] = x_first[(slice(None), slice(None), *source)]
        else:
            grid = flat[:, number, :size].reshape(n, *plan.grid, c)  # N, *grid, C
            grid[(slice(None), *target)] = x[(slice(None), *source)]
    return flat


def _chunks(geo: ConvGeometry, plan: _Plan) -> list[tuple[int, int, int, int]]:
    """(n0, n1, r0, r1): images n0:n1 and output rows r0:r1 (first spatial dim) per chunk,
    as few and as even as the column budget allows."""
    budget = CHUNK_BYTES // (4 * geo.in_channels * geo.kernel_volume)  # columns per chunk
    columns = max(budget, MIN_GEMM_COLUMNS)
    rows = geo.out_spatial[0]
    if columns >= plan.full:  # whole images per chunk
        per = _even(geo.batch, columns // plan.full)
        return [(n, min(n + per, geo.batch), 0, rows) for n in range(0, geo.batch, per)]
    step = _even(rows, max(1, columns // plan.line))
    return [
        (n, n + 1, r, min(r + step, rows)) for n in range(geo.batch) for r in range(0, rows, step)
    ]


def _even(total: int, most: int) -> int:
    """The chunk size that splits ``total`` into the fewest chunks of at most ``most``, evenly."""
    count = -(-total // max(most, 1))
    return -(-total // count)


def _gather_taps(
    col: np.ndarray, flat: np.ndarray, plan: _Plan, chunk: tuple[int, int, int, int],
    layout: Layout, taps: range,
) -> None:  # fmt: skip
    """Copy the contiguous runs of kernel taps ``taps`` into the column matrix ``col``:
    (C, taps, nb, cols) channels_first, (nb, cols, G, taps, C/G) channels_last."""
    n0, n1, r0, r1 = chunk
    start, cols = r0 * plan.line, (r1 - r0) * plan.line
    for t in taps:
        phase, offset = plan.taps[t]
        if layout == "channels_first":
            run = flat[n0:n1, phase, :, start + offset : start + offset + cols]  # nb, C, cols
            col[:, t] = run.transpose(1, 0, 2)
        else:
            run = flat[n0:n1, phase, start + offset : start + offset + cols]  # nb, cols, C
            col[:, :, :, t] = run.reshape(col.shape[:3] + col.shape[4:])


def _gather(
    col: np.ndarray, flat: np.ndarray, plan: _Plan, chunk: tuple[int, int, int, int],
    layout: Layout,
) -> None:  # fmt: skip
    """All taps of one chunk, split between `parallel.thread_count` threads (when the column
    matrix is big enough to pay for the hand-off)."""
    taps = len(plan.taps)
    parts = 1 if col.nbytes < parallel.MIN_BYTES else min(parallel.thread_count(), taps)
    jobs = [range(taps * i // parts, taps * (i + 1) // parts) for i in range(parts)]
    parallel.run([partial(_gather_taps, col, flat, plan, chunk, layout, j) for j in jobs])


def _chunk(
    flat: np.ndarray, wm: np.ndarray, geo: ConvGeometry, layout: Layout, plan: _Plan,
    chunk: tuple[int, int, int, int], buffer: np.ndarray, full: np.ndarray,
) -> None:  # fmt: skip
    """Gather one chunk's im2col matrix tap by tap into ``buffer`` and multiply it by the
    weights into ``full``: (N, C_out, grid outputs) channels_first, (N, grid outputs, C_out)
    channels_last."""
    n0, n1, r0, r1 = chunk
    nb, cols, c, g = n1 - n0, (r1 - r0) * plan.line, geo.in_channels, geo.groups
    start, taps = r0 * plan.line, len(plan.taps)
    if layout == "channels_first":
        col = buffer[: c * taps * nb * cols].reshape(c, taps, nb, cols)  # rows (c, tap)
        _gather(col, flat, plan, chunk, layout)
        col_groups = col.reshape(g, -1, nb * cols)  # G, K, nb*cols
        if nb == 1:  # straight into the output rows
            target = full[n0, :, start : start + cols].reshape(g, -1, cols)  # G, C_out/G, cols
            np.matmul(wm, col_groups, out=target)
        else:  # whole small images: one wide GEMM, then (C_out, nb, P) -> (nb, C_out, P)
            res = np.matmul(wm, col_groups).reshape(geo.out_channels, nb, plan.full)
            full[n0:n1] = res.transpose(1, 0, 2)
        return
    col = buffer[: nb * cols * c * taps].reshape(nb, cols, g, taps, c // g)  # (g, tap, c)
    _gather(col, flat, plan, chunk, layout)
    col_groups = col.reshape(nb * cols, g, -1).transpose(1, 0, 2)  # G, nb*cols, K
    target = full[n0:n1, start : start + cols].reshape(nb * cols, g, -1)  # a view: contiguous
    np.matmul(col_groups, wm, out=target.transpose(1, 0, 2))


def _crop(view: np.ndarray) -> np.ndarray:
    """A contiguous copy of ``view`` (the outputs without the wasted grid columns), made on
    `parallel.thread_count` threads; ``view`` itself when it is already contiguous."""
    if view.flags.c_contiguous:
        return view
    out = np.empty(view.shape, view.dtype)
    parallel.copyto(out, view, axis=1)
    return out


def _shifted(x: np.ndarray, w: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """Any convolution by chunked shifted-window GEMMs (module docstring).

    x: (N, C_in, *in) or (N, *in, C_in). Returns (N, C_out, *out) or (N, *out, C_out).
    """
    plan = _Plan.of(geo)
    flat = _flat_phases(x, geo, layout, plan)
    wm = weight_matrices(w, geo, layout)  # (G, C_out/G, K) or (G, K, C_out/G)
    n, k, rows = geo.batch, geo.out_channels, geo.out_spatial[0]
    chunks = _chunks(geo, plan)
    widest = max((n1 - n0) * (r1 - r0) for n0, n1, r0, r1 in chunks) * plan.line
    buffer = np.empty(widest * geo.in_channels * len(plan.taps), dtype=x.dtype)
    keep = [slice(0, o) for o in geo.out_spatial[1:]]  # crop the wasted grid columns
    if layout == "channels_first":
        full = np.empty((n, k, plan.full), dtype=x.dtype)  # outputs on the phase grid
        for chunk in chunks:
            _chunk(flat, wm, geo, layout, plan, chunk, buffer, full)
        grid = full.reshape(n, k, rows, *plan.grid[1:])
        return _crop(grid[(slice(None), slice(None), slice(None), *keep)])
    full = np.empty((n, plan.full, k), dtype=x.dtype)
    for chunk in chunks:
        _chunk(flat, wm, geo, layout, plan, chunk, buffer, full)
    grid = full.reshape(n, rows, *plan.grid[1:], k)
    return _crop(grid[(slice(None), slice(None), *keep)])


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
        np.matmul(x_rows, wm, out=rows.reshape(n * positions, g, -1).transpose(1, 0, 2))
        return rows.reshape(n, *geo.out_spatial, geo.out_channels)
    xg = x.reshape(n, g, -1, positions)  # N, G, C_in/G, P
    if n == 1 or positions >= POINTWISE_BATCHED_BELOW:
        per_image = np.matmul(wm, xg)  # N, G, C_out/G, P: one GEMM per image and group
        return per_image.reshape(n, geo.out_channels, *geo.out_spatial)
    # small images: one wide GEMM over all images, at the price of two transposes
    xt = np.ascontiguousarray(xg.transpose(1, 2, 0, 3)).reshape(g, -1, n * positions)
    res = np.matmul(wm, xt).reshape(geo.out_channels, n, positions)  # C_out, N, P
    return np.ascontiguousarray(res.transpose(1, 0, 2)).reshape(n, -1, *geo.out_spatial)


def forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geo: ConvGeometry, layout: Layout
) -> np.ndarray:
    """Pointwise layers as one GEMM, all others by shifted-window GEMMs.

    x: (N, C_in, *in) or (N, *in, C_in); w: the layout's weight shape; b: (C_out,) or None.
    Returns (N, C_out, *out) or (N, *out, C_out).
    """
    compute = _pointwise if is_pointwise(geo) else _shifted
    return add_bias(compute(x, w, geo, layout), b, layout)
