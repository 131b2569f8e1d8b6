"""Einsum: pairwise left-to-right contraction, arithmetic shown."""

from __future__ import annotations

import pytest
from costs_helpers import cost

from flopcount.costs import ZERO
from flopcount.errors import CostError


def test_batched_matmul_equation() -> None:
    c = cost("Einsum", (2, 3, 4), (2, 4, 5), equation="bij,bjk->bik")
    assert c.macs == 2 * 3 * 4 * 5 == 120  # b*i*j*k: the joint index space
    assert c.flops == 2 * 120
    assert c.flops_exact == 2 * 3 * 5 * (4 + 3)  # b*i*k outputs, j mults + j - 1 adds each


def test_attention_scores_equation() -> None:
    c = cost("Einsum", (2, 4, 8, 16), (2, 4, 10, 16), equation="bhqd,bhkd->bhqk")
    assert c.macs == 2 * 4 * 8 * 10 * 16  # b*h*q*k*d = 10,240


def test_single_operand_equations() -> None:
    assert cost("Einsum", (5, 5), equation="ii->i") == ZERO  # diagonal: data movement
    assert cost("Einsum", (3, 4), equation="ij->ji") == ZERO  # transpose
    trace = cost("Einsum", (5, 5), equation="ii->")
    assert (trace.macs, trace.flops, trace.flops_exact) == (0, 5, 5 - 1)  # 5 terms, 4 adds
    colsum = cost("Einsum", (3, 4), equation="ij->j")
    assert (colsum.flops, colsum.flops_exact) == (3 * 4, 4 * (3 - 1))  # 4 sums of 3 terms


def test_implicit_output_and_spaces() -> None:
    explicit = cost("Einsum", (3, 4), (4, 5), equation="ij,jk->ik")
    assert cost("Einsum", (3, 4), (4, 5), equation="ij, jk") == explicit  # implicit: "ik"
    assert explicit.macs == 3 * 4 * 5


def test_ellipsis_broadcasts() -> None:
    c = cost("Einsum", (2, 7, 3, 4), (7, 4, 5), equation="...ij,...jk->...ik")
    assert c.macs == (2 * 7) * 3 * 4 * 5  # ellipsis dims (2, 7) and (7,) broadcast
    implicit = cost("Einsum", (2, 7, 3, 4), (7, 4, 5), equation="...ij,...jk")
    assert implicit == c


def test_three_operands_left_to_right() -> None:
    c = cost("Einsum", (2, 3), (3, 4), (4, 5), equation="ij,jk,kl->il")
    step1, kept1 = 2 * 3 * 4, 2 * 4  # joint {i, j, k}; keeps {i, k}
    step2, kept2 = 2 * 4 * 5, 2 * 5  # joint {i, k, l}; keeps {i, l}
    assert c.macs == step1 + step2 == 64
    assert c.flops_exact == (2 * step1 - kept1) + (2 * step2 - kept2)


def test_integer_einsum_counts_int_ops() -> None:
    c = cost("Einsum", (3, 4), (4, 5), equation="ij,jk->ik", dtype="int32")
    assert (c.macs, c.flops, c.int_ops) == (60, 0, 2 * 60)


@pytest.mark.parametrize(
    ("equation", "shapes"),
    [
        ("ij,jk->ik", [(3, 4)]),  # two terms, one input
        ("ij,jk->ik", [(3, 4), (5, 6)]),  # j is 4 and 5
        ("ijk,jk->ik", [(3, 4), (4, 5)]),  # rank 2 operand, 3 letters
        ("i1,jk->ik", [(3, 4), (4, 5)]),  # not a letter
        ("ij,jk->iz", [(3, 4), (4, 5)]),  # unknown output label
        ("", [(3, 4)]),
    ],
)
def test_malformed_equations_raise(equation: str, shapes: list[tuple[int, ...]]) -> None:
    with pytest.raises(CostError, match=r"Einsum .* in scope 'model.block'.*\(3, 4\)"):
        cost("Einsum", *shapes, equation=equation)
