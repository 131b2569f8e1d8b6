"""The ONNX frontend's contract: loading, binding dimensions, tensor kinds, scopes, bad input."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import helper
from onnx_helpers import INT64, init, make, total, vi

from flopcount.errors import FrontendError, ModelLoadError, ShapeError
from flopcount.frontends.onnx import lower
from flopcount.frontends.onnx_graph import torch_scope


def _linear(batch: int | str = "batch", width: int | str = 16) -> onnx.ModelProto:
    """x (batch, seq, width) -> MatMul W (width, 32) -> Relu."""
    return make(
        [
            helper.make_node("MatMul", ["x", "w"], ["h"], name="/encoder/fc/MatMul"),
            helper.make_node("Relu", ["h"], ["y"], name="/encoder/Relu"),
        ],
        [vi("x", [batch, "seq", width])],
        [vi("y", None)],
        [init("w", [16, 32])],
    )


def test_external_data_missing_still_analyses(tmp_path: Path) -> None:
    model = _linear()
    model.graph.initializer[0].CopyFrom(init("w", [16, 32], np.ones((16, 32))))
    path = tmp_path / "model.onnx"
    onnx.save_model(model, path, save_as_external_data=True, location="weights.bin",
                    size_threshold=0)  # fmt: skip
    os.remove(tmp_path / "weights.bin")
    graph = lower(path, dims={"batch": 2, "seq": 3})
    assert graph.parameters["w"].shape == (16, 32)
    assert total(graph).macs == 2 * 3 * 16 * 32


def test_dims_and_input_shapes_bind_symbols() -> None:
    by_dims = lower(_linear(), dims={"batch": 2, "seq": 5})
    by_name = lower(_linear(), input_shapes={"x": (2, 5, 16)})
    by_position = lower(_linear(), input_shapes=[(2, 5, 16)])
    for graph in (by_dims, by_name, by_position):
        assert graph.inputs[0].shape == (2, 5, 16)
        assert total(graph).macs == 2 * 5 * 16 * 32
        assert graph.inputs[0].kind == "input"


def test_unbound_dimension_error_names_it_and_the_fix() -> None:
    with pytest.raises(ShapeError) as info:
        lower(_linear())
    message = str(info.value)
    assert "'seq'" in message and "axis 1 of graph input 'x'" in message
    assert "--dim seq=VALUE" in message and "--input-shape" in message


def test_leading_batch_defaults_to_one_with_a_note() -> None:
    graph = lower(_linear(), dims={"seq": 4})
    assert graph.inputs[0].shape == (1, 4, 16)
    assert any("'batch'" in note and "assumed 1" in note for note in graph.notes)


def test_conflicting_shapes_are_errors() -> None:
    with pytest.raises(ShapeError, match="fixed to 16"):
        lower(_linear(), input_shapes={"x": (1, 4, 8)})
    with pytest.raises(ShapeError, match="rank 2"):
        lower(_linear(), input_shapes={"x": (1, 4)})
    with pytest.raises(ShapeError, match="not an input"):
        lower(_linear(), input_shapes={"nope": (1,)})
    with pytest.raises(ShapeError, match="bound twice"):
        lower(_linear(), input_shapes={"x": (2, 4, 16)}, dims={"batch": 3})


@pytest.mark.parametrize("bad", [-1, 1.5, "8", True])
def test_bad_dimension_values(bad: object) -> None:
    with pytest.raises(ShapeError):
        lower(_linear(), dims={"batch": bad, "seq": 2})  # type: ignore[dict-item]


def test_zero_and_huge_dimensions() -> None:
    zero = lower(_linear(), dims={"batch": 0, "seq": 3})
    assert total(zero).macs == 0
    start = time.perf_counter()
    huge = lower(_linear(), dims={"batch": 10**12, "seq": 10**12})
    assert time.perf_counter() - start < 5  # nothing proportional to the dims is allocated
    assert total(huge).macs == 10**24 * 16 * 32


def test_negative_declared_dimension() -> None:
    model = _linear()
    model.graph.input[0].type.tensor_type.shape.dim[2].dim_value = -3
    with pytest.raises(ShapeError, match="negative"):
        lower(model, dims={"batch": 1, "seq": 1})


def test_scopes_names_and_parameters() -> None:
    model = _linear()
    model.graph.node.append(helper.make_node("Identity", ["y"], ["z"], name="Identity_7"))
    graph = lower(model, dims={"batch": 1, "seq": 2})
    # a name without a module path in a torch export belongs to the root module
    assert [n.scope for n in graph.nodes] == ["encoder.fc", "encoder", ""]
    assert graph.nodes[0].name == "/encoder/fc/MatMul"
    assert graph.nodes[0].inputs[1].kind == "parameter"
    assert graph.framework == "onnx"


@pytest.mark.parametrize(
    ("name", "scope"),
    [
        ("/layer1/layer1.0/conv1/Conv", "layer1.0.conv1"),
        ("/transformer/h.0/attn/c_attn/Gemm", "transformer.h.0.attn.c_attn"),
        ("/Relu", ""),
        ("conv_3", "conv_3"),
    ],
)
def test_torch_scope(name: str, scope: str) -> None:
    assert torch_scope(name) == scope


def test_attributes_and_constant_kinds() -> None:
    value = helper.make_tensor("v", onnx.TensorProto.INT64, [2], [1, -1])
    model = make(
        [
            helper.make_node("Constant", [], ["shape"], value=value),
            helper.make_node("Reshape", ["x", "shape"], ["r"]),
            helper.make_node("LeakyRelu", ["r"], ["y"], alpha=0.25),
        ],
        [vi("x", [2, 3, 4])],
        [vi("y", None)],
    )
    graph = lower(model)
    constant, reshape, leaky = graph.nodes
    assert constant.attrs["value"] == [1, -1]
    assert reshape.inputs[1].kind == "constant"
    assert reshape.attrs["shape"] == [1, -1]
    assert reshape.outputs[0].shape == (1, 24)
    assert leaky.attrs == {"alpha": 0.25}
    assert graph.parameters == {}


def test_shape_arithmetic_is_folded_where_onnx_stops() -> None:
    # Reshape to (d0 * d1, -1) computed at run time from Shape -> Gather -> Mul -> Concat
    nodes = [
        helper.make_node("Shape", ["x"], ["s"]),
        helper.make_node("Gather", ["s", "i0"], ["d0"], axis=0),
        helper.make_node("Gather", ["s", "i1"], ["d1"], axis=0),
        helper.make_node("Mul", ["d0", "d1"], ["rows"]),
        helper.make_node("Unsqueeze", ["rows", "ax"], ["rows1"]),
        helper.make_node("Concat", ["rows1", "minus1"], ["target"], axis=0),
        helper.make_node("Reshape", ["x", "target"], ["flat"]),
        helper.make_node("MatMul", ["flat", "w"], ["y"]),
    ]
    inits = [init("i0", [], 0, np.int64), init("i1", [], 1, np.int64),
             init("ax", [1], [0], np.int64), init("minus1", [1], [-1], np.int64),
             init("w", [8, 4])]  # fmt: skip
    model = make(nodes, [vi("x", ["b", "t", 8])], [vi("y", None)], inits)
    graph = lower(model, dims={"b": 3, "t": 5})
    assert graph.nodes[-1].inputs[0].shape == (15, 8)
    assert total(graph).macs == 15 * 8 * 4


def test_intermediate_shape_override() -> None:
    node = helper.make_node("Mystery", ["x"], ["m"], domain="com.example")
    model = make([node, helper.make_node("Relu", ["m"], ["y"])], [vi("x", [4])], [vi("y", None)])
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    with pytest.raises(ShapeError, match="tensor 'm'"):
        lower(model)
    graph = lower(model, input_shapes={"m": (2, 5)})
    assert graph.nodes[1].outputs[0].shape == (2, 5)


def test_unknown_domain_is_an_unsupported_node(tmp_path: Path) -> None:
    node = helper.make_node("Mystery", ["x"], ["y"], domain="com.example")
    model = make([node], [vi("x", [4])], [vi("y", [4])])
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    graph = lower(model)
    assert graph.nodes[0].domain == "com.example"
    assert total(graph, allow_unsupported=True).flops == 0


def test_newer_opset_than_installed_onnx_is_noted() -> None:
    model = make([helper.make_node("Relu", ["x"], ["y"])], [vi("x", [4])], [vi("y", None)])
    model.opset_import[0].version = 99
    graph = lower(model)
    assert any("opset 99" in note for note in graph.notes)
    assert total(graph).flops == 4


def test_random_and_truncated_files(tmp_path: Path) -> None:
    noise = tmp_path / "noise.onnx"
    noise.write_bytes(np.random.default_rng(0).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    with pytest.raises(ModelLoadError):
        lower(noise)
    whole = _linear().SerializeToString()
    truncated = tmp_path / "truncated.onnx"
    truncated.write_bytes(whole[: len(whole) // 2])
    with pytest.raises(ModelLoadError):
        lower(truncated)
    empty = tmp_path / "empty.onnx"
    empty.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="no ONNX graph"):
        lower(empty)
    with pytest.raises(ModelLoadError, match="does not exist"):
        lower(tmp_path / "missing.onnx")
    with pytest.raises(ModelLoadError, match="dict"):
        lower({"not": "a model"})  # type: ignore[arg-type]


def test_cycle_and_undefined_tensor() -> None:
    cyclic = make(
        [helper.make_node("Relu", ["b"], ["a"]), helper.make_node("Relu", ["a"], ["b"])],
        [vi("x", [2])],
        [vi("b", None)],
    )
    with pytest.raises(FrontendError, match="cycle"):
        lower(cyclic)
    undefined = make([helper.make_node("Relu", ["ghost"], ["y"])], [vi("x", [2])], [vi("y", None)])
    with pytest.raises(FrontendError, match="'ghost'"):
        lower(undefined)


def test_unsorted_nodes_are_ordered() -> None:
    nodes = [helper.make_node("Relu", ["h"], ["y"]), helper.make_node("Neg", ["x"], ["h"])]
    graph = lower(make(nodes, [vi("x", [3])], [vi("y", None)]))
    assert [n.op for n in graph.nodes] == ["Neg", "Relu"]


def test_int64_input_without_shape_needs_one() -> None:
    model = make([helper.make_node("Neg", ["x"], ["y"])], [vi("x", None, INT64)], [vi("y", None)])
    with pytest.raises(ShapeError, match="--input-shape"):
        lower(model)
    assert lower(model, input_shapes={"x": (3,)}).nodes[0].outputs[0].shape == (3,)


def test_initializers_listed_as_inputs_are_parameters() -> None:
    model = _linear()
    model.graph.input.append(vi("w", [16, 32]))  # IR < 4 style: weights also graph inputs
    graph = lower(model, dims={"batch": 1, "seq": 2})
    assert [spec.name for spec in graph.inputs] == ["x"]
    assert graph.parameters["w"].kind == "parameter"


def test_the_model_proto_is_not_modified() -> None:
    model = _linear()
    before = model.SerializeToString()
    lower(model, dims={"batch": 2, "seq": 3})
    assert model.SerializeToString() == before


def test_tensor_axis_binding_reaches_later_nodes() -> None:
    node = helper.make_node("Mystery", ["x"], ["m"], domain="com.example")
    nodes = [node, helper.make_node("MatMul", ["m", "w"], ["y"])]
    model = make(nodes, [vi("x", [4])], [vi("y", None)], [init("w", [8, 3])])
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    model.graph.value_info.append(vi("m", ["unk__7", 8]))  # axis 0: an unbound symbol
    graph = lower(model, dims={"m[0]": 5})
    assert graph.nodes[1].outputs[0].shape == (5, 3)
    assert total(graph, allow_unsupported=True).macs == 5 * 8 * 3
