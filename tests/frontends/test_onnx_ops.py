"""One small ONNX model per op family, lowered and costed; expected counts show their arithmetic."""

from __future__ import annotations

import math

import numpy as np
from onnx import helper
from onnx_helpers import FLOAT, INT8, INT32, INT64, UINT8, cost_of, init, make, total, vi

from flopcount.frontends.onnx import lower


def test_conv_with_bias() -> None:
    model = make(
        [helper.make_node("Conv", ["x", "w", "b"], ["y"], pads=[1, 1, 1, 1])],
        [vi("x", [1, 3, 8, 8])],
        [vi("y", None)],
        [init("w", [4, 3, 3, 3]), init("b", [4])],
    )
    graph = lower(model)
    assert graph.nodes[0].outputs[0].shape == (1, 4, 8, 8)
    cost = total(graph)
    macs = 4 * 8 * 8 * 3 * 3 * 3  # C_out * H * W * k * k * C_in
    assert cost.macs == macs
    assert cost.flops == 2 * macs + 4 * 8 * 8  # + one bias add per output
    assert graph.parameters["w"].numel == 4 * 3 * 3 * 3


def test_gemm_and_broadcast_matmul() -> None:
    model = make(
        [
            helper.make_node("Gemm", ["a", "w", "c"], ["g"], transB=1),
            helper.make_node("MatMul", ["x", "m"], ["y"]),
        ],
        [vi("a", [5, 16]), vi("x", [2, 3, 5, 16])],
        [vi("g", None), vi("y", None)],
        [init("w", [9, 16]), init("c", [9]), init("m", [16, 9])],
    )
    cost = cost_of(model)
    gemm_macs = 5 * 9 * 16  # M * N * K
    matmul_macs = 2 * 3 * 5 * 9 * 16  # batch * M * N * K
    assert cost.macs == gemm_macs + matmul_macs
    assert cost.flops == 2 * (gemm_macs + matmul_macs) + 5 * 9  # + C added per output


def test_onnx_attention_opset_23() -> None:
    b, t, heads, size = 2, 8, 4, 8
    model = make(
        [helper.make_node("Attention", ["q", "k", "v"], ["y"], q_num_heads=4, kv_num_heads=4)],
        [vi(n, [b, t, heads * size]) for n in "qkv"],
        [vi("y", None)],
        opset=23,
    )
    graph = lower(model)
    assert graph.nodes[0].outputs[0].shape == (b, t, heads * size)
    assert total(graph).macs == b * heads * t * t * (size + size)  # QK^T and PV


def test_lstm_gate_arithmetic() -> None:
    steps, batch, inputs, hidden = 5, 2, 3, 4
    model = make(
        [helper.make_node("LSTM", ["x", "w", "r", "b"], ["y", "h"], hidden_size=hidden)],
        [vi("x", [steps, batch, inputs])],
        [vi("y", None), vi("h", None)],
        [init("w", [1, 4 * hidden, inputs]), init("r", [1, 4 * hidden, hidden]),
         init("b", [1, 8 * hidden])],
    )  # fmt: skip
    graph = lower(model)
    assert graph.nodes[0].outputs[0].shape == (steps, 1, batch, hidden)
    cost = total(graph)
    pre = batch * 4 * hidden  # gate pre-activations per step
    cell = batch * hidden
    assert cost.macs == steps * pre * (inputs + hidden)  # 5 * 32 * 7 = 1,120
    # per step: 2 per MAC, 1 add joining X W and H R, 2 bias adds per pre-activation;
    # 3 sigmoid gates (4 each) + tanh candidate (1) + C_t (3) + tanh(C_t) (1) + o * (1)
    per_step = 2 * pre * (inputs + hidden) + pre + 2 * pre + cell * (3 * 4 + 1 + 3 + 1 + 1)
    assert cost.flops == steps * per_step


def test_gru_bidirectional() -> None:
    steps, batch, inputs, hidden = 3, 1, 2, 5
    model = make(
        [helper.make_node("GRU", ["x", "w", "r"], ["y"], hidden_size=hidden,
                          direction="bidirectional")],
        [vi("x", [steps, batch, inputs])],
        [vi("y", None)],
        [init("w", [2, 3 * hidden, inputs]), init("r", [2, 3 * hidden, hidden])],
    )  # fmt: skip
    cost = cost_of(model)
    assert cost.macs == 2 * steps * batch * 3 * hidden * (inputs + hidden)  # 2 directions


def test_layer_normalization_and_softmax() -> None:
    model = make(
        [
            helper.make_node("LayerNormalization", ["x", "s", "b"], ["n"]),
            helper.make_node("Softmax", ["n"], ["y"]),
        ],
        [vi("x", [2, 5, 16])],
        [vi("y", None)],
        [init("s", [16]), init("b", [16])],
    )
    elements, rows = 2 * 5 * 16, 2 * 5
    # LayerNormalization with B: 7 per element + 5 per row; Softmax: 5 per element
    assert cost_of(model).flops == 7 * elements + 5 * rows + 5 * elements


def test_pooling() -> None:
    model = make(
        [
            helper.make_node("MaxPool", ["x"], ["p"], kernel_shape=[2, 2], strides=[2, 2]),
            helper.make_node("GlobalAveragePool", ["p"], ["y"]),
        ],
        [vi("x", [1, 2, 8, 8])],
        [vi("y", None)],
    )
    graph = lower(model)
    assert graph.nodes[0].outputs[0].shape == (1, 2, 4, 4)
    # MaxPool: 4 compares per output (32 outputs); global average: 16 adds + 1 divide per channel
    assert total(graph).flops == 4 * 32 + 2 * (16 + 1)


def test_reduction_axes_input_becomes_attribute() -> None:
    model = make(
        [helper.make_node("ReduceMean", ["x", "axes"], ["y"], keepdims=0)],
        [vi("x", [2, 3, 4])],
        [vi("y", None)],
        [init("axes", [1], [1], np.int64)],
        opset=18,
    )
    graph = lower(model)
    node = graph.nodes[0]
    assert node.attrs["axes"] == [1]
    assert node.outputs[0].shape == (2, 4)
    assert "axes" not in graph.parameters  # a shape argument, not a weight
    assert total(graph).flops == 24 + 8  # one add per input, one divide per output


def test_resize_linear_scales_from_constant() -> None:
    model = make(
        [helper.make_node("Resize", ["x", "", "scales"], ["y"], mode="linear")],
        [vi("x", [1, 2, 4, 4])],
        [vi("y", None)],
        [init("scales", [4], [1, 1, 2, 2])],
    )
    graph = lower(model)
    node = graph.nodes[0]
    assert node.attrs["scales"] == [1.0, 1.0, 2.0, 2.0]
    assert node.inputs[1].shape == (0,) and node.inputs[1].name == ""  # absent roi
    assert node.outputs[0].shape == (1, 2, 8, 8)
    assert total(graph).flops == 1 * 2 * 8 * 8 * 9  # bilinear: 3 lerps of 3 FLOPs per output


def test_qlinear_conv_int_ops() -> None:
    names = ["x", "xs", "xz", "w", "ws", "wz", "ys", "yz"]
    model = make(
        [helper.make_node("QLinearConv", names, ["y"])],
        [vi("x", [1, 3, 8, 8], UINT8)],
        [vi("y", None, UINT8)],
        [init("xs", [], 0.1), init("xz", [], 0, np.uint8), init("w", [4, 3, 3, 3], None, np.int8),
         init("ws", [], 0.1), init("wz", [], 0, np.int8), init("ys", [], 0.1),
         init("yz", [], 0, np.uint8)],
    )  # fmt: skip
    graph = lower(model)
    assert graph.nodes[0].outputs[0].shape == (1, 4, 6, 6)
    assert graph.nodes[0].outputs[0].dtype == "uint8"
    cost = total(graph)
    macs, outputs = 4 * 6 * 6 * 3 * 3 * 3, 4 * 6 * 6
    assert cost.macs == macs  # MACs count integer multiply-accumulates too
    # 2 per integer MAC + zero-point subtracts of x (192) and w (108) + zp add, 2 saturates
    assert cost.int_ops == 2 * macs + 3 * 8 * 8 + 4 * 3 * 3 * 3 + 3 * outputs
    assert cost.flops == 2 * outputs + 2 * 1  # scale multiply + round; combined scale: 2


def test_matmul_integer_and_dequantize() -> None:
    model = make(
        [
            helper.make_node("MatMulInteger", ["a", "b", "az"], ["acc"]),
            helper.make_node("Cast", ["acc"], ["f"], to=FLOAT),
            helper.make_node("DequantizeLinear", ["q", "s", "z"], ["d"]),
        ],
        [vi("a", [4, 8], UINT8), vi("q", [10], INT8)],
        [vi("acc", None, INT32), vi("f", None), vi("d", None)],
        [init("b", [8, 3], None, np.uint8), init("az", [], 0, np.uint8),
         init("s", [], 0.5), init("z", [], 0, np.int8)],
    )  # fmt: skip
    cost = cost_of(model)
    assert cost.macs == 4 * 8 * 3
    assert cost.int_ops == 2 * 4 * 8 * 3 + 4 * 8 + 10  # MACs, a's zero point, dequant subtract
    assert cost.flops == 10  # dequantize: one scale multiply per element


def test_dft_nominal_fft_count() -> None:
    model = make(
        [helper.make_node("DFT", ["x"], ["y"])],
        [vi("x", [3, 8, 2])],
        [vi("y", None)],
        opset=20,
    )
    assert cost_of(model).flops == 3 * 5 * 8 * 3  # 3 transforms * 5 N log2 N, N = 8


def test_bitwise_ops_are_integer_work() -> None:
    model = make(
        [helper.make_node("BitwiseAnd", ["a", "b"], ["y"])],
        [vi("a", [6, 7], INT32), vi("b", [7], INT32)],
        [vi("y", None, INT32)],
        opset=18,
    )
    cost = cost_of(model)
    assert (cost.int_ops, cost.flops) == (6 * 7, 0)


def test_topk_with_constant_k() -> None:
    model = make(
        [helper.make_node("TopK", ["x", "k"], ["v", "i"])],
        [vi("x", [2, 100])],
        [vi("v", None), vi("i", None)],
        [init("k", [1], [5], np.int64)],
    )
    graph = lower(model)
    assert graph.nodes[0].attrs["k"] == 5
    assert graph.nodes[0].outputs[0].shape == (2, 5)
    log_k = math.ceil(math.log2(5))  # heap depth 3
    assert total(graph).flops == 2 * (100 * (1 + log_k) + 5 * log_k)


def test_det_lu_count() -> None:
    n = 4
    model = make([helper.make_node("Det", ["x"], ["y"])], [vi("x", [3, n, n])], [vi("y", None)])
    # pivots n(n-1)/2 + divides n(n-1)/2 + updates n(n-1)(2n-1)/3 * ... + n - 1 multiplies
    per_matrix = n * (n - 1) + n * (n - 1) * (2 * n - 1) // 3 + (n - 1)
    assert cost_of(model).flops == 3 * per_matrix


def test_inverse_trig_and_mvn() -> None:
    model = make(
        [
            helper.make_node("Asinh", ["x"], ["a"]),
            helper.make_node("MeanVarianceNormalization", ["a"], ["y"]),
        ],
        [vi("x", [2, 3, 4, 5])],
        [vi("y", None)],
    )
    elements, groups = 2 * 3 * 4 * 5, 3  # axes (0, 2, 3): one group per channel
    assert cost_of(model).flops == elements + 5 * elements + 6 * groups


def test_nonzero_output_bound_and_binding() -> None:
    model = make(
        [helper.make_node("NonZero", ["x"], ["nz"]), helper.make_node("Transpose", ["nz"], ["y"])],
        [vi("x", [3, 4])],
        [vi("y", None, INT64)],
    )
    graph = lower(model)
    assert graph.nodes[0].outputs[0].shape == (2, 12)  # at most numel(x) nonzeros
    assert any("depends on tensor values" in note for note in graph.notes)
    bound = lower(model, dims={"nz[1]": 5})
    assert bound.nodes[0].outputs[0].shape == (2, 5)
    assert bound.nodes[1].outputs[0].shape == (5, 2)


def test_dft_opset_17_default_axis_is_1() -> None:
    model = make([helper.make_node("DFT", ["x"], ["y"])], [vi("x", [2, 8, 3, 2])], [vi("y", None)])
    graph = lower(model)
    assert graph.nodes[0].attrs["axis"] == 1
    assert total(graph).flops == 2 * 3 * 5 * 8 * 3  # 6 complex transforms of N = 8


def test_explicitly_unsupported_op_is_noted() -> None:
    nms = helper.make_node("NonMaxSuppression", ["boxes", "scores", "most"], ["sel"])
    boxes, scores = vi("boxes", [1, 10, 4]), vi("scores", [1, 2, 10])
    most = init("most", [1], [3], np.int64)
    graph = lower(make([nms], [boxes, scores], [vi("sel", None)], [most]))
    assert graph.nodes[0].outputs[0].shape == (1 * 2 * 3, 3)  # batch * classes * 3 at most
    assert any("NonMaxSuppression" in n and "IoU" in n for n in graph.notes)
    assert total(graph, allow_unsupported=True).flops == 0
