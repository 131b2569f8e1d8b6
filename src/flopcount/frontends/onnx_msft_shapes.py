"""Output shapes of the com.microsoft ops ONNX Runtime's optimizers emit.

ONNX shape inference does not know ONNX Runtime's contrib ops, so their output shapes come
from these rules, written from the operator documentation in ONNX Runtime's
``docs/ContribOperators.md`` (inputs, attributes and output shapes per op). A rule receives the
node's attributes and input shapes (``None`` for an absent input or an unknown shape) and
returns one shape per output, or ``None`` where it cannot tell. Dimensions may be symbols.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from flopcount.frontends.onnx_values import Dim, Shape

__all__ = ["AS_ONNX_OP", "MSFT_RULES", "SAME_AS_INPUT", "broadcast_shapes", "matmul_shape"]

Shapes = Sequence[Shape]
Rule = Callable[[dict[str, Any], Shapes], list[Shape]]


def _mul(a: Dim, b: Dim) -> Dim:
    return a * b if isinstance(a, int) and isinstance(b, int) else f"({a}*{b})"


def _add(a: Dim, b: Dim) -> Dim:
    return a + b if isinstance(a, int) and isinstance(b, int) else f"({a}+{b})"


def _div(a: Dim, b: int) -> Dim:
    return a // b if isinstance(a, int) else f"({a}/{b})"


def _at(shapes: Shapes, index: int) -> tuple[Dim, ...] | None:
    return shapes[index] if index < len(shapes) else None


def broadcast_shapes(shapes: Sequence[tuple[Dim, ...]]) -> tuple[Dim, ...]:
    """Multidirectional (NumPy) broadcasting that tolerates symbols (a known size wins)."""
    rank = max((len(s) for s in shapes), default=0)
    result: list[Dim] = []
    for axis in range(-rank, 0):
        dims = [s[axis] for s in shapes if len(s) >= -axis]
        known = [d for d in dims if isinstance(d, int) and d != 1]
        symbols = [d for d in dims if isinstance(d, str)]
        result.append(known[0] if known else symbols[0] if symbols else 1)
    return tuple(result)


def matmul_shape(a: tuple[Dim, ...], b: tuple[Dim, ...]) -> tuple[Dim, ...]:
    """NumPy matmul's output shape (1-D operands promoted and their axis removed)."""
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    batch = broadcast_shapes([a2[:-2], b2[:-2]])
    out = (*batch, a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return out


def _transposed(shape: tuple[Dim, ...], flag: Any) -> tuple[Dim, ...]:
    return (*shape[:-2], shape[-1], shape[-2]) if flag and len(shape) >= 2 else shape


def _fused_matmul(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
    a, b = s[0], _at(s, 1)
    if a is None or b is None:
        return [None]
    a, b = _transposed(a, attrs.get("transA")), _transposed(b, attrs.get("transB"))
    return [matmul_shape(a, b)]


def _matmul_at(a_index: int, b_index: int) -> Rule:
    def rule(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
        a, b = _at(s, a_index), _at(s, b_index)
        return [None if a is None or b is None else matmul_shape(a, b)]

    return rule


def _gemm_at(b_index: int) -> Rule:
    def rule(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
        a, b = s[0], _at(s, b_index)
        if a is None or b is None or len(a) != 2 or len(b) != 2:
            return [None]
        m = a[1] if attrs.get("transA") else a[0]
        n = b[0] if attrs.get("transB") else b[1]
        return [(m, n)]

    return rule


def _n_bits(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
    a = s[0]
    return [None if a is None or "N" not in attrs else (*a[:-1], int(attrs["N"]))]


def _attention(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
    """Attention: input (B, S, In) @ weights (In, Dq + Dk + Dv) -> (B, S, Dv); present
    (2, B, heads, P + S, Dk / heads) from past (2, B, heads, P, head_size)."""
    x, w, past = s[0], _at(s, 1), _at(s, 4)
    if x is None or w is None:
        return [None, None]
    sizes = attrs.get("qkv_hidden_sizes")
    v_hidden = sizes[2] if sizes else _div(w[1], 3)
    heads = int(attrs.get("num_heads", 1))
    k_hidden = sizes[1] if sizes else _div(w[1], 3)
    total = x[1] if past is None else _add(past[3], x[1])
    return [(x[0], x[1], v_hidden), (2, x[0], heads, total, _div(k_hidden, heads))]


def _multi_head_attention(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
    """MultiHeadAttention: query (B, S, D) or packed (B, S, N, 3, H); key (B, L, D),
    (B, N, L, H) or packed (B, L, N, 2, H); out (B, S, Dv); present (B, N, P + L, H)."""
    q, k, v, past = s[0], _at(s, 1), _at(s, 2), _at(s, 6)
    heads = int(attrs.get("num_heads", 1))
    if q is None:
        return [None, None, None]
    if len(q) == 5:
        return [(q[0], q[1], _mul(q[2], q[4])), None, None]
    v_hidden: Dim = q[2]
    if v is not None:
        v_hidden = v[2] if len(v) == 3 else _mul(v[1], v[3])
    elif k is not None and len(k) == 5:
        v_hidden = _mul(k[2], k[4])
    out: Shape = (q[0], q[1], v_hidden)
    length = None if k is None else k[1] if len(k) in (3, 5) else k[2]
    if length is None:
        return [out, None, None]
    total = length if past is None else _add(past[2], length)
    head_k = _div(q[2], heads) if len(q) == 3 else q[-1]
    return [out, (q[0], heads, total, head_k), (q[0], heads, total, _div(v_hidden, heads))]


def _group_query_attention(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
    """GroupQueryAttention: query (B, S, N*H) (or packed (B, S, (N + 2 Nkv) H)) -> (B, S, N*H);
    present_key/value (B, Nkv, T, H), T the past buffer's length, else S."""
    q, k, past = s[0], _at(s, 1), _at(s, 3)
    heads, kv_heads = int(attrs.get("num_heads", 1)), int(attrs.get("kv_num_heads", 1))
    if q is None:
        return [None, None, None]
    hidden = q[2] if k is not None else _div(q[2], heads + 2 * kv_heads)
    head = _div(hidden, heads) if k is not None else hidden
    out_hidden = hidden if k is not None else _mul(hidden, heads)
    total = q[1] if past is None else past[2]
    present: Shape = (q[0], kv_heads, total, head)
    return [(q[0], q[1], out_hidden), present, present]


def _skip_layer_norm(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
    x = s[0]
    stats = None if x is None else (*x[:-1], 1)
    return [x, stats, stats, x]


def _simplified_layer_norm(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
    x = s[0]
    if x is None:
        return [None, None]
    axis = int(attrs.get("axis", -1)) % len(x)
    return [x, (*x[:axis], *([1] * (len(x) - axis)))]


def _embed_layer_norm(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
    ids, words = s[0], _at(s, 2)
    if ids is None or words is None:
        return [None, None, None]
    out = (ids[0], ids[1], words[1])
    return [out, (ids[0],), out]


def _q_linear_binary(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
    a, b = s[0], _at(s, 3)
    return [None if a is None or b is None else broadcast_shapes([a, b])]


def _q_linear_concat(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
    parts = [p for p in s[2::3]]
    if not parts or any(p is None for p in parts):
        return [None]
    first = list(parts[0])  # type: ignore[arg-type]
    axis = int(attrs.get("axis", 0)) % len(first)
    total: Dim = 0
    for part in parts:
        total = _add(total, part[axis])  # type: ignore[index]
    first[axis] = total
    return [tuple(first)]


def _q_global_pool(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
    x = s[0]
    if x is None:
        return [None]
    if attrs.get("channels_last"):
        return [(x[0], *([1] * (len(x) - 2)), x[-1])]
    return [(x[0], x[1], *([1] * (len(x) - 2)))]


def _q_attention(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
    x, w = s[0], _at(s, 1)
    if x is None or w is None:
        return [None, None]
    return [(x[0], x[1], _div(w[1], 3)), None]


def _bias_split_gelu(attrs: dict[str, Any], s: Shapes) -> list[Shape]:
    x = s[0]
    return [None if x is None else (*x[:-1], _div(x[-1], 2))]


SAME_AS_INPUT = frozenset(
    {"BiasGelu", "FastGelu", "Gelu", "QuickGelu", "BiasAdd", "BiasSoftmax", "BiasDropout",
     "RotaryEmbedding", "GemmaRotaryEmbedding", "ScaledSiLU", "QLinearSigmoid",
     "QLinearLeakyRelu", "QLinearSoftmax", "QuantizeLinear", "DequantizeLinear", "GroupNorm",
     "SkipGroupNorm", "QOrderedGelu", "QOrderedLayerNormalization", "QuantizeWithOrder",
     "DequantizeWithOrder", "ComplexMul", "ComplexMulConj", "Inverse"}
)  # fmt: skip

MSFT_RULES: dict[str, Rule] = {
    "Attention": _attention,
    "MultiHeadAttention": _multi_head_attention,
    "GroupQueryAttention": _group_query_attention,
    "SkipLayerNormalization": _skip_layer_norm,
    "SkipSimplifiedLayerNormalization": _skip_layer_norm,
    "SimplifiedLayerNormalization": _simplified_layer_norm,
    "EmbedLayerNormalization": _embed_layer_norm,
    "FusedMatMul": _fused_matmul,
    "TransposeMatMul": _fused_matmul,
    "FusedGemm": _gemm_at(1),
    "QGemm": _gemm_at(3),
    "MatMulNBits": _n_bits,
    "MatMulBnb4": _n_bits,
    "MatMulFpQ4": _n_bits,
    "QOrderedMatMul": _matmul_at(0, 2),
    "DynamicQuantizeMatMul": _matmul_at(0, 1),
    "MatMulIntegerToFloat": _matmul_at(0, 1),
    "MatMulInteger16": _matmul_at(0, 1),
    "QLinearAdd": _q_linear_binary,
    "QLinearMul": _q_linear_binary,
    "QLinearConcat": _q_linear_concat,
    "QLinearGlobalAveragePool": _q_global_pool,
    "QAttention": _q_attention,
    "BiasSplitGelu": _bias_split_gelu,
}

# Contrib ops shaped like an ai.onnx op: (that op, how many leading inputs it takes). Their
# channels-first forms only: a ``channels_last=1`` node is shaped by no rule (left unknown).
AS_ONNX_OP: dict[str, tuple[str, int]] = {
    "FusedConv": ("Conv", 3),
    "QLinearConv": ("QLinearConv", 9),
    "QLinearAveragePool": ("AveragePool", 1),
}
