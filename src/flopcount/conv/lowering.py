"""im2col convolution: every window gathered into a matrix, then one GEMM per group.

Chellapilla, Puri & Simard, "High Performance Convolutional Neural Networks for Document
Processing" (2006) unrolled the windows into a matrix so a convolution becomes one matrix
product. `col2im` is the exact adjoint of `im2col` (it adds every column entry back to the input
element it was copied from), so the backward pass is two GEMMs and one `col2im`.

Column matrices (P = prod(out_spatial), kvol = prod(kernel), K = C_in/groups * kvol):

- ``channels_first``: (N, groups * K, P), rows ordered (group, channel in group, *kernel), so a
  group's rows match its weight matrix ``w.reshape(groups, C_out/groups, K)``.
- ``channels_last``: (N, P, groups * K), columns ordered (group, *kernel, channel in group), so
  a group's columns match ``w.reshape(K, groups, C_out/groups)[:, g]``.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from flopcount.conv import blas, parallel
from flopcount.conv.geometry import ConvGeometry, Layout
from flopcount.conv.layouts import add_bias, crop_padding, pad_input, spatial_axes

__all__ = [
    "col2im",
    "forward",
    "grad_input",
    "grad_weight",
    "im2col",
    "is_pointwise",
    "weight_matrices",
]


# Column-matrix budget of the forward pass per group of images (see `forward`).
BATCH_BYTES = 16 << 20


def is_pointwise(geo: ConvGeometry) -> bool:
    """A 1x1(x1) kernel without padding: each output reads one input pixel."""
    return all(k == 1 for k in geo.kernel) and not any(lo or hi for lo, hi in geo.padding)


def _window_view(xpad: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """Read-only view of every window: (N, C, *out, *kernel) or (N, *out, C, *kernel)."""
    spans = [d * (k - 1) + 1 for k, d in zip(geo.kernel, geo.dilation)]
    view = sliding_window_view(xpad, spans, axis=spatial_axes(geo.ndim, layout))
    lead = 2 if layout == "channels_first" else 1
    index = (
        (slice(None),) * lead
        + tuple(slice(None, None, s) for s in geo.stride)  # output positions
        + ((slice(None),) if layout == "channels_last" else ())
        + tuple(slice(None, None, d) for d in geo.dilation)  # kernel taps
    )
    return view[index]


def _cols_shape(geo: ConvGeometry, layout: Layout) -> tuple[int, ...]:
    """Unflattened column shape: (N, C, *kernel, *out) or (N, *out, G, *kernel, C/G)."""
    if layout == "channels_first":
        return (geo.batch, geo.in_channels, *geo.kernel, *geo.out_spatial)
    c_group = geo.in_channels // geo.groups
    return (geo.batch, *geo.out_spatial, geo.groups, *geo.kernel, c_group)


def _flat_cols_shape(geo: ConvGeometry, layout: Layout) -> tuple[int, int, int]:
    positions = int(np.prod(geo.out_spatial))
    rows = geo.in_channels * geo.kernel_volume
    if layout == "channels_first":
        return (geo.batch, rows, positions)
    return (geo.batch, positions, rows)


def im2col(x: np.ndarray, geo: ConvGeometry, layout: Layout = "channels_first") -> np.ndarray:
    """Every window of ``x`` as a column (channels_first) or row (channels_last).

    x: (N, C_in, *in) or (N, *in, C_in). Returns (N, C_in * kvol, P) or (N, P, C_in * kvol),
    ordered as the module docstring says: a new array, except for an unpadded stride-1 1x1
    convolution, where it is a reshaped view of ``x`` (treat it as read-only).
    """
    if is_pointwise(geo) and all(s == 1 for s in geo.stride):
        return x.reshape(_flat_cols_shape(geo, layout))  # every window is one pixel: x itself
    nd = geo.ndim
    view = _window_view(pad_input(x, geo, layout), geo, layout)
    if layout == "channels_first":
        # (N, C, *out, *kernel) -> (N, C, *kernel, *out)
        gathered = view.transpose(0, 1, *range(2 + nd, 2 + 2 * nd), *range(2, 2 + nd))
    else:
        c_group = geo.in_channels // geo.groups
        view = view.reshape(*view.shape[: 1 + nd], geo.groups, c_group, *geo.kernel)
        # (N, *out, G, C/G, *kernel) -> (N, *out, G, *kernel, C/G)
        gathered = view.transpose(*range(2 + nd), *range(3 + nd, 3 + 2 * nd), 2 + nd)
    cols = np.empty(_cols_shape(geo, layout), dtype=x.dtype)
    parallel.copyto(cols, gathered, axis=1)  # C_in (first) or the first output dim (last)
    return cols.reshape(_flat_cols_shape(geo, layout))


def col2im(cols: np.ndarray, geo: ConvGeometry, layout: Layout = "channels_first") -> np.ndarray:
    """The adjoint of `im2col`: every column entry added back to where it was copied from.

    cols: (N, C_in * kvol, P) or (N, P, C_in * kvol). Returns (N, C_in, *in) or (N, *in, C_in).
    """
    nd, lead = geo.ndim, (slice(None),)
    padded = [i + lo + hi for i, (lo, hi) in zip(geo.in_spatial, geo.padding)]
    if layout == "channels_first":
        xpad = np.zeros((geo.batch, geo.in_channels, *padded), dtype=cols.dtype)
    else:
        xpad = np.zeros((geo.batch, *padded, geo.in_channels), dtype=cols.dtype)
    blocks = cols.reshape(_cols_shape(geo, layout))
    for tap in np.ndindex(*geo.kernel):
        region = tuple(
            slice(t * d, t * d + s * (o - 1) + 1, s)
            for t, d, s, o in zip(tap, geo.dilation, geo.stride, geo.out_spatial)
        )  # the input positions this kernel tap reads, one per output position
        if layout == "channels_first":
            xpad[(*lead, *lead, *region)] += blocks[(*lead, *lead, *tap)]  # N, C, *out
        else:
            piece = blocks[(*lead, *lead * nd, *lead, *tap)]  # N, *out, G, C/G
            xpad[(*lead, *region)] += piece.reshape(*piece.shape[: 1 + nd], geo.in_channels)
    return np.ascontiguousarray(crop_padding(xpad, geo, layout))


def weight_matrices(w: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """Per-group weight matrices: (G, C_out/G, K) channels_first, (G, K, C_out/G) last."""
    c_out_group = geo.out_channels // geo.groups
    if layout == "channels_first":
        return w.reshape(geo.groups, c_out_group, -1)
    return w.reshape(-1, geo.groups, c_out_group).transpose(1, 0, 2)


def _weight_from_matrices(dwm: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """Inverse of `weight_matrices`: (G, ., .) back to the layout's weight shape."""
    c_group = geo.in_channels // geo.groups
    if layout == "channels_first":
        return dwm.reshape(geo.out_channels, c_group, *geo.kernel)
    return np.ascontiguousarray(dwm.transpose(1, 0, 2)).reshape(
        *geo.kernel, c_group, geo.out_channels
    )


def _grouped(a: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """Split the channel axis of a (N, C, P) / (N, P, C) matrix by group, channels_last's
    groups moved first: (N, G, C/G, P) or (G, N * P, C/G)."""
    if layout == "channels_first":
        return a.reshape(a.shape[0], geo.groups, -1, a.shape[-1])
    return a.reshape(-1, geo.groups, a.shape[-1] // geo.groups).transpose(1, 0, 2)


def forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geo: ConvGeometry, layout: Layout
) -> np.ndarray:
    """im2col then one GEMM per group (`blas.matmul` broadcasts over groups and images).

    Images go through in groups whose column matrix stays under `BATCH_BYTES` (as Caffe
    lowers one image at a time): the memory of one group is reused by the next instead of
    faulting in a new matrix for the whole batch.
    x: (N, C_in, *in) or (N, *in, C_in); w: the layout's weight shape; b: (C_out,) or None.
    Returns (N, C_out, *out) or (N, *out, C_out).
    """
    wm = weight_matrices(w, geo, layout)
    positions = int(np.prod(geo.out_spatial))
    per_image = x.itemsize * geo.in_channels * geo.kernel_volume * positions  # bytes of cols
    step = max(1, BATCH_BYTES // per_image)
    if layout == "channels_first":
        out = np.empty((geo.batch, geo.out_channels, positions), dtype=x.dtype)
    else:
        out = np.empty((geo.batch, positions, geo.out_channels), dtype=x.dtype)
    for n in range(0, geo.batch, step):
        part = replace(geo, batch=min(step, geo.batch - n))
        cols = _grouped(im2col(x[n : n + step], part, layout), part, layout)
        target = _grouped(out[n : n + step], part, layout)
        if layout == "channels_first":
            blas.matmul(wm, cols, out=target)  # N, G, C_out/G, P
        else:
            blas.matmul(cols, wm, out=target)  # G, N*P, C_out/G
    if layout == "channels_first":
        return add_bias(out.reshape(geo.batch, geo.out_channels, *geo.out_spatial), b, layout)
    return add_bias(out.reshape(geo.batch, *geo.out_spatial, geo.out_channels), b, layout)


def _flat_dout(dout: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """dout as a (N, C_out, P) or (N, P, C_out) matrix stack."""
    if layout == "channels_first":
        return dout.reshape(geo.batch, geo.out_channels, -1)
    return dout.reshape(geo.batch, -1, geo.out_channels)


def grad_input(dout: np.ndarray, w: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """dx = col2im(W^T dout): one GEMM per group, then the adjoint gather.

    dout: (N, C_out, *out) or (N, *out, C_out). Returns dx of the input's shape.
    """
    wm = weight_matrices(w, geo, layout)
    dgroups = _grouped(_flat_dout(dout, geo, layout), geo, layout)
    if layout == "channels_first":
        dcols = blas.matmul(wm.transpose(0, 2, 1), dgroups)  # N, G, K, P
        dcols = dcols.reshape(geo.batch, -1, dcols.shape[-1])
    else:
        dcols = blas.matmul(dgroups, wm.transpose(0, 2, 1))  # G, N*P, K
        dcols = dcols.transpose(1, 0, 2).reshape(geo.batch, -1, geo.groups * dcols.shape[-1])
    return col2im(dcols, geo, layout)


def grad_weight(x: np.ndarray, dout: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """dw = dout cols^T summed over images: one GEMM per group.

    x: (N, C_in, *in) or (N, *in, C_in); dout: (N, C_out, *out) or (N, *out, C_out).
    Returns dw of the layout's weight shape.
    """
    cols = _grouped(im2col(x, geo, layout), geo, layout)
    dgroups = _grouped(_flat_dout(dout, geo, layout), geo, layout)
    if layout == "channels_first":
        dwm = np.zeros((geo.groups, geo.out_channels // geo.groups, cols.shape[2]), x.dtype)
        for n in range(geo.batch):
            dwm += blas.matmul(dgroups[n], cols[n].transpose(0, 2, 1))  # G, C_out/G, K
    else:
        dwm = blas.matmul(cols.transpose(0, 2, 1), dgroups)  # G, K, C_out/G
    return _weight_from_matrices(dwm, geo, layout)
