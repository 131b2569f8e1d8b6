"""The direct (sliding-window) convolution: the oracle every faster method is tested against.

For each output element, the window of the padded input under the (dilated) kernel is
multiplied with the filter and summed, then the bias is added: the definition of a
convolution (cross-correlation, as in PyTorch's ``Conv2d`` docs), written as plain loops for
reading, not for speed. Only the innermost dot product is vectorised (`float_dot`). The same
loops run on object arrays of counting scalars with `serial_dot`, which is how
`flopcount.conv.count_ops` checks the cost formula against the algorithm itself.

The loops work in ``channels_first``; the public functions move other layouts in and out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from itertools import product
from typing import Any

import numpy as np

from flopcount.conv.geometry import ConvGeometry, Layout
from flopcount.conv.layouts import (
    crop_padding,
    pad_input,
    w_from_channels_first,
    w_to_channels_first,
    x_from_channels_first,
    x_to_channels_first,
)

__all__ = [
    "direct_loops",
    "float_dot",
    "forward",
    "grad_input",
    "grad_weight",
    "serial_dot",
]

Dot = Callable[[np.ndarray, np.ndarray], Any]
Index = tuple[Any, ...]


def float_dot(window: np.ndarray, filt: np.ndarray) -> Any:
    """window . filt for float arrays of one shape (C_in/groups, *kernel), vectorised."""
    return np.dot(window.ravel(), filt.ravel())


def serial_dot(window: np.ndarray, filt: np.ndarray) -> Any:
    """window . filt one scalar at a time: K multiplies and K - 1 adds, for any scalar type."""
    terms = zip(window.flat, filt.flat)
    first_x, first_w = next(terms)
    acc = first_x * first_w
    for xv, wv in terms:
        acc = acc + xv * wv
    return acc


def window_index(pos: tuple[int, ...], geo: ConvGeometry) -> tuple[slice, ...]:
    """Spatial slices of the padded input under the dilated kernel at output position ``pos``."""
    return tuple(
        slice(p * s, p * s + d * (k - 1) + 1, d)
        for p, s, d, k in zip(pos, geo.stride, geo.dilation, geo.kernel)
    )


def positions(geo: ConvGeometry) -> Iterator[tuple[Index, Index, int]]:
    """Every output element, in order: (output index, padded-input window index, filter co).

    The output index is (n, co, *pos); the window index is (n, channels of co's group,
    *spatial slices), selecting a (C_in/groups, *kernel) block of the padded input.
    """
    c_out_group = geo.out_channels // geo.groups
    c_in_group = geo.in_channels // geo.groups
    for n, co in product(range(geo.batch), range(geo.out_channels)):
        group = co // c_out_group
        channels = slice(group * c_in_group, (group + 1) * c_in_group)
        for pos in np.ndindex(*geo.out_spatial):
            yield (n, co, *pos), (n, channels, *window_index(pos, geo)), co


def direct_loops(
    xpad: np.ndarray, w: np.ndarray, b: np.ndarray | None, geo: ConvGeometry, dot: Dot
) -> np.ndarray:
    """The textbook loops: out[n, co, pos] = window(n, pos) . w[co] (+ b[co]).

    xpad: (N, C_in, *padded_spatial); w: (C_out, C_in/groups, *kernel); b: (C_out,) or None.
    Returns out: (N, C_out, *out_spatial), of xpad's dtype (object arrays work too).
    """
    out = np.empty((geo.batch, geo.out_channels, *geo.out_spatial), dtype=xpad.dtype)
    for out_index, window, co in positions(geo):
        acc = dot(xpad[window], w[co])  # (C_in/groups, *kernel) . (C_in/groups, *kernel)
        out[out_index] = acc if b is None else acc + b[co]
    return out


def forward(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geo: ConvGeometry, layout: Layout
) -> np.ndarray:
    """Direct convolution. x: (N, C_in, *in) or (N, *in, C_in); w: the layout's weight shape;
    b: (C_out,) or None. Returns (N, C_out, *out) or (N, *out, C_out)."""
    xpad = pad_input(x_to_channels_first(x, layout), geo, "channels_first")
    out = direct_loops(xpad, w_to_channels_first(w, layout), b, geo, float_dot)
    return x_from_channels_first(out, layout)


def grad_input(dout: np.ndarray, w: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """dx: each output's gradient scattered back through its window (the adjoint loops).

    dout: (N, C_out, *out) or (N, *out, C_out); w: the layout's weight shape.
    Returns dx of the input's shape, (N, C_in, *in) or (N, *in, C_in).
    """
    dout_cf, w_cf = x_to_channels_first(dout, layout), w_to_channels_first(w, layout)
    padded = [i + lo + hi for i, (lo, hi) in zip(geo.in_spatial, geo.padding)]
    dxpad = np.zeros((geo.batch, geo.in_channels, *padded), dtype=dout.dtype)
    for out_index, window, co in positions(geo):
        dxpad[window] += dout_cf[out_index] * w_cf[co]  # C_in/groups, *kernel
    dx = crop_padding(dxpad, geo, "channels_first")
    return np.ascontiguousarray(x_from_channels_first(dx, layout))


def grad_weight(x: np.ndarray, dout: np.ndarray, geo: ConvGeometry, layout: Layout) -> np.ndarray:
    """dw: every window weighted by its output's gradient, summed.

    x: (N, C_in, *in) or (N, *in, C_in); dout: (N, C_out, *out) or (N, *out, C_out).
    Returns dw of the layout's weight shape.
    """
    xpad = pad_input(x_to_channels_first(x, layout), geo, "channels_first")
    dout_cf = x_to_channels_first(dout, layout)
    dw = np.zeros(
        (geo.out_channels, geo.in_channels // geo.groups, *geo.kernel), dtype=dout.dtype
    )  # C_out, C_in/groups, *kernel
    for out_index, window, co in positions(geo):
        dw[co] += dout_cf[out_index] * xpad[window]
    return w_from_channels_first(dw, layout)
