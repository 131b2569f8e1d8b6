"""The CLI on every kind of MODEL: zoo names, ONNX files (with --dim), frozen TF graphs."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from flopcount.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def gemm_onnx(tmp_path: Path) -> Path:
    """Y = X @ W with X (batch, 16) symbolic in batch, W (16, 9)."""
    weight = numpy_helper.from_array(np.zeros((16, 9), np.float32), "W")
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["X", "W"], ["Y"], name="/fc/MatMul")],
        "g",
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["batch", 9])],
        [weight],
    )
    path = tmp_path / "gemm.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_onnx_file_with_a_bound_dimension(
    capsys: pytest.CaptureFixture[str], gemm_onnx: Path
) -> None:
    code, out, _ = run(capsys, str(gemm_onnx), "--dim", "batch=25", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["framework"] == "onnx"
    assert doc["total"]["macs"] == 25 * 16 * 9 == 3600  # the textbook (25x16) @ (16x9)
    assert doc["total"]["flops"] == 7200 and doc["total"]["flops_exact"] == 25 * 9 * 31
    assert doc["params"] == 16 * 9


def test_onnx_input_shape_by_name(capsys: pytest.CaptureFixture[str], gemm_onnx: Path) -> None:
    code, out, _ = run(capsys, str(gemm_onnx), "--input-shape", "X=4x16", "--convention", "macs")
    assert code == 0 and f"Total: {4 * 16 * 9} MACs" in out


def test_zoo_model_with_sizes(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "zoo:conv3x3", "--image-size", "8", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["total"]["macs"] == 16 * 8 * 8 * (3 * 3 * 3)  # C_out*H*W * k*k*C_in = 27,648
    assert doc["unsupported"] == []


def test_unknown_zoo_name_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "zoo:resnet51")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "resnet51" in err and "resnet50" in err  # names the close match


def test_inapplicable_zoo_option_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "zoo:resnet50", "--seq", "128")
    assert code == 2 and "seq" in err and err.count("\n") == 1


def test_torchvision_spec_needs_torchvision(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "torchvision:resnet18", "--convention", "macs")
    if importlib.util.find_spec("torchvision") is None:  # not installable here (see README)
        assert code == 2 and "pip install" in err and "torchvision" in err
    else:
        assert code == 0 and "Total: 1.81 GMACs" in out  # torchvision's ResNet18 "_ops": 1.814


def test_frozen_tensorflow_graph(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import tensorflow as tf

    graph = tf.Graph()
    with graph.as_default():
        a = tf.compat.v1.placeholder(tf.float32, [25, 16], name="A")
        b = tf.constant(np.zeros((16, 9), np.float32), name="B")
        tf.matmul(a, b, name="output")
    path = tmp_path / "matmul.pb"
    path.write_bytes(graph.as_graph_def().SerializeToString())
    code, out, _ = run(capsys, str(path), "--format", "json")
    assert code == 0
    doc = json.loads(out)
    assert doc["total"]["flops"] == 2 * 25 * 16 * 9 == 7200
    code, out, _ = run(capsys, str(path), "--convention", "tfprof")
    assert code == 0 and "Total: 7.2 KFLOPs (tfprof convention)" in out
