"""The pure-Python fast ONNX path: it lowers plain models to exactly the onnx path's graph,
declines what it cannot settle, and imports neither NumPy nor onnx nor protobuf."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import helper
from onnx_helpers import INT64, init, make, total, vi

import flopcount.costs as costs
from flopcount.errors import FlopcountError, ModelLoadError
from flopcount.frontends import onnx as onnx_frontend
from flopcount.frontends import onnx_fast
from flopcount.frontends.onnx_fastfold import FOLDED_OPS, fast_fold
from flopcount.frontends.onnx_fold import FOLDERS, fold
from flopcount.frontends.onnx_small import NotFastError, Small

SRC = Path(__file__).resolve().parents[2] / "src"


def _fast_equals_onnx(model: onnx.ModelProto, **kwargs: Any) -> Any:
    """The fast path's graph of ``model``, after checking it equals the onnx path's."""
    fast = onnx_fast.try_lower(model, kwargs.get("input_shapes"), kwargs.get("dims"), True)
    assert fast is not None, "the fast path declined"
    slow = onnx_frontend._lower_onnx(model, kwargs.get("input_shapes"), kwargs.get("dims"))
    onnx_fast.check_same(fast, slow)
    return fast


def _const(name: str, values: list[int]) -> Any:
    return init(name, [len(values)], values, dtype=np.int64)


def _cnn() -> onnx.ModelProto:
    """Conv (pads, strides, groups, dilations) -> BN -> Relu -> pools -> Flatten -> Gemm."""
    node = helper.make_node
    return make(
        [
            node(
                "Conv",
                ["x", "w", "b"],
                ["c"],
                pads=[1, 2, 1, 2],
                strides=[2, 1],
                group=2,
                dilations=[1, 2],
                name="/features/conv/Conv",
            ),
            node("BatchNormalization", ["c", "s", "o", "m", "v"], ["n"]),
            node("Relu", ["n"], ["r"]),
            node("MaxPool", ["r"], ["p"], kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
            node("AveragePool", ["p"], ["a"], kernel_shape=[2, 2], ceil_mode=1),
            node("GlobalAveragePool", ["a"], ["g"]),
            node("Flatten", ["g"], ["f"]),
            node("Gemm", ["f", "fc", "fb"], ["y"], transB=1, alpha=0.5),
        ],
        [vi("x", ["batch", 4, 17, 20])],
        [vi("y", None)],
        [
            init("w", [6, 2, 3, 3]),
            init("b", [6]),
            *(init(n, [6]) for n in "somv"),
            init("fc", [10, 6]),
            init("fb", [10]),
        ],
    )


def _transformer() -> onnx.ModelProto:
    """Attention-like shape computations: Shape -> Gather -> Unsqueeze -> Concat -> Reshape,
    Cast -> Sqrt -> Div for the scale, a causal mask from Range/Trilu/Where, Split, Slice."""
    node = helper.make_node
    nodes = [
        node("Shape", ["x"], ["xs"]),
        node("Gather", ["xs", "i0"], ["b"], axis=0),
        node("Gather", ["xs", "i1"], ["t"], axis=0),
        node("Unsqueeze", ["b", "ax0"], ["bu"]),
        node("Unsqueeze", ["t", "ax0"], ["tu"]),
        node("Concat", ["bu", "tu", "heads", "minus1"], ["qshape"], axis=0),
        node("MatMul", ["x", "wqkv"], ["qkv"]),
        node("Split", ["qkv", "thirds"], ["q", "k", "v"], axis=2),
        node("Reshape", ["q", "qshape"], ["q4"]),
        node("Reshape", ["k", "qshape"], ["k4"]),
        node("Reshape", ["v", "qshape"], ["v4"]),
        node("Transpose", ["q4"], ["qt"], perm=[0, 2, 1, 3]),
        node("Transpose", ["k4"], ["kt"], perm=[0, 2, 3, 1]),
        node("Transpose", ["v4"], ["vt"], perm=[0, 2, 1, 3]),
        node("Shape", ["qt"], ["qts"], start=-1),
        node("Cast", ["qts"], ["qtf"], to=onnx.TensorProto.FLOAT),
        node("Sqrt", ["qtf"], ["root"]),
        node("Div", ["one", "root"], ["scale"]),
        node("MatMul", ["qt", "kt"], ["scores"]),
        node("Mul", ["scores", "scale"], ["scaled"]),
        node("Range", ["zero", "t", "step"], ["positions"]),
        node("Unsqueeze", ["t", "ax0"], ["t1"]),
        node("Concat", ["t1", "t1"], ["square"], axis=0),
        node("ConstantOfShape", ["square"], ["ones"],
             value=helper.make_tensor("v", onnx.TensorProto.FLOAT, [1], [1.0])),
        node("Trilu", ["ones"], ["lower"], upper=0),
        node("Equal", ["lower", "zerof"], ["masked"]),
        node("Where", ["masked", "neg", "scaled"], ["biased"]),
        node("Softmax", ["biased"], ["attn"], axis=-1),
        node("MatMul", ["attn", "vt"], ["ctx"]),
        node("Transpose", ["ctx"], ["ctxt"], perm=[0, 2, 1, 3]),
        node("Reshape", ["ctxt", "flat"], ["merged"]),
        node("LayerNormalization", ["merged", "gamma", "beta"], ["ln"], axis=-1),
        node("Slice", ["ln", "s0", "s1", "s2", "s3"], ["sliced"]),
        node("ReduceMean", ["sliced"], ["mean"], axes=[-1], keepdims=0),
        node("Mod", ["t", "two"], ["parity"]),
        node("Erf", ["ln"], ["e"]),
        node("Tanh", ["e"], ["th"]),
        node("Sigmoid", ["th"], ["y"]),
    ]  # fmt: skip
    inits = [
        init("i0", [], [0], dtype=np.int64), init("i1", [], [1], dtype=np.int64),  # scalars
        _const("ax0", [0]), _const("heads", [2]),
        _const("minus1", [-1]), _const("thirds", [8, 8, 8]), _const("flat", [0, 0, 8]),
        _const("s0", [1]), _const("s1", [-1]), _const("s2", [2]), _const("s3", [2]),
        init("wqkv", [8, 24]), init("one", [], [1.0]), init("zerof", [], [0.0]),
        init("neg", [], [-1e9]), init("gamma", [8]), init("beta", [8]),
        init("zero", [], [0], dtype=np.int64), init("step", [], [1], dtype=np.int64),
        init("two", [], [2], dtype=np.int64),
    ]  # fmt: skip
    outputs = [
        vi("y", None),
        vi("mean", None),
        vi("positions", None, INT64),
        vi("parity", None, INT64),
    ]
    return make(nodes, [vi("x", ["batch", "seq", 8])], outputs, inits)


def _decoder() -> onnx.ModelProto:
    """ConvTranspose, Pad, InstanceNormalization, DepthToSpace, ArgMax, Dropout, Clip..."""
    node = helper.make_node
    nodes = [
        node("ConvTranspose", ["x", "w"], ["up"], strides=[2, 2], pads=[1, 1, 0, 0],
             output_padding=[1, 0], group=2),
        node("Pad", ["up", "pads"], ["padded"], mode="reflect"),
        node("InstanceNormalization", ["padded", "s", "b"], ["norm"]),
        node("SpaceToDepth", ["norm"], ["deep"], blocksize=2),
        node("DepthToSpace", ["deep"], ["wide"], blocksize=2),
        node("Dropout", ["wide"], ["drop", "mask"]),
        node("Clip", ["drop", "lo", "hi"], ["clipped"]),
        node("ArgMax", ["clipped"], ["arg"], axis=1, keepdims=0),
        node("GlobalMaxPool", ["clipped"], ["g"]),
        node("Squeeze", ["g", "sq"], ["flat"]),
        node("Max", ["flat", "flat"], ["mx"]),
        node("Sum", ["mx", "flat", "flat"], ["y"]),
        node("Shape", ["arg"], ["argshape"]),
        node("Tile", ["argshape", "reps"], ["tiled"]),
        node("Less", ["tiled", "reps"], ["small"]),
        node("Not", ["small"], ["big"]),
    ]  # fmt: skip
    boolean = onnx.TensorProto.BOOL
    outputs = [vi("y", None), vi("arg", None, INT64), vi("mask", None, boolean)]
    outputs.append(vi("big", None, boolean))
    inits = [
        init("w", [4, 3, 3, 3]), _const("pads", [0, 0, 1, 2, 0, 0, 0, 0]), init("s", [6]),
        init("b", [6]), init("lo", [], [0.0]), init("hi", [], [6.0]), _const("sq", [2, 3]),
        _const("reps", [3]),
    ]  # fmt: skip
    return make(nodes, [vi("x", [1, 4, 5, 6])], outputs, inits)


def test_decoder_ops_lower_fast_to_the_onnx_graph() -> None:
    graph = _fast_equals_onnx(_decoder())
    by_name = {n.outputs[0].name: n for n in graph.nodes}
    # ConvTranspose H: 2 * (5 - 1) + 1 + 3 - 1 - 0 = 11; W: 2 * (6 - 1) + 0 + 3 - 1 - 0 = 12
    assert by_name["up"].outputs[0].shape == (1, 3 * 2, 11, 12)
    assert by_name["padded"].outputs[0].shape == (1, 6, 11 + 1, 12 + 2)  # begins (1, 2)
    assert by_name["deep"].outputs[0].shape == (1, 6 * 2 * 2, 12 // 2, 14 // 2)
    assert by_name["arg"].outputs[0].shape == (1, 12, 14)  # axis 1 dropped


def test_cnn_lowers_fast_to_the_onnx_graph() -> None:
    graph = _fast_equals_onnx(_cnn(), dims={"batch": 3})
    conv = graph.nodes[0]
    # H: (17 + 1 + 1 - 3) // 2 + 1 = 9; W: (20 + 2 + 2 - (3 - 1) * 2 - 1) // 1 + 1 = 20
    assert conv.outputs[0].shape == (3, 6, 9, 20)
    assert conv.scope == "features.conv"
    # MaxPool: (9 + 2 - 3) // 2 + 1 = 5, (20 + 2 - 3) // 2 + 1 = 10; AveragePool ceil: 4 x 9
    assert graph.nodes[4].outputs[0].shape == (3, 6, 4, 9)
    gemm = costs.REGISTRY.cost(graph.nodes[-1])
    assert gemm is not None and gemm.macs == 3 * 10 * 6  # N * out * in


def test_transformer_shape_chains_fold_in_pure_python() -> None:
    graph = _fast_equals_onnx(_transformer(), dims={"batch": 2, "seq": 5})
    by_name = {n.outputs[0].name: n for n in graph.nodes}
    assert by_name["q4"].attrs["shape"] == [2, 5, 2, -1]  # Concat of the folded Gathers
    assert by_name["q4"].outputs[0].shape == (2, 5, 2, 4)  # 8 channels / 2 heads
    assert by_name["positions"].outputs[0].shape == (5,)  # Range(0, seq, 1)
    assert by_name["sliced"].outputs[0].shape == (2, 5, 3)  # axis 2: range(8)[1:-1:2]
    assert by_name["mean"].outputs[0].shape == (2, 5)


@pytest.mark.parametrize("dims", [{"batch": 1, "seq": 7}, {"seq": 3}])
def test_transformer_binds_dimensions_like_the_onnx_path(dims: dict[str, int]) -> None:
    graph = _fast_equals_onnx(_transformer(), dims=dims)
    assert graph.inputs[0].shape == (dims.get("batch", 1), dims["seq"], 8)


def test_a_file_lowers_fast_and_by_lower(tmp_path: Path) -> None:
    path = tmp_path / "cnn.onnx"
    onnx.save(_cnn(), path)
    fast = onnx_fast.try_lower(path, None, {"batch": 2}, False)
    assert fast is not None and fast.name == "test"
    assert onnx_frontend.lower(path, dims={"batch": 2}) == fast


def test_an_op_without_a_rule_falls_back_with_the_same_result() -> None:
    model = make(
        [helper.make_node("Einsum", ["a", "b"], ["c"], equation="ij,jk->ik")],
        [vi("a", [3, 4]), vi("b", [4, 5])],
        [vi("c", None)],
    )
    assert onnx_fast.try_lower(model, None, None, True) is None
    graph = onnx_frontend.lower(model)  # the suite's check mode compares both paths
    assert total(graph).macs == 3 * 4 * 5  # M * K * N


@pytest.mark.parametrize("what", ["subgraph", "symbolic", "value_info"])
def test_declines_what_it_cannot_settle(what: str) -> None:
    node = helper.make_node("Relu", ["x"], ["y"])
    model = make([node], [vi("x", [2, 3])], [vi("y", None)])
    if what == "subgraph":
        inner = helper.make_node("Relu", ["x"], ["z"])
        body = helper.make_graph([inner], "body", [], [vi("z", None)])
        branch = helper.make_node("If", ["c"], ["y"], then_branch=body, else_branch=body)
        flag = vi("c", [], onnx.TensorProto.BOOL)
        model = make([branch], [flag, vi("x", [2, 3])], [vi("y", None)])
    elif what == "symbolic":
        model = make([node], [vi("x", [2, "n"])], [vi("y", None)])
    else:
        model.graph.value_info.append(vi("y", [2, 4]))  # contradicts Relu's (2, 3)
    assert onnx_fast.try_lower(model, None, None, True) is None


def test_declared_types_that_agree_keep_the_fast_path() -> None:
    """torch's dynamo exporter declares value_info for weights, inputs and activations."""
    model = _cnn()
    model.graph.value_info.extend(
        [vi("w", [6, 2, 3, 3]), vi("x", ["batch", 4, 17, 20]), vi("c", ["batch", 6, 9, 20])]
    )
    graph = _fast_equals_onnx(model, dims={"batch": 2})
    assert graph.nodes[0].outputs[0].shape == (2, 6, 9, 20)


def test_malformed_files_decline_and_raise_the_onnx_paths_error(tmp_path: Path) -> None:
    whole = _cnn().SerializeToString()
    for name, data in [("cut", whole[: len(whole) // 3]), ("noise", os.urandom(999))]:
        path = tmp_path / f"{name}.onnx"
        path.write_bytes(data)
        assert onnx_fast.try_lower(path, None, None, False) is None
        with pytest.raises(ModelLoadError):
            onnx_frontend.lower(path)


def test_fast_folders_cover_and_match_onnx_fold() -> None:
    assert set(FOLDERS) == FOLDED_OPS
    a, b = np.array([[3, -7, 5]], dtype=np.int64), np.array([[2], [-3]], dtype=np.int64)
    f = np.array([1.5, 2.0, 0.1], dtype=np.float32)
    cases: list[tuple[str, list[np.ndarray], dict[str, Any]]] = [
        ("Div", [a, b], {}), ("Mod", [a, b], {}), ("Mod", [a, b], {"fmod": 1}),
        ("Add", [a, b], {}), ("Mul", [f, f], {}), ("Div", [f, f[::-1].copy()], {}),
        ("Sqrt", [f], {}), ("Equal", [a, b], {}), ("Gather", [a, np.array([-1, 0])], {"axis": 1}),
        ("Slice", [a, np.array([2]), np.array([-9]), np.array([1]), np.array([-1])], {}),
        ("Concat", [a, a], {"axis": 1}), ("Unsqueeze", [a, np.array([-1])], {}),
        ("Squeeze", [a], {}), ("Transpose", [a], {}), ("Cast", [f], {"to": 7}),
        ("Cast", [a], {"to": 1}), ("Expand", [b, np.array([2, 3])], {}),
        ("Range", [np.array(1), np.array(9), np.array(3)], {}), ("Tile", [a, np.array([2, 1])], {}),
        ("Where", [a > 0, a, b], {}), ("Reshape", [a, np.array([3, -1])], {}),
        ("ConstantOfShape", [np.array([2, 2])], {"value": [7]}), ("Flatten", [a], {"axis": 0}),
    ]  # fmt: skip
    for op, arrays, attrs in cases:
        expected = fold(op, arrays, attrs)
        smalls = [Small(str(x.dtype), x.shape, tuple(x.ravel().tolist())) for x in arrays]
        got = fast_fold(op, smalls, attrs)
        assert expected is not None and got is not None, op
        assert (got.dtype, got.shape, got.tolist()) == (
            str(expected.dtype),
            expected.shape,
            expected.tolist(),
        ), op


def test_fast_folders_decline_what_numpy_would_round_differently() -> None:
    half = Small("float16", (1,), (1.5,))
    with pytest.raises(NotFastError):
        fast_fold("Add", [half, half], {})
    with pytest.raises(NotFastError):
        fast_fold("Add", [Small("int64", (), (2**62,))] * 2, {})  # NumPy wraps around


_CHILD = """
import json, sys
import flopcount.costs as costs
from flopcount.frontends.onnx import lower
graph = lower(sys.argv[1], dims=json.loads(sys.argv[2]))
macs = sum((costs.REGISTRY.cost(n) or costs.ZERO).macs for n in graph.nodes)
heavy = [m for m in ("numpy", "onnx", "google.protobuf") if m in sys.modules]
print(json.dumps({"macs": macs, "heavy": heavy}))
"""


@pytest.mark.parametrize(
    ("build", "dims"), [(_cnn, {"batch": 2}), (_transformer, {"batch": 2, "seq": 5})]
)
def test_lowering_and_costing_imports_neither_numpy_nor_onnx(
    tmp_path: Path, build: Any, dims: dict[str, int]
) -> None:
    path = tmp_path / "model.onnx"
    onnx.save(build(), path)
    env = dict(os.environ, PYTHONPATH=str(SRC), FLOPCOUNT_ONNX_FAST="1")
    command = [sys.executable, "-c", _CHILD, str(path), json.dumps(dims)]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout)
    assert result["heavy"] == []
    expected = total(onnx_frontend.lower(path, dims=dims)).macs
    assert result["macs"] == expected


@pytest.mark.slow
@pytest.mark.parametrize("opset", [13, 17, 20])
def test_onnx_node_test_models_lower_alike_both_ways(opset: int) -> None:
    """Every single-op model of onnx's own backend tests (onnx.backend.test.case.node), its
    opset forced to ``opset`` (so some use attributes or inputs that opset lacks): the fast
    path declines it or gives the onnx path's graph exactly."""
    from onnx.backend.test.case.node import collect_testcases

    same, mismatches = 0, []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cases = collect_testcases(None)
    for case in cases:
        model = case.model
        for imported in model.opset_import:
            if imported.domain in ("", "ai.onnx"):
                imported.version = opset
        fast = onnx_fast.try_lower(model, None, None, True)
        if fast is None:
            continue
        try:
            onnx_fast.check_same(fast, onnx_frontend._lower_onnx(model, None, None))
            same += 1
        except FlopcountError as exc:
            mismatches.append(f"{case.name}: {exc}")
    assert mismatches == []
    assert same >= 400  # 493 (opset 13) to 611 (opset 20) of 1,884 with onnx 1.23
