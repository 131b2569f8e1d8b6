"""Op by op: the lowering of TF ops into IR ops, arithmetic shown, and profiler parity.

Each test traces a small ``tf.function`` with constant weights (no variables, so its graph is
what the profiler sees) and checks the IR ops, their attributes and MACs, that flopcount's own
shape inference agrees with TensorFlow's static shapes, and the ``tfprof`` convention.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from flopcount.costs import REGISTRY, Cost
from flopcount.costs.tfprof import tfprof_flops
from flopcount.errors import ShapeError
from flopcount.frontends.tensorflow import load, lower
from flopcount.frontends.tf_graph import prune
from flopcount.frontends.tf_infer import infer_shapes
from flopcount.ir import Graph, Node


def weight(*shape: int) -> Any:
    return np.full(shape, 0.5, dtype=np.float32)


def trace(tf: Any, fn: Callable[..., Any], *shapes: tuple[int, ...]) -> Any:
    specs = [tf.TensorSpec(s, tf.float32, name=f"x{i}") for i, s in enumerate(shapes)]
    return tf.function(fn).get_concrete_function(*specs)


def own_shapes_agree_with_tf(function: Any) -> None:
    """flopcount's shape rules give TF's static shape for every tensor TF knows fully."""
    tfg = load(function)
    nodes, _ = prune(tfg, tfg.outputs)
    tfg.hints = {k: v for k, v in tfg.hints.items() if k.startswith("x")}  # rules only
    inference = infer_shapes(nodes, tfg, None)
    tf_shapes = {
        t.name: tuple(t.shape.as_list())
        for op in function.graph.get_operations()
        for t in op.outputs
        if t.shape.is_fully_defined()
    }
    for ref, tensor in inference.tensors.items():
        if ref in tf_shapes and tensor.dtype != "resource":
            assert tensor.shape == tf_shapes[ref], ref


def checked(function: Any, profile: Callable[..., Any], by_tf_type: Callable[..., Any]) -> Graph:
    """Lower ``function``; its tfprof figures must equal the profiler's, type by type."""
    own_shapes_agree_with_tf(function)
    ir = lower(function)
    total, by_type = profile(function.graph)
    assert sum(tfprof_flops(n) for n in ir.nodes) == total
    assert by_tf_type(ir) == by_type
    return ir


def find(ir: Graph, tf_op: str) -> Node:
    return next(n for n in ir.nodes if n.attrs["tf_op"] == tf_op and not n.attrs.get("tf_part"))


def cost(node: Node) -> Cost:
    found = REGISTRY.cost(node)
    assert found is not None, node
    return found


def test_convolutions_and_pools_nhwc(tf: Any, profile: Any, by_tf_type: Any) -> None:
    def net(x: Any) -> Any:  # x: (2, 8, 8, 4)
        a = tf.nn.conv2d(x, weight(3, 3, 4, 6), strides=2, padding="SAME")  # (2, 4, 4, 6)
        b = tf.nn.conv2d(
            x, weight(3, 3, 2, 6), strides=1, padding="VALID"
        )  # groups 2: (2, 6, 6, 6)
        c = tf.nn.depthwise_conv2d(x, weight(3, 3, 4, 2), [1, 1, 1, 1], "SAME")  # (2, 8, 8, 8)
        d = tf.nn.conv2d(
            x, weight(2, 2, 4, 3), 1, [[0, 0], [1, 2], [0, 1], [0, 0]]
        )  # (2, 10, 8, 3)
        e = tf.nn.conv2d_transpose(a, weight(3, 3, 5, 6), (2, 8, 8, 5), 2, "SAME")
        f = tf.nn.avg_pool2d(c, 3, 2, "SAME") + tf.nn.max_pool2d(c, 2, 2, "VALID")
        return a, b, c, d, e, f

    ir = checked(trace(tf, net, (2, 8, 8, 4)), profile, by_tf_type)
    convs = [n for n in ir.nodes if n.op == "Conv"]
    assert [n.attrs["group"] for n in convs] == [1, 2, 4, 1]
    assert [n.inputs[1].shape for n in convs] == [
        (6, 4, 3, 3),
        (6, 2, 3, 3),
        (8, 1, 3, 3),
        (3, 4, 2, 2),
    ]
    assert convs[0].attrs["pads"] == [0, 0, 1, 1]  # SAME, 8 -> 4 at stride 2: total 1, after
    assert convs[3].attrs["pads"] == [1, 0, 2, 1]  # explicit: begins (H, W), then ends
    assert [cost(n).macs for n in convs] == [
        2 * 4 * 4 * 6 * 3 * 3 * 4,  # N*H*W*C_out * k*k*C_in
        2 * 6 * 6 * 6 * 3 * 3 * 2,  # C_in / groups = 2
        2 * 8 * 8 * 8 * 3 * 3,  # depthwise: one k*k window per output
        2 * 10 * 8 * 3 * 2 * 2 * 4,
    ]
    (transposed,) = [n for n in ir.nodes if n.op == "ConvTranspose"]
    assert transposed.inputs[0].shape == (2, 6, 4, 4) and transposed.outputs[0].shape == (
        2,
        5,
        8,
        8,
    )
    assert cost(transposed).macs == 2 * 4 * 4 * 6 * 3 * 3 * 5  # input positions * k*k*C_out
    pools = {n.op: n for n in ir.nodes if n.op.endswith("Pool")}
    assert pools["AveragePool"].outputs[0].shape == (2, 8, 4, 4)
    assert pools["MaxPool"].attrs["kernel_shape"] == [2, 2]


def test_nchw_is_lowered_channels_first(tf: Any, profile: Any, by_tf_type: Any) -> None:
    def nchw(x: Any) -> Any:  # x: (1, 4, 8, 8) channels first
        y = tf.nn.conv2d(x, weight(3, 3, 4, 6), 1, "SAME", data_format="NCHW")
        y = tf.nn.bias_add(y, weight(6), data_format="NCHW")
        y, _, _ = tf.compat.v1.nn.fused_batch_norm(
            y, weight(6), weight(6), weight(6), weight(6), is_training=False, data_format="NCHW"
        )
        return tf.nn.max_pool2d(y, 2, 2, "VALID", data_format="NCHW")

    ir = checked(trace(tf, nchw, (1, 4, 8, 8)), profile, by_tf_type)
    assert [n.op for n in ir.nodes] == ["Conv", "Add", "BatchNormalization", "MaxPool"]
    conv, bias, norm, pool = ir.nodes
    assert conv.inputs[0].shape == (1, 4, 8, 8) and conv.outputs[0].shape == (1, 6, 8, 8)
    assert cost(conv).macs == 8 * 8 * 6 * 3 * 3 * 4
    assert bias.inputs[1].shape == (6, 1, 1)  # broadcasts along channels
    assert [s.kind for s in norm.inputs[3:]] == ["buffer", "buffer"]
    assert pool.outputs[0].shape == (1, 6, 4, 4)
    assert tfprof_flops(pool) == 0  # the profiler counts NCHW pools as 0 (ValueError)


def test_matmul_family(tf: Any, profile: Any, by_tf_type: Any) -> None:
    def mm(a: Any, b: Any, c: Any) -> Any:  # a: (5, 3), b: (2, 7, 3), c: (2, 4, 6, 8)
        g = tf.matmul(a, weight(4, 3), transpose_b=True)  # (5, 4): Gemm transB
        h = tf.matmul(b, weight(2, 7, 9), adjoint_a=True)  # (2, 3, 9): adj_x
        e = tf.einsum("bhqd,bhkd->bhqk", c, c)  # (2, 4, 6, 6)
        return tf.matmul(a, weight(3, 2)), g, h, e

    ir = checked(trace(tf, mm, (5, 3), (2, 7, 3), (2, 4, 6, 8)), profile, by_tf_type)
    gemm, batch, einsum = find(ir, "MatMul"), find(ir, "BatchMatMulV2"), find(ir, "Einsum")
    gemm = next(n for n in ir.nodes if n.op == "Gemm")
    assert (gemm.attrs["transA"], gemm.attrs["transB"]) == (0, 1)
    assert cost(gemm).macs == 5 * 3 * 4
    assert batch.op == "MatMul" and batch.inputs[0].shape == (2, 3, 7)  # spec transposed
    assert cost(batch).macs == 2 * 3 * 7 * 9  # batch * m * k * n with k = 7
    # The profiler's BatchMatMul reads transpose_a, which adj_x ops lack: k = stored last dim 3.
    assert tfprof_flops(batch) == 3 * (2 * 3 * 9) * 2
    assert einsum.op == "Einsum" and cost(einsum).macs == 2 * 4 * 6 * 6 * 8


def test_elementwise_and_activations(tf: Any, profile: Any, by_tf_type: Any) -> None:
    def act(x: Any) -> Any:  # x: (3, 4)
        ys = [tf.nn.relu6(x), tf.nn.selu(x), tf.nn.elu(x), tf.nn.leaky_relu(x, 0.1),
              tf.nn.softplus(x), tf.math.erf(x), tf.math.erfc(x), tf.math.rsqrt(x),
              tf.math.squared_difference(x, 1.0), tf.square(x), tf.maximum(x, 0.0),
              tf.minimum(x, 0.0), x / 3.0, tf.sqrt(x), tf.exp(x), tf.sigmoid(x), tf.tanh(x),
              tf.math.log(x), -x, tf.nn.softmax(x), tf.nn.log_softmax(x), x - 1.0]  # fmt: skip
        return tf.add_n(ys)

    ir = checked(trace(tf, act, (3, 4)), profile, by_tf_type)
    ops = {n.attrs["tf_op"]: [m.op for m in ir.nodes if m.name == n.name] for n in ir.nodes}
    assert ops["Relu6"] == ["Clip"] and ops["Rsqrt"] == ["Sqrt", "Reciprocal"]
    assert ops["SquaredDifference"] == ["Sub", "Mul"] and ops["Erfc"] == ["Erf", "Sub"]
    assert ops["AddN"] == ["Sum"] and ops["LeakyRelu"] == ["LeakyRelu"]
    assert find(ir, "LeakyRelu").attrs["alpha"] == pytest.approx(0.1)
    assert all(REGISTRY.status(n.op) != "unsupported" for n in ir.nodes)
    assert tfprof_flops(find(ir, "Rsqrt")) == 2 * 12  # "Rsqrt(x) = 1 / sqrt(x)": 2 per element
    assert tfprof_flops(find(ir, "AddN")) == 12 * (22 - 1)  # elements * (inputs - 1)


def test_array_ops_and_reductions(tf: Any, profile: Any, by_tf_type: Any) -> None:
    def arr(x: Any) -> Any:  # x: (2, 3, 4)
        p = tf.pad(x, [[0, 0], [1, 1], [2, 0]]) + 1.0  # (2, 5, 6)
        m = tf.pad(x, [[0, 0], [1, 1], [1, 1]], mode="REFLECT")  # (2, 5, 6)
        c = tf.concat([p, m], axis=-1)  # (2, 5, 12)
        t = tf.transpose(c, [0, 2, 1])[:, 1:, ::2]  # (2, 11, 3)
        s = tf.squeeze(tf.expand_dims(t, 1), [1])
        u = tf.stack([s, s], axis=1)  # (2, 2, 11, 3)
        r = tf.reshape(u, [tf.shape(u)[0], -1])  # (2, 66)
        a, b = tf.split(r, 2, axis=1)
        g = tf.gather(tf.tile(a, [1, 2]), [0, 2], axis=1)  # (2, 2)
        return (tf.reduce_mean(x, [1, 2]), tf.reduce_sum(x, 2, keepdims=True),
                tf.reduce_max(x, 0), tf.cast(g, tf.float16), b)  # fmt: skip

    ir = checked(trace(tf, arr, (2, 3, 4)), profile, by_tf_type)
    pads = [n for n in ir.nodes if n.op == "Pad"]
    assert [(p.attrs["pads"], p.attrs["mode"]) for p in pads] == [
        ([0, 1, 2, 0, 1, 0], "constant"),  # all begins, then all ends
        ([0, 1, 1, 0, 1, 1], "reflect"),
    ]
    mean = find(ir, "Mean")
    assert (mean.op, mean.attrs["axes"], mean.attrs["keepdims"]) == ("ReduceMean", [1, 2], 0)
    assert tfprof_flops(mean) == 2 * 3 * 4  # input elements (sum, then one divide per output)
    assert tfprof_flops(find(ir, "Sum")) == 2 * 3 * 4 - 2 * 3  # in - out
    assert find(ir, "Reshape").outputs[0].shape == (2, 66)
    assert all(REGISTRY.status(n.op) != "unsupported" for n in ir.nodes)
    assert any("shape computations" in note for note in ir.notes)  # Shape -> StridedSlice


def test_unknown_op_is_reported_not_dropped(tf: Any) -> None:
    def det(x: Any) -> Any:
        return tf.linalg.det(x) * 2.0

    ir = lower(trace(tf, det, (4, 3, 3)))
    assert [n.op for n in ir.nodes] == ["tf.MatrixDeterminant", "Mul"]
    assert REGISTRY.status("tf.MatrixDeterminant") == "unsupported"
    assert ir.nodes[0].outputs[0].shape == (4,)  # TF's static shape, no rule of flopcount's


def test_data_dependent_shape_is_a_clear_error(tf: Any) -> None:
    def where(x: Any) -> Any:
        return tf.reduce_sum(tf.cast(tf.where(x > 0), tf.float32))

    with pytest.raises(ShapeError, match=r"Where node 'Where'.*output 0 is \(None, 2\)"):
        lower(trace(tf, where, (3, 3)))


def test_conv3d_and_pool3d(tf: Any, profile: Any, by_tf_type: Any) -> None:
    def video(x: Any) -> Any:  # x: (1, 4, 6, 6, 2) NDHWC
        y = tf.nn.conv3d(x, weight(3, 3, 3, 2, 5), [1, 1, 1, 1, 1], "SAME")  # (1, 4, 6, 6, 5)
        return tf.nn.avg_pool3d(y, 2, 2, "VALID")  # (1, 2, 3, 3, 5)

    ir = checked(trace(tf, video, (1, 4, 6, 6, 2)), profile, by_tf_type)
    conv, pool = ir.nodes
    assert conv.inputs[0].shape == (1, 2, 4, 6, 6) and conv.inputs[1].shape == (5, 2, 3, 3, 3)
    assert cost(conv).macs == 4 * 6 * 6 * 5 * (3 * 3 * 3 * 2)  # D*H*W*C_out * kernel*C_in
    assert conv.attrs["pads"] == [1, 1, 1, 1, 1, 1]
    assert pool.op == "AveragePool" and pool.outputs[0].shape == (1, 5, 2, 3, 3)


def test_shape_arithmetic_is_integer_work(tf: Any, profile: Any, by_tf_type: Any) -> None:
    def flatten(x: Any) -> Any:  # x: (2, 4, 6); the flattened size is computed in the graph
        shape = tf.shape(x)
        return tf.reshape(x, [shape[0], shape[1] * shape[2]])

    ir = checked(trace(tf, flatten, (2, 4, 6)), profile, by_tf_type)
    mul, reshape = ir.nodes  # Shape, StridedSlice, Pack are folded into known values
    assert (mul.op, cost(mul).int_ops, cost(mul).flops) == ("Mul", 1, 0)  # one int32 product
    assert tfprof_flops(mul) == 1  # the profiler counts it as a float op
    assert reshape.outputs[0].shape == (2, 4 * 6)
