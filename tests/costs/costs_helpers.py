"""Builders of hand-made IR nodes for the cost-formula tests."""

from __future__ import annotations

from typing import Any

from flopcount.costs import REGISTRY, Cost
from flopcount.ir import Node, TensorSpec


def node(
    op: str,
    *shapes: tuple[int, ...],
    out: tuple[int, ...] | None = None,
    dtype: str = "float32",
    **attrs: Any,
) -> Node:
    """A node of ``op`` with one input spec per shape (all ``dtype``) and optionally one output."""
    inputs = tuple(TensorSpec(s, dtype, name=f"in{i}") for i, s in enumerate(shapes))
    outputs = () if out is None else (TensorSpec(out, dtype, name="out"),)
    return Node(op, inputs, outputs, attrs, scope="model.block", name=f"{op.lower()}_0")


def cost(op: str, *shapes: tuple[int, ...], **kwargs: Any) -> Cost:
    """The registry's cost of ``node(op, *shapes, **kwargs)``; fails if the op is unsupported."""
    result = REGISTRY.cost(node(op, *shapes, **kwargs))
    assert result is not None, f"{op} is not registered"
    return result
