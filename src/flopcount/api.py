"""`flopcount.analyze`: the one entry point of the analyzer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flopcount._runtime import without_collector
from flopcount.analysis.core import analyze_graph
from flopcount.analysis.hardware import Hardware
from flopcount.frontends.load import LoadOptions, lower
from flopcount.report.report import Report

__all__ = ["analyze"]


@without_collector
def analyze(
    model: Any,
    *example_inputs: Any,
    convention: str = "flops",
    training: bool = False,
    input_shapes: Mapping[str, Sequence[int]] | Sequence[Sequence[int]] | None = None,
    dims: Mapping[str, int] | None = None,
    outputs: Sequence[str] | None = None,
    signature: str = "serving_default",
    batch: int | None = None,
    seq: int | None = None,
    image_size: int | None = None,
    name: str | None = None,
    hardware: str | Hardware | None = None,
    dtype: str | None = None,
    roofline_preset: str | None = None,
) -> Report:
    """Analyse ``model`` from shapes alone and return a `Report` (data; nothing is printed).

    ``model`` is a ``torch.nn.Module`` (with ``example_inputs``: tensors, meta tensors or shapes),
    an ``onnx.ModelProto``, a TensorFlow/Keras object, a `flopcount.ir.Graph`, a model file path,
    or a spec string (``"zoo:resnet50"``, ``"torchvision:resnet50"``, ``"pkg.mod:make_model"``).
    ``input_shapes`` binds input shapes (by name, or positionally), ``dims`` binds symbolic
    dimensions by name (ONNX ``dim_param``). ``training=True`` also counts the backward pass.
    ``hardware`` (a name from ``flopcount hw list``, a profile from ``flopcount hw measure``, or
    a `Hardware`) adds a roofline latency estimate; ``dtype`` picks the peak (``"bf16"``).
    The model is never modified.
    """
    options = LoadOptions.build(
        input_shapes,
        dims,
        outputs,
        training=training,
        batch=batch,
        seq=seq,
        image_size=image_size,
        signature=signature,
    )
    graph = lower(model, *example_inputs, options=options)
    label = name or graph.name or type(model).__name__
    return analyze_graph(
        graph,
        convention=convention,
        model=label,
        hardware=hardware,
        dtype=dtype,
        roofline_preset=roofline_preset,
    )
