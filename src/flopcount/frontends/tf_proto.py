"""A small reader of TensorFlow's ``GraphDef`` protocol buffer, in pure Python.

It reads the protobuf wire format (https://protobuf.dev/programming-guides/encoding/) of the
few messages a graph needs, with field numbers from TensorFlow's ``.proto`` files
(``tensorflow/core/framework/{graph,node_def,attr_value,tensor,tensor_shape,types}.proto``),
so a frozen ``.pb`` is analysed without TensorFlow or the ``protobuf`` package. Weights are
never decoded: a ``tensor_content`` field is skipped unless the tensor is a small integer
tensor (a shape, an axis list, paddings) whose values shape inference needs.
"""

from __future__ import annotations

import math
import os
import struct
from pathlib import Path
from typing import Any, Union

import numpy as np

from flopcount.errors import ModelLoadError
from flopcount.frontends.tf_graph import TfNode, TfTensorValue

__all__ = ["DTYPES", "parse_graph_def", "read_graph_def"]

Data = Union[bytes, "_FileBytes"]  # both index to ints and slice to bytes

# tensorflow/core/framework/types.proto: DataType enum -> flopcount's dtype names.
DTYPES: dict[int, str] = {
    1: "float32", 2: "float64", 3: "int32", 4: "uint8", 5: "int16", 6: "int8", 7: "string",
    8: "complex64", 9: "int64", 10: "bool", 11: "int8", 12: "uint8", 13: "int32",
    14: "bfloat16", 15: "int16", 16: "uint16", 17: "uint16", 18: "complex128", 19: "float16",
    20: "resource", 21: "variant", 22: "uint32", 23: "uint64", 24: "float8_e5m2",
    25: "float8_e4m3fn", 29: "int4", 30: "uint4",
}  # fmt: skip
_REF_OFFSET = 100  # DT_FLOAT_REF = 101...: reference types are the base type + 100
_INT_DTYPES = {"int32": "<i4", "int64": "<i8", "int16": "<i2", "int8": "i1", "uint8": "u1",
               "uint16": "<u2", "uint32": "<u4", "uint64": "<u8", "bool": "?"}  # fmt: skip
_SMALL = 1 << 16  # nodes smaller than this are read whole; larger ones field by field
_MAX_DECODED = 1 << 16  # integer tensors with more elements than this keep no values

_VARINT, _I64, _LEN, _I32 = 0, 1, 2, 5
_GRAPH_DEF_FIELDS = 5  # node 1, library 2, version 3, versions 4, debug_info 5


class _MalformedError(Exception):
    """The bytes are not a well-formed message (caught by `parse_graph_def`)."""


def _varint(buf: Data, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(buf):
            raise _MalformedError("a number runs past the end of the data")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise _MalformedError("a number is longer than 10 bytes")


def _signed(value: int) -> int:
    """int64 fields are two's complement in 64 bits (dim size -1 is 2**64 - 1)."""
    return value - (1 << 64) if value >= 1 << 63 else value


def _fields(buf: Data, start: int, end: int) -> list[tuple[int, int, Any]]:
    """``(field number, wire type, value)``; a LEN value is its ``(start, end)`` span."""
    out: list[tuple[int, int, Any]] = []
    pos = start
    while pos < end:
        key, pos = _varint(buf, pos)
        number, wire = key >> 3, key & 7
        if number == 0:
            raise _MalformedError("field number 0")
        value: Any
        if wire == _VARINT:
            value, pos = _varint(buf, pos)
        elif wire == _LEN:
            size, pos = _varint(buf, pos)
            value, pos = (pos, pos + size), pos + size
        elif wire == _I32:
            value, pos = buf[pos : pos + 4], pos + 4
        elif wire == _I64:
            value, pos = buf[pos : pos + 8], pos + 8
        else:
            raise _MalformedError(f"wire type {wire} does not occur in a GraphDef")
        if pos > end:
            raise _MalformedError("a field runs past the end of its message")
        out.append((number, wire, value))
    return out


def _text(buf: Data, span: tuple[int, int]) -> str:
    return buf[span[0] : span[1]].decode("utf-8", errors="replace")


def _packed_varints(buf: Data, wire: int, value: Any) -> list[int]:
    if wire == _VARINT:
        return [value]
    out, pos = [], value[0]
    while pos < value[1]:
        item, pos = _varint(buf, pos)
        out.append(item)
    return out


def _dtype(code: int) -> str:
    return DTYPES.get(code % _REF_OFFSET if code > _REF_OFFSET else code, f"dtype{code}")


def _shape(buf: Data, span: tuple[int, int]) -> tuple[int | None, ...] | None:
    """TensorShapeProto: ``dim`` (2) with ``size`` (1); ``unknown_rank`` (3). -1 -> None."""
    dims: list[int | None] = []
    for number, _, value in _fields(buf, *span):
        if number == 3 and value:
            return None
        if number == 2:
            size = 0
            for sub, _, val in _fields(buf, *value):
                if sub == 1:
                    size = _signed(val)
            dims.append(None if size < 0 else size)
    return tuple(dims)


def _tensor(buf: Data, span: tuple[int, int]) -> TfTensorValue:
    """TensorProto: dtype (1), tensor_shape (2), tensor_content (4), typed value lists."""
    dtype, content = "float32", None
    shape: tuple[int, ...] = ()
    listed: list[Any] = []
    for number, wire, value in _fields(buf, *span):
        if number == 1:
            dtype = _dtype(value)
        elif number == 2:
            dims = _shape(buf, value) or ()
            shape = tuple(d or 0 for d in dims)
        elif number == 4:
            content = value
        elif number in (7, 10, 11, 16, 17):  # int_val, int64_val, bool_val, uint32, uint64
            listed.extend(_signed(v) for v in _packed_varints(buf, wire, value))
        elif number == 5 and wire == _I32:  # a single float_val (scalars such as epsilon)
            listed.append(struct.unpack("<f", value)[0])
    count = math.prod(shape)
    values: np.ndarray | None = None
    if dtype in _INT_DTYPES and count <= _MAX_DECODED:
        if content is not None:
            raw = buf[content[0] : content[1]]
            values = np.frombuffer(raw, dtype=_INT_DTYPES[dtype]).astype(np.int64)
        elif listed:  # a short list repeats its last value (TensorProto's documented rule)
            values = np.array(listed + [listed[-1]] * (count - len(listed)), dtype=np.int64)
        else:
            values = np.zeros(count, dtype=np.int64)
        if values.size != count:
            raise _MalformedError(f"a constant holds {values.size} values for shape {shape}")
        values = values.reshape(shape)
    elif count == 1 and listed:
        values = np.array(listed[:1], dtype=np.float64).reshape(shape)
    return TfTensorValue(dtype, shape, values)


def _list(buf: Data, span: tuple[int, int]) -> list[Any]:
    """AttrValue.ListValue: s (2), i (3), f (4), b (5), type (6), shape (7), tensor (8)."""
    out: list[Any] = []
    for number, wire, value in _fields(buf, *span):
        if number == 2:
            out.append(_text(buf, value))
        elif number == 3:
            out.extend(_signed(v) for v in _packed_varints(buf, wire, value))
        elif number == 4:
            raw = buf[value[0] : value[1]] if wire == _LEN else value
            out.extend(struct.unpack(f"<{len(raw) // 4}f", raw))
        elif number == 5:
            out.extend(bool(v) for v in _packed_varints(buf, wire, value))
        elif number == 6:
            out.extend(_dtype(v) for v in _packed_varints(buf, wire, value))
        elif number == 7:
            out.append(_shape(buf, value))
        elif number == 8:
            out.append(_tensor(buf, value))
    return out


def _attr_value(buf: Data, span: tuple[int, int]) -> Any:
    """AttrValue oneof: list (1), s (2), i (3), f (4), b (5), type (6), shape (7), tensor (8),
    placeholder (9), func (10)."""
    for number, _, value in _fields(buf, *span):
        if number == 1:
            return _list(buf, value)
        if number in (2, 9):
            return _text(buf, value)
        if number == 3:
            return _signed(value)
        if number == 4:
            return struct.unpack("<f", value)[0]
        if number == 5:
            return bool(value)
        if number == 6:
            return _dtype(value)
        if number == 7:
            return _shape(buf, value)
        if number == 8:
            return _tensor(buf, value)
        if number == 10:
            return next((_text(buf, v) for n, _, v in _fields(buf, *value) if n == 1), "")
    return None


def _node(buf: Data, span: tuple[int, int]) -> TfNode:
    """NodeDef: name (1), op (2), input (3), device (4), attr (5: map entries key 1, value 2)."""
    node = TfNode(name="", op="")
    for number, _, value in _fields(buf, *span):
        if number == 1:
            node.name = _text(buf, value)
        elif number == 2:
            node.op = _text(buf, value)
        elif number == 3:
            ref = _text(buf, value)
            if ref.startswith("^"):
                node.control_inputs.append(ref[1:])
            else:
                node.inputs.append(ref if ":" in ref else f"{ref}:0")
        elif number == 5:
            key, attr = "", None
            for sub, _, val in _fields(buf, *value):
                if sub == 1:
                    key = _text(buf, val)
                elif sub == 2:
                    attr = _attr_value(buf, val)
            node.attrs[key] = attr
    if not node.name or not node.op:
        raise _MalformedError("a node without a name or an op type")
    return node


def parse_graph_def(data: Data, source: str = "<bytes>") -> list[TfNode]:
    """The nodes of a binary ``GraphDef`` (field 1: repeated NodeDef); others are skipped.

    Raises `ModelLoadError` naming ``source`` when the bytes are not a GraphDef (a truncated
    file, random bytes, another protobuf message).
    """
    try:
        nodes = []
        for number, wire, value in _fields(data, 0, len(data)):
            if number > _GRAPH_DEF_FIELDS or (number in (1, 2, 4, 5) and wire != _LEN):
                raise _MalformedError(
                    f"field {number} (wire type {wire}) is not part of a GraphDef"
                )
            if number == 1 and isinstance(data, _FileBytes) and value[1] - value[0] < _SMALL:
                nodes.append(_node(data[value[0] : value[1]], (0, value[1] - value[0])))
            elif number == 1:
                nodes.append(_node(data, value))
        return nodes
    except (_MalformedError, UnicodeDecodeError, struct.error, ValueError) as exc:
        raise ModelLoadError(
            f"{source} is not a valid TensorFlow GraphDef ({exc}); the file may be truncated or "
            "not a frozen graph. Give a binary GraphDef (.pb), a text one (.pbtxt), a SavedModel "
            "directory or a Keras file"
        ) from None


class _FileBytes:
    """A file read on demand in 4 KiB blocks (``os.pread``): only the bytes parsed are read.

    Indexes to ints and slices to bytes like ``bytes``; a memory map would do the same, but
    the kernel maps whole neighbourhoods of cached pages and inflates the process's RSS.
    """

    _BLOCK = 4096

    def __init__(self, fd: int, size: int) -> None:
        self._fd, self._size = fd, size
        self._blocks: dict[int, bytes] = {}

    def __len__(self) -> int:
        return self._size

    def _block(self, index: int) -> bytes:
        found = self._blocks.get(index)
        if found is None:
            found = self._blocks[index] = os.pread(self._fd, self._BLOCK, index * self._BLOCK)
        return found

    def __getitem__(self, key: int | slice) -> Any:
        if isinstance(key, int):
            return self._block(key // self._BLOCK)[key % self._BLOCK]
        start, stop = max(key.start or 0, 0), min(key.stop or self._size, self._size)
        if stop - start > 4 * self._BLOCK:
            return os.pread(self._fd, stop - start, start)
        first, last = start // self._BLOCK, (stop - 1) // self._BLOCK
        joined = b"".join(self._block(i) for i in range(first, last + 1))
        return joined[start - first * self._BLOCK : stop - first * self._BLOCK]


def read_graph_def(path: Path) -> list[TfNode]:
    """The nodes of a binary GraphDef file; the weights in it are skipped, never read."""
    with path.open("rb") as handle:
        return parse_graph_def(_FileBytes(handle.fileno(), path.stat().st_size), str(path))
