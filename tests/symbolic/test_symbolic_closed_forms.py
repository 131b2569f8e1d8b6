"""Known closed forms appear with the right coefficients (the arithmetic is in the asserts)."""

from __future__ import annotations

import torch
from symbolic_models import HEADS, WIDTH, Block, StridedCNN
from torch import nn

import flopcount
from flopcount.symbolic import Poly, analyze_symbolic

T, H = Poly.symbol("T"), Poly.symbol("H")


def test_transformer_block_attention_and_linear_terms() -> None:
    d = WIDTH
    report = analyze_symbolic(Block(d, HEADS).eval(), (1, 16, d), symbols={"T": "x:1"})
    families = {a.key: a.cost for a in report.by_family()}
    # Q K^T: heads * T * T * (d / heads) MACs, P V the same: 2 * T * T * d
    assert families["attention"].macs == (T * T).scale(2 * d)
    # qkv (3 d*d) + proj (d*d) + fc (4 d*d) + out (4 d*d) per token: 12 * d * d * T
    assert families["matmul"].macs == T.scale(12 * d * d)
    # flops: 2 per MAC, plus one bias add per output of each Linear (3d + d + 4d + d per token)
    assert families["matmul"].flops == T.scale(2 * 12 * d * d + (3 * d + d + 4 * d + d))
    # softmax: 5 FLOPs per score (docs/conventions.md), heads * T * T scores
    assert families["softmax"].flops == (T * T).scale(5 * HEADS)
    crossover = report.crossovers()[0]
    # attention MACs 2 T**2 d pass 12 d**2 T at T = 6 d; FLOPs add the scale, mask and bias
    assert crossover["symbol"] == "T" and crossover["from"] is not None
    value = crossover["from"]
    assert (
        report.evaluate(families["attention"].count, T=value)
        > report.evaluate(families["matmul"].count, T=value)
        >= report.evaluate(families["attention"].count, T=value - 1) - 0
    )  # smallest such T


def test_stride_two_conv_keeps_its_floor() -> None:
    conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
    report = analyze_symbolic(conv, (1, 3, 64, 64), symbols={"H": ["0:2", "0:3"]})
    (row,) = report.rows
    out = (H - Poly.const(1)).floordiv(2) + Poly.const(1)  # floor((H + 2 - 3)/2) + 1
    assert [d.expr for d in row.node.outputs[0].shape[2:]] == [out, out]  # type: ignore[attr-defined]
    # MACs = C_out * out**2 * C_in * k * k
    assert report.total.macs == (out * out).scale(8 * 3 * 3 * 3)
    assert "floor" in str(report.sympy(report.total.macs))
    for size in range(1, 70):  # every residue, down to a 1-pixel image
        concrete = flopcount.analyze(conv, (1, 3, size, size))
        assert report.evaluate(report.total.macs, H=size) == concrete.total.macs


def test_strided_cnn_with_pool_and_flatten() -> None:
    model = StridedCNN()
    report = analyze_symbolic(model, (1, 3, 64, 64), symbols={"H": ["x:2", "x:3"]})
    assert not report.not_symbolic
    # the valid 3x3 stride-2 conv needs a 3-pixel input: floor((H + 3)/4) >= 3 from H = 9
    assert report.valid["H"] == (9, None)
    for size in (9, 10, 17, 32, 57, 100):
        concrete = flopcount.analyze(model, (1, 3, size, size))
        assert report.evaluate(report.total.flops_exact, H=size) == concrete.total.flops_exact
        assert concrete.memory is not None
        assert report.peak_at(H=size) == concrete.memory.peak_activation_bytes


def test_batch_is_linear_and_params_are_numbers() -> None:
    block = Block(WIDTH, HEADS).eval()
    report = analyze_symbolic(block, (2, 16, WIDTH), symbols={"B": "x:0", "T": "x:1"})
    b = Poly.symbol("B")
    assert report.total.macs == b * (T * T).scale(2 * WIDTH) + b * T.scale(12 * WIDTH * WIDTH)
    params = sum(p.numel() for p in block.parameters())
    assert report.params == Poly.const(params)
    assert torch.zeros(1).numel() == 1  # torch imported for the module's parameters


def test_guards_on_batch_and_image_size_together() -> None:
    # "is this optional input absent?" checks compare B * C * F**2 with 0: every coefficient
    # is positive, so they hold wherever the floor F is >= 1 (no sample-only caveat)
    report = analyze_symbolic(
        StridedCNN(), (2, 3, 64, 64), symbols={"B": "x:0", "H": ["x:2", "x:3"]}
    )
    assert report.valid == {"B": (1, None), "H": (9, None)}
    assert not any("sample points only" in why for why in report.valid_why)
    concrete = flopcount.analyze(StridedCNN(), (3, 3, 40, 40))
    assert report.evaluate(report.total.flops, B=3, H=40) == concrete.total.flops
