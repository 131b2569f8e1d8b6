"""Cost formulas of elementwise ops: one factory, ``per-output-element constant * output numel``.

Like fvcore's ``elementwise_flop_counter`` one factory builds every formula; unlike it the
count is per OUTPUT element, so broadcasting (a (C, 1, 1) bias added to (N, C, H, W)) costs
N*C*H*W. Constants count the scalar operations of each op's definition in the ONNX operator
spec with every scalar op = 1 FLOP, transcendental functions included (exp, log, tanh, erf,
sqrt, sin, pow: 1 each), the policy of fvcore and of TensorFlow's profiler
(``tensorflow/python/profiler/internal/flops_registry.py``: 1 FLOP per element for Exp, Tanh,
Sigmoid...). Elementwise ops perform no accumulation, so ``flops_exact`` = ``flops``.

Comparisons (Equal, Greater, ..., IsNaN, Max/Min) count 1 per output like any other
floating-point op; boolean logic (Not, And, Or, Xor) is 0 but *costed*: it is not
floating-point work, and it is not unknown either. Ops whose inputs are all integers count
in ``int_ops`` (`flopcount.costs._common.arithmetic`).
"""

from __future__ import annotations

from flopcount.costs._common import arithmetic, cost_error, flops, result_numel
from flopcount.costs.cost import Cost
from flopcount.costs.registry import CostFormula, register
from flopcount.ir import Node

__all__ = ["ELEMENTWISE_CONSTANTS", "elementwise", "elementwise_cost"]

# Ops per output element, with the definition they count (ONNX operator spec formulas).
ELEMENTWISE_CONSTANTS: dict[str, int] = {
    # Arithmetic and math functions: one scalar op each.
    "Add": 1, "Sub": 1, "Mul": 1, "Div": 1, "Pow": 1, "Mod": 1, "Neg": 1, "Abs": 1,
    "Sqrt": 1, "Reciprocal": 1, "Exp": 1, "Log": 1, "Sin": 1, "Cos": 1, "Tan": 1,
    "Floor": 1, "Ceil": 1, "Round": 1, "Sign": 1, "Erf": 1, "Tanh": 1,
    # Comparisons and selects: one compare (IsInf: compare |x| with inf).
    "Equal": 1, "Greater": 1, "Less": 1, "GreaterOrEqual": 1, "LessOrEqual": 1,
    "IsNaN": 1, "IsInf": 1, "Where": 1,
    # Boolean logic on bool tensors: no floating-point work.
    "Not": 0, "And": 0, "Or": 0, "Xor": 0,
    "Relu": 1,             # max(x, 0)
    "ThresholdedRelu": 1,  # x if x > alpha else 0: one compare
    "LeakyRelu": 2,        # x if x >= 0 else alpha * x: compare, multiply
    "PRelu": 2,            # x if x >= 0 else slope * x: compare, multiply
    "Clip": 2,             # min(max(x, lo), hi): two compares (absent bounds are +-inf)
    "Softplus": 3,         # log(exp(x) + 1): exp, add, log
    "Softsign": 3,         # x / (1 + |x|): abs, add, divide
    "Elu": 4,              # x if x >= 0 else alpha * (exp(x) - 1): compare, exp, sub, mul
    "Sigmoid": 4,          # 1 / (1 + exp(-x)): negate, exp, add, divide
    "HardSigmoid": 4,      # max(0, min(1, alpha * x + beta)): mul, add, min, max
    "Selu": 5,             # gamma * (x if x > 0 else alpha * (exp(x) - 1)): Elu's 4 + mul
    "HardSwish": 5,        # x * HardSigmoid(x) with alpha=1/6, beta=0.5: 4 + mul
    "Mish": 5,             # x * tanh(softplus(x)): softplus 3, tanh, mul
    "Celu": 7,             # max(0, x) + min(0, alpha * (exp(x / alpha) - 1)): max, div, exp,
                           # sub, mul, min, add
}  # fmt: skip

GELU_EXACT = 5  # 0.5 * x * (1 + erf(x / sqrt(2))): divide, erf, add, mul, mul
GELU_TANH = 9  # 0.5x(1 + tanh(sqrt(2/pi)(x + 0.044715x^3))): x^3 2 mul, mul, add, mul, tanh,
# add, mul, mul (ONNX Gelu-20 approximate="tanh"; Hendrycks & Gimpel 2016, eq. after sec. 2)
SWISH = 5  # x * sigmoid(alpha * x): sigmoid 4 + mul; + 1 multiply by alpha when alpha != 1


def elementwise_cost(node: Node, per_output: int) -> Cost:
    """``per_output`` ops for each output element (numel of the broadcast result)."""
    if not node.inputs:
        raise cost_error(node, "an elementwise op needs at least one input")
    return arithmetic(node, flops(per_output * result_numel(node)))


def elementwise(per_output: int) -> CostFormula:
    """The one factory: a formula costing ``per_output`` ops per output element."""

    def formula(node: Node) -> Cost:
        return elementwise_cost(node, per_output)

    formula.__doc__ = f"{per_output} ops per output element."
    return formula


def _register_constants() -> None:
    for op, constant in ELEMENTWISE_CONSTANTS.items():
        register(op)(elementwise(constant))


_register_constants()


@register("Max", "Min", "Sum")
def variadic(node: Node) -> Cost:
    """n inputs (broadcast together): n - 1 compares or adds per output element."""
    return elementwise_cost(node, len(node.inputs) - 1)


@register("Mean")
def variadic_mean(node: Node) -> Cost:
    """n inputs: n - 1 adds + 1 divide per output element."""
    return elementwise_cost(node, len(node.inputs))


@register("Gelu")
def gelu(node: Node) -> Cost:
    """5 ops per element (erf form), 9 with ``approximate="tanh"``."""
    approximate = node.attr("approximate", "none")
    approximate = approximate.decode() if isinstance(approximate, bytes) else approximate
    return elementwise_cost(node, GELU_TANH if approximate == "tanh" else GELU_EXACT)


@register("Swish")
def swish(node: Node) -> Cost:
    """x * sigmoid(alpha * x): 5 per element (SiLU), 6 when ``alpha`` != 1."""
    return elementwise_cost(node, SWISH + int(float(node.attr("alpha", 1.0)) != 1.0))
