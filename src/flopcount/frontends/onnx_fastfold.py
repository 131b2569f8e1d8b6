"""Pure-Python constant folding for the fast ONNX path: `onnx_fold` without NumPy.

Each folder here gives exactly the value (dtype, shape, numbers) its NumPy twin in
`onnx_fold.FOLDERS` gives, or ``None`` exactly where that twin gives ``None``; for any input
where it could not be sure of that (a float16 operand, an overflow, a NaN, an op it lacks) it
raises `NotFastError` and the model is lowered through onnx. Semantics per op follow the ONNX
operator spec (onnx/docs/Operators.md) as `onnx_fold` transcribes it.
"""

from __future__ import annotations

import itertools
import math
import operator
from collections.abc import Callable, Sequence
from typing import Any

from flopcount.frontends.onnx_proto import SMALL_VALUE
from flopcount.frontends.onnx_small import (
    FLOATS,
    INTS,
    NotFastError,
    Small,
    broadcast,
    check_int_range,
    expand_to,
    f32,
    strides,
)

__all__ = ["FAST_FOLDERS", "FOLDED_OPS", "fast_fold", "fast_shape_value"]

Values = list[Small]
Folder = Callable[[Values, dict[str, Any]], "Small | None"]


def _small(shape: Sequence[int]) -> bool:
    return all(d >= 0 for d in shape) and math.prod(shape) <= SMALL_VALUE


def _axes(attrs: dict[str, Any], values: Values, index: int) -> list[int] | None:
    if "axes" in attrs:
        return [int(a) for a in attrs["axes"]]
    if len(values) > index and values[index].size:
        return values[index].ints()
    return None


def _gather(v: Values, a: dict[str, Any]) -> Small:
    data, indices = v[0], v[1].ints()
    axis = a.get("axis", 0)
    if not -data.ndim <= axis < data.ndim:
        raise NotFastError("Gather axis out of range")
    axis %= data.ndim
    size = data.shape[axis]
    if any(not -size <= i < size for i in indices):
        raise NotFastError("Gather index out of range")
    per_axis: list[Sequence[int]] = [range(d) for d in data.shape]
    per_axis[axis] = [i % size for i in indices]
    taken = data.take(per_axis)
    shape = data.shape[:axis] + v[1].shape + data.shape[axis + 1 :]
    return taken.reshape(shape)


def _concat(v: Values, a: dict[str, Any]) -> Small:
    parts = [x for x in v if x.ndim]  # as onnx_fold: NumPy's concatenate of the ranked inputs
    if not parts or len({x.dtype for x in parts}) != 1 or len({x.ndim for x in parts}) != 1:
        raise NotFastError("Concat of mixed dtypes or ranks")
    rank = parts[0].ndim
    axis = a.get("axis", 0)
    if not -rank <= axis < rank:
        raise NotFastError("Concat axis out of range")
    axis %= rank
    if len({x.shape[:axis] + x.shape[axis + 1 :] for x in parts}) != 1:
        raise NotFastError("Concat inputs disagree off the axis")
    outer = math.prod(parts[0].shape[:axis])
    data: list[Any] = []
    for block in range(outer):
        for x in parts:
            chunk = len(x.data) // outer if outer else 0
            data.extend(x.data[block * chunk : (block + 1) * chunk])
    shape = list(parts[0].shape)
    shape[axis] = sum(x.shape[axis] for x in parts)
    return Small(parts[0].dtype, tuple(shape), tuple(data))


def _unsqueeze(v: Values, a: dict[str, Any]) -> Small | None:
    axes = _axes(a, v, 1)
    if axes is None:
        return None
    rank = v[0].ndim + len(axes)
    if any(not -rank <= x < rank for x in axes) or len({x % rank for x in axes}) != len(axes):
        raise NotFastError("Unsqueeze axes out of range or repeated")
    dims = iter(v[0].shape)
    wanted = {x % rank for x in axes}
    return v[0].reshape([1 if i in wanted else next(dims) for i in range(rank)])


def _squeeze(v: Values, a: dict[str, Any]) -> Small:
    axes = _axes(a, v, 1)
    shape = v[0].shape
    if axes is None:
        return v[0].reshape([d for d in shape if d != 1])
    if any(not -len(shape) <= x < len(shape) or shape[x] != 1 for x in axes):
        raise NotFastError("Squeeze of an axis that is not 1")
    drop = {x % len(shape) for x in axes}
    return v[0].reshape([d for i, d in enumerate(shape) if i not in drop])


def _slice(v: Values, a: dict[str, Any]) -> Small:
    if "starts" in a and "ends" in a:
        starts, ends, axes, steps = a["starts"], a["ends"], a.get("axes"), a.get("steps")
    else:
        starts, ends = v[1].ints(), v[2].ints()
        axes = v[3].ints() if len(v) > 3 and v[3].size else None
        steps = v[4].ints() if len(v) > 4 and v[4].size else None
    rank = v[0].ndim
    axes = list(axes) if axes is not None else list(range(len(starts)))
    steps = list(steps) if steps is not None else [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps) or 0 in steps:
        raise NotFastError("Slice arguments of different lengths or a zero step")
    if any(not -rank <= x < rank for x in axes) or len({x % rank for x in axes}) != len(axes):
        raise NotFastError("Slice axes out of range or repeated")
    per_axis: list[Sequence[int]] = [range(d) for d in v[0].shape]
    for axis, start, end, step in zip(axes, starts, ends, steps):
        per_axis[axis % rank] = range(v[0].shape[axis % rank])[slice(start, end, step)]
    return v[0].take(per_axis)


def _cast_one(x: Any, source: str, target: str) -> Any:
    if target == "bool":
        return bool(x)
    if isinstance(x, float) and not math.isfinite(x):
        raise NotFastError("Cast of a non-finite value")
    if target in INTS:
        return int(x)  # C casts truncate toward zero, as Python's int()
    return f32(float(x)) if target == "float32" else float(x)


def _cast(v: Values, a: dict[str, Any]) -> Small | None:
    target = {1: "float32", 6: "int32", 7: "int64", 9: "bool", 11: "float64", 10: "float16"}
    to = target.get(a.get("to", 0))
    if to is None:
        return None
    source = v[0].dtype
    if to == "float16" or (source not in INTS and source not in FLOATS and source != "bool"):
        raise NotFastError(f"Cast from {source} to {to}")
    data = check_int_range(to, (_cast_one(x, source, to) for x in v[0].data))
    return Small(to, v[0].shape, data)


def _same(v: Values) -> str:
    dtypes = {x.dtype for x in v}
    if len(dtypes) != 1:
        raise NotFastError(f"operands of dtypes {sorted(dtypes)}")
    return dtypes.pop()


def _elementwise(v: Values, dtype: str, func: Callable[..., Any]) -> Small | None:
    """``func`` applied across the broadcast operands; ``None`` when the result is too large
    to keep (`fast_fold` drops it as `onnx_fold.fold` drops NumPy's)."""
    shape = broadcast(x.shape for x in v)
    if not _small(shape):
        return None
    columns = [expand_to(x, shape).data for x in v]
    return Small(dtype, shape, check_int_range(dtype, (func(*xs) for xs in zip(*columns))))


def _trunc_div(x: int, y: int) -> int:
    """Integer division toward zero (C semantics), as ONNX integer Div."""
    quotient = abs(x) // abs(y)
    return -quotient if (x < 0) != (y < 0) else quotient


def _f32_div(x: float, y: float) -> float:
    return f32(x / y)


def _div(v: Values, a: dict[str, Any]) -> Small | None:
    dtype = _same(v)
    if dtype in INTS:
        return None if 0 in v[1].data else _elementwise(v, dtype, _trunc_div)
    if dtype not in FLOATS or 0 in v[1].data:
        raise NotFastError(f"Div of {dtype}")
    return _elementwise(v, dtype, _f32_div if dtype == "float32" else operator.truediv)


def _fmod_int(x: int, y: int) -> int:
    rest = abs(x) % abs(y)
    return -rest if x < 0 else rest


def _mod(v: Values, a: dict[str, Any]) -> Small | None:
    dtype = _same(v)
    if dtype not in INTS:
        raise NotFastError(f"Mod of {dtype}")
    if 0 in v[1].data:
        return None
    return _elementwise(v, dtype, _fmod_int if a.get("fmod", 0) else operator.mod)


def _reshape(v: Values, a: dict[str, Any]) -> Small:
    target = v[1].ints()
    if not a.get("allowzero", 0):
        if any(d == 0 and i >= v[0].ndim for i, d in enumerate(target)):
            raise NotFastError("Reshape copies an axis the input lacks")
        target = [v[0].shape[i] if d == 0 else d for i, d in enumerate(target)]
    known = math.prod(d for d in target if d != -1)
    if target.count(-1) == 1 and known and v[0].size % known == 0:
        target = [v[0].size // known if d == -1 else d for d in target]
    if any(d < 0 for d in target) or math.prod(target) != v[0].size:
        raise NotFastError("Reshape to an incompatible shape")
    return v[0].reshape(target)


def _expand(v: Values, a: dict[str, Any]) -> Small | None:
    shape = broadcast([v[0].shape, tuple(v[1].ints())])
    return expand_to(v[0], shape) if _small(shape) else None


def _constant_of_shape(v: Values, a: dict[str, Any]) -> Small | None:
    shape = tuple(v[0].ints())
    fill = a.get("value", 0.0)
    fill = fill[0] if isinstance(fill, list) else fill
    if isinstance(fill, str) or (isinstance(fill, float) and not math.isfinite(fill)):
        raise NotFastError("ConstantOfShape of an unread value")
    if not _small(shape):
        return None
    if isinstance(fill, int):  # as onnx_fold: an int (or bool) fill gives int64
        return Small("int64", shape, (int(fill),) * math.prod(shape))
    return Small("float32", shape, (f32(fill),) * math.prod(shape))


def _range(v: Values, a: dict[str, Any]) -> Small | None:
    if v[0].dtype not in INTS or len({x.dtype for x in v[:3]}) != 1:
        raise NotFastError("Range of non-integers")
    start, limit, delta = (x.item() for x in v[:3])
    if delta == 0 or max(math.ceil((limit - start) / delta), 0) > SMALL_VALUE:
        return None  # the count test of onnx_fold, in its float arithmetic
    values = range(start, limit, delta)
    return Small(v[0].dtype, (len(values),), tuple(values))


def _where(v: Values, a: dict[str, Any]) -> Small | None:
    if v[0].dtype != "bool" or v[1].dtype != v[2].dtype:
        raise NotFastError("Where of unexpected dtypes")
    return _elementwise(v, v[1].dtype, _choose)


def _choose(condition: bool, x: Any, y: Any) -> Any:
    return x if condition else y


def _transpose(v: Values, a: dict[str, Any]) -> Small:
    rank = v[0].ndim
    perm = [int(p) for p in a.get("perm", range(rank - 1, -1, -1))]
    if sorted(perm) != list(range(rank)):
        raise NotFastError("Transpose perm is not a permutation")
    steps = strides(v[0].shape)
    per_axis = [[i * steps[p] for i in range(v[0].shape[p])] for p in perm]
    flat = [sum(combo) for combo in itertools.product(*per_axis)]
    shape = tuple(v[0].shape[p] for p in perm)
    return Small(v[0].dtype, shape, tuple(v[0].data[i] for i in flat))


def _identity(v: Values, a: dict[str, Any]) -> Small:
    return v[0]


def _flatten(v: Values, a: dict[str, Any]) -> Small:
    axis = a.get("axis", 1) % (v[0].ndim + 1) if v[0].ndim else 0
    outer = math.prod(v[0].shape[:axis])
    if outer == 0:
        raise NotFastError("Flatten of an empty tensor")
    return v[0].reshape((outer, v[0].size // outer))


def _arith(ints: Callable[..., Any], floats: Callable[..., Any] | None = None) -> Folder:
    """A folder for a binary arithmetic op: exact on integers, float32-rounded on floats."""

    def fold_arith(v: Values, a: dict[str, Any]) -> Small | None:
        dtype = _same(v)
        if dtype in INTS:
            return _elementwise(v, dtype, ints)
        if dtype not in FLOATS or floats is None:
            raise NotFastError(f"{dtype} arithmetic")
        return _elementwise(v, dtype, floats if dtype == "float32" else ints)

    return fold_arith


def _compare(func: Callable[[Any, Any], bool]) -> Folder:
    def fold_compare(v: Values, a: dict[str, Any]) -> Small | None:
        _same(v)
        if any(isinstance(x, float) and math.isnan(x) for t in v for x in t.data):
            raise NotFastError("comparison with NaN")
        return _elementwise(v, "bool", func)

    return fold_compare


def _f32_add(x: float, y: float) -> float:
    return f32(x + y)


def _f32_sub(x: float, y: float) -> float:
    return f32(x - y)


def _f32_mul(x: float, y: float) -> float:
    return f32(x * y)


def _int_pow(x: int, y: int) -> int:
    if y < 0:
        raise NotFastError("integer power with a negative exponent")
    return int(x**y)


def _sqrt(v: Values, a: dict[str, Any]) -> Small:
    if v[0].dtype not in FLOATS or any(x < 0 or not math.isfinite(x) for x in v[0].data):
        raise NotFastError("Sqrt of a non-float or a negative value")
    round_ = f32 if v[0].dtype == "float32" else float
    return Small(v[0].dtype, v[0].shape, tuple(round_(math.sqrt(x)) for x in v[0].data))


def _neg(v: Values, a: dict[str, Any]) -> Small:
    if v[0].dtype not in INTS and v[0].dtype not in FLOATS:
        raise NotFastError(f"Neg of {v[0].dtype}")
    data = check_int_range(v[0].dtype, (-x for x in v[0].data))
    return Small(v[0].dtype, v[0].shape, data)


def _tile(v: Values, a: dict[str, Any]) -> Small | None:
    reps = v[1].ints()
    if len(reps) != v[0].ndim or min(reps, default=1) < 0:
        raise NotFastError("Tile repeats of the wrong rank")
    shape = [d * r for d, r in zip(v[0].shape, reps)]
    if not _small(shape):
        return None
    return v[0].take([[i % d for i in range(n)] for d, n in zip(v[0].shape, shape)])


def _not(v: Values, a: dict[str, Any]) -> Small:
    if v[0].dtype != "bool":
        raise NotFastError(f"Not of {v[0].dtype}")
    return Small("bool", v[0].shape, tuple(not x for x in v[0].data))


def _logical(func: Callable[[bool, bool], bool]) -> Folder:
    def fold_logical(v: Values, a: dict[str, Any]) -> Small | None:
        if _same(v) != "bool":
            raise NotFastError("a logical op of non-bools")
        return _elementwise(v, "bool", func)

    return fold_logical


def _abs(v: Values, a: dict[str, Any]) -> Small:
    if v[0].dtype not in INTS and v[0].dtype not in FLOATS:
        raise NotFastError(f"Abs of {v[0].dtype}")
    return Small(v[0].dtype, v[0].shape, check_int_range(v[0].dtype, map(abs, v[0].data)))


def _extreme(func: Callable[..., Any]) -> Folder:
    """Max / Min of integer operands (NumPy's maximum/minimum; floats, with their NaN and
    signed-zero rules, are left to NumPy)."""

    def fold_extreme(v: Values, a: dict[str, Any]) -> Small | None:
        dtype = _same(v)
        if dtype not in INTS:
            raise NotFastError(f"{dtype} Max/Min")
        return _elementwise(v, dtype, func)

    return fold_extreme


FAST_FOLDERS: dict[str, Folder] = {
    "Gather": _gather, "Concat": _concat, "Unsqueeze": _unsqueeze, "Squeeze": _squeeze,
    "Slice": _slice, "Cast": _cast, "Div": _div, "Mod": _mod, "Reshape": _reshape,
    "Expand": _expand, "ConstantOfShape": _constant_of_shape, "Range": _range,
    "Where": _where, "Transpose": _transpose, "Identity": _identity, "Flatten": _flatten,
    "Add": _arith(operator.add, _f32_add), "Sub": _arith(operator.sub, _f32_sub),
    "Mul": _arith(operator.mul, _f32_mul), "Pow": _arith(_int_pow),
    "Equal": _compare(operator.eq), "Less": _compare(operator.lt),
    "Greater": _compare(operator.gt), "LessOrEqual": _compare(operator.le),
    "GreaterOrEqual": _compare(operator.ge), "Sqrt": _sqrt, "Neg": _neg, "Tile": _tile,
    "Not": _not, "And": _logical(operator.and_), "Or": _logical(operator.or_), "Abs": _abs,
    "Max": _extreme(max), "Min": _extreme(min),
}  # fmt: skip


def fast_fold(op: str, values: Values, attrs: dict[str, Any]) -> Small | None:
    """`onnx_fold.fold` in pure Python: the folded value, ``None`` where it gives ``None``,
    `NotFastError` for an op (of `onnx_fold.FOLDERS`) or an input it cannot settle exactly."""
    folder = FAST_FOLDERS.get(op)
    if folder is None:
        raise NotFastError(f"no pure folder for {op}")
    result = folder(values, attrs)
    if result is None or result.size > SMALL_VALUE:
        return None
    return result


def fast_shape_value(op: str, dims: tuple[int, ...], attrs: dict[str, Any]) -> Small | None:
    """`onnx_fold.shape_value`: the value of ``Shape`` or ``Size`` of concrete ``dims``."""
    if op == "Size":
        return Small("int64", (), (math.prod(dims),))
    if op != "Shape":
        return None
    start, end = attrs.get("start", 0), attrs.get("end", len(dims))
    kept = dims[start:end]  # ONNX clamps start/end like Python slicing
    return Small("int64", (len(kept),), tuple(kept))


# The ops `onnx_fold.FOLDERS` folds (a test keeps the two lists equal): the fast path must
# fold each of them exactly when its inputs are known, or decline the model.
FOLDED_OPS = frozenset(
    {"Abs", "Add", "And", "Cast", "Ceil", "Concat", "ConstantOfShape", "Div", "Equal",
     "Expand", "Flatten", "Floor", "Gather", "Greater", "GreaterOrEqual", "Identity", "Less",
     "LessOrEqual", "Max", "Min", "Mod", "Mul", "Neg", "Not", "Or", "Pow", "Range",
     "Reciprocal", "ReduceMax", "ReduceMin", "ReduceProd", "ReduceSum", "Reshape", "Sign",
     "Slice", "Sqrt", "Squeeze", "Sub", "Tile", "Transpose", "Unsqueeze", "Where"}
)  # fmt: skip
