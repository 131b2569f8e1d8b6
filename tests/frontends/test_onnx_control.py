"""Control flow (Loop, Scan, If) and model-local functions in the ONNX frontend."""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper
from onnx_helpers import INT64, init, make, total, vi

from flopcount.frontends.onnx import lower

BOOL = TensorProto.BOOL


def _loop_model(trip: int | None, early_exit: bool = False) -> onnx.ModelProto:
    """Loop carrying h (2, 8): h = h @ W, W (8, 8) read from the outer scope."""
    body_nodes = [helper.make_node("MatMul", ["h_in", "w"], ["h_out"], name="step")]
    cond_out = "cond_in"
    if early_exit:
        body_nodes.append(helper.make_node("Not", ["cond_in"], ["cond_next"]))
        cond_out = "cond_next"
    body_nodes.append(helper.make_node("Identity", [cond_out], ["cond_out"]))
    body = helper.make_graph(
        body_nodes,
        "body",
        [vi("i", [], INT64), vi("cond_in", [], BOOL), vi("h_in", [2, 8])],
        [vi("cond_out", [], BOOL), vi("h_out", [2, 8])],
    )
    inits = [init("w", [8, 8]), init("cond", [], True, np.bool_)]
    inputs = [vi("h0", [2, 8])]
    if trip is not None:
        inits.append(init("m", [], trip, np.int64))
    else:
        inputs.append(vi("m", [], INT64))
    loop = helper.make_node("Loop", ["m", "cond", "h0"], ["h"], body=body, name="loop")
    return make([loop], inputs, [vi("h", None)], inits)


def test_loop_with_constant_trip_count() -> None:
    graph = lower(_loop_model(5))
    step = next(n for n in graph.nodes if n.op == "MatMul")
    assert step.attrs["repeat"] == 5
    assert step.scope == "loop.body.step"
    assert total(graph).macs == 5 * 2 * 8 * 8  # trips * (2, 8) @ (8, 8)
    loop = next(n for n in graph.nodes if n.op == "Loop")
    assert loop.attrs["trip_count"] == 5
    assert loop.outputs[0].shape == (2, 8)


def test_loop_that_may_exit_early_counts_the_bound() -> None:
    graph = lower(_loop_model(7, early_exit=True))
    assert total(graph).macs == 7 * 2 * 8 * 8
    assert any("may stop early" in note for note in graph.notes)


def test_loop_without_static_trip_count_counts_once_with_flag() -> None:
    graph = lower(_loop_model(None))
    loop = next(n for n in graph.nodes if n.op == "Loop")
    assert loop.attrs["trip_count_unknown"] is True
    assert total(graph).macs == 2 * 8 * 8
    assert any("trip count unknown" in note for note in graph.notes)
    bound = lower(_loop_model(None), dims={"loop.trip_count": 3})
    assert total(bound).macs == 3 * 2 * 8 * 8


def test_scan_length_from_shapes() -> None:
    body = helper.make_graph(
        [
            helper.make_node("Add", ["s_in", "x_t"], ["s_out"]),
            helper.make_node("Mul", ["s_out", "x_t"], ["y_t"]),
        ],
        "body",
        [vi("s_in", [4]), vi("x_t", [4])],
        [vi("s_out", [4]), vi("y_t", [4])],
    )
    scan = helper.make_node("Scan", ["s0", "xs"], ["s", "ys"], body=body, num_scan_inputs=1)
    graph = lower(make([scan], [vi("s0", [4]), vi("xs", [6, 4])], [vi("s", None), vi("ys", None)]))
    assert total(graph).flops == 6 * (4 + 4)  # 6 steps * (add + multiply on 4 elements)
    scan_node = next(n for n in graph.nodes if n.op == "Scan")
    assert scan_node.outputs[1].shape == (6, 4)
    assert scan_node.attrs["trip_count"] == 6


def _if_model(cond: bool | None) -> onnx.ModelProto:
    big = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["t"])], "then", [], [vi("t", [3, 8])]
    )
    small = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["e"])], "else", [], [vi("e", [3, 8])]
    )
    node = helper.make_node("If", ["c"], ["y"], then_branch=big, else_branch=small, name="branchy")
    inits = [init("w", [8, 8])]
    inputs = [vi("x", [3, 8])]
    if cond is None:
        inputs.append(vi("c", [], BOOL))
    else:
        inits.append(init("c", [], cond, np.bool_))
    return make([node], inputs, [vi("y", None)], inits)


def test_if_with_unknown_condition_counts_the_larger_branch() -> None:
    graph = lower(_if_model(None))
    assert total(graph).macs == 3 * 8 * 8  # the MatMul branch
    note = next(n for n in graph.notes if "If 'branchy'" in n)
    assert f"then_branch: {2 * 3 * 8 * 8:,} FLOPs" in note and "else_branch: 24 FLOPs" in note


def test_if_with_constant_condition_lowers_the_taken_branch() -> None:
    graph = lower(_if_model(False))
    assert [n.op for n in graph.nodes] == ["Relu", "If"]
    assert total(graph).flops == 3 * 8  # one max per element
    assert graph.nodes[0].scope == "branchy.else_branch"


def test_local_function_is_inlined() -> None:
    function = helper.make_function(
        "custom", "Affine", ["x", "w"], ["y"],
        [helper.make_node("MatMul", ["x", "w"], ["t"]), helper.make_node("Relu", ["t"], ["y"])],
        [helper.make_opsetid("", 17)],
    )  # fmt: skip
    call = helper.make_node("Affine", ["a", "w"], ["b"], domain="custom", name="/block/Affine")
    model = make(
        [call], [vi("a", [4, 5])], [vi("b", None)], [init("w", [5, 6])], functions=[function]
    )
    model.opset_import.append(helper.make_opsetid("custom", 1))
    graph = lower(model)
    assert [n.op for n in graph.nodes] == ["MatMul", "Relu"]
    assert {n.scope for n in graph.nodes} == {"block"}
    assert total(graph).macs == 4 * 5 * 6
