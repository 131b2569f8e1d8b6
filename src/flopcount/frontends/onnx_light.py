"""An .onnx file read into light Python objects, without protobuf, NumPy or onnx.

`read_light` walks the protobuf wire format (https://protobuf.dev/programming-guides/
encoding/) as `onnx_wire.read_skeleton` does, through small positioned reads, never reading
the data of a large initializer, and decodes the messages the fast path needs into objects
whose fields carry the names of onnx's generated classes (``node.op_type``, ``attr.ints``,
``tensor.dims``, ``type.tensor_type.shape.dim``...), so `onnx_graph.Lowering` and the helpers
of `onnx_proto` / `onnx_values` read them as they read protos. Anything the fast path does not
handle (subgraphs, functions, sparse or non-tensor types, ``ref_attr_name``, a repeated
singular message) raises `NotFastError`; malformed bytes raise `WireError`.

Field numbers from ``onnx/onnx.proto`` (IR version 10 / onnx 1.16+), written next to each
decoder. Repeated numeric fields are read packed or not, as protobuf parsers must.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass, field
from typing import Any

from flopcount.frontends.onnx_proto import EXTERNAL, is_small
from flopcount.frontends.onnx_small import NotFastError, Small
from flopcount.frontends.onnx_wire import (
    GRAPH_INITIALIZER,
    LARGE_TENSOR_BYTES,
    MODEL_GRAPH,
    TENSOR_DATA_FIELDS,
    WireError,
    _fields,
    _File,
)

__all__ = ["Model", "read_light"]

_SIGN = 1 << 63


def _signed(value: int) -> int:
    """A varint read as int64 (two's complement over 64 bits)."""
    return value - (1 << 64) if value >= _SIGN else value


def _varint(data: bytes, pos: int, end: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= end or shift > 63:
            raise WireError("truncated or malformed varint")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            return result, pos
        shift += 7


def _scan(data: bytes, pos: int, end: int) -> Any:
    """(field, wire type, a, b) per field of ``data[pos:end]``: for wire type 0, ``a`` is the
    value; otherwise ``data[a:b]`` holds it. (One-byte varints, most keys and lengths, are
    read inline: this loop reads every byte of the graph outside the initializers.)"""
    while pos < end:
        key = data[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = _varint(data, pos, end)
        wire = key & 7
        if wire == 2:
            if pos >= end:
                raise WireError("truncated field")
            length = data[pos]
            if length < 0x80:
                pos += 1
            else:
                length, pos = _varint(data, pos, end)
        elif wire == 0:
            value, pos = _varint(data, pos, end)
            yield key >> 3, 0, value, pos
            continue
        elif wire in (1, 5):
            length = 8 if wire == 1 else 4
        else:
            raise WireError(f"unsupported wire type {wire}")
        if pos + length > end:
            raise WireError("field runs past the end of its message")
        yield key >> 3, wire, pos, pos + length
        pos += length


def _text(data: bytes, a: int, b: int) -> str:
    try:
        return str(data[a:b], "utf-8")
    except UnicodeDecodeError:
        raise NotFastError("a name that is not UTF-8") from None


def _ints(data: bytes, wire: int, a: int, b: int, out: list[int]) -> None:
    """Append a varint field (one, or packed) to ``out``, as int64."""
    if wire == 0:
        out.append(_signed(a))
        return
    while a < b:
        value, a = _varint(data, a, b)
        out.append(_signed(value))


def _unsigned(data: bytes, wire: int, a: int, b: int, out: list[int]) -> None:
    if wire == 0:
        out.append(a)
        return
    while a < b:
        value, a = _varint(data, a, b)
        out.append(value)


def _fixed(data: bytes, wire: int, a: int, b: int, code: str, out: list[Any]) -> None:
    """Append a fixed-size field (``code`` "f": float, "d": double), one or packed."""
    size = struct.calcsize(code)
    if wire == 2 and (b - a) % size == 0:
        out.extend(struct.unpack_from(f"<{(b - a) // size}{code}", data, a))
    elif wire in (1, 5) and b - a == size:
        out.append(struct.unpack_from(f"<{code}", data, a)[0])
    else:
        raise WireError("malformed fixed-size field")


# TensorProto.data_type -> struct code of its raw_data (little-endian, onnx.proto), NumPy's
# name of the dtype, and the typed field that holds the values when raw_data is absent.
_RAW = {
    1: "f", 2: "B", 3: "b", 4: "H", 5: "h", 6: "i", 7: "q", 9: "B", 10: "e", 11: "d", 12: "I",
    13: "Q",
}  # fmt: skip
_NUMPY = {
    1: "float32", 2: "uint8", 3: "int8", 4: "uint16", 5: "int16", 6: "int32", 7: "int64",
    9: "bool", 10: "float16", 11: "float64", 12: "uint32", 13: "uint64",
}  # fmt: skip
_TYPED = {1: 4, 2: 5, 3: 5, 4: 5, 5: 5, 6: 5, 9: 5, 10: 5, 7: 7, 11: 10, 12: 11, 13: 11}


@dataclass(slots=True)
class Tensor:
    """A TensorProto: dims 1, data_type 2, name 8, data_location 14 (data 4-7, 9-11)."""

    name: str = ""
    dims: list[int] = field(default_factory=list)
    data_type: int = 0
    data_location: int = 0
    dropped: bool = False  # its data was left unread (a large initializer)
    source: bytes = b""
    parts: list[tuple[int, int, int, int]] = field(default_factory=list)

    def small_value(self) -> Small | None:
        """`onnx_load.proto_small_value` of this tensor, without NumPy."""
        if not is_small(self) or self.data_location == EXTERNAL or self.data_type not in _RAW:
            return None
        if self.dropped:
            raise NotFastError(f"initializer {self.name!r} is small but was not read")
        count = 1
        for d in self.dims:
            count *= d
        values = self._decode()
        if len(values) != count:
            if not values and count:  # no data: NumPy's reshape fails, the value is unknown
                return None
            raise NotFastError(f"tensor {self.name!r} holds {len(values)} values for {count}")
        dtype = _NUMPY[self.data_type]
        if dtype == "bool":
            if any(v not in (0, 1) for v in values):
                raise NotFastError("a bool tensor holding other values")
            values = [bool(v) for v in values]
        return Small(dtype, tuple(self.dims), tuple(values))

    def _decode(self) -> list[Any]:
        raw = [p for p in self.parts if p[0] == 9]
        code, typed = _RAW[self.data_type], _TYPED[self.data_type]
        data, out = self.source, []  # type: tuple[bytes, list[Any]]
        if raw:
            _, _, a, b = raw[-1]
            size = struct.calcsize(code)
            if (b - a) % size:
                raise NotFastError("raw_data of a length that is no multiple of its type")
            return list(struct.unpack_from(f"<{(b - a) // size}{code}", data, a))
        if any(p[0] != typed for p in self.parts):
            raise NotFastError("a tensor storing its values in an unexpected field")
        for _, wire, a, b in self.parts:
            if typed == 4:
                _fixed(data, wire, a, b, "f", out)
            elif typed == 10:
                _fixed(data, wire, a, b, "d", out)
            elif typed == 11:
                _unsigned(data, wire, a, b, out)
            else:
                _ints(data, wire, a, b, out)
        if self.data_type == 10:  # float16 bits in int32_data (onnx.proto's comment on it)
            out = [struct.unpack("<e", struct.pack("<H", v & 0xFFFF))[0] for v in out]
        elif self.data_type in (6, 3, 5, 2, 4):
            low, high = {6: (-(1 << 31), 1 << 31), 3: (-128, 128), 5: (-(1 << 15), 1 << 15),
                         2: (0, 256), 4: (0, 1 << 16)}[self.data_type]  # fmt: skip
            if any(not low <= v < high for v in out):
                raise NotFastError("an integer tensor value out of its type's range")
        return out


def tensor(data: bytes, pos: int, end: int) -> Tensor:
    out = Tensor(source=data)
    for number, wire, a, b in _scan(data, pos, end):
        if number == 1:
            _ints(data, wire, a, b, out.dims)
        elif number == 2 and wire == 0:
            out.data_type = a
        elif number == 8 and wire == 2:
            out.name = _text(data, a, b)
        elif number == 14 and wire == 0:
            out.data_location = a
        elif number in TENSOR_DATA_FIELDS:
            out.parts.append((number, wire, a, b))
        elif number in (3, 13):  # segment, external_data
            if number == 3:
                raise NotFastError("a segmented tensor")
        elif number not in (12, 16):  # doc_string, metadata_props
            raise NotFastError(f"TensorProto field {number}")
    return out


def large_tensor(buf: _File, start: int, end: int) -> Tensor:
    """A tensor too large to read whole: every field but its data."""
    kept = [
        buf.slice(key, value_end)
        for number, key, _, value_end in _fields(buf, start, end)
        if number not in TENSOR_DATA_FIELDS
    ]
    chunk = b"".join(kept)
    out = tensor(chunk, 0, len(chunk))
    out.dropped = True
    return out


@dataclass(slots=True)
class Attribute:
    """An AttributeProto: name 1, f 2, i 3, s 4, t 5, floats 7, ints 8, strings 9,
    tensors 10, type 20 (g 6, graphs 11, tp 14, ref_attr_name 21... make it `NotFastError`)."""

    name: str = ""
    type: int = 0
    f: float = 0.0
    i: int = 0
    s: bytes = b""
    t: Tensor | None = None
    floats: list[float] = field(default_factory=list)
    ints: list[int] = field(default_factory=list)
    strings: list[bytes] = field(default_factory=list)
    tensors: list[Tensor] = field(default_factory=list)
    g: None = None
    graphs: tuple[()] = ()


def attribute(data: bytes, pos: int, end: int) -> Attribute:
    out = Attribute()
    for number, wire, a, b in _scan(data, pos, end):
        if number == 1 and wire == 2:
            out.name = _text(data, a, b)
        elif number == 20 and wire == 0:
            out.type = a
        elif number == 2:
            floats: list[float] = []
            _fixed(data, wire, a, b, "f", floats)
            out.f = floats[-1]
        elif number == 3 and wire == 0:
            out.i = _signed(a)
        elif number == 4 and wire == 2:
            out.s = data[a:b]
        elif number == 5 and wire == 2:
            if out.t is not None:
                raise NotFastError("an attribute with two tensors")
            out.t = tensor(data, a, b)
        elif number == 7:
            _fixed(data, wire, a, b, "f", out.floats)
        elif number == 8:
            _ints(data, wire, a, b, out.ints)
        elif number == 9 and wire == 2:
            out.strings.append(data[a:b])
        elif number == 10 and wire == 2:
            out.tensors.append(tensor(data, a, b))
        elif number != 13:  # doc_string
            raise NotFastError(f"AttributeProto field {number}")
    if out.type not in (1, 2, 3, 4, 6, 7, 8, 9) or (out.type == 4 and out.t is None):
        raise NotFastError(f"attribute {out.name!r} of type {out.type}")
    return out


@dataclass(slots=True)
class Node:
    """A NodeProto: input 1, output 2, name 3, op_type 4, attribute 5, domain 7."""

    input: list[str] = field(default_factory=list)
    output: list[str] = field(default_factory=list)
    name: str = ""
    op_type: str = ""
    domain: str = ""
    attribute: list[Attribute] = field(default_factory=list)


def node(data: bytes, pos: int, end: int) -> Node:
    out = Node()
    for number, wire, a, b in _scan(data, pos, end):
        if wire != 2 and number != 8:
            raise NotFastError(f"NodeProto field {number} of wire type {wire}")
        if number == 1:
            out.input.append(_text(data, a, b))
        elif number == 2:
            out.output.append(_text(data, a, b))
        elif number == 3:
            out.name = _text(data, a, b)
        elif number == 4:
            out.op_type = _text(data, a, b)
        elif number == 5:
            out.attribute.append(attribute(data, a, b))
        elif number == 7:
            out.domain = _text(data, a, b)
        elif number not in (6, 9) and not (number == 8 and a == b):  # doc, metadata
            raise NotFastError(f"NodeProto field {number}")
    return out


@dataclass(slots=True)
class Dim:
    """TensorShapeProto.Dimension: dim_value 1, dim_param 2 (denotation 3)."""

    dim_value: int = 0
    dim_param: str = ""
    has_value: bool = False

    def HasField(self, name: str) -> bool:
        return self.has_value if name == "dim_value" else bool(self.dim_param)


@dataclass(slots=True)
class TensorType:
    """TypeProto.Tensor: elem_type 1, shape 2 (a TensorShapeProto: dim 1)."""

    elem_type: int = 0
    dims: list[Dim] | None = None

    @property
    def shape(self) -> TensorType:
        return self

    @property
    def dim(self) -> list[Dim]:
        return self.dims or []

    def HasField(self, name: str) -> bool:
        return name == "shape" and self.dims is not None


@dataclass(slots=True)
class Type:
    """A TypeProto of the tensor kind (tensor_type 1), or none at all."""

    tensor_type: TensorType | None = None

    def WhichOneof(self, group: str) -> str | None:
        return "tensor_type" if self.tensor_type is not None else None

    def HasField(self, name: str) -> bool:
        return name == "tensor_type" and self.tensor_type is not None


def _dim(data: bytes, pos: int, end: int) -> Dim:
    out = Dim()
    for number, wire, a, b in _scan(data, pos, end):
        if number == 1 and wire == 0:
            out.dim_value, out.has_value, out.dim_param = _signed(a), True, ""
        elif number == 2 and wire == 2:
            out.dim_param, out.has_value = _text(data, a, b), False
        elif number != 3:
            raise NotFastError(f"Dimension field {number}")
    return out


def _tensor_type(data: bytes, pos: int, end: int) -> TensorType:
    out = TensorType()
    for number, wire, a, b in _scan(data, pos, end):
        if number == 1 and wire == 0:
            out.elem_type = a
        elif number == 2 and wire == 2 and out.dims is None:
            out.dims = [_dim(data, c, d) for n, w, c, d in _scan(data, a, b) if n == 1 and w == 2]
        else:
            raise NotFastError(f"TypeProto.Tensor field {number}")
    return out


@dataclass(slots=True)
class ValueInfo:
    """A ValueInfoProto: name 1, type 2 (a TypeProto: tensor_type 1; others `NotFastError`)."""

    name: str = ""
    type: Type = field(default_factory=Type)


def value_info(data: bytes, pos: int, end: int) -> ValueInfo:
    out = ValueInfo()
    for number, wire, a, b in _scan(data, pos, end):
        if number == 1 and wire == 2:
            out.name = _text(data, a, b)
        elif number == 2 and wire == 2 and out.type.tensor_type is None:
            for inner, inner_wire, c, d in _scan(data, a, b):
                if inner != 1 or inner_wire != 2 or out.type.tensor_type is not None:
                    if inner == 6:  # denotation
                        continue
                    raise NotFastError(f"a TypeProto of kind {inner}")
                out.type.tensor_type = _tensor_type(data, c, d)
        elif number not in (3, 4):  # doc_string, metadata_props
            raise NotFastError(f"ValueInfoProto field {number}")
    return out


@dataclass(slots=True)
class Graph:
    """A GraphProto: node 1, name 2, initializer 5, input 11, output 12, value_info 13."""

    name: str = ""
    node: list[Node] = field(default_factory=list)
    initializer: list[Tensor] = field(default_factory=list)
    input: list[ValueInfo] = field(default_factory=list)
    output: list[ValueInfo] = field(default_factory=list)
    value_info: list[ValueInfo] = field(default_factory=list)


def _graph_field(graph: Graph, data: bytes, number: int, wire: int, a: int, b: int) -> None:
    if wire != 2:
        raise NotFastError(f"GraphProto field {number} of wire type {wire}")
    if number == 1:
        graph.node.append(node(data, a, b))
    elif number == 2:
        graph.name = _text(data, a, b)
    elif number == 5:
        graph.initializer.append(tensor(data, a, b))
    elif number in (11, 12, 13):
        {11: graph.input, 12: graph.output, 13: graph.value_info}[number].append(
            value_info(data, a, b)
        )
    elif number not in (10, 14, 16):  # doc_string, quantization_annotation, metadata
        raise NotFastError(f"GraphProto field {number}")


@dataclass(slots=True)
class Opset:
    """An OperatorSetIdProto: domain 1, version 2."""

    domain: str = ""
    version: int = 0


@dataclass(slots=True)
class Model:
    """A ModelProto: ir_version 1, graph 7, opset_import 8 (functions 25: `NotFastError`)."""

    ir_version: int = 0
    graph: Graph | None = None
    opset_import: list[Opset] = field(default_factory=list)
    functions: tuple[()] = ()


def _opset(data: bytes, pos: int, end: int) -> Opset:
    out = Opset()
    for number, wire, a, b in _scan(data, pos, end):
        if number == 1 and wire == 2:
            out.domain = _text(data, a, b)
        elif number == 2 and wire == 0:
            out.version = _signed(a)
    return out


def _model_field(model: Model, data: bytes, number: int, wire: int, a: int, b: int) -> None:
    if number == 1 and wire == 0:
        model.ir_version = _signed(a)
    elif number == 8 and wire == 2:
        model.opset_import.append(_opset(data, a, b))
    elif number == 25:
        raise NotFastError("a model with local functions")
    elif number not in (2, 3, 4, 5, 6, 14, 20, 26):  # names, docs, metadata, training info
        raise NotFastError(f"ModelProto field {number}")


def read_light(path: str | None, data: bytes = b"") -> Model:
    """The model in file ``path`` (or in ``data`` when ``path`` is None), large weights
    unread. (``os`` rather than ``pathlib``, whose import costs more than reading a model.)"""
    if path is None:
        return _read(_File(None, len(data), data))
    with open(path, "rb", buffering=0) as handle:
        return _read(_File(handle, os.fstat(handle.fileno()).st_size))


def _read(buf: _File) -> Model:
    model, graph_range = Model(), None
    for number, key, start, end in _fields(buf, 0, buf.size):
        if number == MODEL_GRAPH:
            if graph_range is not None:
                raise NotFastError("two graph fields")
            graph_range = (start, end)
        else:
            chunk = buf.slice(key, end)
            for inner in _scan(chunk, 0, len(chunk)):
                _model_field(model, chunk, *inner)
    if graph_range is None:
        return model
    model.graph = graph = Graph()
    for number, key, start, end in _fields(buf, *graph_range):
        if number == GRAPH_INITIALIZER and end - start > LARGE_TENSOR_BYTES:
            graph.initializer.append(large_tensor(buf, start, end))
            continue
        chunk = buf.slice(key, end)
        for inner in _scan(chunk, 0, len(chunk)):
            _graph_field(graph, chunk, *inner)
    return model
