"""The ONNX frontend: ``lower(model) -> flopcount.ir.Graph``, from shapes alone.

Accepts a path to an ``.onnx`` file or an ``onnx.ModelProto``. A file whose ops the
pure-Python fast path settles (`onnx_fast`) is lowered without importing onnx or NumPy, to the
same graph; everything else takes the path described here. Weights are never loaded
(``load_external_data=False``): a model whose external data files are missing analyses the
same. Shapes come from ONNX shape inference with data propagation after binding the symbolic
dimensions, continued by flopcount's own rules where it stops (see `onnx_infer`).

Binding dimensions: ``input_shapes`` gives whole input shapes (by input name, or a list in
input order); ``dims`` binds symbolic dimension names (``{"batch": 1, "seq": 128}``) and the
``"TENSOR[AXIS]"`` / ``"LOOP.trip_count"`` names error messages suggest. A symbolic leading
dimension of the inputs that nothing binds (a batch) defaults to 1 with a note; any other
unbound dimension a node needs is a `ShapeError` naming it. ``input_shapes`` may also name an
intermediate tensor to give a shape inference cannot find.

Tensors: initializers are ``kind="parameter"`` (those used only as shape arguments, such as a
Reshape target, are ``"constant"``), graph inputs ``"input"``, Constant outputs ``"constant"``.
Scopes follow the exporters' node names (``/layer1/layer1.0/conv1/Conv`` -> ``layer1.0.conv1``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flopcount.errors import FlopcountError, FrontendError
from flopcount.frontends import onnx_fast
from flopcount.frontends.onnx_lower import InputShapes, finish, prepare
from flopcount.frontends.onnx_proto import subgraphs
from flopcount.frontends.onnx_values import Symbols, Value
from flopcount.ir import Graph

if TYPE_CHECKING:
    import onnx

__all__ = ["FAST_ENV", "lower"]

# FLOPCOUNT_ONNX_FAST=0 lowers every model through onnx; =check lowers a model both ways and
# raises `FrontendError` if the two graphs differ (the test suite runs so).
FAST_ENV = "FLOPCOUNT_ONNX_FAST"


def lower(
    model: str | os.PathLike[str] | onnx.ModelProto,
    *,
    input_shapes: InputShapes = None,
    dims: Mapping[str, int] | None = None,
) -> Graph:
    """Lower an ONNX model into flopcount's IR.

    Example: ``lower("gpt2.onnx", dims={"batch": 1, "seq": 128})``. Raises `ModelLoadError`
    (not an ONNX model), `FrontendError` (malformed graph) or `ShapeError` (a dimension the
    analysis needs is unbound: the message names it and the option that binds it).

    A file whose every op the pure-Python fast path knows (`onnx_fast`) is lowered without
    importing onnx or NumPy; any other model, or a ModelProto, goes through ONNX's shape
    inference. Both give the same graph.
    """
    mode = os.environ.get(FAST_ENV, "1")
    fast = None
    if mode != "0":
        fast = onnx_fast.try_lower(model, input_shapes, dims, serialize=mode == "check")
        if fast is not None and mode != "check":
            return fast
    try:
        slow = _lower_onnx(model, input_shapes, dims)
    except FlopcountError as exc:
        if fast is not None:
            raise FrontendError(
                f"the fast ONNX path lowered a model the onnx path rejects ({exc})"
            ) from exc
        raise
    if fast is not None:
        onnx_fast.check_same(fast, slow)
    return slow


def _lower_onnx(model: Any, input_shapes: InputShapes, dims: Mapping[str, int] | None) -> Graph:
    """``lower`` through ONNX's shape inference (with data propagation) after binding the
    symbolic dimensions, continued by flopcount's own rules where it stops."""
    import onnx

    from flopcount.frontends.onnx_infer import NodeShapes
    from flopcount.frontends.onnx_load import inference_copy, load_model

    proto = load_model(model)
    graph = proto.graph
    notes: list[str] = []
    _check_opset(proto, notes)
    prepared = prepare(proto, input_shapes, dims, notes)
    symbols = prepared.symbols
    initializer_names = {t.name for t in graph.initializer}
    bound = [_value_info(vi, v, symbols) for vi, v in zip(prepared.real_inputs, prepared.inputs)]
    bound += [vi for vi in graph.input if vi.name in initializer_names]
    inferred = _infer(inference_copy(proto, bound), notes)
    for name, shape in prepared.overrides.items():
        inferred[name] = onnx.helper.make_tensor_type_proto(
            inferred[name].tensor_type.elem_type if name in inferred else 1, shape
        )
    shapes = NodeShapes(inferred, symbols, list(proto.opset_import), notes)
    from pathlib import Path

    stem = Path(model).stem if isinstance(model, (str, os.PathLike)) else ""
    return finish(proto, prepared, shapes, dims, stem)


def _check_opset(proto: onnx.ModelProto, notes: list[str]) -> None:
    import onnx
    from onnx import defs

    newest = defs.onnx_opset_version()
    for opset in proto.opset_import:
        if opset.domain in ("", "ai.onnx") and opset.version > newest:
            notes.append(
                f"the model uses ONNX opset {opset.version}, newer than the installed onnx "
                f"{onnx.__version__} knows (opset {newest}): ops or versions added since are "
                "shaped by the older rules or left unsupported; upgrade onnx for exact results"
            )


def _value_info(vi: onnx.ValueInfoProto, value: Value, symbols: Symbols) -> onnx.ValueInfoProto:
    """``vi`` with the bound dimensions of ``value`` written in, for ONNX shape inference."""
    import onnx

    if value.shape is None or not vi.type.HasField("tensor_type"):
        return vi
    copy = onnx.ValueInfoProto()
    copy.CopyFrom(vi)
    shape = copy.type.tensor_type.shape
    del shape.dim[:]
    for dim in value.shape:
        entry = shape.dim.add()
        if isinstance(dim, int):
            entry.dim_value = dim
        else:
            entry.dim_param = dim
    return copy


def _infer(model: onnx.ModelProto, notes: list[str]) -> dict[str, onnx.TypeProto]:
    """Types of every tensor ONNX shape inference (with data propagation) can name."""
    from onnx import shape_inference

    for attempt in range(2):
        try:
            result = shape_inference.infer_shapes(model, data_prop=True)
            break
        except Exception as exc:  # onnx raises InferenceError, ValidationError, RuntimeError
            if attempt:
                notes.append(f"ONNX shape inference failed ({exc}); using flopcount's own rules")
                return {}
            del model.graph.value_info[:]  # a stale or contradicting annotation: drop, retry
    types: dict[str, onnx.TypeProto] = {}
    _collect_types(result.graph, types)
    return types


def _collect_types(graph: onnx.GraphProto, types: dict[str, onnx.TypeProto]) -> None:
    for vi in (*graph.input, *graph.value_info, *graph.output):
        if vi.HasField("type"):
            types.setdefault(vi.name, vi.type)
    for node in graph.node:
        for attr in node.attribute:
            for sub in subgraphs(attr):
                _collect_types(sub, types)
