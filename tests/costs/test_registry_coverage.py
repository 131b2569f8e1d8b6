"""Every op of the common vocabulary is costed or free as documented; errors carry context."""

from __future__ import annotations

import itertools

import pytest

from flopcount.costs import REGISTRY, ZERO, Registry, cost_error
from flopcount.errors import CostError, RegistryError
from flopcount.ir import Node, TensorSpec

CONTRACTIONS = [
    "Conv", "ConvTranspose", "MatMul", "Gemm", "Einsum", "ScaledDotProductAttention", "Attention",
]  # fmt: skip
ELEMENTWISE = [
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mean", "Sum", "Mod", "Neg", "Abs", "Sqrt",
    "Reciprocal", "Exp", "Log", "Sin", "Cos", "Tan", "Floor", "Ceil", "Round", "Sign", "Erf",
    "Relu", "LeakyRelu", "PRelu", "Elu", "Selu", "Celu", "Sigmoid", "HardSigmoid", "HardSwish",
    "Tanh", "Softplus", "Softsign", "Gelu", "Mish", "Swish", "Clip", "ThresholdedRelu", "Where",
    "Equal", "Greater", "Less", "GreaterOrEqual", "LessOrEqual", "Not", "And", "Or", "Xor",
    "IsNaN", "IsInf",
]  # fmt: skip
NORMALIZATION = [
    "BatchNormalization", "LayerNormalization", "GroupNormalization", "InstanceNormalization",
    "RMSNormalization", "LpNormalization", "Softmax", "LogSoftmax", "Hardmax",
]  # fmt: skip
POOLING = ["MaxPool", "AveragePool", "GlobalAveragePool", "GlobalMaxPool", "LpPool", "GlobalLpPool"]
REDUCTIONS = [
    "ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceL1", "ReduceL2",
    "ReduceSumSquare", "ReduceLogSum", "ReduceLogSumExp", "ArgMax", "ArgMin", "CumSum",
]  # fmt: skip
COSTED = CONTRACTIONS + ELEMENTWISE + NORMALIZATION + POOLING + REDUCTIONS
FREE = [
    "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Concat", "Split", "Slice",
    "Gather", "GatherElements", "GatherND", "Expand", "Identity", "Shape", "Size", "Constant",
    "ConstantOfShape", "Pad", "Tile", "Cast", "CastLike", "Dropout", "DepthToSpace",
    "SpaceToDepth", "Range", "ScatterElements", "ScatterND", "Trilu", "EyeLike", "OneHot",
]  # fmt: skip


@pytest.mark.parametrize("op", COSTED)
def test_costed(op: str) -> None:
    assert REGISTRY.status(op) == "costed"


@pytest.mark.parametrize("op", FREE)
def test_free(op: str) -> None:
    assert REGISTRY.status(op) == "free"
    spec = TensorSpec((2, 3))
    assert REGISTRY.cost(Node(op, (spec,), (spec,))) == ZERO


def test_the_vocabulary_lists_are_complete() -> None:
    assert len(COSTED) == len(set(COSTED)) == 7 + 53 + 9 + 6 + 13  # per family, as briefed
    assert len(FREE) == len(set(FREE)) == 30
    assert set(COSTED) | set(FREE) <= set(REGISTRY.known_ops())


def test_duplicate_registration_raises() -> None:
    with pytest.raises(RegistryError, match="'Conv' is registered twice"):
        REGISTRY.register("Conv")(REGISTRY.cost)
    with pytest.raises(RegistryError, match="'Reshape' is registered twice"):
        REGISTRY.free(["Reshape"])
    fresh = Registry()
    fresh.free(["A"])
    with pytest.raises(RegistryError):
        fresh.register("A")(REGISTRY.cost)


def test_cost_error_names_op_scope_and_shapes() -> None:
    bad = Node("Conv", (TensorSpec((1, 3, 8, 8)),), scope="encoder.stem", name="conv1")
    message = str(cost_error(bad, "W is missing", "give the weight"))
    assert "Conv 'conv1'" in message and "'encoder.stem'" in message
    assert "(1, 3, 8, 8)" in message and "W is missing" in message and "give the weight" in message


SHAPES = [(), (0,), (3,), (2, 3), (1, 2, 3), (1, 1, 1, 1)]


@pytest.mark.parametrize("op", COSTED)
def test_malformed_inputs_raise_only_cost_error(op: str) -> None:
    """Every arity 0-3 over odd shapes either costs or raises CostError naming op and scope."""
    for arity in range(4):
        for shapes in itertools.product(SHAPES, repeat=arity):
            node = Node(op, tuple(TensorSpec(s) for s in shapes), scope="fuzz.scope")
            try:
                REGISTRY.cost(node)
            except CostError as err:
                assert op in str(err) and "fuzz.scope" in str(err)
    with pytest.raises(CostError, match=rf"{op}.*fuzz.scope"):
        REGISTRY.cost(Node(op, scope="fuzz.scope"))  # no inputs at all
