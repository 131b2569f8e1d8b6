"""The ONNX-specific cost formulas on hand-made IR nodes; expected counts show their arithmetic."""

from __future__ import annotations

import math
from typing import Any

import onnx_helpers  # noqa: F401  (registers the ONNX-specific formulas)
import pytest

from flopcount.costs import REGISTRY, Cost
from flopcount.errors import CostError
from flopcount.ir import Node, TensorSpec


def _node(op: str, *shapes: Any, out: Any = None, domain: str = "", **attrs: Any) -> Node:
    """``shapes`` are shapes (float32) or (shape, dtype) pairs; ``None`` is an absent input."""
    specs = []
    for i, item in enumerate(shapes):
        if item is None:
            specs.append(TensorSpec((0,), name=""))
            continue
        paired = isinstance(item, tuple) and len(item) == 2 and isinstance(item[1], str)
        shape, dtype = item if paired else (item, "float32")
        specs.append(TensorSpec(tuple(shape), dtype, name=f"in{i}"))
    outs = () if out is None else (TensorSpec(tuple(out), name="out"),)
    return Node(op, tuple(specs), outs, attrs, name=f"{op}_0", domain=domain)


def _cost(op: str, *shapes: Any, **kwargs: Any) -> Cost:
    cost = REGISTRY.cost(_node(op, *shapes, **kwargs))
    assert cost is not None
    return cost


MS = "com.microsoft"


def test_rnn_with_relu() -> None:
    steps, batch, inputs, hidden = 4, 2, 3, 5
    cost = _cost("RNN", (steps, batch, inputs), (1, hidden, inputs), (1, hidden, hidden),
                 activations=["Relu"])  # fmt: skip
    pre = batch * hidden
    assert cost.macs == steps * pre * (inputs + hidden)
    assert cost.flops == steps * (2 * pre * (inputs + hidden) + pre + pre * 1)  # join + relu


def test_lstm_layout_1_peepholes_and_clip() -> None:
    batch, steps, inputs, hidden = 2, 3, 4, 2
    x = (batch, steps, inputs)
    w, r, b = (1, 4 * hidden, inputs), (1, 4 * hidden, hidden), (1, 8 * hidden)
    plain = _cost("LSTM", x, w, r, b, layout=1)
    fancy = _cost("LSTM", x, w, r, b, None, None, None, (1, 3 * hidden), layout=1, clip=3.0)
    pre, cell = batch * 4 * hidden, batch * hidden
    assert fancy.flops - plain.flops == steps * (2 * pre + 6 * cell)  # clip 2, peepholes 6


def test_linear_attention_rules() -> None:
    b, t, hq, hkv, dk, dv = 1, 5, 4, 2, 8, 6
    q, k, v = (b, t, hq * dk), (b, t, hkv * dk), (b, t, hkv * dv)
    heads = {"q_num_heads": hq, "kv_num_heads": hkv}
    linear = _cost("LinearAttention", q, k, v, update_rule="linear", **heads)
    assert linear.macs == b * t * (hkv * dk * dv + hq * dk * dv)  # update + readout
    delta = _cost("LinearAttention", q, k, v, update_rule="delta", **heads)
    assert delta.macs == b * t * (hkv * 2 * dk * dv + hq * dk * dv)  # + S^T k
    gated = _cost("LinearAttention", q, k, v, None, (b, t, hkv), update_rule="gated", **heads)
    # per token and kv head: S scaled (dk * dv multiplies) and one exp of the decay
    assert gated.flops - linear.flops == b * t * hkv * (dk * dv + 1)


def test_causal_conv_with_state() -> None:
    cost = _cost("CausalConvWithState", (2, 8, 10), (8, 1, 4), (8,), activation="silu")
    outputs = 2 * 8 * 10
    assert cost.macs == outputs * 4
    assert cost.flops == 2 * outputs * 4 + outputs + 5 * outputs  # + bias + SiLU


def test_grid_sample_bilinear_and_nearest() -> None:
    x, grid = (1, 3, 8, 8), (1, 4, 5, 2)
    points = 4 * 5
    bilinear = _cost("GridSample", x, grid, mode="bilinear")
    # per point: 2 axes * (4 unnormalise + 2 floor/fraction); per value: 3 lerps * 3 FLOPs
    assert bilinear.flops == points * 2 * (4 + 2) + points * 3 * 9
    nearest = _cost("GridSample", x, grid, mode="nearest", align_corners=1)
    assert nearest.flops == points * 2 * (3 + 1)  # unnormalise 3, round 1; copies are free


def test_resize_cubic_and_nearest() -> None:
    cubic = _cost("Resize", (1, 1, 4, 4), out=(1, 1, 8, 8), mode="cubic")
    assert cubic.flops == 64 * 5 * 7  # 5 four-tap sums of 7 FLOPs per output
    nearest = _cost("Resize", (1, 1, 4, 4), out=(1, 1, 8, 8))
    assert nearest.flops == 0


def test_roi_align_and_adaptive_sampling_error() -> None:
    rois, channels, oh, ow, s = 3, 4, 2, 2, 2
    cost = _cost("RoiAlign", (1, channels, 16, 16), (rois, 4), (rois,),
                 output_height=oh, output_width=ow, sampling_ratio=s)  # fmt: skip
    bins, outputs = rois * oh * ow, rois * oh * ow * channels
    points = bins * s * s * (12 + 4) + rois * 10
    values = outputs * s * s * 7
    assert cost.flops == points + values + outputs * (s * s + 1)  # mean: s*s adds + divide
    with pytest.raises(CostError, match="sampling_ratio"):
        _cost("RoiAlign", (1, 4, 16, 16), (3, 4), (3,))


def test_deform_conv() -> None:
    x, w, offset = (1, 4, 6, 6), (8, 4, 3, 3), (1, 2 * 9, 4, 4)
    cost = _cost("DeformConv", x, w, offset)
    macs = 8 * 4 * 4 * 4 * 3 * 3  # C_out * H_out * W_out * C_in * k * k
    points, values = 16 * 9, 16 * 4 * 9  # (position, tap); (position, channel, tap)
    assert cost.macs == macs
    assert cost.flops == 2 * macs + points * 12 + values * 7


def test_affine_grid_col2im_and_windows() -> None:
    grid = _cost("AffineGrid", (2, 2, 3), (4,), out=(2, 5, 6, 2))
    assert grid.macs == 2 * 5 * 6 * 3 * 2  # batch * points * (d + 1) * d
    assert _cost("Col2Im", (1, 12, 9), (2,), (2,)).flops == 12 * 9
    assert _cost("HannWindow", ((), "int64"), out=(16,)).flops == 5 * 16
    assert _cost("BlackmanWindow", ((), "int64"), out=(16,)).flops == 9 * 16
    assert _cost("MelWeightMatrix", ((), "int64"), out=(129, 20)).flops == 2 * 129 * 20 + 9 * 22


def test_stft() -> None:
    cost = _cost("STFT", (2, 64, 1), ((), "int64"), (16,), out=(2, 7, 9, 2))
    frames = 2 * 7
    fft = round(2.5 * 16 * math.log2(16))  # real input
    assert cost.flops == frames * (16 + fft)  # window multiplies + FFT


def test_losses() -> None:
    nll = _cost("NegativeLogLikelihoodLoss", (4, 5), ((4,), "int64"), (5,))
    # 4 negates + 4 weight multiplies; mean: 4 adds of terms + 4 adds of weights + 1 divide
    assert nll.flops == 8 + 4 + 4 + 1
    sce = _cost("SoftmaxCrossEntropyLoss", (4, 5), ((4,), "int64"), reduction="sum")
    assert sce.flops == 5 * 20 + 4 + 4 + 4  # LogSoftmax (5/elem + log/row) + negate + sum


def test_small_elementwise_families() -> None:
    assert _cost("Shrink", (10,)).flops == 30
    assert _cost("SwiGLU", (4, 6), (4, 6)).flops == 24 * (5 + 1)
    assert _cost("CumProd", (3, 4), ((), "int64"), axis=1).flops_exact == 3 * 3
    assert _cost("BitShift", ((8,), "uint8"), ((8,), "uint8")).int_ops == 8
    assert _cost("NonZero", (3, 4)).flops == 12
    assert _cost("Unique", (8,)).flops == 8 * 3 + 7  # sort + neighbour compares
    assert _cost("LRN", (1, 3, 2, 2), size=3).flops == 4 * 2 * (2 + 3 + 2) + 4 * 12
    assert _cost("RotaryEmbedding", (1, 2, 4, 8), (1, 4, 4), (1, 4, 4),
                 rotary_embedding_dim=4).flops == 3 * (64 // 8 * 4)  # fmt: skip


def test_quantize_dequantize_dynamic() -> None:
    assert _cost("QuantizeLinear", (10,), (), ((), "uint8")) == Cost(flops=20, flops_exact=20,
                                                                     int_ops=30)  # fmt: skip
    dynamic = _cost("DynamicQuantizeLinear", (10,))
    assert dynamic.flops == 2 * 10 + 9 + 2 * 10  # min, max, scale/zero point, quantize
    assert dynamic.int_ops == 3 * 10


def test_integer_contractions() -> None:
    conv = _cost("ConvInteger", ((1, 3, 5, 5), "uint8"), ((2, 3, 3, 3), "uint8"))
    assert conv.macs == 2 * 3 * 3 * 27 and conv.flops == 0
    assert conv.int_ops == 2 * conv.macs  # no zero points given
    qmm = _cost("QLinearMatMul", ((4, 8), "uint8"), (), ((), "uint8"), ((8, 3), "uint8"), (),
                ((), "uint8"), (), ((), "uint8"))  # fmt: skip
    assert qmm.macs == 4 * 8 * 3
    assert qmm.int_ops == 2 * 96 + 32 + 24 + 3 * 12  # MACs, zero points, requantise
    gemm = _cost("QGemm", ((4, 8), "uint8"), (), ((), "uint8"), ((3, 8), "int8"), (),
                 ((), "int8"), ((3,), "int32"), (), ((), "uint8"), transB=1, domain=MS)  # fmt: skip
    assert gemm.int_ops == 2 * 96 + 32 + 24 + 12 + 3 * 12  # + the int32 C add
    to_float = _cost("MatMulIntegerToFloat", ((4, 8), "uint8"), ((8, 3), "int8"), (), (),
                     domain=MS)  # fmt: skip
    assert (to_float.int_ops, to_float.flops) == (2 * 96, 12)  # scale multiply per output
    dynamic = _cost("DynamicQuantizeMatMul", (4, 8), ((8, 3), "int8"), (), domain=MS)
    assert dynamic.macs == 96
    assert dynamic.flops == (4 * 32 + 9) + 12  # quantize A (32 elements), scale outputs


def test_ms_quantized_unary_and_concat() -> None:
    sigmoid = _cost("QLinearSigmoid", ((10,), "uint8"), (), (), (), (), domain=MS)
    assert sigmoid == Cost(flops=10 + 40 + 20, flops_exact=70, int_ops=10 + 30)
    concat = _cost("QLinearConcat", (), (), ((2, 3), "uint8"), (), (), ((2, 5), "uint8"), (), (),
                   domain=MS, axis=1)  # fmt: skip
    assert concat.flops == 16 * 3  # requantise 16 elements: dequantize 1 + quantize 2


def test_ms_attention_variants() -> None:
    b, s, d, heads = 1, 4, 16, 2
    packed = _cost("MultiHeadAttention", (b, s, heads, 3, d // heads), domain=MS, num_heads=heads)
    assert packed.macs == b * heads * s * s * (d // heads) * 2
    past = _cost("Attention", (b, s, d), (d, 3 * d), (3 * d,), None, (2, b, heads, 6, d // heads),
                 domain=MS, num_heads=heads)  # fmt: skip
    assert past.macs == b * s * d * 3 * d + b * heads * s * (6 + s) * (d // heads) * 2
    quant = _cost("QAttention", ((b, s, d), "uint8"), ((d, 3 * d), "int8"), (3 * d,), (), (),
                  domain=MS, num_heads=heads)  # fmt: skip
    assert quant.macs == past.macs - b * heads * s * 6 * (d // heads) * 2
    assert quant.int_ops == 2 * b * s * d * 3 * d


def test_ms_embed_and_bias_ops() -> None:
    embed = _cost("EmbedLayerNormalization", ((2, 4), "int32"), ((2, 4), "int32"), (30, 8),
                  (16, 8), (2, 8), (8,), (8,), ((2, 4), "int32"), domain=MS)  # fmt: skip
    elements, rows = 2 * 4 * 8, 2 * 4
    assert embed.flops == 2 * elements + 7 * elements + 5 * rows  # 2 adds, LayerNorm
    assert embed.int_ops == rows  # mask sums
    assert _cost("BiasAdd", (2, 4, 8), (8,), (2, 4, 8), domain=MS).flops == 2 * 64
    assert _cost("BiasSoftmax", (2, 3, 5), (2, 3, 5), domain=MS, axis=-1).flops == 30 + 5 * 30
    assert _cost("BiasSplitGelu", (1, 4, 8), (8,), domain=MS).flops == 2 * 16 + 16 * 6
    fused = _cost("FusedGemm", (3, 4), (4, 5), domain=MS, activation="Sigmoid")
    assert fused.flops == 2 * 60 + 4 * 15
    ordered = _cost("QOrderedMatMul", ((4, 8), "int8"), (), ((8, 3), "int8"), (), (), domain=MS)
    assert ordered.int_ops == 2 * 96 + 3 * 12
