"""Op families: the coarse groups a sweep table and chart show, one column/line each.

- attention: ScaledDotProductAttention, Attention (ai.onnx, com.microsoft),
  MultiHeadAttention, GroupQueryAttention, QAttention; and MatMul / Einsum / FusedMatMul whose
  operands are all activations (the Q K^T and P V products of a decomposed attention);
- matmul: MatMul, Gemm, Einsum and their fused / quantized forms with a parameter operand;
- conv: Conv, ConvTranspose, ConvInteger, QLinearConv, FusedConv;
- normalization: every ``*Normalization`` op (Layer, Batch, Group, RMS, Skip...);
- softmax: Softmax, LogSoftmax, Hardmax and their quantized / biased forms;
- pooling: every ``*Pool`` op;
- reduction: Reduce*, ArgMax, ArgMin, CumSum;
- elementwise: every other op (activations, arithmetic, comparisons, casts...).
"""

from __future__ import annotations

from flopcount.ir import Node

__all__ = ["FAMILIES", "family"]

FAMILIES = (
    "attention",
    "matmul",
    "conv",
    "normalization",
    "softmax",
    "pooling",
    "reduction",
    "elementwise",
)
_ATTENTION = frozenset(
    {
        "ScaledDotProductAttention",
        "Attention",
        "MultiHeadAttention",
        "GroupQueryAttention",
        "QAttention",
    }
)
_MATMUL = frozenset(
    {
        "MatMul",
        "Gemm",
        "Einsum",
        "FusedMatMul",
        "TransposeMatMul",
        "FusedGemm",
        "MatMulInteger",
        "QLinearMatMul",
        "QGemm",
        "DynamicQuantizeMatMul",
        "MatMulIntegerToFloat",
        "QOrderedMatMul",
        "MatMulNBits",
    }
)
_CONV = frozenset({"Conv", "ConvTranspose", "ConvInteger", "QLinearConv", "FusedConv"})
_SOFTMAX = frozenset({"Softmax", "LogSoftmax", "Hardmax", "QLinearSoftmax", "BiasSoftmax"})
_REDUCTION = frozenset({"ArgMax", "ArgMin", "CumSum"})
_ACTIVATION_KINDS = frozenset({"activation", "input"})


def family(node: Node) -> str:
    """The family (one of `FAMILIES`) of ``node``'s op."""
    op = node.op
    if op in _ATTENTION:
        return "attention"
    if op in _MATMUL:
        operands = [t for t in node.inputs[:2] if t.numel]
        if operands and all(t.kind in _ACTIVATION_KINDS for t in operands):
            return "attention"
        return "matmul"
    if op in _CONV:
        return "conv"
    if op.endswith("Normalization"):
        return "normalization"
    if op in _SOFTMAX:
        return "softmax"
    if op.endswith("Pool"):
        return "pooling"
    if op.startswith("Reduce") or op in _REDUCTION:
        return "reduction"
    return "elementwise"
