"""Elementwise ops: per-output-element constants, broadcasting, variadic ops, dtype routing."""

from __future__ import annotations

import pytest
from costs_helpers import cost

from flopcount.costs import REGISTRY
from flopcount.costs.elementwise import ELEMENTWISE_CONSTANTS
from flopcount.errors import CostError
from flopcount.ir import Node, TensorSpec


def test_binary_op_costs_per_broadcast_output() -> None:
    c = cost("Add", (2, 3, 4, 5), (3, 1, 1))  # a per-channel bias
    assert c.flops == 2 * 3 * 4 * 5 == c.flops_exact  # one add per OUTPUT element
    assert cost("Mul", (3, 1), (1, 4)).flops == 3 * 4  # both sides broadcast


def test_output_spec_wins_when_given() -> None:
    assert cost("Relu", (2, 8), out=(2, 8)).flops == 16


@pytest.mark.parametrize(("op", "constant"), sorted(ELEMENTWISE_CONSTANTS.items()))
def test_every_constant_scales_the_output_numel(op: str, constant: int) -> None:
    c = cost(op, (4, 6), (4, 6))
    assert c.flops == constant * 4 * 6 == c.flops_exact


@pytest.mark.parametrize(
    ("op", "per_element"),
    [("Sigmoid", 4), ("Tanh", 1), ("Relu", 1), ("LeakyRelu", 2), ("HardSwish", 5), ("Erf", 1)],
)
def test_activation_constants(op: str, per_element: int) -> None:
    # Sigmoid: neg, exp, add, divide; HardSwish: x * max(0, min(1, x/6 + 1/2)): 5
    assert cost(op, (10, 10)).flops == per_element * 100


def test_variadic_ops() -> None:
    assert cost("Sum", (2, 3), (2, 3), (2, 3)).flops == (3 - 1) * 6  # n - 1 adds per output
    assert cost("Max", (2, 3), (1, 3)).flops == (2 - 1) * 6
    assert cost("Min", (2, 3)).flops == 0  # one input: a copy
    assert cost("Mean", (2, 3), (2, 3), (2, 3), (2, 3)).flops == (4 - 1 + 1) * 6  # + divide


def test_gelu_and_swish_depend_on_attributes() -> None:
    assert cost("Gelu", (8,)).flops == 5 * 8  # 0.5 * x * (1 + erf(x / sqrt(2)))
    assert cost("Gelu", (8,), approximate="tanh").flops == 9 * 8
    assert cost("Gelu", (8,), approximate=b"tanh").flops == 9 * 8
    assert cost("Swish", (8,)).flops == 5 * 8  # x * sigmoid(x)
    assert cost("Swish", (8,), alpha=1.702).flops == 6 * 8  # + alpha * x


def test_integer_and_boolean_inputs() -> None:
    shape_maths = cost("Add", (4,), (4,), dtype="int64")
    assert (shape_maths.flops, shape_maths.int_ops) == (0, 4)  # integer work, not FLOPs
    logic = cost("And", (4, 4), (4, 4), dtype="bool")
    assert logic.flops == logic.int_ops == 0
    assert REGISTRY.status("And") == "costed"  # zero on purpose, not unknown
    assert cost("Equal", (4, 4), (4, 4)).flops == 16  # float comparison: 1 per output


def test_where_with_bool_condition_is_float_work() -> None:
    inputs = (TensorSpec((4, 1), "bool"), TensorSpec((1, 5)), TensorSpec((1, 5)))
    result = REGISTRY.cost(Node("Where", inputs))
    assert result is not None and result.flops == 4 * 5  # one select per output


def test_elementwise_without_inputs_or_broadcast_raises() -> None:
    with pytest.raises(CostError, match=r"Add 'add_0' in scope 'model.block'"):
        cost("Add", (2, 3), (4, 3))
    with pytest.raises(CostError, match="at least one input"):
        cost("Relu")
