"""Cost formulas of the reductions (Reduce*, ArgMax/ArgMin) and CumSum: one factory.

A reduction of ``M`` input elements into each of ``R`` outputs is costed as
``per_input * numel(X) + per_output * R`` FLOPs (each input term accumulates into a zero- or
minus-infinity-initialised accumulator, the convention of ``2 * macs``); ``flops_exact`` skips
the first term of each accumulation (R fewer). Constants, from each op's ONNX definition:

    ReduceSum, ReduceMax, ReduceMin, ReduceProd, ArgMax, ArgMin   1 per input
    ReduceMean                                    1 per input + 1 divide per output
    ReduceL1 (|x|, add), ReduceSumSquare (x*x, add)               2 per input
    ReduceL2                                      2 per input + 1 sqrt per output
    ReduceLogSum                                  1 per input + 1 log per output
    ReduceLogSumExp (as specified: log(sum(exp(x))))  2 per input + 1 log per output

The reduced axes come from the ``axes`` attribute (ONNX < 18, or a frontend that resolved the
constant ``axes`` input); with an ``axes`` input whose value is unknown the output spec's
size is used; no axes means all axes (or a no-op with ``noop_with_empty_axes=1``).
"""

from __future__ import annotations

import math

from flopcount.costs._common import (
    arithmetic,
    cost_error,
    flops,
    int_attr,
    normalize_axis,
    optional_input,
    require_inputs,
    require_rank,
)
from flopcount.costs.cost import ZERO, Cost
from flopcount.costs.registry import CostFormula, register
from flopcount.ir import Node

__all__ = ["REDUCTION_CONSTANTS", "cumsum", "reduced_sizes", "reduction"]

# (ops per input element, ops per output element)
REDUCTION_CONSTANTS: dict[str, tuple[int, int]] = {
    "ReduceSum": (1, 0), "ReduceMax": (1, 0), "ReduceMin": (1, 0), "ReduceProd": (1, 0),
    "ArgMax": (1, 0), "ArgMin": (1, 0), "ReduceMean": (1, 1), "ReduceL1": (2, 0),
    "ReduceSumSquare": (2, 0), "ReduceL2": (2, 1), "ReduceLogSum": (1, 1),
    "ReduceLogSumExp": (2, 1),
}  # fmt: skip


def _outputs_from_axes(node: Node, shape: tuple[int, ...], axes: list[int]) -> int:
    kept = set(range(len(shape))) - {normalize_axis(node, a, len(shape)) for a in axes}
    return math.prod(shape[i] for i in kept)


def reduced_sizes(node: Node) -> tuple[int, int] | None:
    """(input elements, output elements), or ``None`` for a no-op reduction."""
    x = require_rank(node, 0, 0)
    if node.op in ("ArgMax", "ArgMin"):
        if x.rank == 0:
            raise cost_error(node, "ArgMax/ArgMin need an input of rank >= 1")
        return x.numel, _outputs_from_axes(node, x.shape, [int_attr(node, "axis", 0)])
    axes = node.attr("axes")
    if axes is None and optional_input(node, 1) is not None:
        if not node.outputs:
            raise cost_error(
                node,
                "the axes input's value is unknown and there is no output spec",
                "lower the constant axes into the 'axes' attribute",
            )
        return x.numel, node.outputs[0].numel
    if not axes:
        if int_attr(node, "noop_with_empty_axes", 0):
            return None
        axes = list(range(x.rank))
    return x.numel, _outputs_from_axes(node, x.shape, list(axes))


def reduction(per_input: int, per_output: int) -> CostFormula:
    """The factory: ``per_input`` ops per input element + ``per_output`` per output element;
    exact: one op fewer per output (the first term of each accumulation)."""

    def formula(node: Node) -> Cost:
        require_inputs(node, 1, 2)
        sizes = reduced_sizes(node)
        if sizes is None:
            return ZERO
        inputs, outputs = sizes
        count = per_input * inputs + per_output * outputs
        return arithmetic(node, flops(count, count - outputs if inputs else 0))

    formula.__doc__ = f"{per_input} ops per input element + {per_output} per output element."
    return formula


def _register_constants() -> None:
    for op, (per_input, per_output) in REDUCTION_CONSTANTS.items():
        register(op)(reduction(per_input, per_output))


_register_constants()


@register("CumSum")
def cumsum(node: Node) -> Cost:
    """Running sums along one axis: 1 add per element; exact: one fewer per row (the inclusive
    scan copies each row's first element). The axis is an input tensor in ONNX, so the exact
    figure needs a frontend-resolved ``axis`` attribute; without it, exact equals ``flops``."""
    require_inputs(node, 1, 2)
    x = require_rank(node, 0, 0)
    axis = node.attr("axis")
    if axis is None or x.rank == 0:
        return arithmetic(node, flops(x.numel))
    length = x.shape[normalize_axis(node, int(axis), x.rank)]
    rows = x.numel // length if length else 0
    return arithmetic(node, flops(x.numel, x.numel - rows))
