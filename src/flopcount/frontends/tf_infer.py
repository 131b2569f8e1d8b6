"""Shape inference over a pruned TensorFlow graph: bind the inputs, then one rule per node.

Inputs with unknown dimensions are bound by ``input_shapes`` (per input name); an unknown
batch (the first dimension) defaults to 1 with a note, any other unknown input dimension is a
`ShapeError` naming the input and the dimension. Each node's outputs come from flopcount's own
rule (`flopcount.frontends.tf_shapes`); where there is none, or it needs a value computed from
data, TensorFlow's own static shape (a loader's hint) is used when fully known; otherwise a
`ShapeError` names the op, the node and the dimension.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flopcount.errors import ShapeError
from flopcount.frontends import tf_shapes_array, tf_shapes_nn  # noqa: F401  (register rules)
from flopcount.frontends.tf_graph import TfGraph, TfNode, split_ref
from flopcount.frontends.tf_shapes import RULES, TfTensor

__all__ = ["Inference", "bind_shape", "infer_shapes"]

Tensors = dict[str, TfTensor]  # "node:index" -> tensor


class Inference:
    """The result: every needed tensor, the graph's input names, and notes on bindings."""

    def __init__(self) -> None:
        self.tensors: Tensors = {}
        self.inputs: list[str] = []
        self.notes: list[str] = []


def _given(name: str, input_shapes: Mapping[str, Sequence[int]]) -> tuple[int, ...] | None:
    for key in (name, f"{name}:0"):
        if key in input_shapes:
            return tuple(int(d) for d in input_shapes[key])
    return None


def _bind(
    node: TfNode, given: tuple[int, ...] | None, hint: object, notes: list[str]
) -> tuple[int, ...]:
    """A placeholder's concrete shape from its declaration (or TF's hint) and ``given``."""
    declared = node.attrs.get("shape")
    if declared is None or (not declared and hint):  # unknown rank, or an unset attribute
        declared = hint if isinstance(hint, tuple) else None
    return bind_shape(node.name, declared, given, notes)


def bind_shape(
    name: str,
    declared: Sequence[int | None] | None,
    given: Sequence[int] | None,
    notes: list[str],
) -> tuple[int, ...]:
    """Input ``name``'s concrete shape: ``given`` if any, else ``declared`` with batch 1.

    ``declared`` is None for an unknown rank; None entries are unknown dimensions.
    """
    if given is not None:
        given = tuple(int(d) for d in given)
        if declared is not None and (
            len(declared) != len(given)
            or any(d is not None and d != g for d, g in zip(declared, given))
        ):
            raise ShapeError(
                f"input_shapes gives input {name!r} the shape {given}, but the model "
                f"declares {tuple(declared)} (None = any size); keep the declared sizes"
            )
        return given
    if declared is None:
        raise ShapeError(
            f"input {name!r} has an unknown rank; give its shape with "
            f"input_shapes={{{name!r}: (...)}}"
        )
    unknown = [i for i, d in enumerate(declared) if d is None]
    if [i for i in unknown if i != 0]:
        raise ShapeError(
            f"input {name!r} has shape {tuple(declared)}: dimension {unknown[-1]} is "
            f"unknown; give it with input_shapes={{{name!r}: (...)}}"
        )
    if unknown:
        notes.append(
            f"input {name!r}: unknown batch dimension set to 1 (declared "
            f"{tuple(declared)}; pass input_shapes to choose another size)"
        )
    return tuple(1 if d is None else int(d) for d in declared)


def _from_hints(
    node: TfNode, graph: TfGraph, wanted: Sequence[int], error: ShapeError | None
) -> list[TfTensor | None]:
    """TensorFlow's static shapes for the outputs ``wanted``; a ShapeError if one is unknown."""
    dtype = next(
        (str(node.attrs[k]) for k in ("T", "dtype", "out_type") if k in node.attrs), "float32"
    )
    outs: list[TfTensor | None] = [None] * (max(wanted, default=-1) + 1)
    for index in wanted:
        hint = graph.hints.get(f"{node.name}:{index}")
        if hint is None or any(d is None for d in hint):
            if error is not None:
                raise error
            where = "unknown" if hint is None else f"{tuple(hint)}, with unknown dimensions"
            raise ShapeError(
                f"{node.op} node {node.name!r}: flopcount has no shape rule for {node.op} and "
                f"TensorFlow's static shape of output {index} is {where}; give fixed input "
                "shapes with input_shapes={...} or name outputs before this node"
            )
        outs[index] = TfTensor(tuple(int(d) for d in hint), dtype)  # type: ignore[arg-type]
    return outs


def _source(
    node: TfNode, graph: TfGraph, given: tuple[int, ...] | None, result: Inference
) -> TfTensor:
    """A placeholder: a graph input, or a captured variable handle."""
    var = graph.variables.get(node.name)
    if node.attrs.get("dtype") == "resource" or var is not None:
        return TfTensor((), "resource", None, var.shape if var else None)
    shape = _bind(node, given, graph.hints.get(f"{node.name}:0"), result.notes)
    result.inputs.append(node.name)
    return TfTensor(shape, str(node.attrs.get("dtype", "float32")))


def infer_shapes(
    nodes: list[TfNode], graph: TfGraph, input_shapes: Mapping[str, Sequence[int]] | None
) -> Inference:
    """Shapes of every output of ``nodes`` (topologically ordered) that is used or an output."""
    given = dict(input_shapes or {})
    placeholders = {n.name for n in graph.nodes if n.op == "Placeholder"}
    unknown = [k for k in given if split_ref(k)[0] not in placeholders]
    if unknown:
        raise ShapeError(
            f"input_shapes names {unknown}, which are not inputs of the graph; its inputs are "
            f"{sorted(placeholders)}"
        )
    used: dict[str, set[int]] = {}
    for node in nodes:
        for ref in node.inputs:
            name, index = split_ref(ref)
            used.setdefault(name, set()).add(index)
    result = Inference()
    for node in nodes:
        if node.op == "Placeholder":
            outs: list[TfTensor | None] = [_source(node, graph, _given(node.name, given), result)]
        else:
            ins = [result.tensors[ref] for ref in node.inputs]
            outs = _run_rule(node, ins, graph, sorted(used.get(node.name, {0})))
        for index, tensor in enumerate(outs):
            if tensor is not None:
                result.tensors[f"{node.name}:{index}"] = tensor
    return result


def _run_rule(
    node: TfNode, ins: list[TfTensor], graph: TfGraph, wanted: list[int]
) -> list[TfTensor | None]:
    fn = RULES.get(node.op)
    if fn is None:
        return _from_hints(node, graph, wanted, None)
    try:
        outs: list[TfTensor | None] = list(fn(node, ins))
    except ShapeError as exc:
        return _from_hints(node, graph, wanted, exc)
    except (IndexError, ValueError, TypeError, KeyError) as exc:
        error = ShapeError(
            f"{node.op} node {node.name!r}: cannot infer its output shape from inputs "
            f"{[t.shape for t in ins]} and attributes ({type(exc).__name__}: {exc})"
        )
        return _from_hints(node, graph, wanted, error)
    if max(wanted, default=0) >= len(outs):
        raise ShapeError(f"{node.op} node {node.name!r} has no output {max(wanted)}")
    return outs
