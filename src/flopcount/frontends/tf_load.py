"""Loaders that need TensorFlow: Keras models and files, SavedModels, functions, ``tf.Graph``.

Each returns a `TfGraph` (decoded GraphDef + TF's static shapes as hints + variables), so the
rest of the frontend is the same for every input. TensorFlow is imported inside functions
only. Keras models are traced into a concrete function with fixed input shapes (an unknown
batch is bound first), so TensorFlow's own shape inference supplies the hints; calls to inner
functions (SavedModel signatures) are inlined by Grappler's function optimizer, the step
TensorFlow's own freezing uses, without freezing the variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flopcount.errors import FrontendError, MissingDependencyError, ModelLoadError, ShapeError
from flopcount.frontends.tf_graph import Dims, TfGraph, VariableInfo
from flopcount.frontends.tf_infer import bind_shape
from flopcount.frontends.tf_proto import parse_graph_def

__all__ = [
    "import_tf",
    "load_function",
    "load_graph",
    "load_keras",
    "load_keras_file",
    "load_pbtxt",
    "load_saved_model",
]

_CALL_OPS = ("PartitionedCall", "StatefulPartitionedCall")


def import_tf() -> Any:
    """``tensorflow``, quietly; `MissingDependencyError` when it is not installed."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        import tensorflow as tf
    except ImportError:
        raise MissingDependencyError("tensorflow", "tf") from None
    return tf


def _hints(graph: Any) -> dict[str, Dims]:
    hints: dict[str, Dims] = {}
    for op in graph.get_operations():
        for tensor in op.outputs:
            if tensor.shape.rank is not None:
                hints[tensor.name] = tuple(tensor.shape.as_list())
    return hints


def _var_name(var: Any) -> str:
    return str(getattr(var, "path", None) or var.name).removesuffix(":0")


def load_graph(graph: Any, name: str = "") -> TfGraph:
    """A TF1 ``tf.Graph``: its GraphDef, static shapes, and variables with trainability."""
    tf = import_tf()
    nodes = parse_graph_def(graph.as_graph_def().SerializeToString(), "the tf.Graph")
    trainable = {
        v.op.name for v in graph.get_collection(tf.compat.v1.GraphKeys.TRAINABLE_VARIABLES)
    }
    variables = {}
    for var in graph.get_collection(tf.compat.v1.GraphKeys.GLOBAL_VARIABLES):
        shape = tuple(int(d) for d in var.shape)
        info = VariableInfo(var.op.name, shape, var.dtype.base_dtype.name, var.op.name in trainable)
        variables[var.op.name] = info
    keys = tf.compat.v1.GraphKeys
    collections = {
        keys.REGULARIZATION_LOSSES: "regularizers",
        keys.SUMMARIES: "summaries",
        keys.UPDATE_OPS: "moving-average updates",
        keys.TRAIN_OP: "optimizer and gradients",
    }
    categories = {}
    for key, why in collections.items():
        for item in graph.get_collection(key):
            op = getattr(item, "op", item)
            categories[str(getattr(op, "name", ""))] = why
    tfg = TfGraph(nodes, _hints(graph), variables, name=name)
    tfg.categories = categories
    return tfg


def _inlined_graph_def(function: Any) -> Any:
    """The function's GraphDef with calls to inner functions inlined (variables kept)."""
    from tensorflow.python.framework import convert_to_constants

    try:
        return convert_to_constants._run_inline_graph_optimization(
            function, lower_control_flow=False, aggressive_inlining=True
        )
    except Exception as exc:  # Grappler reports failures as several exception types
        raise FrontendError(f"cannot inline the function calls of {function.name}: {exc}") from None


def load_function(function: Any, name: str = "", notes: Sequence[str] = ()) -> TfGraph:
    """A concrete function: its (inlined) graph, outputs, and the variables it captures."""
    graph = function.graph
    calls = any(op.type in _CALL_OPS for op in graph.get_operations())
    graph_def = _inlined_graph_def(function) if calls else graph.as_graph_def()
    nodes = parse_graph_def(graph_def.SerializeToString(), f"function {function.name}")
    by_handle = {id(v.handle): v for v in graph.variables}
    variables = {}
    for external, internal in graph.captures:
        var = by_handle.get(id(external))
        if var is not None:
            shape = tuple(int(d) for d in var.shape)
            info = VariableInfo(_var_name(var), shape, var.dtype.name, bool(var.trainable))
            variables[internal.op.name] = info
    outputs = [t.name for t in function.outputs]
    label = name or str(getattr(function, "name", ""))
    return TfGraph(nodes, _hints(graph), variables, outputs, list(notes), label)


def _keras_specs(model: Any, given: dict[str, Sequence[int]], notes: list[str]) -> list[Any]:
    """TensorSpecs of the model's inputs, unknown dimensions bound (see `bind_shape`).

    A subclassed model has no symbolic inputs; ``input_shapes`` then names and shapes them
    (float32, in call order).
    """
    tf = import_tf()
    try:
        inputs = list(model.inputs)
    except (AttributeError, ValueError):
        if not given:
            raise FrontendError(
                f"Keras model {model.name!r} has no symbolic inputs (a subclassed model); pass "
                "input_shapes={name: shape, ...} (float32, in call order)"
            ) from None
        return [tf.TensorSpec(tuple(shape), tf.float32, name=n) for n, shape in given.items()]
    names = [str(t.name) for t in inputs]
    unknown = [k for k in given if k not in names]
    if unknown:
        raise ShapeError(f"input_shapes names {unknown}; the Keras model's inputs are {names}")
    return [
        tf.TensorSpec(bind_shape(n, tuple(t.shape), given.get(n), notes), t.dtype, name=n)
        for n, t in zip(names, inputs)
    ]


def load_keras(model: Any, input_shapes: Mapping[str, Sequence[int]] | None) -> TfGraph:
    """A Keras model traced in inference mode with fixed input shapes."""
    tf = import_tf()
    notes: list[str] = []
    specs = _keras_specs(model, dict(input_shapes or {}), notes)

    def call(*xs: Any) -> Any:
        return model(list(xs) if len(xs) > 1 else xs[0], training=False)

    function = tf.function(call).get_concrete_function(*specs)
    tfg = load_function(function, str(model.name), notes)
    tfg.inputs_bound = True
    tfg.layer_names = _layer_names(model)
    return tfg


def _layer_names(model: Any) -> frozenset[str]:
    """The names of the model and every layer inside it (nested models and sublayers too)."""
    walk = getattr(model, "_flatten_layers", None)  # Keras 3; without it, only direct layers
    layers = list(walk(include_self=True)) if callable(walk) else [model, *model.layers]
    return frozenset(str(layer.name) for layer in layers)


def load_keras_file(path: Path, input_shapes: Mapping[str, Sequence[int]] | None) -> TfGraph:
    """A ``.keras`` or ``.h5`` file, loaded with ``safe_mode=True`` (no arbitrary code)."""
    import_tf()
    import keras

    try:
        model = keras.saving.load_model(path, compile=False, safe_mode=True)
    except Exception as exc:  # Keras raises TypeError, ValueError, OSError... on bad files
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ModelLoadError(
            f"cannot load Keras file {path}: {first}. Custom layers must be registered "
            "(keras.saving.register_keras_serializable) in the process that analyses the file"
        ) from None
    return load_keras(model, input_shapes)


def load_saved_model(path: Path, signature: str) -> TfGraph:
    """One signature (``serving_default`` unless named) of a SavedModel directory."""
    tf = import_tf()
    try:
        loaded = tf.saved_model.load(str(path))
    except Exception as exc:  # TF raises OSError, ValueError, DecodeError... on bad directories
        raise ModelLoadError(f"cannot load the SavedModel at {path}: {exc}") from None
    signatures = dict(getattr(loaded, "signatures", {}) or {})
    if signature not in signatures:
        raise ModelLoadError(
            f"SavedModel {path} has no signature {signature!r}; it has {sorted(signatures)}"
        )
    return load_function(signatures[signature], f"{path.name}:{signature}")


def load_pbtxt(path: Path) -> TfGraph:
    """A text-format GraphDef (parsed with the ``protobuf`` package TensorFlow brings)."""
    import_tf()
    from google.protobuf import text_format
    from tensorflow.core.framework import graph_pb2

    graph_def = graph_pb2.GraphDef()
    try:
        text_format.Parse(path.read_text(encoding="utf-8"), graph_def)
    except (text_format.ParseError, UnicodeDecodeError) as exc:
        raise ModelLoadError(f"{path} is not a text GraphDef: {exc}") from None
    return TfGraph(parse_graph_def(graph_def.SerializeToString(), str(path)), name=path.stem)
