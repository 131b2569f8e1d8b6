"""Builders of small ONNX models for the ONNX frontend tests, and a cost total over a graph."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

import flopcount.costs as costs
from flopcount.costs import (  # noqa: F401  (registers the ONNX-specific formulas)
    msft_ops,
    onnx_ops,
    onnx_recurrent,
    onnx_sampling,
    onnx_signal,
    quantized,
)
from flopcount.frontends.onnx import lower
from flopcount.ir import Graph

FLOAT, INT64, UINT8, INT8, INT32 = (
    TensorProto.FLOAT, TensorProto.INT64, TensorProto.UINT8, TensorProto.INT8, TensorProto.INT32,
)  # fmt: skip


def vi(name: str, shape: Sequence[int | str] | None, elem: int = FLOAT) -> onnx.ValueInfoProto:
    """A graph input or output declaration."""
    return helper.make_tensor_value_info(name, elem, shape)


def init(name: str, shape: Sequence[int], values: Any = None, dtype: Any = np.float32) -> Any:
    """An initializer of ``shape`` (zeros unless ``values``)."""
    array = np.zeros(shape, dtype=dtype) if values is None else np.asarray(values, dtype=dtype)
    return numpy_helper.from_array(array.reshape(shape), name)


def make(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[onnx.ValueInfoProto],
    outputs: Sequence[onnx.ValueInfoProto],
    inits: Sequence[onnx.TensorProto] = (),
    opset: int = 17,
    ms: bool = False,
    **kwargs: Any,
) -> onnx.ModelProto:
    """A model of one graph; ``ms`` adds the com.microsoft opset."""
    graph = helper.make_graph(list(nodes), "test", list(inputs), list(outputs), list(inits))
    opsets = [helper.make_opsetid("", opset)]
    if ms:
        opsets.append(helper.make_opsetid("com.microsoft", 1))
    return helper.make_model(graph, opset_imports=opsets, **kwargs)


def total(graph: Graph, allow_unsupported: bool = False) -> costs.Cost:
    """Sum of the registry's costs, each node's times its ``repeat`` attribute."""
    result = costs.ZERO
    for node in graph.nodes:
        cost = costs.REGISTRY.cost(node)
        if cost is None:
            assert allow_unsupported, f"unsupported node {node!r} ({node.domain}::{node.op})"
            continue
        result = result + cost.scaled(int(node.attrs.get("repeat", 1)))
    return result


def cost_of(model: onnx.ModelProto, **kwargs: Any) -> costs.Cost:
    """Lower ``model`` and total its costs."""
    return total(lower(model, **kwargs))
