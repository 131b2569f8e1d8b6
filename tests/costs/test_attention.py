"""ScaledDotProductAttention and ai.onnx Attention: dense counts and the causal-exact figure."""

from __future__ import annotations

import itertools
import re

import pytest
from costs_helpers import cost, node

from flopcount.costs import attention_causal_exact, causal_pairs
from flopcount.errors import CostError

SDPA = "ScaledDotProductAttention"


def test_sdpa_dense_counts_two_matmuls_scale_and_softmax() -> None:
    c = cost(SDPA, (2, 4, 16, 8), (2, 4, 16, 8), (2, 4, 16, 8))
    bh, tq, tk, d, dv = 2 * 4, 16, 16, 8, 8
    scores = bh * tq * tk  # 2,048
    assert c.macs == bh * tq * tk * d + bh * tq * tk * dv == 32_768  # QK^T + PV
    assert c.flops == 2 * 32_768 + scores + 5 * scores  # + scale multiply + softmax (5 each)
    qk_exact = scores * (2 * d - 1)  # a dot of length d per score
    pv_exact = bh * tq * dv * (2 * tk - 1)  # a dot of length tk per output element
    softmax_exact = 5 * scores - 2 * bh * tq  # row max and row sum skip their first term
    assert c.flops_exact == qk_exact + pv_exact + scores + softmax_exact


def test_sdpa_gqa_follows_query_heads() -> None:
    c = cost(SDPA, (2, 8, 16, 64), (2, 2, 16, 64), (2, 2, 16, 64))
    assert c.macs == (2 * 8) * 16 * 16 * (64 + 64)  # B * H_q, not B * H_kv


def test_sdpa_masking_costs_one_op_per_score() -> None:
    plain = cost(SDPA, (1, 2, 6, 4), (1, 2, 6, 4), (1, 2, 6, 4))
    scores = 1 * 2 * 6 * 6
    causal = cost(SDPA, (1, 2, 6, 4), (1, 2, 6, 4), (1, 2, 6, 4), is_causal=True)
    masked = cost(SDPA, (1, 2, 6, 4), (1, 2, 6, 4), (1, 2, 6, 4), (1, 1, 6, 6))
    assert causal.macs == plain.macs  # dense by default
    assert causal.flops == plain.flops + scores == masked.flops


def test_causal_exact_square() -> None:
    n = node(SDPA, (2, 4, 16, 8), (2, 4, 16, 8), (2, 4, 16, 8), is_causal=True)
    exact = attention_causal_exact(n)
    pairs = 16 * 17 // 2  # lower triangle including the diagonal: 136
    bh = 2 * 4
    assert exact.macs == bh * pairs * (8 + 8)
    assert exact.flops == 2 * exact.macs + bh * pairs + 5 * bh * pairs  # no masking op
    pv_exact = bh * 8 * (2 * pairs - 16)  # row i: 8 dots of i + 1 terms
    assert exact.flops_exact == bh * pairs * 15 + pv_exact + bh * pairs + (
        5 * bh * pairs - 2 * bh * 16
    )


def test_causal_pairs_against_brute_force() -> None:
    for tq, tk, offset in itertools.product(range(7), range(7), range(-8, 9)):
        rows = [sum(1 for j in range(tk) if j <= i + offset) for i in range(tq)]
        assert causal_pairs(tq, tk, offset) == (sum(rows), sum(1 for r in rows if r))
    assert causal_pairs(4, 8, 4) == (5 + 6 + 7 + 8, 4)  # bottom-right, as the ONNX spec draws


def test_causal_exact_offset_override() -> None:
    n = node(SDPA, (1, 1, 4, 2), (1, 1, 8, 2), (1, 1, 8, 2), is_causal=True)
    assert attention_causal_exact(n).macs == (1 + 2 + 3 + 4) * (2 + 2)  # top-left (PyTorch)
    assert attention_causal_exact(n, offset=8 - 4).macs == (5 + 6 + 7 + 8) * (2 + 2)


def test_onnx_attention_4d_and_3d_agree() -> None:
    four = cost("Attention", (1, 8, 10, 32), (1, 2, 12, 32), (1, 2, 12, 48))
    assert four.macs == (1 * 8) * 10 * 12 * (32 + 48)  # B*H_q*Tq*Tk*(d + dv)
    three = cost(
        "Attention",
        (1, 10, 8 * 32),
        (1, 12, 2 * 32),
        (1, 12, 2 * 48),
        q_num_heads=8,
        kv_num_heads=2,
    )
    assert three == four


def test_onnx_attention_past_keys_and_softcap() -> None:
    shapes = [(1, 8, 10, 32), (1, 2, 12, 32), (1, 2, 12, 48), (0,), (1, 2, 5, 32), (1, 2, 5, 48)]
    c = cost("Attention", *shapes)  # (0,) = absent attn_mask
    assert c.macs == 8 * 10 * (12 + 5) * (32 + 48)  # keys: 5 past + 12 new
    capped = cost("Attention", *shapes, softcap=30.0)
    assert capped.flops == c.flops + 3 * 8 * 10 * 17  # c * tanh(s / c) per score
    causal = attention_causal_exact(node("Attention", *shapes, is_causal=1))
    pairs = sum(min(i + 1 + 5, 17) for i in range(10))  # bottom-right, offset = past length
    assert pairs == 105 and causal.macs == 8 * pairs * (32 + 48)


@pytest.mark.parametrize(
    ("op", "shapes", "attrs"),
    [
        (SDPA, [(2, 4, 16, 8), (2, 4, 16, 7), (2, 4, 16, 8)], {}),  # K head size differs
        (SDPA, [(2, 4, 16, 8), (2, 4, 16, 8)], {}),  # no V
        (SDPA, [(2, 6, 16, 8), (2, 4, 16, 8), (2, 4, 16, 8)], {}),  # 4 KV heads for 6 Q heads
        ("Attention", [(1, 10, 256), (1, 12, 64), (1, 12, 96)], {}),  # 3-D needs head counts
        ("Attention", [(1, 8, 10, 32), (1, 3, 12, 32), (1, 3, 12, 32)], {}),  # 8 % 3 != 0
        ("Attention", [(1, 8, 10, 32), (1, 12, 64), (1, 12, 96)], {}),  # mixed ranks
    ],
)
def test_malformed_attention_raises(
    op: str, shapes: list[tuple[int, ...]], attrs: dict[str, object]
) -> None:
    with pytest.raises(CostError, match=rf"{op} .*model\.block.*{re.escape(str(shapes[0]))}"):
        cost(op, *shapes, **attrs)
