"""The steps of lowering an ONNX model that do not depend on how shapes are inferred.

`onnx.lower` runs them around ONNX's shape inference (`onnx_infer.NodeShapes`), the fast
path (`onnx_fast`) around its pure-Python rules (`onnx_fastshape.FastShapes`); both hand a
model (a ModelProto or an `onnx_light.Model`: the same field names) to `prepare`, then to
`finish` with their shapes. Imports neither NumPy nor onnx.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flopcount.errors import ShapeError
from flopcount.frontends.onnx_graph import CONST_INPUTS, Lowering, Shapes
from flopcount.frontends.onnx_proto import subgraphs
from flopcount.frontends.onnx_values import Symbols, Value, check_dim, type_shape
from flopcount.ir import Graph

__all__ = ["InputShapes", "Prepared", "finish", "prepare"]

InputShapes = Mapping[str, Sequence[int]] | Sequence[Sequence[int]] | None


class Prepared:
    """A model's graph inputs with the user's shapes and dimensions bound: the ValueInfos of
    the inputs that are not initializers, their values, and the shapes ``input_shapes``
    gives for intermediate tensors."""

    __slots__ = ("inputs", "notes", "overrides", "real_inputs", "symbols")

    def __init__(
        self,
        symbols: Symbols,
        notes: list[str],
        real_inputs: list[Any],
        inputs: list[Value],
        overrides: dict[str, tuple[int, ...]],
    ) -> None:
        self.symbols, self.notes, self.real_inputs = symbols, notes, real_inputs
        self.inputs, self.overrides = inputs, overrides


def prepare(
    model: Any, input_shapes: InputShapes, dims: Mapping[str, int] | None, notes: list[str]
) -> Prepared:
    """Bind ``dims`` and ``input_shapes`` to the inputs of ``model``'s graph (a leading
    dimension nothing binds defaults to 1, with a note in ``notes``)."""
    graph = model.graph
    symbols = Symbols()
    for name, size in (dims or {}).items():
        symbols.bind(str(name), check_dim(size, f"dims[{name!r}]"), "from dims")
    initializer_names = {t.name for t in graph.initializer}
    real_inputs = [i for i in graph.input if i.name not in initializer_names]
    by_name, overrides = user_shapes(input_shapes, real_inputs, graph)
    inputs = [bind_input(vi, by_name.get(vi.name), symbols) for vi in real_inputs]
    default_batch(inputs, symbols, notes)
    return Prepared(symbols, notes, real_inputs, inputs, overrides)


def finish(
    model: Any, prepared: Prepared, shapes: Shapes, dims: Mapping[str, int] | None, name: str
) -> Graph:
    """Lower every node of ``model`` with ``shapes``; the `Graph` with its notes."""
    graph, symbols, notes = model.graph, prepared.symbols, prepared.notes
    lowering = Lowering(model, shapes, symbols)
    env: dict[str, Value] = {value.name: value for value in prepared.inputs}
    lowering.add_initializers(graph, env, shape_constants(graph))
    lowering.lower_graph(graph, env, "", 1)
    note_unsupported(lowering, notes)
    unused = sorted(set(dims or {}) - symbols.used)
    if unused:
        notes.append(f"dims {unused} matched no dimension of the model and were not used")
    return Graph(
        nodes=lowering.nodes,
        inputs=[symbols.spec(v) for v in prepared.inputs],
        outputs=[lowering.spec(env[o.name], "graph output") for o in graph.output if o.name],
        parameters=lowering.parameters,
        notes=notes,
        framework="onnx",
        name=graph.name or name,
    )


def note_unsupported(lowering: Lowering, notes: list[str]) -> None:
    """One note per op flopcount leaves unsupported on purpose, with the reason."""
    from flopcount.costs.onnx_ops import UNSUPPORTED

    seen = {n.op for n in lowering.nodes if n.domain == "" and n.op in UNSUPPORTED}
    notes.extend(f"{op} is not costed: {UNSUPPORTED[op]}" for op in sorted(seen))


def user_shapes(
    given: InputShapes, real_inputs: list[Any], graph: Any
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


def bind_input(vi: Any, given: tuple[int, ...] | None, symbols: Symbols) -> Value:
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


def default_batch(inputs: list[Value], symbols: Symbols, notes: list[str]) -> None:
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


def shape_constants(graph: Any) -> set[str]:
    """Initializers whose every use is a shape-like argument (`CONST_INPUTS`)."""
    uses: dict[str, bool] = {}
    for node in graph.node:
        shape_like = CONST_INPUTS.get(node.op_type, {}) if node.domain in ("", "ai.onnx") else {}
        for index, name in enumerate(node.input):
            if name:
                uses[name] = uses.get(name, True) and index in shape_like
        for attr in node.attribute:
            for sub in subgraphs(attr):
                for inner in sub.node:
                    uses.update({n: False for n in inner.input if n})
    return {t.name for t in graph.initializer if uses.get(t.name, False)}
