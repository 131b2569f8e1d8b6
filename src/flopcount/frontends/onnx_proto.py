"""ONNX vocabulary both lowering paths share, importing neither NumPy nor onnx.

Element types (``TensorProto.DataType``), attribute kinds (``AttributeProto.AttributeType``)
and the translation of a node's attributes into plain Python values. Everything here reads
its argument by field name only (``attr.type``, ``attr.ints``, ``tensor.dims``...), so it
serves the protobuf messages of `onnx` and the light objects of `onnx_light` alike. Enum values
from ``onnx/onnx.proto``.
"""

from __future__ import annotations

from typing import Any

from flopcount.ir import DTYPE_BYTES

__all__ = [
    "ATTR_FLOAT",
    "ATTR_FLOATS",
    "ATTR_GRAPH",
    "ATTR_GRAPHS",
    "ATTR_INT",
    "ATTR_INTS",
    "ATTR_STRING",
    "ATTR_STRINGS",
    "ATTR_TENSOR",
    "ATTR_TENSORS",
    "EXTERNAL",
    "SMALL_VALUE",
    "attr_values",
    "dtype_name",
    "elem_type",
    "is_small",
    "small_value",
    "subgraphs",
]

# Tensors of at most this many elements keep their values for shape arithmetic (Reshape
# targets, Slice bounds, Resize scales); larger ones are weights and never read.
SMALL_VALUE = 4096

# AttributeProto.AttributeType (onnx.proto).
ATTR_FLOAT, ATTR_INT, ATTR_STRING, ATTR_TENSOR, ATTR_GRAPH = 1, 2, 3, 4, 5
ATTR_FLOATS, ATTR_INTS, ATTR_STRINGS, ATTR_TENSORS, ATTR_GRAPHS = 6, 7, 8, 9, 10
_ATTR_NAMES = {
    0: "undefined", 11: "sparse_tensor", 12: "sparse_tensors", 13: "type_proto",
    14: "type_protos",
}  # fmt: skip
# TensorProto.DataLocation: EXTERNAL = 1 (onnx.proto).
EXTERNAL = 1

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


def is_small(tensor: Any) -> bool:
    """Whether a TensorProto (or light tensor) has at most `SMALL_VALUE` elements."""
    count = 1
    for dim in tensor.dims:
        count *= dim
    return count <= SMALL_VALUE


def small_value(tensor: Any) -> Any:
    """The values of a small tensor stored inside the model, else ``None`` (never reads
    files): a NumPy array for a TensorProto, a `onnx_small.Small` for a light tensor."""
    decode = getattr(tensor, "small_value", None)  # light tensors decode themselves
    if callable(decode):
        return decode()
    from flopcount.frontends.onnx_load import proto_small_value

    return proto_small_value(tensor)


def subgraphs(attr: Any) -> list[Any]:
    """The graphs an attribute holds (``g`` or ``graphs``), empty for any other kind."""
    return [attr.g] if attr.type == ATTR_GRAPH else list(attr.graphs)


def _tensor_attr(tensor: Any) -> Any:
    value = small_value(tensor)
    if value is None:
        dims = "x".join(str(d) for d in tensor.dims) or "scalar"
        return f"<tensor {dtype_name(tensor.data_type)} {dims}>"
    return value.item() if value.ndim == 0 else value.tolist()


def attr_values(node: Any) -> dict[str, Any]:
    """A node's attributes as plain Python values (subgraphs are lowered separately, skipped)."""
    values: dict[str, Any] = {}
    for attr in node.attribute:
        kind = attr.type
        if kind == ATTR_FLOAT:
            values[attr.name] = float(attr.f)
        elif kind == ATTR_INT:
            values[attr.name] = int(attr.i)
        elif kind == ATTR_STRING:
            values[attr.name] = attr.s.decode("utf-8", "replace")
        elif kind == ATTR_FLOATS:
            values[attr.name] = [float(f) for f in attr.floats]
        elif kind == ATTR_INTS:
            values[attr.name] = [int(i) for i in attr.ints]
        elif kind == ATTR_STRINGS:
            values[attr.name] = [s.decode("utf-8", "replace") for s in attr.strings]
        elif kind == ATTR_TENSOR:
            values[attr.name] = _tensor_attr(attr.t)
        elif kind == ATTR_TENSORS:
            values[attr.name] = [_tensor_attr(t) for t in attr.tensors]
        elif kind not in (ATTR_GRAPH, ATTR_GRAPHS):
            values[attr.name] = f"<{_ATTR_NAMES.get(kind, str(kind))}>"
    return values
