"""The TF frontend end to end: the TF1 example, one small Keras CNN in every input format."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flopcount.costs import Cost
from flopcount.costs.tfprof import tfprof_flops
from flopcount.errors import FrontendError
from flopcount.frontends.tensorflow import lower
from flopcount.ir import Graph

# The small CNN's contractions at batch 1 (conftest.small_cnn), MACs = outputs * reduction:
CONV_MACS = 32 * 32 * 8 * (3 * 3 * 3)  # H*W*C_out * kh*kw*C_in ("same" keeps 32x32)
DW_MACS = 14 * 14 * 8 * (3 * 3)  # depthwise on the 16x16 pooled map, "valid": 14x14, k*k
FC_MACS = 8 * 10  # dense 8 -> 10
SMALL_CNN_MACS = CONV_MACS + DW_MACS + FC_MACS
# Trainable: conv 3*3*3*8 + 8, bn gamma/beta 2*8, depthwise 3*3*8 + 8, dense 8*10 + 10.
SMALL_CNN_PARAMS = (3 * 3 * 3 * 8 + 8) + 2 * 8 + (3 * 3 * 8 + 8) + (8 * 10 + 10)
SMALL_CNN_STATS = 2 * 8  # moving mean and variance


def tf1_matmul_graph(tf: Any) -> Any:
    """The classic example: C = A @ B with A, B random-normal variables, before freezing."""
    graph = tf.Graph()
    with graph.as_default():
        a = tf.compat.v1.Variable(tf.random.normal([25, 16]), name="A")
        b = tf.compat.v1.Variable(tf.random.normal([16, 9]), name="B")
        tf.matmul(a, b, name="output")
        tf.compat.v1.global_variables_initializer()
    return graph


def test_tf1_example_counts_7200_before_and_after_freezing(
    tf: Any, profile: Callable[..., Any], measure: Callable[[Graph], Cost]
) -> None:
    graph = tf1_matmul_graph(tf)
    with tf.compat.v1.Session(graph=graph) as sess:
        sess.run(graph.get_operation_by_name("init"))
        frozen_def = tf.compat.v1.graph_util.convert_variables_to_constants(
            sess, graph.as_graph_def(), ["output"]
        )
    frozen = tf.Graph()
    with frozen.as_default():
        tf.graph_util.import_graph_def(frozen_def, name="")
    matmul = 2 * 25 * 16 * 9  # 2 * M * K * N
    # The profiler also counts random_normal's x * stddev + mean: a Mul and an Add per element.
    assert profile(graph)[0] == matmul + 2 * (25 * 16 + 16 * 9) == 8288
    assert profile(frozen)[0] == matmul == 7200
    for model in (graph, frozen_def, frozen):
        ir = lower(model)
        assert [n.op for n in ir.nodes] == ["MatMul"]
        assert measure(ir).flops == sum(tfprof_flops(n) for n in ir.nodes) == 7200
        assert sum(p.numel for p in ir.parameters.values()) == 25 * 16 + 16 * 9
    note = next(n for n in lower(graph).notes if n.startswith("left out"))
    assert "not needed for outputs ['output']" in note and "initializers" in note
    assert "RandomStandardNormal x2" in note


def test_outputs_argument_cuts_the_graph(tf: Any) -> None:
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 4], name="x")
        hidden = tf.nn.relu(tf.matmul(x, tf.ones([4, 6])), name="hidden")
        tf.matmul(hidden, tf.ones([6, 2]), name="logits")
    assert [n.name for n in lower(graph).nodes] == ["MatMul", "hidden", "logits"]
    cut = lower(graph, outputs=["hidden"], input_shapes={"x": (5, 4)})
    assert [n.name for n in cut.nodes] == ["MatMul", "hidden"]
    assert cut.nodes[0].outputs[0].shape == (5, 6)
    assert any(n.startswith("left out 2 ops") and "(Const, MatMul)" in n for n in cut.notes)


def test_name_scopes_become_dotted_scopes(tf: Any) -> None:
    graph = tf.Graph()
    with graph.as_default(), tf.name_scope("encoder"), tf.name_scope("block1"):
        x = tf.compat.v1.placeholder(tf.float32, [2, 3], name="x")
        tf.nn.relu(x, name="act")
    (node,) = lower(graph).nodes
    assert (node.name, node.scope, node.attrs["tf_op"]) == (
        "encoder/block1/act",
        "encoder.block1",
        "Relu",
    )


@pytest.fixture(scope="module")
def small_frozen(small_cnn: Any, freeze: Callable[..., Any]) -> tuple[Any, Path]:
    return freeze(small_cnn, (1, 32, 32, 3), "small_cnn")


def test_small_cnn_tfprof_matches_the_profiler(
    small_frozen: tuple[Any, Path], profile: Callable[..., Any], by_tf_type: Callable[..., Any]
) -> None:
    graph, path = small_frozen
    expected_total, expected_by_type = profile(graph)
    ir = lower(path)
    assert sum(tfprof_flops(n) for n in ir.nodes) == expected_total
    assert by_tf_type(ir) == expected_by_type
    assert expected_by_type["Conv2D"] == 2 * CONV_MACS  # the profiler's 2 FLOPs per MAC
    assert expected_by_type["MaxPool"] == 2 * 2 * 16 * 16 * 8  # kernel area * outputs


@pytest.fixture(scope="module")
def small_cnn_files(small_cnn: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("small_cnn")
    small_cnn.export(str(folder / "saved"), verbose=False)
    small_cnn.save(folder / "model.keras")
    small_cnn.save(folder / "model.h5")
    return {"saved": folder / "saved", "keras": folder / "model.keras", "h5": folder / "model.h5"}


def test_small_cnn_same_flops_in_every_format(
    small_cnn: Any,
    small_frozen: tuple[Any, Path],
    small_cnn_files: dict[str, Path],
    measure: Callable[[Graph], Cost],
) -> None:
    frozen = lower(small_frozen[1])
    unfrozen = {"object": lower(small_cnn)} | {k: lower(p) for k, p in small_cnn_files.items()}
    expected = measure(frozen)
    assert expected.macs == SMALL_CNN_MACS
    for label, ir in unfrozen.items():
        assert measure(ir) == expected, label
        assert sum(p.numel for p in ir.parameters.values()) == SMALL_CNN_PARAMS, label
        assert sum(b.numel for b in ir.buffers.values()) == SMALL_CNN_STATS, label
        assert any("unknown batch dimension set to 1" in n for n in ir.notes), label
    # Freezing erases the trainable flag: the statistics become parameters there.
    frozen_params = sum(p.numel for p in frozen.parameters.values())
    assert frozen_params == SMALL_CNN_PARAMS + SMALL_CNN_STATS


def test_keras_scopes_are_layer_paths(small_cnn: Any, small_cnn_files: dict[str, Path]) -> None:
    keras_scopes = {n.scope for n in lower(small_cnn).nodes}
    assert {
        "small_cnn.conv",
        "small_cnn.bn.batchnorm",
        "small_cnn.dw",
        "small_cnn.fc",
    } <= keras_scopes
    assert {n.scope for n in lower(small_cnn_files["keras"]).nodes} == keras_scopes
    # A SavedModel has no layer list: TF's re-entered scopes keep their suffix, and the
    # function call that Grappler inlined adds no scope.
    saved = {n.scope for n in lower(small_cnn_files["saved"]).nodes}
    assert "small_cnn_1.conv_1" in saved and not any("PartitionedCall" in s for s in saved)


def test_input_shapes_bind_the_batch(small_cnn: Any, small_cnn_files: dict[str, Path]) -> None:
    for model in (small_cnn, small_cnn_files["saved"]):
        ir = lower(model, input_shapes={"image": (4, 32, 32, 3)})
        conv = next(n for n in ir.nodes if n.op == "Conv")
        assert conv.inputs[0].shape == (4, 3, 32, 32)  # NHWC spec written channels-first
        assert conv.inputs[1].shape == (8, 3, 3, 3)  # HWIO filter written OIHW
        assert not any("unknown batch" in n for n in ir.notes)


def test_graph_inputs_outputs_and_kinds(small_cnn: Any) -> None:
    ir = lower(small_cnn)
    assert [(s.name, s.shape, s.kind) for s in ir.inputs] == [("image", (1, 32, 32, 3), "input")]
    assert [s.shape for s in ir.outputs] == [(1, 10)]
    assert ir.framework == "tensorflow"
    bn_mul = next(n for n in ir.nodes if n.attrs["tf_op"] == "Rsqrt")
    assert bn_mul.inputs[0].kind == "activation"  # variance + epsilon, computed in the graph
    assert "small_cnn/bn/moving_variance" in ir.buffers


def test_tf1_training_graph_counts_the_forward_pass(tf: Any) -> None:
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [8, 4], name="x")
        w = tf.compat.v1.get_variable("w", [4, 3])
        logits = tf.matmul(x, w, name="logits")
        tf.nn.softmax(logits, name="probs")
        with tf.name_scope("penalty"):
            penalty = 0.01 * tf.reduce_sum(tf.square(w))
        tf.compat.v1.add_to_collection(tf.compat.v1.GraphKeys.REGULARIZATION_LOSSES, penalty)
        loss = tf.reduce_mean(tf.square(logits), name="loss")
        tf.compat.v1.train.GradientDescentOptimizer(0.1).minimize(loss)
        tf.compat.v1.train.Saver()
        tf.compat.v1.global_variables_initializer()
    ir = lower(graph)
    assert [n.name for n in ir.nodes] == ["logits", "probs", "Square", "loss"]
    (note,) = (n for n in ir.notes if n.startswith("left out"))
    assert "outputs ['probs', 'loss']" in note
    for why in ("optimizer and gradients", "savers", "initializers", "regularizers"):
        assert why in note


def test_functions_graph_defs_and_text(tf: Any, tmp_path: Path, measure: Any) -> None:
    @tf.function(input_signature=[tf.TensorSpec([3, 5], tf.float32, name="a")])
    def signed(a: Any) -> Any:
        return tf.matmul(a, tf.ones([5, 2]))

    @tf.function
    def unsigned(a: Any) -> Any:
        return tf.matmul(a, tf.ones([5, 2]))

    macs = 3 * 5 * 2  # M * K * N
    assert measure(lower(signed)).macs == macs
    assert measure(lower(unsigned, input_shapes={"a": (3, 5)})).macs == macs
    graph_def = signed.get_concrete_function().graph.as_graph_def()
    assert measure(lower(graph_def.SerializeToString())).macs == macs
    text = tmp_path / "graph.pbtxt"
    text.write_text(str(graph_def))
    assert measure(lower(text)).macs == macs
    with pytest.raises(FrontendError, match="has no input_signature"):
        lower(unsigned)


def test_subclassed_keras_model_needs_input_shapes(keras: Any, measure: Any) -> None:
    class Head(keras.Model):  # type: ignore[misc]
        def __init__(self) -> None:
            super().__init__(name="head")
            self.dense = keras.layers.Dense(3)

        def call(self, x: Any) -> Any:
            return self.dense(x)

    model = Head()
    with pytest.raises(FrontendError, match="no symbolic inputs"):
        lower(model)
    assert measure(lower(model, input_shapes={"x": (2, 5)})).macs == 2 * 5 * 3  # M * K * N


def test_loaded_saved_model_object(tf: Any, small_cnn_files: dict[str, Path], measure: Any) -> None:
    loaded = tf.saved_model.load(str(small_cnn_files["saved"]))
    assert measure(lower(loaded)).macs == SMALL_CNN_MACS
