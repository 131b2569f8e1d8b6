"""Cost formulas of the remaining ai.onnx ops, and the table of ops left unsupported on purpose.

The common ops (contractions, attention, elementwise, normalisation, pooling, reductions, the
free data-movement ops) live in their family modules. This module covers every other ai.onnx
operator of opsets 7+: costed here (math functions, bitwise ops, Det, LRN, losses, TopK...),
in `onnx_recurrent` (RNN, GRU, LSTM, LinearAttention, CausalConvWithState), `onnx_sampling`
(Resize, GridSample, RoiAlign, DeformConv...), `onnx_signal` (DFT, STFT, windows) and
`quantized`; declared free (`ONNX_FREE_OPS`); or listed in `UNSUPPORTED` with the reason
their cost cannot follow from shapes. Constants follow ``docs/conventions.md`` (every scalar op
and elementary function is 1 FLOP; comparisons count; integer work goes to ``int_ops``).
"""

from __future__ import annotations

import math
from typing import Any

from flopcount.costs._common import (
    accumulations,
    arithmetic,
    flops,
    int_attr,
    normalize_axis,
    optional_input,
    require_inputs,
    require_rank,
)
from flopcount.costs.cost import Cost
from flopcount.costs.elementwise import SWISH, elementwise, elementwise_cost
from flopcount.costs.reduction import cumsum
from flopcount.costs.registry import free, register
from flopcount.costs.softmax import softmax_rows_cost
from flopcount.ir import Node, TensorSpec

__all__ = ["ONNX_FREE_OPS", "UNSUPPORTED", "ceil_log2", "proxy"]

# Ops moving or relabelling data only (memory traffic, no arithmetic), and the control-flow
# containers, whose bodies the frontend lowers as separate nodes carrying ``attrs["repeat"]``.
ONNX_FREE_OPS: tuple[str, ...] = (
    "BitCast", "CenterCropPad", "Compress", "ConcatFromSequence", "MaxUnpool", "Optional",
    "OptionalGetElement", "OptionalHasElement", "ReverseSequence", "Scatter", "SequenceAt",
    "SequenceConstruct", "SequenceEmpty", "SequenceErase", "SequenceInsert", "SequenceLength",
    "SplitToSequence", "TensorScatter", "If", "Loop", "Scan",
)  # fmt: skip
free(ONNX_FREE_OPS)

_RNG = "pseudo-random generation: its cost is the generator's (Philox, Mersenne Twister...), "
_RNG += "which the ONNX spec leaves to the runtime"
_STRINGS = "string processing: no arithmetic model"
# ai.onnx ops deliberately left unsupported: reported as such, never as zero.
UNSUPPORTED: dict[str, str] = {
    "Bernoulli": _RNG, "Multinomial": _RNG, "RandomNormal": _RNG, "RandomNormalLike": _RNG,
    "RandomUniform": _RNG, "RandomUniformLike": _RNG,
    "ImageDecoder": "decoding cost depends on the encoded bytes (JPEG, PNG...), not on shapes",
    "MaxRoiPool": "each pooled bin covers a region sized by the ROI coordinates: tensor values",
    "NonMaxSuppression": "the number of IoU tests depends on the scores and boxes (values)",
    "TfIdfVectorizer": "n-gram matching cost depends on the token values",
    "SequenceMap": "its body runs once per sequence element; the count is a runtime value",
    "RegexFullMatch": _STRINGS, "StringConcat": _STRINGS, "StringNormalizer": _STRINGS,
    "StringSplit": _STRINGS,
}  # fmt: skip

# Inverse trigonometric and hyperbolic functions: 1 FLOP each (conventions.md policy).
for _op in ("Acos", "Acosh", "Asin", "Asinh", "Atan", "Atanh", "Cosh", "Sinh"):
    register(_op)(elementwise(1))
# Bitwise ops: 1 op per output element; on integer tensors `arithmetic` makes it int_ops.
for _op in ("BitShift", "BitwiseAnd", "BitwiseNot", "BitwiseOr", "BitwiseXor"):
    register(_op)(elementwise(1))
# Shrink (ONNX spec): x < -lambd: x + bias; x > lambd: x - bias; else 0: 2 compares + 1 add.
register("Shrink")(elementwise(3))


def ceil_log2(n: int) -> int:
    """ceil(log2(n)) for n >= 1, exactly (0 for n <= 1)."""
    return (n - 1).bit_length() if n > 1 else 0


def proxy(node: Node, op: str, inputs: tuple[TensorSpec, ...], **attrs: Any) -> Node:
    """A stand-in node for composing costs from other formulas (same name and scope)."""
    return Node(op=op, inputs=inputs, attrs=attrs, scope=node.scope, name=node.name)


@register("CumProd")
def cumprod(node: Node) -> Cost:
    """Running products along one axis: 1 multiply per element, 1 fewer per row exact (the
    counting of CumSum, `flopcount.costs.reduction.cumsum`)."""
    return cumsum(node)


@register("SwiGLU")
def swiglu(node: Node) -> Cost:
    """Y = Swish_alpha(A) * B (ONNX SwiGLU-28): Swish's 5 (6 if alpha != 1) + 1 multiply."""
    require_inputs(node, 2)
    return elementwise_cost(node, SWISH + int(float(node.attr("alpha", 1.0)) != 1.0) + 1)


@register("NonZero")
def non_zero(node: Node) -> Cost:
    """One compare with zero per input element (writing the indices is data movement)."""
    require_inputs(node, 1)
    return arithmetic(node, flops(node.inputs[0].numel))


@register("Det")
def det(node: Node) -> Cost:
    """X (..., n, n): LU with partial pivoting, then the product of U's diagonal (Golub & Van
    Loan, Matrix Computations 4th ed., Alg. 3.4.1; 2n^3/3 leading term). Per matrix, exactly:
    pivot search n(n-1)/2 compares, multipliers n(n-1)/2 divides, updates n(n-1)(2n-1)/3
    (a multiply and a subtract per entry), diagonal product n - 1 multiplies."""
    x = require_rank(node, 0, 2)
    n = x.shape[-1]
    per_matrix = n * (n - 1) + n * (n - 1) * (2 * n - 1) // 3 + max(n - 1, 0)
    return arithmetic(node, flops(math.prod(x.shape[:-2]) * per_matrix))


@register("LRN")
def lrn(node: Node) -> Cost:
    """X (N, C, *): square_sum over the channel window [c - floor((size-1)/2), c +
    ceil((size-1)/2)] clipped to [0, C) (a square and an add per term), then
    x / (bias + alpha / size * square_sum) ** beta: 4 per element (ONNX LRN spec)."""
    x = require_rank(node, 0, 3)
    channels, size = x.shape[1], int_attr(node, "size", 1)
    lo, hi = (size - 1) // 2, math.ceil((size - 1) / 2)
    terms = sum(min(c + hi, channels - 1) - max(c - lo, 0) + 1 for c in range(channels))
    positions = x.numel // channels if channels else 0
    sums = 2 * positions * terms  # exact: each window's first term needs no add
    return arithmetic(node, flops(sums + 4 * x.numel, sums - x.numel + 4 * x.numel))


@register("MeanVarianceNormalization")
def mean_variance_normalization(node: Node) -> Cost:
    """(X - E[X]) / (sqrt(E[X^2] - E[X]^2) + eps) over ``axes`` (default [0, 2, 3]), the
    ONNX function body: X^2, two mean accumulations, subtract, divide: 5 per element; two mean
    divides, E[X]^2, subtract, sqrt, + eps: 6 per group; exact 2 fewer per group."""
    x = require_rank(node, 0, 1)
    axes = [normalize_axis(node, int(a), x.rank) for a in node.attr("axes", [0, 2, 3])]
    size = math.prod(x.shape[a] for a in set(axes))
    groups = x.numel // size if size else 0
    return arithmetic(node, flops(5 * x.numel + 6 * groups, 5 * x.numel + 4 * groups))


def _nll(node: Node, targets: int, weighted: bool) -> Cost:
    """Gathered -log p (1 negate, * weight if given) and the reduction (ONNX NLL spec)."""
    cost = flops(targets * (1 + int(weighted)))
    reduction = node.attr("reduction", "mean")
    if reduction in ("sum", "mean"):
        cost = cost + accumulations(1, targets)
    if reduction == "mean":
        cost = cost + (accumulations(1, targets) if weighted else flops(0)) + flops(1)
    ignore = int(node.attr("ignore_index") is not None) * targets
    return cost + Cost(int_ops=ignore)


@register("NegativeLogLikelihoodLoss")
def negative_log_likelihood_loss(node: Node) -> Cost:
    """input (N, C, *), target (N, *), optional weight (C): per target a negate and a weight
    multiply; sum: an add per target; mean: also the weight sum and a divide; an
    ``ignore_index`` test per target is integer work."""
    require_inputs(node, 2, 3)
    return _nll(node, node.inputs[1].numel, optional_input(node, 2) is not None)


@register("SoftmaxCrossEntropyLoss")
def softmax_cross_entropy_loss(node: Node) -> Cost:
    """scores (N, C, *), labels (N, *), optional weights: LogSoftmax over C (5 per element + a
    log per row, `flopcount.costs.softmax`), then NegativeLogLikelihoodLoss."""
    require_inputs(node, 2, 3)
    scores = require_rank(node, 0, 2)
    rows = scores.numel // scores.shape[1] if scores.shape[1] else 0
    log_softmax = softmax_rows_cost(scores.numel, rows) + flops(rows)
    nll = _nll(node, node.inputs[1].numel, optional_input(node, 2) is not None)
    return arithmetic(node, log_softmax) + nll


@register("TopK")
def top_k(node: Node) -> Cost:
    """X, K along ``axis`` (default -1), nominal comparison count (documented convention):
    k = 1 is an argmax (n compares, n - 1 exact); otherwise a binary heap of k (Knuth, TAOCP
    vol. 3, 5.2.3): each of n elements is tested against the root and may sift through
    ceil(log2 k) levels, n * (1 + ceil(log2 k)) compares per row, plus k * ceil(log2 k) to
    sort the result when ``sorted`` (default 1). K comes from ``attrs["k"]`` or the output."""
    x = require_rank(node, 0, 1)
    axis = normalize_axis(node, int_attr(node, "axis", -1), x.rank)
    n = x.shape[axis]
    k = int(node.attr("k", node.outputs[0].shape[axis] if node.outputs else n))
    rows = x.numel // n if n else 0
    if k <= 1:
        return arithmetic(node, accumulations(rows, n))
    per_row = n * (1 + ceil_log2(k)) + (k * ceil_log2(k) if int_attr(node, "sorted", 1) else 0)
    return arithmetic(node, flops(rows * per_row))


@register("Unique")
def unique(node: Node) -> Cost:
    """Sort-based (ONNX Unique returns sorted values by default): n * ceil(log2 n) compares to
    sort, n - 1 to find the runs; along ``axis`` each compare spans a slice of the tensor."""
    x = require_rank(node, 0, 0)
    axis = node.attr("axis")
    n = x.numel if axis is None else x.shape[normalize_axis(node, int(axis), x.rank)]
    width = x.numel // n if n else 0
    return arithmetic(node, flops(width * (n * ceil_log2(n) + max(n - 1, 0))))


@register("RotaryEmbedding")
def rotary_embedding(node: Node) -> Cost:
    """X (B, S, heads * D) with ``num_heads``, or (B, heads, S, D); rotate the first
    ``rotary_embedding_dim`` (0: all D) of each head: x1 * cos - x2 * sin, 3 per rotated
    element (ONNX RotaryEmbedding-23); the rest is copied, the cache lookups are gathers."""
    x = require_rank(node, 0, 3, 4)
    heads = int_attr(node, "num_heads", 0)
    head = x.shape[-1] if x.rank == 4 or heads == 0 else x.shape[-1] // heads
    rotary = int_attr(node, "rotary_embedding_dim", 0) or head
    return arithmetic(node, flops(3 * (x.numel // head * rotary if head else 0)))
