"""Cost formulas of the com.microsoft ops ONNX Runtime's transformer optimizer emits.

Shapes and semantics follow ONNX Runtime's ``docs/ContribOperators.md``. Every fused op is
costed as the ops it fuses, through the formulas of the common ops, so that an optimized model
costs what its unfused original costs (a test checks this on a BERT-like encoder):

- Attention = the QKV projection (a MatMul with bias) + ScaledDotProductAttention;
- SkipLayerNormalization = the residual (and bias) adds + LayerNormalization;
- FastGelu = bias add + Gelu(approximate="tanh"); BiasGelu = Add + Gelu; and so on.
"""

from __future__ import annotations

from flopcount.costs._common import (
    FLOAT_DTYPES,
    arithmetic,
    cost_error,
    flops,
    optional_input,
    require_inputs,
)
from flopcount.costs.attention import SDPA, attention
from flopcount.costs.contraction import matmul_cost
from flopcount.costs.cost import Cost
from flopcount.costs.elementwise import ELEMENTWISE_CONSTANTS, GELU_EXACT, GELU_TANH
from flopcount.costs.normalization import layer_normalization, rms_normalization
from flopcount.costs.onnx_ops import proxy
from flopcount.costs.ops_contraction import conv_formula, conv_geometry, gemm, matmul
from flopcount.costs.quantized import integer_contraction
from flopcount.costs.registry import register
from flopcount.costs.softmax import softmax
from flopcount.ir import Node, TensorSpec

__all__ = ["activation_cost", "sdpa_cost"]

MS = "com.microsoft"


def _spec(shape: tuple[int, ...], like: TensorSpec) -> TensorSpec:
    """A float spec of ``shape`` (``like``'s dtype when floating; attention of a quantized
    op runs in float32 after dequantisation)."""
    return TensorSpec(shape=shape, dtype=like.dtype if like.dtype in FLOAT_DTYPES else "float32")


def sdpa_cost(
    node: Node,
    shapes: tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]],
    causal: bool,
    mask: bool,
) -> Cost:
    """ScaledDotProductAttention (`flopcount.costs.attention`) of Q, K, V ``shapes``
    (B, heads, T, head size), as a float computation."""
    like = node.inputs[0]
    specs = tuple(_spec(s, like) for s in shapes)
    if mask:
        specs += (_spec((1,), like),)
    return attention(proxy(node, SDPA, specs, is_causal=causal))


def activation_cost(node: Node, outputs: int) -> Cost:
    """A fused ``activation`` attribute (Relu, Sigmoid, LeakyRelu, Clip...) per output."""
    name = node.attr("activation")
    if not name:
        return Cost()
    if name not in ELEMENTWISE_CONSTANTS:
        raise cost_error(node, f"unknown fused activation {name!r}")
    return flops(ELEMENTWISE_CONSTANTS[name] * outputs)


def _heads(node: Node) -> int:
    heads = int(node.attr("num_heads", 0))
    if heads < 1:
        raise cost_error(node, "attribute num_heads must be >= 1")
    return heads


def _attention_core(node: Node, b: int, s: int, sizes: list[int], past: int) -> Cost:
    heads = _heads(node)
    dq, dk, dv = (size // heads for size in sizes)
    total = past + s
    shapes = ((b, heads, s, dq), (b, heads, total, dk), (b, heads, total, dv))
    mask = optional_input(node, 3) is not None or optional_input(node, 5) is not None
    return sdpa_cost(node, shapes, bool(node.attr("unidirectional", 0)), mask)


@register("Attention", domain=MS)
def ms_attention(node: Node) -> Cost:
    """input (B, S, In), weights (In, Dq + Dk + Dv), optional bias, mask_index, past
    (2, B, heads, P, size), relative_position_bias: projection + attention over P + S keys."""
    require_inputs(node, 2, 8)
    b, s, width = node.inputs[0].shape
    total = node.inputs[1].shape[1]
    sizes = list(node.attr("qkv_hidden_sizes") or [total // 3] * 3)
    past = optional_input(node, 4)
    projection = matmul_cost(b * s, width, total, bias=optional_input(node, 2) is not None)
    core = _attention_core(node, b, s, sizes, past.shape[3] if past is not None else 0)
    return arithmetic(node, projection + core)


@register("QAttention", domain=MS)
def q_attention(node: Node) -> Cost:
    """input, weight (int8), bias, input_scale, weight_scale, optional mask_index, input_zp,
    weight_zp, past: integer projection, dequantisation (scale multiply + bias add per
    projected element), float attention."""
    require_inputs(node, 5, 9)
    x, w = node.inputs[0], node.inputs[1]
    b, s, width = x.shape
    total = w.shape[1]
    zps = (x if optional_input(node, 6) else None, w if optional_input(node, 7) else None)
    projection = integer_contraction(b * s * width * total, *zps) + flops(2 * b * s * total)
    past = optional_input(node, 8)
    core = _attention_core(node, b, s, [total // 3] * 3, past.shape[3] if past else 0)
    return projection + core


def _mha_dims(node: Node) -> tuple[int, int, int, int, int, int]:
    """(B, S, heads, head size, key length, value head size) of MultiHeadAttention."""
    q = node.inputs[0].shape
    heads = _heads(node)
    if len(q) == 5:  # packed QKV (B, S, N, 3, H)
        return q[0], q[1], heads, q[4], q[1], q[4]
    k = node.inputs[1].shape if optional_input(node, 1) is not None else None
    v = node.inputs[2].shape if optional_input(node, 2) is not None else None
    if k is None:
        raise cost_error(node, "needs key (or packed QKV in query)")
    length = k[2] if len(k) == 4 else k[1]
    head_v = k[4] if len(k) == 5 else (v[3] if v is not None and len(v) == 4 else 0)
    if not head_v and v is not None:
        head_v = v[2] // heads
    return q[0], q[1], heads, q[2] // heads, length, head_v


@register("MultiHeadAttention", domain=MS)
def multi_head_attention(node: Node) -> Cost:
    """query (B, S, D) or packed (B, S, N, 3, H); key (B, L, D), (B, N, L, H) or packed
    (B, L, N, 2, H); value; optional bias (added to the 3-D / packed inputs), masks, past
    (B, N, P, H): bias adds + attention over P + L keys."""
    require_inputs(node, 1, 10)
    b, s, heads, head, length, head_v = _mha_dims(node)
    past = optional_input(node, 6)
    total = length + (past.shape[2] if past is not None else 0)
    bias = 0
    if optional_input(node, 3) is not None:
        bias = b * heads * (s * head + length * (head + head_v))
    shapes = ((b, heads, s, head), (b, heads, total, head), (b, heads, total, head_v))
    mask = optional_input(node, 4) is not None or optional_input(node, 5) is not None
    core = sdpa_cost(node, shapes, bool(node.attr("unidirectional", 0)), mask)
    return arithmetic(node, flops(bias) + core)


@register("GroupQueryAttention", domain=MS)
def group_query_attention(node: Node) -> Cost:
    """query (B, S, N*H) (or packed with K, V), key, value (B, S, Nkv*H), past_key (B, Nkv, P,
    H): rotary on Q and K when ``do_rotary`` (3 per rotated element), causal attention over
    ``total_sequence_length`` keys (a frontend-resolved constant; else P + S), + softcap."""
    require_inputs(node, 1, 12)
    b, s, width = node.inputs[0].shape
    heads, kv_heads = _heads(node), int(node.attr("kv_num_heads", 0))
    packed = optional_input(node, 1) is None
    head = width // (heads + 2 * kv_heads) if packed else width // heads
    past = optional_input(node, 3)
    total = int(node.attr("total_sequence_length", (past.shape[2] if past else 0) + s))
    cos = optional_input(node, 7)
    rotary = 0
    if node.attr("do_rotary", 0) and cos is not None:
        rotary = 3 * b * s * (heads + kv_heads) * 2 * cos.shape[-1]
    shapes = ((b, heads, s, head), (b, kv_heads, total, head), (b, kv_heads, total, head))
    core = sdpa_cost(node, shapes, True, optional_input(node, 10) is not None)
    softcap = 3 * b * heads * s * total * int(float(node.attr("softcap", 0.0)) != 0.0)
    return arithmetic(node, flops(rotary + softcap) + core)


@register("SkipLayerNormalization", domain=MS)
def skip_layer_normalization(node: Node) -> Cost:
    """input, skip, gamma, optional beta, bias: x + skip (+ bias), then LayerNormalization."""
    require_inputs(node, 3, 5)
    x = node.inputs[0]
    adds = x.numel * (1 + int(optional_input(node, 4) is not None))
    affine = (x, node.inputs[2]) + ((node.inputs[3],) if optional_input(node, 3) else ())
    return arithmetic(node, flops(adds)) + layer_normalization(
        proxy(node, "LayerNormalization", affine, axis=-1)
    )


@register("SkipSimplifiedLayerNormalization", domain=MS)
def skip_simplified_layer_normalization(node: Node) -> Cost:
    """input, skip, gamma, optional bias: x + skip (+ bias), then RMSNormalization."""
    require_inputs(node, 3, 4)
    x = node.inputs[0]
    adds = x.numel * (1 + int(optional_input(node, 3) is not None))
    rms = rms_normalization(proxy(node, "RMSNormalization", (x, node.inputs[2]), axis=-1))
    return arithmetic(node, flops(adds)) + rms


@register("SimplifiedLayerNormalization")  # ONNX Runtime defines it in the ONNX domain
def simplified_layer_normalization(node: Node) -> Cost:
    """X, scale over dims ``axis``... : RMSNormalization (LayerNorm without mean or bias).
    ONNX Runtime registers this op in the default domain (its optimizer emits it there); the
    registry's fallback also serves a com.microsoft spelling."""
    require_inputs(node, 2)
    axis = int(node.attr("axis", -1))
    return rms_normalization(proxy(node, "RMSNormalization", node.inputs[:2], axis=axis))


@register("EmbedLayerNormalization", domain=MS)
def embed_layer_normalization(node: Node) -> Cost:
    """input_ids (B, S), segment_ids, word / position / segment embeddings, gamma, beta,
    mask: gathers (free), 1 add (2 with segments) per element, LayerNormalization of
    (B, S, H), and the mask's per-row sum (integer work)."""
    require_inputs(node, 7, 9)
    b, s = node.inputs[0].shape
    hidden = node.inputs[2].shape[1]
    x = TensorSpec(shape=(b, s, hidden), dtype=node.inputs[2].dtype)
    adds = x.numel * (1 + int(optional_input(node, 4) is not None))
    norm = layer_normalization(proxy(node, "LayerNormalization", (x, *node.inputs[5:7])))
    mask = b * s * int(optional_input(node, 7) is not None)
    return arithmetic(node, flops(adds)) + norm + Cost(int_ops=mask)


def _transposed(spec: TensorSpec, flag: object) -> TensorSpec:
    if not flag or spec.rank < 2:
        return spec
    return TensorSpec(shape=(*spec.shape[:-2], spec.shape[-1], spec.shape[-2]), dtype=spec.dtype)


@register("FusedMatMul", "TransposeMatMul", domain=MS)
def fused_matmul(node: Node) -> Cost:
    """alpha * A' @ B' (``transA`` / ``transB`` swap the last two axes): the MatMul, plus a
    multiply per output when alpha != 1."""
    require_inputs(node, 2)
    a = _transposed(node.inputs[0], node.attr("transA", 0))
    b = _transposed(node.inputs[1], node.attr("transB", 0))
    product = matmul(proxy(node, "MatMul", (a, b)))
    outputs = product.macs // a.shape[-1] if a.shape[-1] else 0
    return product + arithmetic(node, flops(outputs * (float(node.attr("alpha", 1.0)) != 1.0)))


@register("FusedGemm", domain=MS)
def fused_gemm(node: Node) -> Cost:
    """Gemm followed by its ``activation`` per output."""
    product = gemm(node)
    a, b = node.inputs[0].shape, node.inputs[1].shape
    m = a[1] if node.attr("transA", 0) else a[0]
    n = b[0] if node.attr("transB", 0) else b[1]
    return product + arithmetic(node, activation_cost(node, m * n))


@register("FusedConv", domain=MS)
def fused_conv(node: Node) -> Cost:
    """X, W, optional B, optional Z: Conv, + Z (one add per output), then ``activation``."""
    require_inputs(node, 2, 4)
    conv_node = proxy(node, "Conv", node.inputs[:3], **node.attrs)
    outputs = conv_geometry(proxy(node, "Conv", node.inputs[:2], **node.attrs)).output_elements
    z = outputs * int(optional_input(node, 3) is not None)
    return conv_formula(conv_node) + arithmetic(node, flops(z) + activation_cost(node, outputs))


def _per_element(node: Node, count: int) -> Cost:
    return arithmetic(node, flops(count * node.inputs[0].numel))


@register("BiasGelu", domain=MS)
def bias_gelu(node: Node) -> Cost:
    """Gelu(A + bias): 1 add + Gelu's 5 (erf form) per element."""
    return _per_element(node, 1 + GELU_EXACT)


@register("FastGelu", domain=MS)
def fast_gelu(node: Node) -> Cost:
    """Gelu's tanh approximation (9 per element), after an optional bias add (1)."""
    return _per_element(node, GELU_TANH + int(optional_input(node, 1) is not None))


@register("Gelu", domain=MS)
def ms_gelu(node: Node) -> Cost:
    """Gelu, erf form: 5 per element (conventions.md)."""
    return _per_element(node, GELU_EXACT)


@register("QuickGelu", domain=MS)
def quick_gelu(node: Node) -> Cost:
    """x * sigmoid(alpha * x) (alpha = 1.702): a multiply, Sigmoid's 4, a multiply: 6."""
    return _per_element(node, ELEMENTWISE_CONSTANTS["Sigmoid"] + 2)


@register("BiasAdd", domain=MS)
def bias_add(node: Node) -> Cost:
    """X + bias + skip: 2 adds per element."""
    return _per_element(node, 2)


@register("BiasDropout", domain=MS)
def bias_dropout(node: Node) -> Cost:
    """data + bias (+ residual) at inference (dropout is the identity): 1 or 2 per element."""
    return _per_element(node, 1 + int(optional_input(node, 2) is not None))


@register("BiasSoftmax", domain=MS)
def bias_softmax(node: Node) -> Cost:
    """Softmax(data + bias) along ``axis`` (default 1): an add per element + Softmax."""
    x = node.inputs[0]
    rows = softmax(proxy(node, "Softmax", (x,), axis=int(node.attr("axis", 1))))
    return _per_element(node, 1) + rows


@register("BiasSplitGelu", domain=MS)
def bias_split_gelu(node: Node) -> Cost:
    """(B, HW, 2C) + bias, split in halves, left * Gelu(right): an add per input element,
    Gelu (5) and a multiply per output element."""
    half = node.inputs[0].numel // 2
    return arithmetic(node, flops(2 * half + half * (GELU_EXACT + 1)))


@register("RotaryEmbedding", domain=MS)
def ms_rotary_embedding(node: Node) -> Cost:
    """input (B, S, D) or (B, N, S, H), position_ids, cos_cache (P, R / 2), sin_cache: the
    first R (``rotary_embedding_dim``, default the head size) of each head rotated:
    x1 * cos - x2 * sin, 3 per rotated element."""
    require_inputs(node, 4)
    x, cos = node.inputs[0], node.inputs[2]
    heads = int(node.attr("num_heads", 0))
    head = x.shape[-1] if x.rank == 4 else x.shape[-1] // heads if heads else 2 * cos.shape[-1]
    rotary = int(node.attr("rotary_embedding_dim", 0)) or head
    return arithmetic(node, flops(3 * (x.numel // head) * rotary if head else 0))


@register("MatMulNBits", domain=MS)
def matmul_n_bits(node: Node) -> Cost:
    """A (..., K) @ dequantised B (K, N) (attributes K, N; ``bits``-bit blocks): each weight
    dequantised per call ((q - zero_point) * scale: an integer subtract, a float multiply;
    4-bit weights have an implicit zero point 8), then a float MatMul (+ bias adds)."""
    require_inputs(node, 3, 6)
    k, n = int(node.attr("K", 0)), int(node.attr("N", 0))
    rows = node.inputs[0].numel // k if k else 0
    product = matmul_cost(rows, k, n, bias=optional_input(node, 5) is not None)
    return product + Cost(flops=k * n, flops_exact=k * n, int_ops=k * n)
