"""com.microsoft contrib ops: costs from their arithmetic; shapes checked against ONNX Runtime."""

from __future__ import annotations

from typing import Any

import numpy as np
import onnx
import pytest
from onnx import helper
from onnx_helpers import INT32, INT64, UINT8, init, make, total, vi

from flopcount.frontends.onnx import lower
from flopcount.ir import Graph

ort = pytest.importorskip("onnxruntime")
MS = "com.microsoft"


def _ms(op: str, inputs: list[str], outputs: list[str], **attrs: Any) -> onnx.NodeProto:
    return helper.make_node(op, inputs, outputs, domain=MS, **attrs)


def _checked(model: onnx.ModelProto, feeds: dict[str, np.ndarray]) -> Graph:
    """Lower ``model`` and check its graph outputs' shapes against ONNX Runtime's."""
    graph = lower(model)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    results = session.run(None, feeds)
    assert [spec.shape for spec in graph.outputs] == [r.shape for r in results]
    return graph


def _rand(*shape: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal(shape).astype(np.float32)


def test_attention_projection_plus_core() -> None:
    b, s, d, heads = 2, 8, 32, 4
    model = make(
        [_ms("Attention", ["x", "w", "bias", "mask"], ["y"], num_heads=heads)],
        [vi("x", [b, s, d]), vi("mask", [b], INT32)],
        [vi("y", None)],
        [init("w", [d, 3 * d]), init("bias", [3 * d])],
        ms=True,
    )
    graph = _checked(model, {"x": _rand(b, s, d), "mask": np.full(b, s, np.int32)})
    projection, core = b * s * d * 3 * d, b * heads * s * s * (d // heads) * 2
    assert total(graph).macs == projection + core


def test_multi_head_attention_cross() -> None:
    b, s, length, d, heads = 2, 8, 6, 32, 4
    model = make(
        [_ms("MultiHeadAttention", ["q", "k", "v"], ["y"], num_heads=heads)],
        [vi("q", [b, s, d]), vi("k", [b, length, d]), vi("v", [b, length, d])],
        [vi("y", None)],
        ms=True,
    )
    feeds = {"q": _rand(b, s, d), "k": _rand(b, length, d), "v": _rand(b, length, d)}
    graph = _checked(model, feeds)
    assert total(graph).macs == b * heads * s * length * (d // heads) * 2


def test_group_query_attention() -> None:
    b, s, heads, kv_heads, head = 1, 8, 4, 2, 8
    model = make(
        [_ms("GroupQueryAttention", ["q", "k", "v", "", "", "seqlens", "total"],
             ["y", "pk", "pv"], num_heads=heads, kv_num_heads=kv_heads)],
        [vi("q", [b, s, heads * head]), vi("k", [b, s, kv_heads * head]),
         vi("v", [b, s, kv_heads * head]), vi("seqlens", [b], INT32)],
        [vi("y", None), vi("pk", None), vi("pv", None)],
        [init("total", [], s, np.int32)],
        ms=True,
    )  # fmt: skip
    feeds = {"q": _rand(b, s, heads * head), "k": _rand(b, s, kv_heads * head),
             "v": _rand(b, s, kv_heads * head), "seqlens": np.full(b, s - 1, np.int32)}  # fmt: skip
    graph = _checked(model, feeds)
    assert graph.nodes[-1].attrs["total_sequence_length"] == s
    assert total(graph).macs == b * heads * s * s * head * 2  # work follows the query heads


def test_skip_and_simplified_layer_norms() -> None:
    b, s, d = 2, 3, 16
    model = make(
        [
            _ms("SkipLayerNormalization", ["x", "skip", "g", "beta", "bias"], ["n"]),
            _ms("SkipSimplifiedLayerNormalization", ["n", "skip", "g"], ["r"]),
            helper.make_node("SimplifiedLayerNormalization", ["r", "g"], ["y"], axis=-1),
        ],
        [vi("x", [b, s, d]), vi("skip", [b, s, d])],
        [vi("y", None)],
        [init("g", [d]), init("beta", [d]), init("bias", [d])],
        ms=True,
    )
    graph = _checked(model, {"x": _rand(b, s, d), "skip": _rand(b, s, d)})
    elements, rows = b * s * d, b * s
    skip_layer_norm = 2 * elements + 7 * elements + 5 * rows  # 2 adds, LayerNorm with beta
    skip_rms = elements + 4 * elements + 3 * rows  # 1 add, RMSNormalization
    rms = 4 * elements + 3 * rows
    assert total(graph).flops == skip_layer_norm + skip_rms + rms


def test_fused_matmul_and_conv() -> None:
    model = make(
        [
            _ms("FusedMatMul", ["a", "b"], ["m"], transB=1, alpha=0.5),
            _ms("FusedConv", ["x", "w", "c"], ["y"], activation="Relu", pads=[1, 1, 1, 1]),
        ],
        [vi("a", [2, 5, 16]), vi("x", [1, 3, 8, 8])],
        [vi("m", None), vi("y", None)],
        [init("b", [9, 16]), init("w", [4, 3, 3, 3]), init("c", [4])],
        ms=True,
    )
    graph = _checked(model, {"a": _rand(2, 5, 16), "x": _rand(1, 3, 8, 8)})
    matmul, conv = 2 * 5 * 9 * 16, 4 * 8 * 8 * 27
    cost = total(graph)
    assert cost.macs == matmul + conv
    # alpha multiply per matmul output; conv bias add and Relu per conv output
    assert cost.flops == 2 * matmul + 2 * 5 * 9 + 2 * conv + 2 * 4 * 8 * 8


def test_matmul_n_bits() -> None:
    k, n, block = 64, 16, 32
    model = make(
        [_ms("MatMulNBits", ["a", "q", "scales"], ["y"], K=k, N=n, bits=4, block_size=block)],
        [vi("a", [2, k])],
        [vi("y", None)],
        [init("q", [n, k // block, block // 2], None, np.uint8), init("scales", [n * k // block])],
        ms=True,
    )
    graph = _checked(model, {"a": _rand(2, k)})
    cost = total(graph)
    assert cost.macs == 2 * k * n
    assert cost.int_ops == k * n  # one zero-point subtract per dequantised weight


def test_activation_family() -> None:
    x = [2, 4, 8]
    model = make(
        [
            _ms("BiasGelu", ["x", "b"], ["g"]),
            _ms("FastGelu", ["g", "b"], ["f"]),
            _ms("QuickGelu", ["f"], ["y"]),
        ],
        [vi("x", x)],
        [vi("y", None)],
        [init("b", [8])],
        ms=True,
    )
    graph = _checked(model, {"x": _rand(*x)})
    n = 2 * 4 * 8
    assert total(graph).flops == n * (1 + 5) + n * (1 + 9) + n * 6


def test_rotary_embedding() -> None:
    b, s, heads, head = 1, 4, 4, 8
    model = make(
        [_ms("RotaryEmbedding", ["x", "pos", "cos", "sin"], ["y"], num_heads=heads)],
        [vi("x", [b, s, heads * head]), vi("pos", [b, s], INT64)],
        [vi("y", None)],
        [init("cos", [16, head // 2]), init("sin", [16, head // 2])],
        ms=True,
    )
    feeds = {"x": _rand(b, s, heads * head), "pos": np.arange(s, dtype=np.int64)[None]}
    graph = _checked(model, feeds)
    assert total(graph).flops == 3 * b * s * heads * head  # x1 cos - x2 sin per element


def test_qlinear_add_and_unknown_contrib_op() -> None:
    names = ["a", "s", "z", "b", "s", "z", "s", "z"]
    model = make(
        [_ms("QLinearAdd", names, ["c"]), _ms("NoSuchOp", ["c"], ["y"])],
        [vi("a", [4, 5], UINT8), vi("b", [5], UINT8)],
        [vi("y", [4, 5], UINT8)],
        [init("s", [], 0.1), init("z", [], 128, np.uint8)],
        ms=True,
    )
    graph = lower(model)
    assert graph.nodes[0].outputs[0].shape == (4, 5)
    assert graph.nodes[0].outputs[0].dtype == "uint8"
    cost = total(graph, allow_unsupported=True)
    # dequantize 20 + 5 elements (1 FLOP, 1 int op each), add 20, quantize 20 (2 FLOPs, 3 ints)
    assert (cost.flops, cost.int_ops) == (25 + 20 + 2 * 20, 25 + 3 * 20)
