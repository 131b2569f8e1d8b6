"""flopcount's reference convolution engine in NumPy (see `flopcount.conv.geometry`)."""

from flopcount.conv.geometry import ConvGeometry, Layout, normalize_padding

__all__ = ["ConvGeometry", "Layout", "normalize_padding"]
