"""The fast ONNX path: lowering a plain model file without onnx, protobuf or NumPy.

Analysing a ResNet-50 from its shapes takes tens of milliseconds; importing NumPy, protobuf
and onnx takes several times that. `try_lower` reads the file with the pure-Python wire
reader (`onnx_light`), infers shapes with pure rules (`onnx_fastshape`), folds the small shape
computations exporters emit in pure Python (`onnx_fastfold`), and runs the very `Lowering`
the onnx path runs (`onnx_lower`). Whenever anything is outside what those rules settle
exactly (an op without a rule, a symbolic dimension left unbound, subgraphs, model-local
functions, an opset outside 13..20, value_info that disagrees, any error) it returns ``None``
and `onnx.lower` takes the onnx path, so a model lowers to the same graph either way;
``FLOPCOUNT_ONNX_FAST=check`` lowers every model both ways and compares (`check_same`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flopcount.errors import FlopcountError, FrontendError
from flopcount.frontends.onnx_fastshape import FastShapes
from flopcount.frontends.onnx_light import Model, read_light
from flopcount.frontends.onnx_lower import InputShapes, finish, prepare
from flopcount.frontends.onnx_proto import dtype_name
from flopcount.frontends.onnx_small import NotFastError
from flopcount.frontends.onnx_values import Value
from flopcount.frontends.onnx_wire import WireError
from flopcount.ir import Graph

__all__ = ["FAST_OPSETS", "check_same", "try_lower"]

# Default-domain opsets the rules follow. 20 is the newest onnx 1.15 (flopcount's oldest
# supported onnx) knows, so the onnx path never adds its "newer opset" note to such a model.
FAST_OPSETS = range(13, 21)


def try_lower(
    model: Any, input_shapes: InputShapes, dims: Mapping[str, int] | None, serialize: bool
) -> Graph | None:
    """The graph of ``model`` (a path; a ModelProto too when ``serialize``) by the fast path,
    or ``None`` when the fast path declines it."""
    try:
        if isinstance(model, (str, os.PathLike)):
            path = os.fspath(model)
            if not isinstance(path, str) or not os.path.isfile(path):
                return None
            stem = os.path.splitext(os.path.basename(path))[0]  # Path(path).stem
            light = read_light(path)
        elif serialize and type(model).__name__ == "ModelProto":
            light, stem = read_light(None, model.SerializeToString()), ""
        else:
            return None
        return _lower(light, input_shapes, dims, stem)
    except (NotFastError, WireError, OSError, FlopcountError, RecursionError):
        return None  # the onnx path lowers it, or raises its own error


def _lower(
    model: Model, input_shapes: InputShapes, dims: Mapping[str, int] | None, stem: str
) -> Graph:
    graph = model.graph
    if graph is None or model.ir_version <= 0:
        raise NotFastError("no graph")
    versions = {o.domain or "ai.onnx": o.version for o in model.opset_import}
    if len(versions) != len(model.opset_import) or versions.get("ai.onnx") not in FAST_OPSETS:
        raise NotFastError(f"opsets {versions}")
    initializers = {t.name for t in graph.initializer}
    if any(i.name in initializers for i in graph.input):
        raise NotFastError("initializers listed as graph inputs")
    defined = [*initializers, *(i.name for i in graph.input)]
    defined += [name for node in graph.node for name in node.output if name]
    if len(set(defined)) != len(defined):
        raise NotFastError("a tensor name defined twice")
    notes: list[str] = []
    prepared = prepare(model, input_shapes, dims, notes)
    if prepared.overrides or set(dims or {}) - prepared.symbols.used:
        raise NotFastError("a dimension or shape given for something other than an input")
    if any(value.concrete is None for value in prepared.inputs):
        raise NotFastError("an input dimension left symbolic")
    shapes = FastShapes(versions, notes)
    result = finish(model, prepared, shapes, dims, stem)
    known = {value.name: value for value in prepared.inputs}
    for tensor in graph.initializer:
        known[tensor.name] = Value(tensor.name, dtype_name(tensor.data_type), tuple(tensor.dims))
    _check_declared(graph, shapes, known)
    return result


def _check_declared(graph: Any, shapes: FastShapes, env: dict[str, Value]) -> None:
    """`NotFastError` unless each type the model declares (value_info, outputs) agrees with
    what the fast path found (for a node output, an initializer or a graph input): ONNX's
    inference would fail, or keep a different type, otherwise."""
    for info in (*graph.value_info, *graph.output):
        if not info.name:
            continue
        value = shapes.values.get(info.name) or env.get(info.name)
        tensor = info.type.tensor_type
        if value is None or tensor is None:
            raise NotFastError(f"declared type of {info.name!r}, which nothing computes")
        if tensor.elem_type and dtype_name(tensor.elem_type) != value.dtype:
            raise NotFastError(f"declared dtype of {info.name!r}")
        if tensor.dims is None:
            continue
        shape = value.shape or ()
        if len(tensor.dims) != len(shape):
            raise NotFastError(f"declared rank of {info.name!r}")
        for dim, size in zip(tensor.dims, shape):
            if dim.has_value and dim.dim_value != size:
                raise NotFastError(f"declared shape of {info.name!r}")


def _node_key(node: Any) -> tuple[Any, ...]:
    return (node.op, node.domain, node.scope, node.name, repr(node.attrs), node.inputs,
            node.outputs, node.phase)  # fmt: skip


def check_same(fast: Graph, slow: Graph) -> None:
    """`FrontendError` naming the first difference between the two paths' graphs."""
    pairs = [
        ("inputs", fast.inputs, slow.inputs), ("outputs", fast.outputs, slow.outputs),
        ("parameters", fast.parameters, slow.parameters), ("notes", fast.notes, slow.notes),
        ("name", fast.name, slow.name), ("node count", len(fast.nodes), len(slow.nodes)),
    ]  # fmt: skip
    pairs += [
        (f"node {i}", _node_key(a), _node_key(b))
        for i, (a, b) in enumerate(zip(fast.nodes, slow.nodes))
    ]
    for what, mine, theirs in pairs:
        if mine != theirs:
            raise FrontendError(
                f"the fast ONNX path and the onnx path disagree on {what}: {mine!r} (fast) vs "
                f"{theirs!r} (onnx)"
            )
