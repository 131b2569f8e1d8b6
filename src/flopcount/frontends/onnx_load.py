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
from flopcount.frontends.onnx_wire import read_skeleton
from flopcount.ir import DTYPE_BYTES

__all__ = [
    "SMALL_VALUE",
    "attr_values",
    "dtype_name",
    "elem_type",
    "inference_copy",
    "load_model",
    "small_value",
]

# Tensors of at most this many elements keep their values for shape arithmetic (Reshape
# targets, Slice bounds, Resize scales); larger ones are weights and never read.
SMALL_VALUE = 4096

# ONNX TensorProto.DataType -> flopcount dtype name (NumPy spelling; see flopcount.ir.graph).
# Where flopcount lacks a name (float8 *fnuz, e8m0, float4/6, int2) the second entry is the
# name of the same storage size used until the IR knows the exact one.
_DTYPES: dict[int, tuple[str, str]] = {
    1: ("float32", "float32"), 2: ("uint8", "uint8"), 3: ("int8", "int8"),
    4: ("uint16", "uint16"), 5: ("int16", "int16"), 6: ("int32", "int32"),
    7: ("int64", "int64"), 8: ("string", "string"), 9: ("bool", "bool"),
    10: ("float16", "float16"), 11: ("float64", "float64"), 12: ("uint32", "uint32"),
    13: ("uint64", "uint64"), 14: ("complex64", "complex64"), 15: ("complex128", "complex128"),
    16: ("bfloat16", "bfloat16"), 17: ("float8_e4m3fn", "float8"),
    18: ("float8_e4m3fnuz", "float8"), 19: ("float8_e5m2", "float8"),
    20: ("float8_e5m2fnuz", "float8"), 21: ("uint4", "uint4"), 22: ("int4", "int4"),
    23: ("float4_e2m1", "uint4"), 24: ("float8_e8m0", "float8"), 25: ("uint2", "uint4"),
    26: ("int2", "int4"), 27: ("float6_e2m3", "float8"), 28: ("float6_e3m2", "float8"),
}  # fmt: skip


def elem_type(dtype: str) -> int:
    """The ONNX element type of flopcount dtype ``dtype`` (0, undefined, when unknown)."""
    for code, names in _DTYPES.items():
        if dtype in names:
            return code
    return 0


def dtype_name(elem_type: int) -> str:
    """flopcount's name of ONNX element type ``elem_type`` ("float32" when undefined)."""
    exact, fallback = _DTYPES.get(elem_type, ("float32", "float32"))
    return exact if exact in DTYPE_BYTES else fallback


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


def _is_small(tensor: onnx.TensorProto) -> bool:
    count = 1
    for dim in tensor.dims:
        count *= dim
    return count <= SMALL_VALUE


def small_value(tensor: onnx.TensorProto) -> np.ndarray | None:
    """The values of a small tensor stored inside the model, else ``None`` (never reads files)."""
    if not _is_small(tensor) or tensor.data_location == onnx.TensorProto.EXTERNAL:
        return None
    if tensor.data_type not in (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13):
        return None  # only the numeric types shape arithmetic uses
    try:
        return numpy_helper.to_array(tensor)
    except (ValueError, TypeError):  # a tensor with dims but no data (a stripped copy)
        return None


def _strip(tensor: onnx.TensorProto) -> onnx.TensorProto:
    """``tensor`` itself when small and embedded, else a copy with its dims and dtype only."""
    if _is_small(tensor) and tensor.data_location != onnx.TensorProto.EXTERNAL:
        return tensor
    return onnx.TensorProto(name=tensor.name, dims=tensor.dims, data_type=tensor.data_type)


def _strip_node(node: onnx.NodeProto) -> onnx.NodeProto:
    """``node``, or a copy whose large tensor attributes (a weight-holding Constant) are bare."""
    if not any(a.type == onnx.AttributeProto.TENSOR and not _is_small(a.t) for a in node.attribute):
        return node
    copy = onnx.NodeProto()
    copy.CopyFrom(node)
    for attr in copy.attribute:
        if attr.type == onnx.AttributeProto.TENSOR and not _is_small(attr.t):
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


def _tensor_attr(tensor: onnx.TensorProto) -> Any:
    value = small_value(tensor)
    if value is None:
        dims = "x".join(str(d) for d in tensor.dims) or "scalar"
        return f"<tensor {dtype_name(tensor.data_type)} {dims}>"
    return value.item() if value.ndim == 0 else value.tolist()


def attr_values(node: onnx.NodeProto) -> dict[str, Any]:
    """A node's attributes as plain Python values (subgraphs are lowered separately, skipped)."""
    kinds = onnx.AttributeProto
    values: dict[str, Any] = {}
    for attr in node.attribute:
        kind = attr.type
        if kind == kinds.FLOAT:
            values[attr.name] = float(attr.f)
        elif kind == kinds.INT:
            values[attr.name] = int(attr.i)
        elif kind == kinds.STRING:
            values[attr.name] = attr.s.decode("utf-8", "replace")
        elif kind == kinds.FLOATS:
            values[attr.name] = [float(f) for f in attr.floats]
        elif kind == kinds.INTS:
            values[attr.name] = [int(i) for i in attr.ints]
        elif kind == kinds.STRINGS:
            values[attr.name] = [s.decode("utf-8", "replace") for s in attr.strings]
        elif kind == kinds.TENSOR:
            values[attr.name] = _tensor_attr(attr.t)
        elif kind == kinds.TENSORS:
            values[attr.name] = [_tensor_attr(t) for t in attr.tensors]
        elif kind not in (kinds.GRAPH, kinds.GRAPHS):
            values[attr.name] = f"<{kinds.AttributeType.Name(kind).lower()}>"
    return values
