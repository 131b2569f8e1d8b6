"""flopcount's reference convolution engine in NumPy.

``conv_forward(x, w, b, ...) -> (out, cache)`` and ``conv_backward(dout, cache) -> (dx, dw,
db)``, the transposed pair, `im2col` / `col2im`, and `count_ops`, which runs the direct
algorithm on counting scalars. ``docs/conv.md`` describes the methods and their speed.
"""

from flopcount.conv.counting import OpCount, count_ops
from flopcount.conv.engine import ConvCache, conv_backward, conv_forward
from flopcount.conv.geometry import ConvGeometry, Layout, normalize_padding
from flopcount.conv.lowering import col2im, im2col
from flopcount.conv.methods import METHODS
from flopcount.conv.transpose import conv_transpose_backward, conv_transpose_forward

__all__ = [
    "METHODS",
    "ConvCache",
    "ConvGeometry",
    "Layout",
    "OpCount",
    "col2im",
    "conv_backward",
    "conv_forward",
    "conv_transpose_backward",
    "conv_transpose_forward",
    "count_ops",
    "im2col",
    "normalize_padding",
]
