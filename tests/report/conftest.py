"""A small hand-built graph whose costs are worked out by hand in the tests."""

from __future__ import annotations

import pytest

from flopcount.ir import Graph, Node, TensorSpec


def spec(shape: tuple[int, ...], name: str, kind: str = "activation") -> TensorSpec:
    return TensorSpec(shape, "float32", name, kind)  # type: ignore[arg-type]


@pytest.fixture
def tiny_graph() -> Graph:
    """x (1,3,8,8) -> Conv 3x3 pad 1 (+bias) -> Relu -> Reshape -> FancyOp; Reshape -> MatMul."""
    x = spec((1, 3, 8, 8), "x", "input")
    w = spec((4, 3, 3, 3), "conv.weight", "parameter")
    b = spec((4,), "conv.bias", "parameter")
    y = spec((1, 4, 8, 8), "y")
    r = spec((1, 4, 8, 8), "r")
    flat = spec((1, 256), "flat")
    fc_w = spec((256, 10), "head.weight", "parameter")
    nodes = [
        Node("Conv", (x, w, b), (y,), {"pads": [1, 1, 1, 1]}, scope="features.conv"),
        Node("Relu", (y,), (r,), scope="features.act"),
        Node("Reshape", (r,), (flat,), scope=""),
        Node("FancyOp", (flat,), (spec((1, 10), "fancy"),), scope="head"),
        Node("MatMul", (flat, fc_w), (spec((1, 10), "logits"),), scope="head.fc"),
    ]
    return Graph(
        nodes=nodes,
        inputs=[x],
        parameters={t.name: t for t in (w, b, fc_w)},
        notes=["batch bound to 1"],
        framework="handmade",
        name="tiny",
    )
