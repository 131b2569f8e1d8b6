"""Reductions and CumSum: per-input and per-output constants, axes handling, arithmetic shown."""

from __future__ import annotations

import pytest
from costs_helpers import cost

from flopcount.costs import ZERO
from flopcount.costs.reduction import REDUCTION_CONSTANTS
from flopcount.errors import CostError


@pytest.mark.parametrize(("op", "constants"), sorted(REDUCTION_CONSTANTS.items()))
def test_every_reduction_constant(op: str, constants: tuple[int, int]) -> None:
    per_input, per_output = constants
    attrs = {"axis": 1} if op.startswith("Arg") else {"axes": [1]}
    c = cost(op, (2, 3, 4), **attrs)
    inputs, outputs = 2 * 3 * 4, 2 * 4  # reducing axis 1 (size 3)
    assert c.flops == per_input * inputs + per_output * outputs
    assert c.flops_exact == c.flops - outputs  # each accumulation's first term only initialises


def test_reduce_sum_and_mean() -> None:
    total = cost("ReduceSum", (2, 3, 4), axes=[1], keepdims=0)
    assert (total.flops, total.flops_exact) == (24, 8 * (3 - 1))  # 8 sums of 3 terms
    mean = cost("ReduceMean", (2, 3, 4), axes=[-1])
    assert (mean.flops, mean.flops_exact) == (24 + 6, 6 * (3 + 1))  # 3 adds + 1 divide each


def test_default_axes_and_noop() -> None:
    everything = cost("ReduceMax", (2, 3, 4))
    assert (everything.flops, everything.flops_exact) == (24, 24 - 1)  # one output
    assert cost("ReduceSum", (2, 3, 4), noop_with_empty_axes=1) == ZERO


def test_axes_as_input_uses_the_output_spec() -> None:
    c = cost("ReduceSum", (2, 3, 4), (1,), out=(2, 1, 4))
    assert c.flops_exact == 24 - 8  # 8 outputs, read from the output spec
    with pytest.raises(CostError, match="axes input's value is unknown"):
        cost("ReduceSum", (2, 3, 4), (1,))


def test_argmax_default_axis() -> None:
    c = cost("ArgMax", (2, 3, 4))  # axis 0 by default: 12 outputs of 2 candidates
    assert (c.flops, c.flops_exact) == (24, 12 * (2 - 1))


def test_cumsum() -> None:
    c = cost("CumSum", (3, 5), (1,), axis=1)
    assert (c.flops, c.flops_exact) == (15, 3 * (5 - 1))  # 3 rows: 4 adds each
    unknown_axis = cost("CumSum", (3, 5), (1,))
    assert unknown_axis.flops == unknown_axis.flops_exact == 15


def test_integer_reduction_counts_int_ops() -> None:
    c = cost("ReduceProd", (4, 4), axes=[0], dtype="int64")
    assert (c.flops, c.int_ops) == (0, 16)


def test_bad_axis_raises() -> None:
    with pytest.raises(CostError, match=r"ReduceSum 'reducesum_0' in scope 'model.block'.*axis 3"):
        cost("ReduceSum", (2, 3, 4), axes=[3])
