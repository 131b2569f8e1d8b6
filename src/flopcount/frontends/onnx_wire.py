"""Reading an .onnx file without reading its weights: a protobuf wire-format skim.

An ONNX file is one serialized ``ModelProto``; nearly all its bytes are the ``raw_data`` of the
graph's initializers. Parsing it with protobuf copies every weight into memory twice (the file
bytes, then the message), which dominates the time and memory of analysing a model from shapes.
`read_skeleton` walks the protobuf wire format (key varints and length prefixes,
https://protobuf.dev/programming-guides/encoding/) through small positioned reads down to the
initializers, then parses everything except the data of large tensors: their dims, dtype, name
and external-data fields survive, their bytes are never read. (Reads, not a memory map: the
kernel may map a file's pages in 2 MB huge pages, which would count weights into the RSS.)

Field numbers from ``onnx/onnx.proto``: ModelProto.graph = 7; GraphProto.initializer = 5;
TensorProto data fields float_data 4, int32_data 5, string_data 6, int64_data 7, raw_data 9,
double_data 10, uint64_data 11.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

if TYPE_CHECKING:
    from pathlib import Path

    import onnx

__all__ = [
    "WireError",
    "read_fixed",
    "read_ints",
    "read_skeleton",
    "read_unsigned",
    "scan",
    "signed",
    "text",
]

MODEL_GRAPH = 7
GRAPH_INITIALIZER = 5
TENSOR_DATA_FIELDS = frozenset({4, 5, 6, 7, 9, 10, 11})
# A serialized tensor longer than this holds more than SMALL_VALUE (4096) elements of any
# numeric dtype (8 bytes at most per element), so its values are never needed.
LARGE_TENSOR_BYTES = 40_000
WINDOW = 1 << 16  # bytes read at a time while scanning


class WireError(ValueError):
    """Bytes that are not a well-formed protobuf message."""


class _File:
    """Positioned access to a file through a small window of bytes read on demand (or to
    bytes already in memory, when ``handle`` is ``None`` and ``data`` holds them)."""

    def __init__(self, handle: BinaryIO | None, size: int, data: bytes = b"") -> None:
        self.handle, self.size = handle, size
        self.start, self.data = 0, data

    def _load(self, pos: int, count: int) -> None:
        if self.handle is None:
            raise WireError("field runs past the end of the message")
        self.handle.seek(pos)
        self.start, self.data = pos, self.handle.read(max(count, WINDOW))

    def __getitem__(self, pos: int) -> int:
        if not 0 <= pos - self.start < len(self.data):
            self._load(pos, 1)
        return self.data[pos - self.start]

    def slice(self, start: int, end: int) -> bytes:
        if start < self.start or end > self.start + len(self.data):
            self._load(start, end - start)
        return self.data[start - self.start : end - self.start]


def _fields(buf: _File, start: int, end: int) -> Iterator[tuple[int, int, int, int]]:
    """(field number, key start, value start, value end) of each field in ``buf[start:end]``."""
    pos = start
    while pos < end:
        key, value_start = varint_at(buf, pos, end)
        wire = key & 7
        if wire == 0:
            _, value_end = varint_at(buf, value_start, end)
        elif wire == 1:
            value_end = value_start + 8
        elif wire == 2:
            length, value_start = varint_at(buf, value_start, end)
            value_end = value_start + length
        elif wire == 5:
            value_end = value_start + 4
        else:
            raise WireError(f"unsupported wire type {wire}")
        if value_end > end:
            raise WireError("field runs past the end of its message")
        yield key >> 3, pos, value_start, value_end
        pos = value_end


def _tensor(buf: _File, start: int, end: int) -> onnx.TensorProto:
    """The TensorProto at ``buf[start:end]``, without its data when it is large."""
    import onnx

    if end - start <= LARGE_TENSOR_BYTES:
        return onnx.TensorProto.FromString(buf.slice(start, end))
    kept = [
        buf.slice(key, value_end)
        for field, key, _, value_end in _fields(buf, start, end)
        if field not in TENSOR_DATA_FIELDS
    ]
    return onnx.TensorProto.FromString(b"".join(kept))


# Decoding messages held in memory: the fast path's reader (`onnx_light`).

_SIGN = 1 << 63


def signed(value: int) -> int:
    """A varint read as int64 (two's complement over 64 bits)."""
    return value - (1 << 64) if value >= _SIGN else value


def varint_at(data: bytes | _File, pos: int, end: int) -> tuple[int, int]:
    """(value, next position) of the varint at ``data[pos]`` (bytes in memory, or a file)."""
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


def scan(data: bytes, pos: int, end: int) -> Any:
    """(field, wire type, a, b) per field of ``data[pos:end]``: for wire type 0, ``a`` is the
    value; otherwise ``data[a:b]`` holds it. (One-byte varints, most keys and lengths, are
    read inline: this loop reads every byte of the graph outside the initializers.)"""
    while pos < end:
        key = data[pos]
        if key < 0x80:
            pos += 1
        else:
            key, pos = varint_at(data, pos, end)
        wire = key & 7
        if wire == 2:
            if pos >= end:
                raise WireError("truncated field")
            length = data[pos]
            if length < 0x80:
                pos += 1
            else:
                length, pos = varint_at(data, pos, end)
        elif wire == 0:
            value, pos = varint_at(data, pos, end)
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


def text(data: bytes, a: int, b: int) -> str:
    """The UTF-8 string ``data[a:b]`` (`WireError` if it is not UTF-8)."""
    try:
        return str(data[a:b], "utf-8")
    except UnicodeDecodeError:
        raise WireError("a string field that is not UTF-8") from None


def read_ints(data: bytes, wire: int, a: int, b: int, out: list[int]) -> None:
    """Append a varint field (one, or packed) to ``out``, as int64."""
    if wire == 0:
        out.append(signed(a))
        return
    while a < b:
        value, a = varint_at(data, a, b)
        out.append(signed(value))


def read_unsigned(data: bytes, wire: int, a: int, b: int, out: list[int]) -> None:
    """Append a varint field (one, or packed) to ``out``, as uint64."""
    if wire == 0:
        out.append(a)
        return
    while a < b:
        value, a = varint_at(data, a, b)
        out.append(value)


def read_fixed(data: bytes, wire: int, a: int, b: int, code: str, out: list[Any]) -> None:
    """Append a fixed-size field (``code`` "f": float, "d": double), one or packed."""
    size = struct.calcsize(code)
    if wire == 2 and (b - a) % size == 0:
        out.extend(struct.unpack_from(f"<{(b - a) // size}{code}", data, a))
    elif wire in (1, 5) and b - a == size:
        out.append(struct.unpack_from(f"<{code}", data, a)[0])
    else:
        raise WireError("malformed fixed-size field")


def read_skeleton(path: Path) -> onnx.ModelProto:
    """The model in ``path`` with every large initializer's data left unread.

    Raises `WireError` (or protobuf's `DecodeError`) for a file that is not a well-formed
    protobuf message.
    """
    import onnx

    with path.open("rb", buffering=0) as handle:
        buf = _File(handle, path.stat().st_size)
        top, graph_range = [], None
        for field, key, start, end in _fields(buf, 0, buf.size):
            if field == MODEL_GRAPH:
                graph_range = (start, end)
            else:
                top.append(buf.slice(key, end))
        model = onnx.ModelProto.FromString(b"".join(top))
        if graph_range is None:
            return model
        rest, initializers = [], []
        for field, key, start, end in _fields(buf, *graph_range):
            if field == GRAPH_INITIALIZER:
                initializers.append(_tensor(buf, start, end))
            else:
                rest.append(buf.slice(key, end))
        model.graph.ParseFromString(b"".join(rest))
        model.graph.initializer.extend(initializers)
        return model
