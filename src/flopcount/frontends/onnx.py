"""The ONNX frontend: ``lower(model) -> flopcount.ir.Graph``, from shapes alone.

Accepts a path to an ``.onnx`` file or an ``onnx.ModelProto``. Weights are never loaded
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
from collections.abc import Mapping, Sequence
from pathlib import Path

import onnx
from onnx import defs, shape_inference

from flopcount.errors import ShapeError
from flopcount.frontends.onnx_graph import CONST_INPUTS, Lowering
from flopcount.frontends.onnx_infer import NodeShapes
from flopcount.frontends.onnx_load import inference_copy, load_model
from flopcount.frontends.onnx_values import Symbols, Value, check_dim, type_shape
from flopcount.ir import Graph

__all__ = ["lower"]

InputShapes = Mapping[str, Sequence[int]] | Sequence[Sequence[int]] | None


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
    """
    proto = load_model(model)
    graph = proto.graph
    notes: list[str] = []
    symbols = Symbols()
    _check_opset(proto, notes)
    for name, size in (dims or {}).items():
        symbols.bind(str(name), check_dim(size, f"dims[{name!r}]"), "from dims")
    initializer_names = {t.name for t in graph.initializer}
    real_inputs = [i for i in graph.input if i.name not in initializer_names]
    by_name, overrides = _user_shapes(input_shapes, real_inputs, graph)
    inputs = [_bind_input(vi, by_name.get(vi.name), symbols) for vi in real_inputs]
    _default_batch(inputs, symbols, notes)
    bound = [_value_info(vi, value, symbols) for vi, value in zip(real_inputs, inputs)]
    bound += [vi for vi in graph.input if vi.name in initializer_names]
    inferred = _infer(inference_copy(proto, bound), notes)
    for name, shape in overrides.items():
        inferred[name] = onnx.helper.make_tensor_type_proto(
            inferred[name].tensor_type.elem_type if name in inferred else 1, shape
        )
    shapes = NodeShapes(inferred, symbols, list(proto.opset_import), notes)
    lowering = Lowering(proto, shapes, symbols)
    env: dict[str, Value] = {}
    for value in inputs:
        env[value.name] = value
    lowering.add_initializers(graph, env, _shape_constants(graph))
    lowering.lower_graph(graph, env, "", 1)
    _note_unsupported(lowering, notes)
    unused = sorted(set(dims or {}) - symbols.used)
    if unused:
        notes.append(f"dims {unused} matched no dimension of the model and were not used")
    return Graph(
        nodes=lowering.nodes,
        inputs=[symbols.spec(v) for v in inputs],
        outputs=[lowering.spec(env[o.name], "graph output") for o in graph.output if o.name],
        parameters=lowering.parameters,
        notes=notes,
        framework="onnx",
        name=graph.name or (Path(model).stem if isinstance(model, (str, os.PathLike)) else ""),
    )


def _note_unsupported(lowering: Lowering, notes: list[str]) -> None:
    """One note per op flopcount leaves unsupported on purpose, with the reason."""
    from flopcount.costs.onnx_ops import UNSUPPORTED

    seen = {n.op for n in lowering.nodes if n.domain == "" and n.op in UNSUPPORTED}
    notes.extend(f"{op} is not costed: {UNSUPPORTED[op]}" for op in sorted(seen))


def _check_opset(proto: onnx.ModelProto, notes: list[str]) -> None:
    newest = defs.onnx_opset_version()
    for opset in proto.opset_import:
        if opset.domain in ("", "ai.onnx") and opset.version > newest:
            notes.append(
                f"the model uses ONNX opset {opset.version}, newer than the installed onnx "
                f"{onnx.__version__} knows (opset {newest}): ops or versions added since are "
                "shaped by the older rules or left unsupported; upgrade onnx for exact results"
            )


def _user_shapes(
    given: InputShapes, real_inputs: list[onnx.ValueInfoProto], graph: onnx.GraphProto
) -> tuple[dict[str, tuple[int, ...]], dict[str, tuple[int, ...]]]:
    """``input_shapes`` split into graph-input shapes and intermediate-tensor overrides."""
    if given is None:
        return {}, {}
    names = [vi.name for vi in real_inputs]
    if isinstance(given, Mapping):
        pairs = list(given.items())
    else:
        if len(given) > len(names):
            raise ShapeError(
                f"{len(given)} input shapes given but the model has {len(names)} inputs {names}"
            )
        pairs = list(zip(names, given))
    tensors = {out for node in graph.node for out in node.output}
    by_name, overrides = {}, {}
    for name, shape in pairs:
        if isinstance(shape, (str, bytes)) or not isinstance(shape, Sequence):
            raise ShapeError(f"input shape for {name!r} is {shape!r}: give a tuple of ints")
        dims = tuple(check_dim(d, f"axis {i} of input shape {name!r}") for i, d in enumerate(shape))
        if name in names:
            by_name[name] = dims
        elif name in tensors:
            overrides[name] = dims
        else:
            raise ShapeError(
                f"--input-shape names {name!r}, which is not an input of the model; its inputs "
                f"are {names}"
            )
    return by_name, overrides


def _bind_input(vi: onnx.ValueInfoProto, given: tuple[int, ...] | None, symbols: Symbols) -> Value:
    dtype, shape, sequence = type_shape(vi.type, vi.name)
    for axis, dim in enumerate(shape or ()):
        if isinstance(dim, str):
            symbols.origins.setdefault(dim, f"axis {axis} of graph input {vi.name!r}")
    if given is not None:
        if shape is not None and len(shape) != len(given):
            raise ShapeError(
                f"--input-shape {vi.name}={'x'.join(map(str, given))} has rank {len(given)} but "
                f"the model declares input {vi.name!r} with rank {len(shape)} {list(shape)}"
            )
        for axis, (declared, size) in enumerate(zip(shape or given, given)):
            if isinstance(declared, int) and declared != size:
                raise ShapeError(
                    f"input {vi.name!r} has axis {axis} fixed to {declared} in the model, but "
                    f"--input-shape gives {size}; re-export the model with a dynamic axis there"
                )
            if isinstance(declared, str):
                symbols.bind(declared, size, f"from --input-shape {vi.name}")
                symbols.used.add(declared)
        shape = given
    return Value(
        name=vi.name, dtype=dtype, shape=symbols.shape(shape), kind="input",
        producer="graph input", sequence=sequence,
    )  # fmt: skip


def _default_batch(inputs: list[Value], symbols: Symbols, notes: list[str]) -> None:
    """Bind to 1 each unbound symbol that only ever appears as a leading input dimension."""
    leading: dict[str, list[str]] = {}
    elsewhere: set[str] = set()
    for value in inputs:
        for axis, dim in enumerate(value.shape or ()):
            if isinstance(dim, str) and axis == 0:
                leading.setdefault(dim, []).append(value.name)
            elif isinstance(dim, str):
                elsewhere.add(dim)
    for symbol, names in leading.items():
        if symbol in elsewhere or symbol in symbols.bound:
            continue
        symbols.bind(symbol, 1, "default batch")
        notes.append(
            f"leading dimension {symbol!r} of input(s) {names} is not bound; assumed 1 "
            f"(bind it with --dim {symbol}=N)"
        )
    for value in inputs:
        value.shape = symbols.shape(value.shape)


def _value_info(vi: onnx.ValueInfoProto, value: Value, symbols: Symbols) -> onnx.ValueInfoProto:
    """``vi`` with the bound dimensions of ``value`` written in, for ONNX shape inference."""
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
            for sub in [attr.g] if attr.type == onnx.AttributeProto.GRAPH else attr.graphs:
                _collect_types(sub, types)


def _shape_constants(graph: onnx.GraphProto) -> set[str]:
    """Initializers whose every use is a shape-like argument (`CONST_INPUTS`)."""
    uses: dict[str, bool] = {}
    for node in graph.node:
        shape_like = CONST_INPUTS.get(node.op_type, {}) if node.domain in ("", "ai.onnx") else {}
        for index, name in enumerate(node.input):
            if name:
                uses[name] = uses.get(name, True) and index in shape_like
        for attr in node.attribute:
            for sub in [attr.g] if attr.type == onnx.AttributeProto.GRAPH else attr.graphs:
                for inner in sub.node:
                    uses.update({n: False for n in inner.input if n})
    return {t.name for t in graph.initializer if uses.get(t.name, False)}
