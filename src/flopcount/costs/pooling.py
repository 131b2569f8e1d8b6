"""Cost formulas of the pools: MaxPool, AveragePool, LpPool and their Global forms.

A pool reduces one window of k = prod(kernel_shape) taps per output element (N * C *
prod(out_spatial) outputs). Like conv MACs, ``flops`` counts every tap of the window, padding
included (one op per tap into a zero-/minus-infinity-initialised accumulator):

    MaxPool       k compares                  exact: v - 1 compares
    AveragePool   k adds + 1 divide           exact: v - 1 adds + 1 divide
    LpPool        k |x|^p + k adds + 1 root   exact: v powers + v - 1 adds + 1 root

``flops_exact`` counts the v taps that fall inside the input: ONNX pools exclude padding
(MaxPool pads with -inf; AveragePool with ``count_include_pad=0`` divides by v), so an
implementation reads only in-bounds taps; ``count_include_pad=1`` changes the divisor, not the
work. Windows that ``ceil_mode`` lets hang past the input are truncated the same way. Output
sizes follow the ONNX spec: floor (or ceil with ``ceil_mode``) of
(in + pads - dilation * (k - 1) - 1) / stride + 1, dropping a last window that would start in
the end padding (PyTorch's rule, quoted by the ONNX AveragePool spec).
"""

from __future__ import annotations

import math

from flopcount.costs._common import (
    accumulations,
    arithmetic,
    cost_error,
    flops,
    int_attr,
    require_inputs,
    require_rank,
)
from flopcount.costs._spatial import int_list, spatial_pads
from flopcount.costs.cost import Cost
from flopcount.costs.registry import register
from flopcount.ir import Node

__all__ = ["PoolWindows", "average_pool", "global_pool", "lp_pool", "max_pool", "pool_windows"]

PoolWindows = tuple[int, int, int]  # (outputs, taps per full window, in-bounds taps in all)


def _out_size(in_size: int, k: int, s: int, d: int, pads: tuple[int, int], ceil: bool) -> int:
    span = d * (k - 1) + 1
    room = in_size + pads[0] + pads[1] - span
    out = (-(-room // s) if ceil else room // s) + 1
    if ceil and (out - 1) * s >= in_size + pads[0]:
        out -= 1  # the last window would start in the end padding
    return out


def _inside_taps(in_size: int, out: int, k: int, s: int, d: int, lo: int) -> int:
    """In-bounds taps of all ``out`` windows of one axis: tap j of window o reads position
    o * s - lo + j * d, counted for each j in closed form (O(k), not O(out * k))."""
    total = 0
    for j in range(k):
        shift = lo - j * d  # o * s >= shift and o * s <= in_size - 1 + shift
        first = max(0, -(-shift // s))
        last = min(out - 1, (in_size - 1 + shift) // s)
        total += max(0, last - first + 1)
    return total


def pool_windows(node: Node) -> PoolWindows:
    """(outputs, k, in-bounds taps) of a MaxPool / AveragePool / LpPool on X (N, C, *spatial)."""
    require_inputs(node, 1)
    x = require_rank(node, 0, 3)
    spatial, ndim = x.shape[2:], x.rank - 2
    kernel = node.attr("kernel_shape")
    if kernel is None or len(kernel) != ndim or min(kernel) < 1:
        raise cost_error(node, f"kernel_shape={kernel!r}: give {ndim} positive sizes")
    strides = int_list(node, "strides", ndim, 1)
    dilations = int_list(node, "dilations", ndim, 1)
    pads = spatial_pads(node, spatial, kernel, strides, dilations)
    ceil = bool(int_attr(node, "ceil_mode", 0))
    outs = [_out_size(*dims, ceil) for dims in zip(spatial, kernel, strides, dilations, pads)]
    if min(outs) < 1:
        raise cost_error(node, f"the window is larger than the padded input (outputs {outs})")
    inside = math.prod(
        _inside_taps(i, o, k, s, d, p[0])
        for i, o, k, s, d, p in zip(spatial, outs, kernel, strides, dilations, pads)
    )  # windows are products of per-axis ranges, so the sum over windows factorises
    planes = x.shape[0] * x.shape[1]
    return planes * math.prod(outs), math.prod(kernel), planes * inside


@register("MaxPool")
def max_pool(node: Node) -> Cost:
    """k compares per output; exact: in-bounds taps - 1 per output."""
    outputs, k, inside = pool_windows(node)
    return arithmetic(node, flops(outputs * k, inside - outputs))


@register("AveragePool")
def average_pool(node: Node) -> Cost:
    """k adds + 1 divide per output; exact: in-bounds taps - 1 adds + 1 divide per output."""
    outputs, k, inside = pool_windows(node)
    return arithmetic(node, flops(outputs * (k + 1), inside))


@register("LpPool")
def lp_pool(node: Node) -> Cost:
    """(sum |x|^p)^(1/p): 2k + 1 per output; exact 2 * in-bounds taps per output."""
    outputs, k, inside = pool_windows(node)
    return arithmetic(node, flops(outputs * (2 * k + 1), 2 * inside))


@register("GlobalAveragePool", "GlobalMaxPool", "GlobalLpPool")
def global_pool(node: Node) -> Cost:
    """One window of all M = prod(spatial) positions per (sample, channel): M compares
    (GlobalMaxPool), M adds + 1 divide (Average), 2M + 1 (Lp); exact one add fewer."""
    require_inputs(node, 1)
    x = require_rank(node, 0, 3)
    planes, size = x.shape[0] * x.shape[1], math.prod(x.shape[2:])
    window = accumulations(planes, size)
    if node.op == "GlobalMaxPool":
        return arithmetic(node, window)
    if node.op == "GlobalAveragePool":
        return arithmetic(node, window + flops(planes))
    return arithmetic(node, window + flops(planes * size + planes))  # |x|^p each, root each
