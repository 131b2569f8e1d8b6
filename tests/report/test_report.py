"""Report data and renderers on the hand-built graph (arithmetic in comments)."""

from __future__ import annotations

import csv
import io
import json

import pytest

from flopcount.analysis import analyze_graph
from flopcount.errors import FlopcountError, RegistryError
from flopcount.ir import Graph, Node, TensorSpec
from flopcount.report import SCHEMA, View, render

CONV_MACS = 1 * 4 * 8 * 8 * (3 * 3 * 3)  # N*C_out*H*W * k*k*C_in = 6912
CONV_FLOPS = 2 * CONV_MACS + 1 * 4 * 8 * 8  # plus one bias add per output = 14080
RELU_FLOPS = 1 * 4 * 8 * 8  # one max(x, 0) per element = 256
FC_MACS = 1 * 256 * 10  # M*K*N = 2560
PARAMS = 4 * 3 * 3 * 3 + 4 + 256 * 10  # conv weight + bias + fc weight = 2672


def test_totals(tiny_graph: Graph) -> None:
    report = analyze_graph(tiny_graph)
    assert report.total.macs == CONV_MACS + FC_MACS
    assert report.total.flops == CONV_FLOPS + RELU_FLOPS + 2 * FC_MACS
    assert report.params == PARAMS
    assert report.total_count == report.total.flops  # flops convention headline
    assert report.with_convention("macs").total_count == CONV_MACS + FC_MACS


def test_bytes_come_from_specs(tiny_graph: Graph) -> None:
    row = analyze_graph(tiny_graph).rows[0]  # the conv
    read = 4 * (1 * 3 * 8 * 8 + 4 * 3 * 3 * 3 + 4)  # float32 x, w, b
    assert row.cost.bytes_read == read
    assert row.cost.bytes_written == 4 * 1 * 4 * 8 * 8


def test_unsupported_is_listed_never_zeroed_silently(tiny_graph: Graph) -> None:
    report = analyze_graph(tiny_graph)
    assert [(u.op, u.count, u.scopes) for u in report.unsupported] == [("FancyOp", 1, ("head",))]
    assert report.coverage == pytest.approx(4 / 5)  # 3 costed + 1 free of 5 nodes
    assert report.status_counts() == {"costed": 3, "free": 1, "unsupported": 1}
    for fmt in ("table", "md"):
        assert "FancyOp x1 in head" in render(report, fmt)


def test_by_scope_and_by_op(tiny_graph: Graph) -> None:
    report = analyze_graph(tiny_graph)
    top = {a.key: a for a in report.by_scope(depth=1)}
    assert top["features"].cost.macs == CONV_MACS
    assert top["features"].params == 4 * 3 * 3 * 3 + 4
    assert top["head"].cost.macs == FC_MACS and top["head"].unsupported == 1
    assert top[""].nodes == 1  # the Reshape ran at top level
    by_op = {a.key: a for a in report.by_op()}
    assert by_op["Conv"].count == CONV_FLOPS
    assert report.by_op()[0].key == "Conv"  # largest first
    tree = [a.key for a in report.scope_tree(depth=2)]
    assert tree.index("features") < tree.index("features.conv")


def test_json_schema_and_exact_integers(tiny_graph: Graph) -> None:
    doc = json.loads(render(analyze_graph(tiny_graph, convention="macs"), "json"))
    for key in (
        "schema",
        "convention",
        "total",
        "by_op",
        "scopes",
        "nodes",
        "unsupported",
        "coverage",
    ):
        assert key in doc
    assert doc["schema"] == SCHEMA
    assert doc["unit"] == "MACs"
    assert doc["total"]["macs"] == CONV_MACS + FC_MACS
    assert doc["total"]["count"] == CONV_MACS + FC_MACS
    assert doc["total"]["params"] == PARAMS
    assert doc["unsupported"] == [{"op": "FancyOp", "count": 1, "scopes": ["head"], "reasons": []}]
    assert doc["nodes"][0]["inputs"][1] == {
        "shape": [4, 3, 3, 3],
        "dtype": "float32",
        "kind": "parameter",
    }
    assert doc["notes"] == ["batch bound to 1"]


def test_csv_has_exact_integers(tiny_graph: Graph) -> None:
    text = render(analyze_graph(tiny_graph), "csv", View(by="op"))
    rows = {r["op"]: r for r in csv.DictReader(io.StringIO(text))}
    assert int(rows["Conv"]["MACs"]) == CONV_MACS
    assert int(rows["Conv"]["FLOPs"]) == CONV_FLOPS


def test_table_states_units(tiny_graph: Graph) -> None:
    text = render(analyze_graph(tiny_graph), "table", View(by="scope", depth=2))
    assert "1 MAC = 2 FLOPs" in text
    assert f"{(CONV_MACS + FC_MACS) / 1e3:.3g} KMACs" in text  # 9.47 KMACs
    assert "Coverage: 80.0% of 5 nodes" in text
    assert "Note: batch bound to 1" in text
    node_view = render(analyze_graph(tiny_graph), "table", View(by="node"))
    assert "1x3x8x8, 4x3x3x3, 4" in node_view


def test_bad_convention_and_format(tiny_graph: Graph) -> None:
    with pytest.raises(RegistryError, match=r"unknown convention 'gflops'.*flops, macs"):
        analyze_graph(tiny_graph, convention="gflops")
    with pytest.raises(FlopcountError, match="unknown format 'xml'"):
        render(analyze_graph(tiny_graph), "xml")


def test_a_formula_that_cannot_cost_makes_the_node_unsupported_with_its_reason() -> None:
    x = TensorSpec((2, 3), "float32", "x", "input")
    w = TensorSpec((4, 5), "float32", "w", "parameter")  # K mismatch: 3 vs 4
    bad = Node("MatMul", (x, w), (TensorSpec((2, 5), "float32", "y"),), scope="fc")
    report = analyze_graph(Graph(nodes=[bad], parameters={"w": w}))
    (entry,) = report.unsupported
    assert entry.op == "MatMul" and entry.scopes == ("fc",)
    assert "MatMul" in entry.reasons[0] and "(2, 3)" in entry.reasons[0]
    assert "because: cannot cost MatMul" in render(report)
    assert report.total.bytes_read == 4 * (2 * 3 + 4 * 5)  # traffic is still reported


def test_repeat_attribute_multiplies_a_loop_body() -> None:
    x = TensorSpec((2, 3), "float32", "x", "input")
    w = TensorSpec((3, 5), "float32", "w", "parameter")
    body = Node("MatMul", (x, w), (TensorSpec((2, 5), "float32", "y"),), {"repeat": 7})
    report = analyze_graph(Graph(nodes=[body], parameters={"w": w}))
    assert report.total.macs == 7 * 2 * 3 * 5  # trip count x M*K*N


def test_json_memory_and_roofline(tiny_graph: Graph) -> None:
    doc = json.loads(render(analyze_graph(tiny_graph), "json"))
    assert doc["memory"]["param_bytes"] == 4 * PARAMS  # float32
    assert doc["memory"]["param_bytes_by_dtype"] == {"float32": 4 * PARAMS}
    assert doc["roofline"] is None  # no --hardware
    doc = json.loads(render(analyze_graph(tiny_graph, hardware="h100", dtype="fp32"), "json"))
    roof = doc["roofline"]
    assert roof["hardware"] == "NVIDIA H100 SXM" and len(roof["nodes"]) == 5
    conv = roof["nodes"][0]
    conv_bytes = doc["nodes"][0]["bytes_read"] + doc["nodes"][0]["bytes_written"]
    assert conv["intensity"] == pytest.approx(CONV_FLOPS / conv_bytes)  # FLOPs per byte
    assert roof["total_time_s"] == pytest.approx(sum(n["time_s"] for n in roof["nodes"]))
