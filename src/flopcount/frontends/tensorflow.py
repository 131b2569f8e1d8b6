"""The TensorFlow frontend: frozen graphs, SavedModels, Keras models and functions -> IR.

::

    from flopcount.frontends.tensorflow import lower
    graph = lower("model.pb")                              # frozen GraphDef, no TF needed
    graph = lower("saved_model_dir", signature="serving_default")
    graph = lower("model.keras", input_shapes={"image": (8, 224, 224, 3)})
    graph = lower(keras_model)  # or a tf.function, a ConcreteFunction, a tf.Graph, a GraphDef

Steps: load into a `TfGraph` (a decoded GraphDef; `flopcount.frontends.tf_load`), keep the
subgraph that computes the outputs (`tf_graph.prune`), infer shapes (`tf_infer`), lower each
node into ONNX-named IR ops (`tf_lower`, `tf_lower_nn`, `tf_build`). Only a binary ``.pb`` is
read without TensorFlow; everything else imports it, lazily.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flopcount.errors import FrontendError, ModelLoadError
from flopcount.frontends.tf_graph import TfGraph, infer_outputs, prune
from flopcount.frontends.tf_proto import parse_graph_def, read_graph_def
from flopcount.ir import Graph

__all__ = ["load", "lower"]

_KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def _load_path(
    path: Path, input_shapes: Mapping[str, Sequence[int]] | None, signature: str
) -> TfGraph:
    from flopcount.frontends import tf_load

    if not path.exists():
        raise ModelLoadError(f"{path} does not exist")
    if path.is_dir() or path.name in ("saved_model.pb", "saved_model.pbtxt"):
        directory = path if path.is_dir() else path.parent
        if not any((directory / n).is_file() for n in ("saved_model.pb", "saved_model.pbtxt")):
            raise ModelLoadError(
                f"{path} is a directory but not a SavedModel (it has no saved_model.pb); give a "
                "SavedModel directory, a frozen GraphDef (.pb/.pbtxt) or a Keras file"
            )
        return tf_load.load_saved_model(directory, signature)
    suffix = path.suffix.lower()
    if suffix == ".pb":
        return TfGraph(read_graph_def(path), name=path.stem)
    if suffix == ".pbtxt":
        return tf_load.load_pbtxt(path)
    if suffix in _KERAS_SUFFIXES:
        return tf_load.load_keras_file(path, input_shapes)
    raise ModelLoadError(
        f"{path}: unknown TensorFlow file type {suffix!r}; give a frozen GraphDef (.pb, "
        ".pbtxt), a SavedModel directory or a Keras file (.keras, .h5)"
    )


def _load_object(
    model: Any, input_shapes: Mapping[str, Sequence[int]] | None, signature: str
) -> TfGraph:
    from flopcount.frontends import tf_load

    tf = tf_load.import_tf()
    kind = type(model)
    if hasattr(model, "SerializeToString") and kind.__name__ == "GraphDef":
        return TfGraph(parse_graph_def(model.SerializeToString(), "the GraphDef"), name="graph_def")
    if isinstance(model, tf.Graph):
        return tf_load.load_graph(model)
    import keras

    if isinstance(model, keras.Model):
        return tf_load.load_keras(model, input_shapes)
    if isinstance(model, tf.types.experimental.ConcreteFunction):
        return tf_load.load_function(model)
    if isinstance(model, tf.types.experimental.PolymorphicFunction):
        tfg = tf_load.load_function(_concrete(model, input_shapes))
        tfg.inputs_bound = True  # input_shapes were used to trace it
        return tfg
    signatures = getattr(model, "signatures", None)
    if signatures is not None and signature in signatures:
        return tf_load.load_function(signatures[signature], f"{kind.__name__}:{signature}")
    raise FrontendError(
        f"the TensorFlow frontend cannot lower a {kind.__module__}.{kind.__name__}; give a file "
        "path, a keras.Model, a tf.function, a ConcreteFunction, a tf.Graph or a GraphDef"
    )


def _concrete(function: Any, input_shapes: Mapping[str, Sequence[int]] | None) -> Any:
    """A tf.function's concrete function: its input_signature, or specs from input_shapes."""
    import tensorflow as tf

    if function.input_signature is not None:
        return function.get_concrete_function()
    if input_shapes:
        specs = [tf.TensorSpec(tuple(s), tf.float32, name=n) for n, s in input_shapes.items()]
        return function.get_concrete_function(*specs)
    raise FrontendError(
        f"tf.function {function.__name__} has no input_signature; pass input_shapes={{name: "
        "shape, ...}} (float32 inputs, in argument order) or give it an input_signature"
    )


def load(
    model: Any,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    signature: str = "serving_default",
) -> TfGraph:
    """Load ``model`` into a `TfGraph` without lowering it (see `lower` for the arguments)."""
    if isinstance(model, (str, os.PathLike)):
        return _load_path(Path(model), input_shapes, signature)
    if isinstance(model, (bytes, bytearray)):
        return TfGraph(parse_graph_def(bytes(model), "the GraphDef bytes"), name="graph_def")
    return _load_object(model, input_shapes, signature)


def lower(
    model: Any,
    *,
    input_shapes: Mapping[str, Sequence[int]] | None = None,
    outputs: list[str] | None = None,
    signature: str = "serving_default",
) -> Graph:
    """Lower a TensorFlow model into flopcount's IR.

    Args:
        model: a path (frozen GraphDef ``.pb``/``.pbtxt``, SavedModel directory, ``.keras`` or
            ``.h5`` file), a ``keras.Model``, a ``tf.function`` or ``ConcreteFunction``, a
            ``tf.Graph``, a ``GraphDef`` or its serialized bytes.
        input_shapes: concrete shapes per input name (a placeholder or Keras input name), for
            unknown dimensions; an unknown batch defaults to 1 (noted in ``Graph.notes``).
        outputs: node names (or ``node:i`` tensors) to count up to; by default a function's
            outputs or the graph's sinks (assignments, savers, initializers are not outputs).
        signature: the SavedModel signature to analyse.

    Only the subgraph that computes the outputs is lowered; what was left out, folded or
    assumed is listed in ``Graph.notes``.
    """
    from flopcount.frontends.tf_build import build_graph
    from flopcount.frontends.tf_infer import infer_shapes

    tfg = load(model, input_shapes=input_shapes, signature=signature)
    if not tfg.nodes:
        raise FrontendError(f"the TensorFlow graph {tfg.name or '<unnamed>'} is empty (no nodes)")
    targets = list(outputs or tfg.outputs or infer_outputs(tfg))
    nodes, notes = prune(tfg, targets)
    inference = infer_shapes(nodes, tfg, None if tfg.inputs_bound else input_shapes)
    graph = build_graph(tfg, nodes, inference, targets)
    graph.notes[:0] = [*tfg.notes, *inference.notes, *notes]
    return graph
