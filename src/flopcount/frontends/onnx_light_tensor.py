"""ONNX tensors read from the wire format, their small values decoded in pure Python.

A `Tensor` stands for a ``TensorProto`` (field numbers from ``onnx/onnx.proto``): its dims,
dtype, name and data location, and where its data lies in the bytes it was read from.
`Tensor.small_value` decodes the values of a tensor of at most `SMALL_VALUE` elements as
``onnx.numpy_helper.to_array`` would (raw_data little-endian, else the typed field of the
dtype), into a `onnx_small.Small`; a large initializer's data is never read at all.
"""

from __future__ import annotations

import struct
from typing import Any

from flopcount.frontends.onnx_proto import EXTERNAL, is_small
from flopcount.frontends.onnx_small import NotFastError, Small
from flopcount.frontends.onnx_wire import (
    TENSOR_DATA_FIELDS,
    _fields,
    _File,
    read_fixed,
    read_ints,
    read_unsigned,
    scan,
    text,
)

__all__ = ["Tensor", "large_tensor", "tensor"]


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


class Tensor:
    """A TensorProto: dims 1, data_type 2, name 8, data_location 14 (data 4-7, 9-11), its
    data fields kept as positions in ``source`` and decoded only when asked (`small_value`)."""

    __slots__ = ("data_location", "data_type", "dims", "dropped", "name", "parts", "source")

    def __init__(self, source: bytes) -> None:
        self.name = ""
        self.dims: list[int] = []
        self.data_type = 0
        self.data_location = 0
        self.dropped = False  # its data was left unread (a large initializer)
        self.source = source
        self.parts: list[tuple[int, int, int, int]] = []  # (field, wire type, start, end)

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
                read_fixed(data, wire, a, b, "f", out)
            elif typed == 10:
                read_fixed(data, wire, a, b, "d", out)
            elif typed == 11:
                read_unsigned(data, wire, a, b, out)
            else:
                read_ints(data, wire, a, b, out)
        if self.data_type == 10:  # float16 bits in int32_data (onnx.proto's comment on it)
            out = [struct.unpack("<e", struct.pack("<H", v & 0xFFFF))[0] for v in out]
        elif self.data_type in (6, 3, 5, 2, 4):
            low, high = {6: (-(1 << 31), 1 << 31), 3: (-128, 128), 5: (-(1 << 15), 1 << 15),
                         2: (0, 256), 4: (0, 1 << 16)}[self.data_type]  # fmt: skip
            if any(not low <= v < high for v in out):
                raise NotFastError("an integer tensor value out of its type's range")
        return out


def tensor(data: bytes, pos: int, end: int) -> Tensor:
    """The TensorProto in ``data[pos:end]``."""
    out = Tensor(data)
    for number, wire, a, b in scan(data, pos, end):
        if number == 1:
            read_ints(data, wire, a, b, out.dims)
        elif number == 2 and wire == 0:
            out.data_type = a
        elif number == 8 and wire == 2:
            out.name = text(data, a, b)
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
