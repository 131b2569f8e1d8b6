"""Conv, ConvTranspose, MatMul and Gemm formulas on hand-built nodes, arithmetic shown."""

from __future__ import annotations

import pytest
from costs_helpers import cost

from flopcount.errors import CostError


def test_conv2d_padded_with_bias() -> None:
    c = cost("Conv", (1, 3, 8, 8), (4, 3, 3, 3), (4,), pads=[1, 1, 1, 1])
    outputs = 1 * 4 * 8 * 8  # N * C_out * H_out * W_out
    assert c.macs == outputs * 3 * 3 * 3 == 6912  # each output: k*k*C_in MACs
    assert c.flops == 2 * 6912 + outputs  # one bias add per output
    assert c.flops_exact == outputs * 2 * 27  # 27 mults + 26 adds + 1 bias add


def test_conv1d_strided() -> None:
    c = cost("Conv", (2, 16, 100), (32, 16, 5), strides=[2])
    l_out = (100 - 5) // 2 + 1  # 48
    assert c.macs == 2 * 32 * l_out * 5 * 16  # N * C_out * L_out * k * C_in
    assert c.flops_exact == 2 * 32 * l_out * (2 * 5 * 16 - 1)  # no bias: 2K - 1 per dot


def test_conv3d() -> None:
    c = cost("Conv", (1, 4, 8, 16, 16), (8, 4, 3, 3, 3), pads=[1] * 6)
    assert c.macs == 1 * 8 * (8 * 16 * 16) * (3 * 3 * 3) * 4  # N*C_out*D*H*W*k^3*C_in


def test_depthwise_and_grouped_conv() -> None:
    depthwise = cost("Conv", (1, 32, 14, 14), (32, 1, 3, 3), group=32, pads=[1, 1, 1, 1])
    assert depthwise.macs == 32 * 14 * 14 * 9 * 1  # C_out*H*W*k*k*(C_in/groups)
    grouped = cost("Conv", (1, 8, 10, 10), (16, 2, 3, 3), group=4)
    assert grouped.macs == 16 * 8 * 8 * 9 * (8 // 4)  # out 10 - 3 + 1 = 8


def test_dilation_and_asymmetric_pads() -> None:
    dilated = cost("Conv", (1, 1, 10, 10), (1, 1, 3, 3), dilations=[2, 2])
    span = 2 * (3 - 1) + 1  # 5
    assert dilated.macs == (10 - span + 1) ** 2 * 9  # 6 x 6 outputs
    # pads = [H_begin, W_begin, H_end, W_end]: only the top row is padded
    asym = cost("Conv", (1, 1, 5, 5), (1, 1, 3, 3), pads=[1, 0, 0, 0])
    assert asym.macs == (5 + 1 - 3 + 1) * (5 - 3 + 1) * 9  # 4 x 3 outputs


@pytest.mark.parametrize("mode", ["SAME_UPPER", "SAME_LOWER", b"SAME_UPPER"])
def test_auto_pad_same_resnet_stem(mode: str | bytes) -> None:
    c = cost("Conv", (1, 3, 224, 224), (64, 3, 7, 7), auto_pad=mode, strides=[2, 2])
    # out = ceil(224 / 2) = 112; ResNet-50's stem is 118,013,952 MACs (torchvision conv1)
    assert c.macs == 64 * 112 * 112 * 7 * 7 * 3 == 118_013_952


def test_auto_pad_valid() -> None:
    c = cost("Conv", (1, 3, 224, 224), (64, 3, 7, 7), auto_pad="VALID", strides=[2, 2])
    assert c.macs == 64 * ((224 - 7) // 2 + 1) ** 2 * 7 * 7 * 3  # 109 x 109 outputs


def test_conv_transpose_counts_input_positions() -> None:
    # nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1) on (1, 64, 32, 32) -> (1, 32, 64, 64)
    c = cost("ConvTranspose", (1, 64, 32, 32), (64, 32, 4, 4), strides=[2, 2], pads=[1] * 4)
    assert c.macs == 64 * 32 * 32 * 32 * 4 * 4 == 33_554_432  # C_in*H_in*W_in*C_out*k*k
    biased = cost(
        "ConvTranspose", (1, 64, 32, 32), (64, 32, 4, 4), (32,), strides=[2, 2], pads=[1] * 4
    )
    assert biased.flops == 2 * 33_554_432 + 32 * 64 * 64  # + one add per output element
    shaped = cost(
        "ConvTranspose", (1, 64, 32, 32), (64, 32, 4, 4), strides=[2, 2], output_shape=[64, 64]
    )
    assert shaped.macs == 33_554_432  # pads derived from output_shape; MACs unchanged


def test_conv_transpose_same_needing_output_padding() -> None:
    # k=1, stride 2, SAME: out = 5 * 2 = 10 needs one extra output row/column
    c = cost(
        "ConvTranspose", (1, 8, 5, 5), (8, 4, 1, 1), (4,), strides=[2, 2], auto_pad="SAME_UPPER"
    )
    assert c.macs == 8 * 5 * 5 * 4 * 1  # C_in*H*W*C_out*k*k = 800
    assert c.flops == 2 * 800 + 4 * 10 * 10  # bias over the (4, 10, 10) output


def test_grouped_conv_transpose() -> None:
    c = cost("ConvTranspose", (1, 8, 4, 4), (8, 2, 3, 3), group=4)
    assert c.macs == 8 * 4 * 4 * 2 * 9  # C_in*H*W*(C_out/groups)*k*k


def test_matmul_batched_and_broadcast() -> None:
    assert cost("MatMul", (2, 5, 16), (16, 9)).macs == 2 * 5 * 16 * 9  # B*M*K*N = 1440
    c = cost("MatMul", (3, 1, 4, 6), (5, 6, 2))
    assert c.macs == (3 * 5) * 4 * 6 * 2  # batch dims (3, 1) and (5,) broadcast to (3, 5)


def test_matmul_one_dimensional_operands() -> None:
    assert cost("MatMul", (16,), (16, 9)).macs == 16 * 9  # (1, 16) @ (16, 9)
    assert cost("MatMul", (2, 5, 16), (16,)).macs == 2 * 5 * 16  # (2, 5, 16) @ (16, 1)
    dot = cost("MatMul", (16,), (16,))
    assert (dot.macs, dot.flops, dot.flops_exact) == (16, 32, 16 + 15)  # K mults, K - 1 adds


def test_gemm_transposes_bias_and_scales() -> None:
    # A stored (K, M) = (6, 4) with transA, B stored (N, K) = (5, 6) with transB, C (5,)
    c = cost("Gemm", (6, 4), (5, 6), (5,), transA=1, transB=1)
    assert c.macs == 4 * 6 * 5  # M*K*N = 120
    assert c.flops == 2 * 120 + 4 * 5  # + C broadcast-added to each of the M*N outputs
    assert c.flops_exact == 4 * 5 * 2 * 6  # 2K per output with the bias
    scaled = cost("Gemm", (6, 4), (5, 6), (5,), transA=1, transB=1, alpha=0.5, beta=2.0)
    assert scaled.flops == c.flops + 4 * 5 + 5  # alpha per output, beta per element of C
    no_c = cost("Gemm", (4, 6), (6, 5), (5,), beta=0.0)
    assert no_c.flops == 2 * 120  # beta = 0 ignores C


@pytest.mark.parametrize(
    ("op", "shapes", "attrs"),
    [
        ("Conv", [(1, 3, 8, 8), (4, 2, 3, 3)], {}),  # 2 channels per group != 3
        ("Conv", [(1, 3, 8, 8), (4, 3, 3)], {}),  # rank mismatch
        ("Conv", [(1, 3, 8, 8), (4, 3, 3, 3)], {"kernel_shape": [5, 5]}),
        ("Conv", [(1, 3, 2, 2), (4, 3, 3, 3)], {}),  # kernel larger than the input
        ("Conv", [(1, 3, 8, 8), (4, 3, 3, 3)], {"auto_pad": "SAME"}),
        ("Conv", [(1, 3, 8, 8)], {}),  # missing W
        ("MatMul", [(2, 5, 16), (15, 9)], {}),
        ("MatMul", [(2, 5, 16), (3, 16, 9)], {}),  # batch 2 vs 3 does not broadcast
        ("Gemm", [(4, 6), (5, 6)], {}),  # forgot transB
        ("Gemm", [(2, 4, 6), (6, 5)], {}),  # Gemm is 2-D only
    ],
)
def test_malformed_contractions_raise_cost_error(
    op: str, shapes: list[tuple[int, ...]], attrs: dict[str, object]
) -> None:
    with pytest.raises(CostError) as info:
        cost(op, *shapes, **attrs)
    message = str(info.value)
    assert op in message and "model.block" in message and str(shapes[0]) in message


def test_integer_contractions_count_int_ops() -> None:
    c = cost("MatMul", (4, 8), (8, 2), dtype="int32")
    assert (c.macs, c.flops, c.int_ops) == (4 * 8 * 2, 0, 2 * 4 * 8 * 2)  # MACs kept, not FLOPs
