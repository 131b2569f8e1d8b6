"""Every ai.onnx operator (domain "", opsets 7+) is costed, free or unsupported on purpose."""

from __future__ import annotations

import onnx.defs
import onnx_helpers  # noqa: F401  (registers the ONNX-specific formulas)
import pytest

from flopcount.costs import REGISTRY
from flopcount.costs.onnx_ops import UNSUPPORTED

COSTED = {
    "Abs", "Acos", "Acosh", "Add", "AffineGrid", "And", "ArgMax", "ArgMin", "Asin", "Asinh",
    "Atan", "Atanh", "Attention", "AveragePool", "BatchNormalization", "BitShift", "BitwiseAnd",
    "BitwiseNot", "BitwiseOr", "BitwiseXor", "BlackmanWindow", "CausalConvWithState", "Ceil",
    "Celu", "Clip", "Col2Im", "Conv", "ConvInteger", "ConvTranspose", "Cos", "Cosh", "CumProd",
    "CumSum", "DFT", "DeformConv", "DequantizeLinear", "Det", "Div", "DynamicQuantizeLinear",
    "Einsum", "Elu", "Equal", "Erf", "Exp", "Floor", "GRU", "Gelu", "Gemm", "GlobalAveragePool",
    "GlobalLpPool", "GlobalMaxPool", "Greater", "GreaterOrEqual", "GridSample",
    "GroupNormalization", "HammingWindow", "HannWindow", "HardSigmoid", "HardSwish", "Hardmax",
    "InstanceNormalization", "IsInf", "IsNaN", "LRN", "LSTM", "LayerNormalization", "LeakyRelu",
    "Less", "LessOrEqual", "LinearAttention", "Log", "LogSoftmax", "LpNormalization", "LpPool",
    "MatMul", "MatMulInteger", "Max", "MaxPool", "Mean", "MeanVarianceNormalization",
    "MelWeightMatrix", "Min", "Mish", "Mod", "Mul", "Neg", "NegativeLogLikelihoodLoss", "NonZero",
    "Not", "Or", "PRelu", "Pow", "QLinearConv", "QLinearMatMul", "QuantizeLinear",
    "RMSNormalization", "RNN", "Reciprocal", "ReduceL1", "ReduceL2", "ReduceLogSum",
    "ReduceLogSumExp", "ReduceMax", "ReduceMean", "ReduceMin", "ReduceProd", "ReduceSum",
    "ReduceSumSquare", "Relu", "Resize", "RoiAlign", "RotaryEmbedding", "Round", "STFT", "Selu",
    "Shrink", "Sigmoid", "Sign", "Sin", "Sinh", "Softmax", "SoftmaxCrossEntropyLoss", "Softplus",
    "Softsign", "Sqrt", "Sub", "Sum", "SwiGLU", "Swish", "Tan", "Tanh", "ThresholdedRelu", "TopK",
    "Unique", "Upsample", "Where", "Xor",
}  # fmt: skip
FREE = {
    "BitCast", "Cast", "CastLike", "CenterCropPad", "Compress", "Concat", "ConcatFromSequence",
    "Constant", "ConstantOfShape", "DepthToSpace", "Dropout", "Expand", "EyeLike", "Flatten",
    "Gather", "GatherElements", "GatherND", "Identity", "If", "Loop", "MaxUnpool", "OneHot",
    "Optional", "OptionalGetElement", "OptionalHasElement", "Pad", "Range", "Reshape",
    "ReverseSequence", "Scan", "Scatter", "ScatterElements", "ScatterND", "SequenceAt",
    "SequenceConstruct", "SequenceEmpty", "SequenceErase", "SequenceInsert", "SequenceLength",
    "Shape", "Size", "Slice", "SpaceToDepth", "Split", "SplitToSequence", "Squeeze",
    "TensorScatter", "Tile", "Transpose", "Trilu", "Unsqueeze",
}  # fmt: skip
UNSUPPORTED_EXPLICIT = {
    "Bernoulli", "ImageDecoder", "MaxRoiPool", "Multinomial", "NonMaxSuppression", "RandomNormal",
    "RandomNormalLike", "RandomUniform", "RandomUniformLike", "RegexFullMatch", "SequenceMap",
    "StringConcat", "StringNormalizer", "StringSplit", "TfIdfVectorizer",
}  # fmt: skip
TABLE = {
    **{op: "costed" for op in COSTED},
    **{op: "free" for op in FREE},
    **{op: "unsupported" for op in UNSUPPORTED_EXPLICIT},
}


def _schema_ops() -> set[str]:
    """ai.onnx operators with a schema usable at opset 7 or later."""
    latest: dict[str, onnx.defs.OpSchema] = {}
    for schema in onnx.defs.get_all_schemas_with_history():
        if schema.domain == "":
            best = latest.get(schema.name)
            if best is None or schema.since_version > best.since_version:
                latest[schema.name] = schema
    return {n for n, s in latest.items() if not (s.deprecated and s.since_version <= 7)}


def test_categories_are_disjoint() -> None:
    assert len(TABLE) == len(COSTED) + len(FREE) + len(UNSUPPORTED_EXPLICIT)


def test_every_schema_op_is_in_the_table() -> None:
    ops = _schema_ops()
    assert sorted(ops - TABLE.keys()) == []  # ops onnx knows that the table lacks
    assert sorted(TABLE.keys() - ops) == []  # table entries onnx does not know


@pytest.mark.parametrize("op", sorted(TABLE))
def test_registry_agrees_with_the_table(op: str) -> None:
    assert REGISTRY.status(op) == TABLE[op]


def test_unsupported_ops_carry_a_reason() -> None:
    assert set(UNSUPPORTED) == UNSUPPORTED_EXPLICIT
    assert all(len(reason) > 20 for reason in UNSUPPORTED.values())


def test_coverage_numbers() -> None:
    # 203 ai.onnx ops in onnx 1.23 (opsets 7-28): 137 costed + 51 free + 15 unsupported.
    assert (len(COSTED), len(FREE), len(UNSUPPORTED_EXPLICIT)) == (137, 51, 15)
