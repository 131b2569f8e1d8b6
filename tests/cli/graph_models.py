"""Model callables for CLI tests (`graph_models:tiny`): ready IR graphs, no framework needed."""

from __future__ import annotations

from flopcount.ir import Graph, Node, TensorSpec


def tiny() -> Graph:
    """x (2, 8) @ w (8, 4) then an op flopcount does not know."""
    x = TensorSpec((2, 8), "float32", "x", "input")
    w = TensorSpec((8, 4), "float32", "w", "parameter")
    y = TensorSpec((2, 4), "float32", "y")
    nodes = [
        Node("MatMul", (x, w), (y,), scope="fc"),
        Node("MysteryOp", (y,), (TensorSpec((2, 4), "float32", "z"),), scope="tail"),
    ]
    return Graph(nodes=nodes, inputs=[x], parameters={"w": w}, framework="ir", name="tiny")
