"""flopcount's reference convolution engine in NumPy.

``conv_forward(x, w, b, ...) -> (out, cache)`` and ``conv_backward(dout, cache) -> (dx, dw,
db)``, the transposed pair, `im2col` / `col2im`, and `count_ops`, which runs the direct
algorithm on counting scalars. ``docs/conv.md`` describes the methods and their speed.
"""

from typing import TYPE_CHECKING, Any

from flopcount.conv.geometry import ConvGeometry, Layout, normalize_padding

if TYPE_CHECKING:
    from flopcount.conv.counting import OpCount, count_ops
    from flopcount.conv.engine import ConvCache, conv_backward, conv_forward
    from flopcount.conv.lowering import col2im, im2col
    from flopcount.conv.methods import METHODS
    from flopcount.conv.transpose import conv_transpose_backward, conv_transpose_forward

# The NumPy engine loads on first use (PEP 562), so `conv.geometry`, which the cost formulas
# need, imports without NumPy. Name -> defining module.
_LAZY = {
    "OpCount": "counting", "count_ops": "counting", "ConvCache": "engine",
    "conv_backward": "engine", "conv_forward": "engine", "col2im": "lowering",
    "im2col": "lowering", "METHODS": "methods", "conv_transpose_backward": "transpose",
    "conv_transpose_forward": "transpose",
}  # fmt: skip

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


def __getattr__(name: str) -> Any:
    """Import the NumPy engine's names on first use."""
    import importlib

    module = _LAZY.get(name)
    if module is None:  # a submodule, as attribute access found it when this imported more
        try:
            return importlib.import_module(f"{__name__}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{name}":
                raise  # the submodule exists but lacks a dependency
            raise AttributeError(f"module 'flopcount.conv' has no attribute {name!r}") from None

    value = getattr(importlib.import_module(f"flopcount.conv.{module}"), name)
    globals()[name] = value
    return value
