"""Public convolution entry points: ``conv_forward(...) -> (out, cache)`` and
``conv_backward(dout, cache) -> (dx, dw, db)`` (STYLE principle 11).

Shapes (N batch, C channels, kvol = prod(kernel)):

======================  =============================  =================================
array                   ``channels_first``             ``channels_last``
======================  =============================  =================================
x, dx                   (N, C_in, *in)                 (N, *in, C_in)
w, dw                   (C_out, C_in/groups, *kernel)  (*kernel, C_in/groups, C_out)
b, db                   (C_out,)                       (C_out,)
out, dout               (N, C_out, *out)               (N, *out, C_out)
======================  =============================  =================================

1, 2 or 3 spatial dims, decided by the arrays' rank. float32 and float64 are computed in
their own precision: the output has x's dtype.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopcount.conv.checks import check_arrays, check_bias_shape, check_dout, check_layout
from flopcount.conv.geometry import ConvGeometry, IntOrTuple, Layout, PaddingArg
from flopcount.conv.layouts import sum_bias_grad
from flopcount.conv.methods import resolve_method
from flopcount.errors import ConvError

__all__ = ["ConvCache", "conv_backward", "conv_forward"]


@dataclass(frozen=True, eq=False)
class ConvCache:
    """What a backward pass needs from its forward pass.

    x: the forward input; w: the weight; geo: the validated geometry (``geo.transposed`` for a
    transposed convolution); method: the method that ran ("auto" resolved to a name).
    """

    x: np.ndarray
    w: np.ndarray
    has_bias: bool
    geo: ConvGeometry
    layout: Layout
    method: str
    out_shape: tuple[int, ...]


def conv_forward(
    x: np.ndarray,
    w: np.ndarray,
    b: np.ndarray | None = None,
    *,
    stride: IntOrTuple = 1,
    padding: PaddingArg = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    layout: Layout = "channels_first",
    method: str = "auto",
) -> tuple[np.ndarray, ConvCache]:
    """Convolve (cross-correlate, as PyTorch and TensorFlow do) ``x`` with ``w``, plus ``b``.

    x: (N, C_in, *in) / (N, *in, C_in); w: (C_out, C_in/groups, *kernel) /
    (*kernel, C_in/groups, C_out); b: (C_out,) or None. Returns out: (N, C_out, *out) /
    (N, *out, C_out) with ``geo.out_spatial`` sizes, and the `ConvCache` for `conv_backward`.
    ``padding``: an int, one int per spatial dim, one (lo, hi) pair per dim, "same" or "valid".
    ``method``: "auto", "direct" (the oracle), "im2col", "gemm", "winograd" (F(2x2, 3x3)) or
    "winograd4" (F(4x4, 3x3)).
    """
    check_layout(layout)
    check_arrays(x, w, b)
    geo = ConvGeometry.from_shapes(
        x.shape, w.shape, stride=stride, padding=padding, dilation=dilation,
        groups=groups, layout=layout,
    )  # fmt: skip
    check_bias_shape(b, geo.out_channels, w.shape)
    chosen = resolve_method(method, geo, layout)
    out = chosen.forward(x, w, b, geo, layout)
    cache = ConvCache(x, w, b is not None, geo, layout, chosen.name, out.shape)
    return out, cache


def conv_backward(
    dout: np.ndarray, cache: ConvCache
) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """Gradients of `conv_forward`: (dx, dw, db), db None when there was no bias.

    dout: (N, C_out, *out) / (N, *out, C_out), the forward output's shape and dtype.
    Returns dx of x's shape, dw of w's shape, db (C_out,).
    """
    if not isinstance(cache, ConvCache) or cache.geo.transposed:
        raise ConvError("conv_backward needs the cache from conv_forward (not a transposed conv)")
    dout = check_dout(dout, cache.out_shape, cache.x.dtype)
    chosen = resolve_method(cache.method, cache.geo, cache.layout)
    dx = chosen.grad_input(dout, cache.w, cache.geo, cache.layout)
    dw = chosen.grad_weight(cache.x, dout, cache.geo, cache.layout)
    db = sum_bias_grad(dout, cache.layout) if cache.has_bias else None
    return dx, dw, db
