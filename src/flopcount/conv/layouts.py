"""Layout plumbing shared by every method: padding, layout changes and the bias.

Activations are (N, C, *spatial) in ``channels_first`` and (N, *spatial, C) in
``channels_last``. Weights are (A, B, *kernel) in ``channels_first`` and (*kernel, B, A) in
``channels_last``, where (A, B) = (C_out, C_in/groups) for a convolution and (C_in,
C_out/groups) for a transposed one: the same two moves convert both.
"""

from __future__ import annotations

import numpy as np

from flopcount.conv.geometry import ConvGeometry, Layout

__all__ = [
    "add_bias",
    "channel_axis",
    "crop_padding",
    "pad_input",
    "spatial_axes",
    "sum_bias_grad",
    "w_from_channels_first",
    "w_to_channels_first",
    "x_from_channels_first",
    "x_to_channels_first",
]


def channel_axis(layout: Layout) -> int:
    """Axis of the channels in an activation of this layout."""
    return 1 if layout == "channels_first" else -1


def spatial_axes(ndim: int, layout: Layout) -> tuple[int, ...]:
    """Axes of the ``ndim`` spatial dims in an activation of rank ``ndim + 2``."""
    first = 2 if layout == "channels_first" else 1
    return tuple(range(first, first + ndim))


def x_to_channels_first(x: np.ndarray, layout: Layout) -> np.ndarray:
    """(N, *spatial, C) -> (N, C, *spatial) view when ``layout`` is channels_last."""
    return x if layout == "channels_first" else np.moveaxis(x, -1, 1)


def x_from_channels_first(x: np.ndarray, layout: Layout) -> np.ndarray:
    """(N, C, *spatial) -> the layout's order, as a contiguous array."""
    return x if layout == "channels_first" else np.ascontiguousarray(np.moveaxis(x, 1, -1))


def w_to_channels_first(w: np.ndarray, layout: Layout) -> np.ndarray:
    """(*kernel, B, A) -> (A, B, *kernel) view when ``layout`` is channels_last."""
    if layout == "channels_first":
        return w
    nd = w.ndim - 2
    return w.transpose(nd + 1, nd, *range(nd))


def w_from_channels_first(w: np.ndarray, layout: Layout) -> np.ndarray:
    """(A, B, *kernel) -> the layout's order, as a contiguous array."""
    if layout == "channels_first":
        return w
    return np.ascontiguousarray(w.transpose(*range(2, w.ndim), 1, 0))


def pad_input(x: np.ndarray, geo: ConvGeometry, layout: Layout, fill: object = 0) -> np.ndarray:
    """Zero-padded copy of ``x`` by ``geo.padding`` (x itself when there is no padding).

    ``fill`` is the padding value: a plain 0 for float arrays, a counting zero for the object
    arrays of `flopcount.conv.counting`. Shape: the spatial dims grow by ``lo + hi`` each.
    """
    if not any(lo or hi for lo, hi in geo.padding):
        return x
    axes = spatial_axes(geo.ndim, layout)
    shape = list(x.shape)
    index: list[slice] = [slice(None)] * x.ndim
    for axis, (lo, hi) in zip(axes, geo.padding):
        shape[axis] += lo + hi
        index[axis] = slice(lo, lo + x.shape[axis])
    xpad = np.full(shape, fill, dtype=x.dtype)
    xpad[tuple(index)] = x
    return xpad


def crop_padding(xpad: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """The inverse of `pad_input`: the interior of a padded array (a view)."""
    index: list[slice] = [slice(None)] * xpad.ndim
    for axis, (lo, _), size in zip(spatial_axes(geo.ndim, layout), geo.padding, geo.in_spatial):
        index[axis] = slice(lo, lo + size)
    return xpad[tuple(index)]


def add_bias(out: np.ndarray, b: np.ndarray | None, layout: Layout) -> np.ndarray:
    """``out += b`` broadcast over batch and space, in place; returns ``out``.

    out: (N, C_out, *spatial) or (N, *spatial, C_out); b: (C_out,) or None.
    """
    if b is not None:
        shape = (-1,) + (1,) * (out.ndim - 2) if layout == "channels_first" else (-1,)
        out += b.reshape(shape)
    return out


def sum_bias_grad(dout: np.ndarray, layout: Layout) -> np.ndarray:
    """db (C_out,): dout summed over batch and space."""
    channels = channel_axis(layout) % dout.ndim
    return dout.sum(axis=tuple(a for a in range(dout.ndim) if a != channels))
