"""Cost formulas of Softmax, LogSoftmax and Hardmax along one axis.

Softmax of a row of L elements, computed the numerically stable way (subtract the row max;
the ONNX Softmax-13 function body and every framework kernel do)::

    m = max(x)            L compares    (exact: L - 1)
    e = exp(x - m)        L subtracts + L exps
    s = sum(e)            L adds        (exact: L - 1)
    y = e / s             L divides

5 FLOPs per element with exp = 1 FLOP (the transcendental policy of docs/conventions.md);
exact 5L - 2 per row. LogSoftmax ends with ``(x - m) - log(s)``: one log per row and one
subtract per element instead of the divide: 5 per element + 1 per row (exact 5L - 1).
Hardmax is an argmax per row: L compares (exact L - 1); writing the one-hot is data movement.
"""

from __future__ import annotations

from flopcount.costs._common import (
    accumulations,
    arithmetic,
    flops,
    int_attr,
    normalize_axis,
    require_inputs,
    require_rank,
)
from flopcount.costs.cost import Cost
from flopcount.costs.registry import register
from flopcount.ir import Node

__all__ = ["hardmax", "log_softmax", "softmax", "softmax_rows", "softmax_rows_cost"]


def softmax_rows_cost(elements: int, rows: int) -> Cost:
    """Stable softmax over ``rows`` non-empty rows holding ``elements`` elements in all (rows
    may differ in length, as in causal attention): 5 FLOPs per element; exact 5L - 2 per row
    (the max and the sum each skip their first term)."""
    return flops(5 * elements, 5 * elements - 2 * rows)


def softmax_rows(node: Node) -> tuple[int, int]:
    """(elements, rows) of a softmax-like node along ``axis`` (default -1, ONNX opset >= 13)."""
    require_inputs(node, 1)
    x = require_rank(node, 0, 1)
    axis = normalize_axis(node, int_attr(node, "axis", -1), x.rank)
    length = x.shape[axis]
    return x.numel, x.numel // length if length else 0


@register("Softmax")
def softmax(node: Node) -> Cost:
    """5 FLOPs per element, 5L - 2 exact per row (module docstring)."""
    elements, rows = softmax_rows(node)
    return arithmetic(node, softmax_rows_cost(elements, rows))


@register("LogSoftmax")
def log_softmax(node: Node) -> Cost:
    """5 FLOPs per element + 1 log per row; exact 5L - 1 per row (module docstring)."""
    elements, rows = softmax_rows(node)
    return arithmetic(node, softmax_rows_cost(elements, rows) + flops(rows))


@register("Hardmax")
def hardmax(node: Node) -> Cost:
    """One compare per element (a running argmax), L - 1 exact per row."""
    elements, rows = softmax_rows(node)
    return arithmetic(node, accumulations(rows, elements // rows if rows else 0))
