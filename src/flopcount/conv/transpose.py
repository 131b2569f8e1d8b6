"""Transposed convolution: the input-gradient of a convolution, used as a layer.

A transposed convolution of x with w equals ``grad_input`` of the convolution that maps its
output shape back to its input shape with the same w, stride, padding, dilation and groups
(Dumoulin & Visin, arXiv:1603.07285, section 4; PyTorch's ``ConvTranspose2d`` docs). So its
forward pass is a convolution's ``grad_input``, and its backward pass is that convolution's
forward (for dx) and ``grad_weight`` (for dw), each done by the chosen method.

Shapes (PyTorch weight order in channels_first):

==========  ================================  ==================================
array       ``channels_first``                ``channels_last``
==========  ================================  ==================================
x, dx       (N, C_in, *in)                    (N, *in, C_in)
w, dw       (C_in, C_out/groups, *kernel)     (*kernel, C_out/groups, C_in)
b, db       (C_out,)                          (C_out,)
out, dout   (N, C_out, *out)                  (N, *out, C_out)
==========  ================================  ==================================

with ``out = (in - 1) * stride - pad_lo - pad_hi + dilation * (kernel - 1) + output_padding + 1``.
"""

from __future__ import annotations

import numpy as np

from flopcount.conv.checks import check_arrays, check_bias_shape, check_dout, check_layout
from flopcount.conv.engine import ConvCache
from flopcount.conv.geometry import ConvGeometry, IntOrTuple, Layout, PaddingArg
from flopcount.conv.layouts import add_bias, spatial_axes, sum_bias_grad
from flopcount.conv.methods import resolve_method
from flopcount.errors import ConvError

__all__ = ["conv_transpose_backward", "conv_transpose_forward", "equivalent_conv"]


def equivalent_conv(geo_t: ConvGeometry) -> ConvGeometry:
    """The convolution whose input-gradient the transposed convolution ``geo_t`` computes.

    It reads the transposed output's shape (``geo_t.out_spatial``, ``geo_t.out_channels``)
    and produces at least the transposed input's (more only when output_padding >= stride,
    which dilation allows; the extra positions are zero-padded in and cropped out).
    """
    return ConvGeometry(
        batch=geo_t.batch, in_channels=geo_t.out_channels, out_channels=geo_t.in_channels,
        in_spatial=geo_t.out_spatial, kernel=geo_t.kernel, stride=geo_t.stride,
        padding=geo_t.padding, dilation=geo_t.dilation, groups=geo_t.groups,
    )  # fmt: skip


def _resize(a: np.ndarray, spatial: tuple[int, ...], layout: Layout) -> np.ndarray:
    """``a`` zero-padded (high side) or cropped so its spatial dims are ``spatial``."""
    axes = spatial_axes(len(spatial), layout)
    if tuple(a.shape[i] for i in axes) == spatial:
        return a
    shape = list(a.shape)
    index: list[slice] = [slice(None)] * a.ndim
    for axis, size in zip(axes, spatial):
        shape[axis] = size
        index[axis] = slice(0, min(size, a.shape[axis]))
    out = np.zeros(shape, dtype=a.dtype)
    out[tuple(index)] = a[tuple(index)]
    return out


def conv_transpose_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    stride: IntOrTuple = 1,
    padding: PaddingArg = 0,
    output_padding: IntOrTuple = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    layout: Layout = "channels_first",
    method: str = "auto",
) -> tuple[np.ndarray, ConvCache]:
    """Transposed convolution of ``x`` with ``w``, plus ``b`` (shapes in the module docstring).

    Returns out (N, C_out, *out) / (N, *out, C_out) and the cache for
    `conv_transpose_backward`. ``method`` names the method of the equivalent convolution.
    """
    check_layout(layout)
    check_arrays(x, w, b)
    geo_t = ConvGeometry.from_shapes(
        x.shape, w.shape, stride=stride, padding=padding, dilation=dilation, groups=groups,
        layout=layout, transposed=True, output_padding=output_padding,
    )  # fmt: skip
    check_bias_shape(b, geo_t.out_channels, w.shape)
    conv = equivalent_conv(geo_t)
    chosen = resolve_method(method, conv, layout)
    out = chosen.grad_input(_resize(x, conv.out_spatial, layout), w, conv, layout)
    out = add_bias(out, b, layout)
    return out, ConvCache(x, w, b is not None, geo_t, layout, chosen.name, out.shape)


def conv_transpose_backward(
    dout: np.ndarray, cache: ConvCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of `conv_transpose_forward`: (dx, dw, db), db None without bias.

    dout: (N, C_out, *out) / (N, *out, C_out). Returns dx of x's shape, dw of w's, db (C_out,).
    """
    if not isinstance(cache, ConvCache) or not cache.geo.transposed:
        raise ConvError("conv_transpose_backward needs the cache from conv_transpose_forward")
    dout = check_dout(dout, cache.out_shape, cache.x.dtype)
    conv = equivalent_conv(cache.geo)
    chosen = resolve_method(cache.method, conv, cache.layout)
    dx = chosen.forward(dout, cache.w, None, conv, cache.layout)  # the conv maps out -> in
    dx = _resize(dx, cache.geo.in_spatial, cache.layout)
    x_as_dout = _resize(cache.x, conv.out_spatial, cache.layout)
    dw = chosen.grad_weight(dout, x_as_dout, conv, cache.layout)
    db = sum_bias_grad(dout, cache.layout) if cache.has_bias else None
    return dx, dw, db
