"""Cost formulas of attention: flopcount's ScaledDotProductAttention and ai.onnx Attention.

Attention = two batched matmuls and a softmax (Vaswani et al. 2017, eq. 1)::

    S = scale * Q @ K^T      (BH, Tq, Tk): BH*Tq*Tk*d MACs + BH*Tq*Tk scale multiplies
    S = S + mask             1 op per score when a mask or is_causal applies (add or select)
    S = c * tanh(S / c)      3 ops per score when ai.onnx's ``softcap`` c != 0
    P = softmax(S)           5 per score (flopcount.costs.softmax)
    Y = P @ V                (BH, Tq, dv): BH*Tq*Tk*dv MACs

BH is the product of Q's batch dims (batch * query heads): with grouped-query attention K and V
hold fewer heads, each shared by several query heads, and the work follows Q.

The default count is *dense*: every Tq x Tk score, even when ``is_causal`` masks half of them,
because the plain algorithm (PyTorch's SDPA math reference, ONNX's function body) computes them
all. `attention_causal_exact` gives the figure of a kernel that skips masked scores (only the
pairs query i, key j <= i + offset), for reports to show alongside: FlashAttention's benchmarks
halve the dense count for causal (``benchmarks/benchmark_flash_attention.py``:
4 * batch * seqlen**2 * nheads * headdim // (2 if causal else 1)), while PaLM's MFU
(Chowdhery et al. 2022, appendix B) counts dense attention matmuls.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flopcount.costs._common import (
    arithmetic,
    cost_error,
    flops,
    int_attr,
    optional_input,
    require_inputs,
    require_rank,
)
from flopcount.costs.contraction import dot_cost
from flopcount.costs.cost import Cost
from flopcount.costs.registry import register
from flopcount.costs.softmax import softmax_rows_cost
from flopcount.ir import Node

__all__ = ["AttentionDims", "attention", "attention_causal_exact", "attention_dims", "causal_pairs"]

SDPA = "ScaledDotProductAttention"


@dataclass(frozen=True, slots=True)
class AttentionDims:
    """Sizes of one attention call. ``batch_heads`` = B * H_q; ``tk`` includes any past keys;
    ``offset`` = keys before query 0's diagonal (causal alignment); ``mask``: an attn_mask
    input is given; ``softcap``: ai.onnx's soft cap applies."""

    batch_heads: int
    tq: int
    tk: int
    d: int
    dv: int
    offset: int = 0
    mask: bool = False
    causal: bool = False
    softcap: bool = False

    def per_score(self, dense: bool) -> int:
        """Ops per score beyond the scale multiply: 1 to apply a mask (an add of the float mask
        or a select: counted alike), which a dense causal call also needs; 3 for the soft cap
        c * tanh(s / c) (divide, tanh, multiply)."""
        masking = self.mask or (dense and self.causal)
        return int(masking) + 3 * int(self.softcap)


def _sdpa_dims(node: Node) -> AttentionDims:
    """Q (..., Tq, d), K (..., Tk, d), V (..., Tk, dv), optional mask; top-left causal
    alignment (offset 0) as PyTorch's SDPA (``torch.ones(L, S).tril(diagonal=0)`` in its docs)."""
    require_inputs(node, 3, 4)
    q, k, v = (require_rank(node, i, 2).shape for i in range(3))
    if k[-1] != q[-1] or v[-2] != k[-2]:
        raise cost_error(node, "expected Q (..., Tq, d), K (..., Tk, d), V (..., Tk, dv)")
    if len(k) == len(q) and any(qb % kb for qb, kb in zip(q[:-2], k[:-2])):
        raise cost_error(node, "K/V batch or head dims must divide Q's (grouped-query attention)")
    return AttentionDims(
        math.prod(q[:-2]),
        q[-2],
        k[-2],
        q[-1],
        v[-1],
        offset=0,
        mask=optional_input(node, 3) is not None,
        causal=bool(node.attr("is_causal", False)),
    )


def _split_heads(node: Node, hidden: int, key: str) -> tuple[int, int]:
    """(heads, head size) of a 3-D ai.onnx Attention operand of width ``hidden``."""
    heads = node.attr(key)
    if not isinstance(heads, int) or heads < 1 or hidden % heads:
        raise cost_error(
            node,
            f"3-D inputs need attribute {key} dividing the width {hidden}",
            f"set {key} (the ONNX Attention spec requires it for 3-D Q, K, V)",
        )
    return heads, hidden // heads


def _onnx_dims(node: Node) -> AttentionDims:
    """ai.onnx Attention (opset 23+): Q, K, V either 3-D (B, T, heads * size) with
    ``q_num_heads`` / ``kv_num_heads`` or 4-D (B, heads, T, size); optional attn_mask, past_key
    (B, H_kv, T_past, d), past_value. Causal alignment is bottom-right with offset = T_past."""
    require_inputs(node, 3, 7)
    rank = require_rank(node, 0, 3, 4).rank
    q, k, v = (require_rank(node, i, rank, rank).shape for i in range(3))
    if rank == 3:
        hq, d = _split_heads(node, q[2], "q_num_heads")
        hkv, dk = _split_heads(node, k[2], "kv_num_heads")
        dv, tq, tk = v[2] // hkv, q[1], k[1]
    else:
        (hq, tq, d), (hkv, tk, dk), dv = q[1:], k[1:], v[3]
    if dk != d or hq % hkv or v[-2] != k[-2]:
        raise cost_error(
            node,
            f"Q head size {d}, K head size {dk}, {hq} query heads and {hkv} "
            "KV heads do not fit the ONNX Attention spec",
        )
    past = optional_input(node, 4)
    past_len = past.shape[2] if past is not None and past.rank == 4 else 0
    return AttentionDims(
        q[0] * hq,
        tq,
        tk + past_len,
        d,
        dv,
        offset=past_len,
        mask=optional_input(node, 3) is not None,
        causal=bool(int_attr(node, "is_causal", 0)),
        softcap=float(node.attr("softcap", 0.0)) != 0.0,
    )


def attention_dims(node: Node) -> AttentionDims:
    """The `AttentionDims` of a ScaledDotProductAttention or ai.onnx Attention node."""
    if node.op == SDPA:
        return _sdpa_dims(node)
    if node.op == "Attention":
        return _onnx_dims(node)
    raise cost_error(node, "not an attention node", f"use {SDPA} or Attention nodes")


def causal_pairs(tq: int, tk: int, offset: int = 0) -> tuple[int, int]:
    """(pairs, non-empty rows) of a causal mask: query i sees keys j <= i + offset, j < tk.

    Row i holds clamp(i + 1 + offset, 0, tk) keys; summed in closed form. Example: tq = tk = 4,
    offset 0 gives 1 + 2 + 3 + 4 = 10 = 4 * 5 / 2 pairs in 4 rows.
    """
    if tk <= 0 or tq <= 0:
        return 0, 0
    first, last = 1 + offset, tq + offset  # keys seen by the first and the last query
    lo, hi = max(first, 1), min(last, tk)
    ramp = (lo + hi) * (hi - lo + 1) // 2 if hi >= lo else 0
    full = max(0, last - max(first, tk + 1) + 1) * tk
    return ramp + full, max(0, min(tq, last))


def _attention_cost(dims: AttentionDims, pairs: int, rows: int, per_score: int) -> Cost:
    """Attention over ``pairs`` (query, key) pairs in ``rows`` non-empty rows per batch-head."""
    bh, scores = dims.batch_heads, dims.batch_heads * pairs
    qk = dot_cost(scores, dims.d)  # one dot of length d per score
    av = Cost(
        macs=scores * dims.dv,
        flops=2 * scores * dims.dv,
        flops_exact=bh * dims.dv * (2 * pairs - rows),
    )
    return qk + av + flops(scores * (1 + per_score)) + softmax_rows_cost(scores, bh * rows)


@register(SDPA, "Attention")
def attention(node: Node) -> Cost:
    """Dense attention: BH * Tq * Tk * (d + dv) MACs + scale, mask and softmax per score.

    Example: Q, K, V (2, 4, 16, 8) is 2 * 4 * 16 * 16 * (8 + 8) = 32,768 MACs.
    """
    dims = attention_dims(node)
    rows = dims.tq if dims.tk else 0  # rows with at least one key
    return arithmetic(node, _attention_cost(dims, dims.tq * dims.tk, rows, dims.per_score(True)))


def attention_causal_exact(node: Node, offset: int | None = None) -> Cost:
    """Cost of the node computing only the causal pairs (query i, key j <= i + offset).

    ``offset`` defaults to the op's alignment: 0 (top-left) for ScaledDotProductAttention, the
    past length (bottom-right) for ai.onnx Attention; pass ``tk - tq`` for bottom-right with a
    KV cache. Masking itself is skipped; an explicit mask and softcap still cost per pair.
    """
    dims = attention_dims(node)
    pairs, rows = causal_pairs(dims.tq, dims.tk, dims.offset if offset is None else offset)
    return arithmetic(node, _attention_cost(dims, pairs, rows, dims.per_score(False)))
