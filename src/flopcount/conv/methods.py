"""The table of convolution methods and the ``"auto"`` choice between them.

A method is three functions over one `ConvGeometry` and layout:
``forward(x, w, b) -> out``, ``grad_input(dout, w) -> dx`` and ``grad_weight(x, dout) -> dw``,
plus a predicate saying which geometries it handles. ``direct`` is the oracle; the others are
tested against it and against PyTorch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from flopcount.conv import direct, gemm, lowering, winograd, winograd4
from flopcount.conv.geometry import ConvGeometry, Layout
from flopcount.errors import ConvError

__all__ = ["METHODS", "Method", "resolve_method"]

Forward = Callable[[np.ndarray, np.ndarray, "np.ndarray | None", ConvGeometry, Layout], np.ndarray]
GradInput = Callable[[np.ndarray, np.ndarray, ConvGeometry, Layout], np.ndarray]
GradWeight = Callable[[np.ndarray, np.ndarray, ConvGeometry, Layout], np.ndarray]


def _any_geometry(geo: ConvGeometry) -> str | None:
    return None


@dataclass(frozen=True)
class Method:
    """One way to compute a convolution and its gradients (see the module docstring).

    ``unsupported(geo)`` returns why the method cannot run this geometry, or None if it can.
    """

    name: str
    forward: Forward
    grad_input: GradInput
    grad_weight: GradWeight
    unsupported: Callable[[ConvGeometry], str | None] = _any_geometry


METHODS: dict[str, Method] = {
    "direct": Method("direct", direct.forward, direct.grad_input, direct.grad_weight),
    "im2col": Method("im2col", lowering.forward, lowering.grad_input, lowering.grad_weight),
    "gemm": Method("gemm", gemm.forward, lowering.grad_input, lowering.grad_weight),
    "winograd": Method(
        "winograd",
        winograd.forward,
        lowering.grad_input,
        lowering.grad_weight,
        winograd.unsupported,
    ),
    "winograd4": Method(
        "winograd4",
        winograd4.forward,
        lowering.grad_input,
        lowering.grad_weight,
        winograd4.unsupported,
    ),
}


# channels_last layers with fewer input channels per group than this run as im2col: the
# phase-grid gather copies runs of C_in/G values (3 for the stem: 37 against 72 GFLOP/s),
# im2col's runs are whole windows; at 64 channels and more `gemm` ties or wins
# (benchmarks/conv.py layers, one thread).
IM2COL_BELOW_CHANNELS_LAST = 64


def _auto(geo: ConvGeometry, layout: Layout) -> Method:
    """The fastest correct method for this geometry (measured: benchmarks/conv.py).

    In order: F(4x4, 3x3) Winograd for 3x3 stride-1 layers with enough tiles and channels,
    F(2x2, 3x3) for very wide ones with many tiles; pointwise layers as one GEMM (``gemm``);
    ``im2col`` for channels_last layers with few channels per group; else the chunked
    ``gemm``, which beat ``im2col`` on every channels_first layer measured.
    """
    if winograd.unsupported(geo) is None:
        if winograd4.worthwhile(geo, layout):
            return METHODS["winograd4"]
        if winograd.worthwhile(geo, layout):
            return METHODS["winograd"]
    if lowering.is_pointwise(geo):
        return METHODS["gemm"]
    narrow = geo.in_channels // geo.groups < IM2COL_BELOW_CHANNELS_LAST
    if layout == "channels_last" and narrow:
        return METHODS["im2col"]
    return METHODS["gemm"]


def resolve_method(method: object, geo: ConvGeometry, layout: Layout) -> Method:
    """The `Method` named ``method`` ("auto" picks one), or `ConvError` if it cannot run."""
    if method == "auto":
        return _auto(geo, layout)
    if not isinstance(method, str) or method not in METHODS:
        names = ", ".join(repr(m) for m in ("auto", *METHODS))
        raise ConvError(f"method={method!r} is not a convolution method; use one of {names}")
    chosen = METHODS[method]
    reason = chosen.unsupported(geo)
    if reason is not None:
        raise ConvError(f"method={method!r} cannot run this convolution: {reason}")
    return chosen
