"""ONNX spatial attributes shared by Conv, ConvTranspose and the pools.

Attribute names and defaults follow the ONNX operator spec (Conv, MaxPool, AveragePool, LpPool):
``strides`` and ``dilations`` default to 1 per spatial axis, ``pads`` to 0 and is written as
``[x1_begin, x2_begin, ..., x1_end, x2_end, ...]``; ``auto_pad`` is ``NOTSET`` (use ``pads``),
``VALID`` (no padding) or ``SAME_UPPER`` / ``SAME_LOWER`` (output = ceil(in / stride), the odd
padding pixel at the end / the beginning).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from flopcount.costs._common import cost_error
from flopcount.ir import Node

__all__ = ["Pads", "auto_pad_mode", "int_list", "same_padding", "spatial_pads"]

Pads = tuple[tuple[int, int], ...]


def int_list(node: Node, key: str, ndim: int, default: int) -> tuple[int, ...]:
    """Attribute ``key`` as ``ndim`` ints (``default`` each when the attribute is absent)."""
    value = node.attr(key)
    if value is None:
        return (default,) * ndim
    if isinstance(value, int) and not isinstance(value, bool):
        return (value,) * ndim
    values = tuple(value)
    if len(values) != ndim or not all(isinstance(v, int) for v in values):
        raise cost_error(node, f"attribute {key}={value!r}: expected {ndim} ints")
    return values


def auto_pad_mode(node: Node) -> str:
    """The ``auto_pad`` attribute as text (ONNX stores strings as bytes), validated."""
    value = node.attr("auto_pad", "NOTSET")
    mode = value.decode() if isinstance(value, bytes) else str(value)
    if mode not in ("NOTSET", "VALID", "SAME_UPPER", "SAME_LOWER"):
        raise cost_error(node, f"auto_pad={mode!r}: use NOTSET, VALID, SAME_UPPER or SAME_LOWER")
    return mode


def same_padding(
    in_size: int, kernel: int, stride: int, dilation: int, lower: bool = False
) -> tuple[int, int]:
    """``auto_pad`` SAME padding of one axis: output ceil(in / stride), extra pixel at the end
    (SAME_UPPER) or the beginning (SAME_LOWER). ONNX Conv spec::

        total = max((ceil(in / stride) - 1) * stride + (kernel - 1) * dilation + 1 - in, 0)
    """
    span = (kernel - 1) * dilation + 1
    total = max((math.ceil(in_size / stride) - 1) * stride + span - in_size, 0)
    small, large = total // 2, total - total // 2
    return (large, small) if lower else (small, large)


def spatial_pads(
    node: Node,
    in_spatial: Sequence[int],
    kernel: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
) -> Pads:
    """One ``(begin, end)`` padding pair per spatial axis from ``auto_pad`` and ``pads``."""
    ndim = len(in_spatial)
    auto_pad = auto_pad_mode(node)
    if auto_pad in ("SAME_UPPER", "SAME_LOWER"):
        lower = auto_pad == "SAME_LOWER"
        return tuple(
            same_padding(i, k, s, d, lower)
            for i, k, s, d in zip(in_spatial, kernel, strides, dilations)
        )
    if auto_pad == "VALID":
        return ((0, 0),) * ndim
    pads = int_list(node, "pads", 2 * ndim, 0)
    if any(p < 0 for p in pads):
        raise cost_error(node, f"pads={list(pads)} must be >= 0")
    return tuple((pads[axis], pads[axis + ndim]) for axis in range(ndim))
