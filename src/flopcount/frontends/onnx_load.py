"""Loading ONNX models without their weights, and translating ONNX protos to plain values.

flopcount analyses shapes only: a model is loaded with ``load_external_data=False`` and the
copy handed to ONNX shape inference (`inference_copy`) keeps each initializer's dims and dtype
but drops the bytes of every tensor too large to matter for shape arithmetic. A model whose
external data files are missing therefore still analyses, and a 500 MB model is never copied.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import numpy_helper

from flopcount.errors import ModelLoadError
from flopcount.frontends.onnx_proto import (
    SMALL_VALUE,
    attr_values,
    dtype_name,
    elem_type,
    is_small,
    small_value,
)
from flopcount.frontends.onnx_wire import read_skeleton

__all__ = [
    "SMALL_VALUE",
    "attr_values",
    "dtype_name",
    "elem_type",
    "inference_copy",
    "load_model",
    "proto_small_value",
    "small_value",
]


def _read(path: Path) -> onnx.ModelProto:
    """The model without its large weights (`onnx_wire`); protobuf's own parser when the fast
    reader refuses the file (its error is the one worth reporting)."""
    try:
        return read_skeleton(path)
    except (DecodeError, ValueError, OSError):
        return onnx.load(path, load_external_data=False)


def load_model(model: Any) -> onnx.ModelProto:
    """A `ModelProto` from a path or a proto, weights left on disk; `ModelLoadError` if not one."""
    if isinstance(model, onnx.ModelProto):
        proto = model
        where = "the ModelProto"
    elif isinstance(model, (str, os.PathLike)):
        path = Path(model)
        where = f"{str(path)!r}"
        if not path.is_file():
            raise ModelLoadError(f"ONNX model file {where} does not exist (or is not a file)")
        try:
            proto = _read(path)
        except (DecodeError, ValueError, RuntimeError, OSError) as exc:
            raise ModelLoadError(
                f"{where} is not a readable ONNX model ({type(exc).__name__}: {exc}); the file "
                "may be truncated or not an .onnx file: re-export or re-download it"
            ) from None
    else:
        raise ModelLoadError(
            f"cannot load an ONNX model from a {type(model).__name__}: pass a path to an .onnx "
            "file or an onnx.ModelProto"
        )
    if not proto.HasField("graph") or (proto.ir_version == 0 and not proto.graph.node):
        raise ModelLoadError(
            f"{where} holds no ONNX graph (ir_version {proto.ir_version}): it is not an ONNX "
            "model, or the file is truncated; re-export it"
        )
    return proto


def proto_small_value(tensor: onnx.TensorProto) -> np.ndarray | None:
    """The values of a small TensorProto stored inside the model, else ``None``."""
    if not is_small(tensor) or tensor.data_location == onnx.TensorProto.EXTERNAL:
        return None
    if tensor.data_type not in (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13):
        return None  # only the numeric types shape arithmetic uses
    try:
        return numpy_helper.to_array(tensor)
    except (ValueError, TypeError):  # a tensor with dims but no data (a stripped copy)
        return None


def _strip(tensor: onnx.TensorProto) -> onnx.TensorProto:
    """``tensor`` itself when small and embedded, else a copy with its dims and dtype only."""
    if is_small(tensor) and tensor.data_location != onnx.TensorProto.EXTERNAL:
        return tensor
    return onnx.TensorProto(name=tensor.name, dims=tensor.dims, data_type=tensor.data_type)


def _strip_node(node: onnx.NodeProto) -> onnx.NodeProto:
    """``node``, or a copy whose large tensor attributes (a weight-holding Constant) are bare."""
    if not any(a.type == onnx.AttributeProto.TENSOR and not is_small(a.t) for a in node.attribute):
        return node
    copy = onnx.NodeProto()
    copy.CopyFrom(node)
    for attr in copy.attribute:
        if attr.type == onnx.AttributeProto.TENSOR and not is_small(attr.t):
            attr.t.CopyFrom(_strip(attr.t))
    return copy


def inference_copy(model: onnx.ModelProto, inputs: list[onnx.ValueInfoProto]) -> onnx.ModelProto:
    """A weight-free copy of ``model`` whose graph inputs are ``inputs`` (shapes bound)."""
    graph = model.graph
    copy = onnx.ModelProto(
        ir_version=model.ir_version, opset_import=model.opset_import, functions=model.functions
    )
    copy.graph.name = graph.name
    copy.graph.input.extend(inputs)
    copy.graph.output.extend(graph.output)
    copy.graph.value_info.extend(graph.value_info)
    copy.graph.node.extend(_strip_node(n) for n in graph.node)
    copy.graph.initializer.extend(_strip(t) for t in graph.initializer)
    return copy
