"""Constant folding of the small integer tensors exporters compute shapes with.

Exported models often build a Reshape target at run time: ``Shape -> Gather -> Unsqueeze ->
Concat -> Reshape``. ONNX's own data propagation stops at the first op it does not know, so
flopcount folds these ops itself, on tensors of at most `SMALL_VALUE` elements. Every folder
is an exact NumPy transcription of the ONNX operator spec for the inputs it receives; a folder
returns ``None`` (and the tensor stays unknown) rather than guess, and never allocates more
than `SMALL_VALUE` elements whatever the values say.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from flopcount.frontends.onnx_load import SMALL_VALUE

__all__ = ["FOLDERS", "fold", "shape_value"]

Values = list[np.ndarray]
Folder = Callable[[Values, dict[str, Any]], "np.ndarray | None"]


def _small(shape: Sequence[int]) -> bool:
    return all(d >= 0 for d in shape) and math.prod(shape) <= SMALL_VALUE


def _axes(attrs: dict[str, Any], values: Values, index: int) -> list[int] | None:
    """Axes from the attribute (older opsets) or from input ``index`` (newer opsets)."""
    if "axes" in attrs:
        return list(attrs["axes"])
    if len(values) > index and values[index].size:
        return [int(a) for a in values[index].ravel()]
    return None


def _gather(v: Values, a: dict[str, Any]) -> np.ndarray:
    return np.take(v[0], v[1].astype(np.int64), axis=a.get("axis", 0))


def _concat(v: Values, a: dict[str, Any]) -> np.ndarray:
    return np.concatenate([x for x in v if x.ndim], axis=a.get("axis", 0))


def _unsqueeze(v: Values, a: dict[str, Any]) -> np.ndarray | None:
    axes = _axes(a, v, 1)
    if axes is None:
        return None
    rank = v[0].ndim + len(axes)
    return np.expand_dims(v[0], tuple(sorted(x % rank for x in axes)))


def _squeeze(v: Values, a: dict[str, Any]) -> np.ndarray | None:
    axes = _axes(a, v, 1)
    if axes is None:
        return np.squeeze(v[0])
    return np.squeeze(v[0], axis=tuple(x % v[0].ndim for x in axes))


def _slice(v: Values, a: dict[str, Any]) -> np.ndarray | None:
    if "starts" in a and "ends" in a:  # opset < 10 attributes, or constant inputs copied
        starts, ends, axes, steps = a["starts"], a["ends"], a.get("axes"), a.get("steps")
    else:
        starts, ends = v[1].tolist(), v[2].tolist()
        axes = v[3].tolist() if len(v) > 3 and v[3].size else None
        steps = v[4].tolist() if len(v) > 4 and v[4].size else None
    index = [slice(None)] * v[0].ndim
    axes = axes if axes is not None else list(range(len(starts)))
    steps = steps if steps is not None else [1] * len(starts)
    for axis, start, end, step in zip(axes, starts, ends, steps):
        index[axis] = slice(start, end, step)  # NumPy clamps out-of-range bounds as ONNX does
    return v[0][tuple(index)]


def _cast(v: Values, a: dict[str, Any]) -> np.ndarray | None:
    target = {1: np.float32, 6: np.int32, 7: np.int64, 9: np.bool_, 11: np.float64, 10: np.float16}
    to = target.get(a.get("to", 0))
    return None if to is None else v[0].astype(to)


def _int_div(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """ONNX integer Div truncates toward zero (C semantics); NumPy's ``//`` floors."""
    quotient = np.abs(x) // np.abs(y)
    return np.where((x < 0) ^ (y < 0), -quotient, quotient).astype(np.result_type(x, y))


def _div(v: Values, a: dict[str, Any]) -> np.ndarray | None:
    if np.issubdtype(v[0].dtype, np.integer):
        return None if np.any(v[1] == 0) else _int_div(v[0], v[1])
    return np.divide(v[0], v[1])


def _mod(v: Values, a: dict[str, Any]) -> np.ndarray | None:
    if np.any(v[1] == 0):
        return None
    return np.fmod(v[0], v[1]) if a.get("fmod", 0) else np.mod(v[0], v[1])


def _reshape(v: Values, a: dict[str, Any]) -> np.ndarray | None:
    target = [int(d) for d in v[1].ravel()]
    if not a.get("allowzero", 0):
        target = [v[0].shape[i] if d == 0 else d for i, d in enumerate(target)]
    return v[0].reshape(target)


def _expand(v: Values, a: dict[str, Any]) -> np.ndarray | None:
    shape = np.broadcast_shapes(v[0].shape, tuple(int(d) for d in v[1].ravel()))
    return np.broadcast_to(v[0], shape).copy() if _small(shape) else None


def _constant_of_shape(v: Values, a: dict[str, Any]) -> np.ndarray | None:
    shape = tuple(int(d) for d in v[0].ravel())
    fill = a.get("value", 0.0)
    fill = fill[0] if isinstance(fill, list) else fill
    dtype = np.int64 if isinstance(fill, int) else np.float32
    return np.full(shape, fill, dtype=dtype) if _small(shape) else None


def _range(v: Values, a: dict[str, Any]) -> np.ndarray | None:
    start, limit, delta = (x.item() for x in v[:3])
    if delta == 0:
        return None
    count = max(math.ceil((limit - start) / delta), 0)
    return np.arange(start, limit, delta, dtype=v[0].dtype) if count <= SMALL_VALUE else None


def _tile(v: Values, a: dict[str, Any]) -> np.ndarray | None:
    reps = [int(r) for r in v[1].ravel()]
    shape = [d * r for d, r in zip(v[0].shape, reps)]
    return np.tile(v[0], reps) if _small(shape) else None


def _reduce(func: Callable[..., np.ndarray]) -> Folder:
    def fold_reduce(v: Values, a: dict[str, Any]) -> np.ndarray | None:
        axes = _axes(a, v, 1)
        keep = bool(a.get("keepdims", 1))
        if axes is None and a.get("noop_with_empty_axes", 0):
            return v[0]
        return np.asarray(func(v[0], axis=None if axes is None else tuple(axes), keepdims=keep))

    return fold_reduce


def _unary(func: Callable[[np.ndarray], np.ndarray]) -> Folder:
    def fold_unary(v: Values, a: dict[str, Any]) -> np.ndarray:
        return np.asarray(func(v[0]))

    return fold_unary


def _binary(func: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Folder:
    def fold_binary(v: Values, a: dict[str, Any]) -> np.ndarray:
        return np.asarray(func(v[0], v[1]))

    return fold_binary


def _variadic(func: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> Folder:
    def fold_variadic(v: Values, a: dict[str, Any]) -> np.ndarray:
        result = v[0]
        for x in v[1:]:
            result = func(result, x)
        return np.asarray(result)

    return fold_variadic


def _where(v: Values, a: dict[str, Any]) -> np.ndarray:
    return np.where(v[0], v[1], v[2])


def _transpose(v: Values, a: dict[str, Any]) -> np.ndarray:
    return np.transpose(v[0], a.get("perm"))


def _identity(v: Values, a: dict[str, Any]) -> np.ndarray:
    return v[0]


def _flatten(v: Values, a: dict[str, Any]) -> np.ndarray:
    axis = a.get("axis", 1) % (v[0].ndim + 1) if v[0].ndim else 0
    return v[0].reshape(math.prod(v[0].shape[:axis]), -1)


FOLDERS: dict[str, Folder] = {
    "Gather": _gather, "Concat": _concat,
    "Unsqueeze": _unsqueeze, "Squeeze": _squeeze, "Slice": _slice, "Cast": _cast,
    "Div": _div, "Mod": _mod, "Reshape": _reshape, "Expand": _expand, "Tile": _tile,
    "ConstantOfShape": _constant_of_shape, "Range": _range, "Where": _where,
    "Transpose": _transpose, "Identity": _identity, "Flatten": _flatten,
    "Add": _binary(np.add), "Sub": _binary(np.subtract), "Mul": _binary(np.multiply),
    "Pow": _binary(np.power), "Equal": _binary(np.equal), "Less": _binary(np.less),
    "Greater": _binary(np.greater), "LessOrEqual": _binary(np.less_equal),
    "GreaterOrEqual": _binary(np.greater_equal), "And": _binary(np.logical_and),
    "Or": _binary(np.logical_or), "Max": _variadic(np.maximum), "Min": _variadic(np.minimum),
    "Neg": _unary(np.negative), "Abs": _unary(np.abs), "Sqrt": _unary(np.sqrt),
    "Floor": _unary(np.floor), "Ceil": _unary(np.ceil), "Not": _unary(np.logical_not),
    "Reciprocal": _unary(np.reciprocal), "Sign": _unary(np.sign),
    "ReduceProd": _reduce(np.prod), "ReduceSum": _reduce(np.sum),
    "ReduceMax": _reduce(np.max), "ReduceMin": _reduce(np.min),
}  # fmt: skip


def fold(op: str, values: Values, attrs: dict[str, Any]) -> np.ndarray | None:
    """The value of ``op`` applied to known small ``values``, or ``None`` when not foldable."""
    folder = FOLDERS.get(op)
    if folder is None:
        return None
    try:
        with np.errstate(all="ignore"):
            result = folder(values, attrs)
    except (ValueError, IndexError, TypeError, OverflowError, ZeroDivisionError):
        return None
    if result is None or result.size > SMALL_VALUE:
        return None
    return np.asarray(result)


def shape_value(op: str, dims: tuple[int, ...], attrs: dict[str, Any]) -> np.ndarray | None:
    """The value of ``Shape`` or ``Size`` of a tensor with concrete ``dims`` (else ``None``)."""
    if op == "Size":
        return np.array(math.prod(dims), dtype=np.int64)
    if op != "Shape":
        return None
    start, end = attrs.get("start", 0), attrs.get("end", len(dims))
    return np.array(dims[start:end], dtype=np.int64)  # ONNX clamps start/end like Python
