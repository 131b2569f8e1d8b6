"""Small tensors in pure Python, for the fast ONNX path's constant folding (no NumPy).

`Small` stands in for the NumPy arrays `onnx_fold` computes with: a dtype name (NumPy's
spelling), a shape and the row-major values as Python numbers. It answers the few calls the
lowering makes of a value (``size``, ``ndim``, ``shape``, ``item``, ``tolist``, ``reshape``,
``ravel``), so ``Node.attrs`` built from it equal those built from NumPy's arrays.

Arithmetic follows NumPy's for the dtypes it accepts: float32 results are rounded to float32
(for +, -, *, / and sqrt, rounding the exact double result once more gives the correctly
rounded float32 result, since 53 >= 2 * 24 + 2; Goldberg, "What every computer scientist
should know about floating-point arithmetic", 1991, theorem 7 and its remarks), integers must
stay inside their dtype's range. Anything else raises `NotFastError`: the caller then takes the
ONNX path, whose NumPy folding is the reference.
"""

from __future__ import annotations

import itertools
import math
import struct
from collections.abc import Iterable, Sequence
from typing import Any

__all__ = ["FLOATS", "INTS", "NotFastError", "Small", "broadcast", "f32", "index_map", "strides"]

INTS: dict[str, tuple[int, int]] = {
    "int8": (-(1 << 7), (1 << 7) - 1), "int16": (-(1 << 15), (1 << 15) - 1),
    "int32": (-(1 << 31), (1 << 31) - 1), "int64": (-(1 << 63), (1 << 63) - 1),
    "uint8": (0, (1 << 8) - 1), "uint16": (0, (1 << 16) - 1), "uint32": (0, (1 << 32) - 1),
    "uint64": (0, (1 << 64) - 1),
}  # fmt: skip
FLOATS = frozenset({"float32", "float64"})


class NotFastError(Exception):
    """The fast path cannot settle this model exactly: lower it through onnx instead."""


_F32 = struct.Struct("<f")


def f32(value: float) -> float:
    """``value`` rounded to the nearest float32 (IEEE 754 round-half-even, as NumPy casts)."""
    try:
        return float(_F32.unpack(_F32.pack(value))[0])
    except OverflowError:
        raise NotFastError("float32 overflow") from None


def strides(shape: Sequence[int]) -> list[int]:
    """Row-major element strides of ``shape``."""
    out, step = [0] * len(shape), 1
    for axis in range(len(shape) - 1, -1, -1):
        out[axis] = step
        step *= shape[axis]
    return out


def index_map(shape: Sequence[int], per_axis: Sequence[Sequence[int]]) -> list[int]:
    """Flat indices into a tensor of ``shape`` of the row-major product of ``per_axis``
    (one list of source indices per axis)."""
    steps = strides(shape)
    axes = [[i * s for i in idx] for idx, s in zip(per_axis, steps)]
    return [sum(combo) for combo in itertools.product(*axes)]


class Small:
    """A small tensor: ``dtype`` name, ``shape``, row-major ``data`` (Python numbers).
    Never mutated. (A plain class: a dataclass costs most of a millisecond to import.)"""

    __slots__ = ("data", "dtype", "shape")

    def __init__(self, dtype: str, shape: tuple[int, ...], data: tuple[Any, ...]) -> None:
        if math.prod(shape) != len(data):
            raise NotFastError(f"{len(data)} values for shape {shape}")
        self.dtype, self.shape, self.data = dtype, shape, data

    def __repr__(self) -> str:
        return f"Small({self.dtype!r}, {self.shape}, {self.data})"

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def item(self) -> Any:
        if len(self.data) != 1:
            raise NotFastError("item() of a tensor with more than one element")
        return self.data[0]

    def tolist(self) -> Any:
        """Nested lists as NumPy's ``tolist`` gives them (a scalar for rank 0)."""
        if not self.shape:
            return self.data[0]
        return _nest(list(self.data), self.shape)

    def reshape(self, shape: Sequence[int]) -> Small:
        return Small(self.dtype, tuple(shape), self.data)

    def ravel(self) -> Small:
        return Small(self.dtype, (len(self.data),), self.data)

    def ints(self) -> list[int]:
        """The values as ints (an integer tensor only)."""
        if self.dtype not in INTS:
            raise NotFastError(f"{self.dtype} values where integers are needed")
        return [int(v) for v in self.data]

    def take(self, per_axis: Sequence[Sequence[int]]) -> Small:
        """The sub-tensor of the product of per-axis index lists (gather, slice, broadcast)."""
        flat = index_map(self.shape, per_axis)
        return Small(self.dtype, tuple(len(i) for i in per_axis), tuple(self.data[i] for i in flat))


def _nest(flat: list[Any], shape: Sequence[int]) -> list[Any]:
    if len(shape) == 1:
        return flat
    step = len(flat) // shape[0] if shape[0] else 0
    return [_nest(flat[i * step : (i + 1) * step], shape[1:]) for i in range(shape[0])]


def broadcast(shapes: Iterable[Sequence[int]]) -> tuple[int, ...]:
    """The multidirectional broadcast of ``shapes`` (ONNX docs/Broadcasting.md, NumPy rules);
    `NotFastError` when they do not broadcast."""
    shapes = [tuple(s) for s in shapes]
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for axis in range(rank):
        sizes = {s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0}
        sizes.discard(1)
        if len(sizes) > 1:
            raise NotFastError(f"shapes {shapes} do not broadcast")
        out.append(sizes.pop() if sizes else 1)
    return tuple(out)


def expand_to(value: Small, shape: tuple[int, ...]) -> Small:
    """``value`` broadcast to ``shape`` (which it must broadcast to)."""
    pad = len(shape) - value.ndim
    full = value.reshape((1,) * pad + value.shape)
    per_axis = [range(n) if d == n else [0] * n for d, n in zip(full.shape, shape)]
    return full.take(per_axis)


def check_int_range(dtype: str, values: Iterable[Any]) -> tuple[Any, ...]:
    """``values`` as a tuple; `NotFastError` if an integer dtype would overflow (NumPy wraps)."""
    out = tuple(values)
    bounds = INTS.get(dtype)
    if bounds is not None and any(not bounds[0] <= v <= bounds[1] for v in out):
        raise NotFastError(f"{dtype} overflow")
    return out
