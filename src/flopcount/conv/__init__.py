"""flopcount's reference convolution engine in NumPy.

``conv_forward(x, w, b, ...) -> (out, cache)`` and ``conv_backward(dout, cache) -> (dx, dw,
db)``, the transposed pair, `im2col` / `col2im`, and `count_ops`, which runs the direct
algorithm on counting scalars. Every GEMM goes through `flopcount.conv.blas` (Intel MKL when
installed, else NumPy's BLAS; `blas_backend`, `set_blas`, `use_blas`). ``docs/conv.md``
describes the methods and their speed.
"""

from typing import TYPE_CHECKING, Any

from flopcount import _lazy
from flopcount.conv.geometry import ConvGeometry, Layout, normalize_padding

if TYPE_CHECKING:
    from flopcount.conv.blas import blas_backend, set_blas, use_blas
    from flopcount.conv.counting import OpCount, count_ops
    from flopcount.conv.engine import ConvCache, conv_backward, conv_forward
    from flopcount.conv.lowering import col2im, im2col
    from flopcount.conv.methods import METHODS
    from flopcount.conv.transpose import conv_transpose_backward, conv_transpose_forward

# The NumPy engine loads on first use (PEP 562), so `conv.geometry`, which the cost formulas
# need, imports without NumPy. Name -> defining module.
_LAZY = {
    name: f"flopcount.conv.{module}"
    for module, names in {
        "blas": ("blas_backend", "set_blas", "use_blas"),
        "counting": ("OpCount", "count_ops"),
        "engine": ("ConvCache", "conv_backward", "conv_forward"),
        "lowering": ("col2im", "im2col"),
        "methods": ("METHODS",),
        "transpose": ("conv_transpose_backward", "conv_transpose_forward"),
    }.items()
    for name in names
}

__all__ = [
    "METHODS",
    "ConvCache",
    "ConvGeometry",
    "Layout",
    "OpCount",
    "blas_backend",
    "col2im",
    "conv_backward",
    "conv_forward",
    "conv_transpose_backward",
    "conv_transpose_forward",
    "count_ops",
    "im2col",
    "normalize_padding",
    "set_blas",
    "use_blas",
]


def __getattr__(name: str) -> Any:
    """Import the NumPy engine's names on first use."""
    return _lazy.resolve(__name__, name, _LAZY, globals())
