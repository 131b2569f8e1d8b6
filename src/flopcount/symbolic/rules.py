"""Output sizes of sliding-window ops computed from their input sizes' expressions.

Sample values alone cannot pin down ``floor((s + b) / 32)``: telling ``b`` from ``b + 1`` needs
a sample at the one residue mod 32 where they differ. The op's attributes do pin it down, so
for convolutions and pools the output size is computed from the input size's expression by
the ONNX rule (Conv / MaxPool / AveragePool / LpPool operator specs), with floors kept exact by
`SymInt`::

    out = floor((in + pad_begin + pad_end - dilation * (kernel - 1) - 1) / stride) + 1
    out = ceil(in / stride)                       # auto_pad SAME_UPPER / SAME_LOWER
    out = ceil((in + pads - dilation * (kernel - 1) - 1) / stride) + 1   # ceil_mode

The caller accepts a computed size only where it reproduces the observed size at every sample
point (``ceil_mode``'s rule of dropping a last window that starts in the padding, for one, is
not modelled and simply fails that check).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flopcount.ir import Node

__all__ = ["is_window_op", "window_output_sizes"]

_CONV_WEIGHT = {"Conv": 1, "ConvInteger": 1, "FusedConv": 1, "QLinearConv": 3}
_POOLS = frozenset({"MaxPool", "AveragePool", "LpPool"})


def _ints(value: Any, ndim: int, default: int) -> list[int] | None:
    if value is None:
        return [default] * ndim
    if isinstance(value, int):
        return [value] * ndim
    values = list(value)
    return values if len(values) == ndim else None


def _kernel(node: Node, ndim: int) -> list[int] | None:
    if node.op in _CONV_WEIGHT:
        index = _CONV_WEIGHT[node.op]
        if len(node.inputs) <= index or node.inputs[index].rank != ndim + 2:
            return None
        return list(node.inputs[index].shape[2:])
    return _ints(node.attr("kernel_shape"), ndim, 0)


def _pads(node: Node, ndim: int) -> list[tuple[int, int]] | None:
    pads = node.attr("pads")
    if pads is None:
        return [(0, 0)] * ndim
    pads = list(pads)
    if len(pads) != 2 * ndim:
        return None
    return [(pads[i], pads[ndim + i]) for i in range(ndim)]


def is_window_op(node: Node) -> bool:
    """True for the convolutions and pools whose output sizes `window_output_sizes` computes."""
    return (node.op in _CONV_WEIGHT or node.op in _POOLS) and bool(node.inputs)


def window_output_sizes(node: Node, spatial: Sequence[int]) -> list[int] | None:
    """Output spatial sizes of a Conv-like or pool ``node`` from input sizes ``spatial``.

    ``spatial`` may hold `SymInt`s; the result then carries their floors. None when the op is
    not a sliding-window op or its attributes are not the plain ONNX ones.
    """
    if not is_window_op(node):
        return None
    ndim = len(spatial)
    kernel = _kernel(node, ndim)
    strides = _ints(node.attr("strides"), ndim, 1)
    dilations = _ints(node.attr("dilations"), ndim, 1)
    pads = _pads(node, ndim)
    if kernel is None or strides is None or dilations is None or pads is None:
        return None
    mode = node.attr("auto_pad", "NOTSET")
    mode = mode.decode() if isinstance(mode, bytes) else str(mode)
    ceil = bool(node.attr("ceil_mode", 0))
    out = []
    for size, k, s, d, (lo, hi) in zip(spatial, kernel, strides, dilations, pads):
        if mode.startswith("SAME"):
            out.append((size + s - 1) // s)
            continue
        room = size - (d * (k - 1) + 1) + (0 if mode == "VALID" else lo + hi)
        out.append((room + (s - 1 if ceil else 0)) // s + 1)
    return out
