"""Bad inputs give one clear flopcount error each; a frozen .pb needs no TensorFlow."""

from __future__ import annotations

import random
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from flopcount.errors import (
    FlopcountError,
    FrontendError,
    MissingDependencyError,
    ModelLoadError,
    ShapeError,
)
from flopcount.frontends.tensorflow import lower
from flopcount.frontends.tf_proto import parse_graph_def

SRC = Path(__file__).resolve().parents[3] / "src"


@pytest.fixture(scope="module")
def frozen_pb(tf: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A frozen two-layer graph with an unknown batch: x (None, 6) -> dense 4 -> relu -> dense 3."""
    graph = tf.Graph()
    with graph.as_default():
        x = tf.compat.v1.placeholder(tf.float32, [None, 6], name="x")
        hidden = tf.nn.relu(tf.matmul(x, tf.ones([6, 4])) + tf.ones([4]))
        tf.matmul(hidden, tf.ones([4, 3]), name="logits")
    path = tmp_path_factory.mktemp("pb") / "mlp.pb"
    path.write_bytes(graph.as_graph_def().SerializeToString())
    return path


def error_of(model: Any, **kwargs: Any) -> FlopcountError:
    with pytest.raises(FlopcountError) as info:
        lower(model, **kwargs)
    error = info.value
    chained = error.__cause__ or (None if error.__suppress_context__ else error.__context__)
    assert chained is None  # no chained traceback under the message
    return error


def test_truncated_pb(frozen_pb: Path, tmp_path: Path) -> None:
    data = frozen_pb.read_bytes()
    for keep in (len(data) // 2, len(data) - 7):
        cut = tmp_path / "cut.pb"
        cut.write_bytes(data[:keep])
        error = error_of(cut)
        assert isinstance(error, ModelLoadError) and "cut.pb is not a valid" in str(error)


def test_random_bytes_pb(tmp_path: Path) -> None:
    noise = tmp_path / "noise.pb"
    noise.write_bytes(random.Random(0).randbytes(4096))
    error = error_of(noise)
    assert isinstance(error, ModelLoadError) and "not a valid TensorFlow GraphDef" in str(error)


def test_empty_graph(tmp_path: Path, tf: Any) -> None:
    empty = tmp_path / "empty.pb"
    empty.write_bytes(b"")
    assert "is empty" in str(error_of(empty))
    assert isinstance(error_of(tf.compat.v1.GraphDef()), FrontendError)


def test_directory_that_is_not_a_saved_model(tmp_path: Path) -> None:
    (tmp_path / "weights.bin").write_bytes(b"\0" * 8)
    error = error_of(tmp_path)
    assert isinstance(error, ModelLoadError) and "not a SavedModel" in str(error)


def test_missing_file_and_unknown_suffix(tmp_path: Path) -> None:
    assert "does not exist" in str(error_of(tmp_path / "nope.pb"))
    other = tmp_path / "model.onnx"
    other.write_bytes(b"x")
    assert "unknown TensorFlow file type" in str(error_of(other))


def test_keras_file_with_an_unregistered_custom_layer(keras: Any, tmp_path: Path) -> None:
    class Doubler(keras.layers.Layer):  # not registered: cannot be deserialised elsewhere
        def call(self, x: Any) -> Any:
            return 2.0 * x

    model = keras.Sequential([keras.Input((4,)), Doubler(name="double")])
    path = tmp_path / "custom.keras"
    model.save(path)
    error = error_of(path)
    assert isinstance(error, ModelLoadError) and "custom.keras" in str(error)
    assert "register_keras_serializable" in str(error)


def test_unknown_signature(keras: Any, tmp_path: Path) -> None:
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.export(str(tmp_path / "saved"), verbose=False)
    error = error_of(tmp_path / "saved", signature="predict")
    assert "no signature 'predict'" in str(error) and "serving_default" in str(error)


def test_input_shapes_errors(frozen_pb: Path) -> None:
    assert "not inputs of the graph" in str(error_of(frozen_pb, input_shapes={"y": (1, 6)}))
    clash = error_of(frozen_pb, input_shapes={"x": (2, 5)})
    assert isinstance(clash, ShapeError) and "declares (None, 6)" in str(clash)
    assert "'nope' is not a node" in str(error_of(frozen_pb, outputs=["nope"]))


def test_missing_tensorflow_is_an_actionable_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setitem(sys.modules, "tensorflow", None)  # makes `import tensorflow` fail
    (tmp_path / "m.keras").write_bytes(b"x")
    with pytest.raises(MissingDependencyError, match=r"pip install 'flopcount\[tf\]'"):
        lower(tmp_path / "m.keras")


def test_frozen_pb_without_tensorflow(frozen_pb: Path) -> None:
    """A fresh interpreter that cannot import TensorFlow still analyses the .pb file."""
    script = textwrap.dedent(
        f"""
        import sys
        sys.modules["tensorflow"] = None  # any import of tensorflow now fails
        import flopcount
        from flopcount.costs import REGISTRY
        from flopcount.frontends.tensorflow import lower
        graph = lower({str(frozen_pb)!r}, input_shapes={{"x": (5, 6)}})
        print([n.op for n in graph.nodes], sum(REGISTRY.cost(n).macs for n in graph.nodes))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False,
        env={"PYTHONPATH": str(SRC)}, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    # x (5, 6) @ (6, 4) then (5, 4) @ (4, 3): MACs = 5*6*4 + 5*4*3
    assert done.stdout.split() == ["['MatMul',", "'Add',", "'Relu',", "'MatMul']", "180"]
    assert 5 * 6 * 4 + 5 * 4 * 3 == 180


def test_decoder_reads_what_tensorflow_wrote(frozen_pb: Path, tf: Any) -> None:
    graph_def = tf.compat.v1.GraphDef.FromString(frozen_pb.read_bytes())
    nodes = parse_graph_def(frozen_pb.read_bytes())
    assert [(n.name, n.op) for n in nodes] == [(n.name, n.op) for n in graph_def.node]
    placeholder = next(n for n in nodes if n.op == "Placeholder")
    assert placeholder.attrs["shape"] == (None, 6) and placeholder.attrs["dtype"] == "float32"
    ones = next(n for n in nodes if n.name == "ones")
    assert ones.attrs["value"].shape == (6, 4) and ones.attrs["value"].values is None  # weights
