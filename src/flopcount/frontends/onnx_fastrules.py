"""Output dtypes and shapes of ONNX ops from concrete input shapes, in pure Python (the shared
helpers, elementwise and data-movement ops; `onnx_fastnn` has the neural-network ops).

One rule per op (family), each transcribing the "Outputs" and "Type Constraints" sections of
the op in the ONNX operator spec (onnx/docs/Operators.md) for the cases `FastShapes` handles;
any other case (an auto_pad of SAME, a ceil_mode that rounds, an unknown constant input, a
size mismatch ONNX would reject) raises `NotFastError`. Inputs are `Value`s with concrete shapes;
``attrs`` are the node's attributes with its constant inputs already copied in under their
attribute names (``Reshape``'s ``shape``, ``Slice``'s ``starts``...; `onnx_graph.CONST_INPUTS`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

from flopcount.frontends.onnx_proto import dtype_name
from flopcount.frontends.onnx_small import FLOATS, INTS, NotFastError, broadcast
from flopcount.frontends.onnx_values import Value

__all__ = [
    "FLOAT_TYPES",
    "MOVEMENT_RULES",
    "NUMBER_TYPES",
    "Ins",
    "Outs",
    "axis_index",
    "input_value",
    "int_list",
    "needs_value",
    "shape_at",
    "single_output",
    "typed",
]

Ins = list[Value | None]
Shape = tuple[int, ...]
Outs = list[tuple[str, Shape]]
Rule = Callable[[Any, dict[str, Any], Ins], Outs]

FLOAT_TYPES = FLOATS | {"float16", "bfloat16"}
NUMBER_TYPES = FLOAT_TYPES | set(INTS)


def input_value(ins: Ins, index: int) -> Value:
    value = ins[index] if index < len(ins) else None
    if value is None:
        raise NotFastError(f"input {index} is absent")
    return value


def shape_at(ins: Ins, index: int) -> Shape:
    """The shape of input ``index`` (`FastShapes.outputs` checked that it is concrete)."""
    return input_value(ins, index).shape  # type: ignore[return-value]


def typed(ins: Ins, indices: Sequence[int], allowed: Any) -> str:
    """The one dtype of the present inputs ``indices`` (ONNX's type variable T), in
    ``allowed``; `NotFastError` otherwise."""
    dtypes = {v.dtype for i in indices if i < len(ins) for v in [ins[i]] if v is not None}
    if len(dtypes) != 1 or not dtypes <= set(allowed):
        raise NotFastError(f"operand dtypes {sorted(dtypes)}")
    return dtypes.pop()


def axis_index(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise NotFastError(f"axis {axis} out of range for rank {rank}")
    return axis % rank


def int_list(attrs: dict[str, Any], key: str) -> list[int] | None:
    value = attrs.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
        raise NotFastError(f"{key} = {value!r}")
    return value


def needs_value(node: Any, ins: Ins, index: int, attrs: dict[str, Any], key: str) -> None:
    """`NotFastError` when input ``index`` is given but its value (copied to ``key``) is unknown."""
    given = index < len(node.input) and node.input[index]
    if given and key not in attrs:
        raise NotFastError(f"{node.op_type} input {index} has no known value")


def single_output(node: Any) -> None:
    """`NotFastError` for a node using an optional output beyond the first (training outputs)."""
    if any(node.output[1:]):
        raise NotFastError(f"{node.op_type} with optional outputs")


def same(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Elementwise unary ops, Identity, Softmax, Trilu...: Y has X's shape and dtype."""
    value = input_value(ins, 0)
    if node.op_type in ("Softmax", "LogSoftmax", "Hardmax"):
        axis_index(attrs.get("axis", -1), len(shape_at(ins, 0)))
    if node.op_type not in ("Identity", "Trilu") and value.dtype not in NUMBER_TYPES:
        raise NotFastError(f"{node.op_type} of {value.dtype}")
    return [(value.dtype, shape_at(ins, 0))]


def elementwise(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Broadcasting binary and variadic ops (Add, Mul, Equal, Max...)."""
    op = node.op_type
    present = [i for i, v in enumerate(ins) if v is not None]
    if len(present) != len(ins) or not ins or (op not in VARIADIC and len(ins) != 2):
        raise NotFastError(f"{op} with {len(ins)} inputs")
    shape = broadcast(shape_at(ins, i) for i in present)
    if op == "Pow":
        typed(ins, [1], NUMBER_TYPES)
        return [(typed(ins, [0], NUMBER_TYPES), shape)]
    if op in LOGICAL:
        typed(ins, present, {"bool"})
        return [("bool", shape)]
    dtype = typed(ins, present, NUMBER_TYPES | {"bool"} if op == "Equal" else NUMBER_TYPES)
    return [("bool" if op in COMPARISONS else dtype, shape)]


def where(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Where(condition, X, Y): the broadcast of all three, X's dtype."""
    typed(ins, [0], {"bool"})
    dtype = typed(ins, [1, 2], NUMBER_TYPES | {"bool"})
    return [(dtype, broadcast(shape_at(ins, i) for i in range(3)))]


def flatten(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Flatten: (prod(D[:axis]), prod(D[axis:])), axis in [-r, r]."""
    x = shape_at(ins, 0)
    axis = attrs.get("axis", 1)
    if not x or not -len(x) <= axis <= len(x):
        raise NotFastError("Flatten axis out of range")
    axis %= len(x) + 1
    return [(input_value(ins, 0).dtype, (math.prod(x[:axis]), math.prod(x[axis:])))]


def reshape(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Reshape: 0 copies the input dimension (unless allowzero), -1 takes the rest."""
    x, target = shape_at(ins, 0), int_list(attrs, "shape")
    if target is None:
        raise NotFastError("Reshape to an unknown shape")
    if not attrs.get("allowzero", 0):
        if any(d == 0 and i >= len(x) for i, d in enumerate(target)):
            raise NotFastError("Reshape copies an axis the input lacks")
        target = [x[i] if d == 0 else d for i, d in enumerate(target)]
    known = math.prod(d for d in target if d != -1)
    if target.count(-1) == 1 and known and math.prod(x) % known == 0:
        target = [math.prod(x) // known if d == -1 else d for d in target]
    if any(d < 0 for d in target) or math.prod(target) != math.prod(x):
        raise NotFastError("Reshape to an incompatible shape")
    return [(input_value(ins, 0).dtype, tuple(target))]


def transpose(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Transpose: dimensions permuted by ``perm`` (default: reversed)."""
    x = shape_at(ins, 0)
    perm = int_list(attrs, "perm") or list(range(len(x) - 1, -1, -1))
    if sorted(perm) != list(range(len(x))):
        raise NotFastError("Transpose perm is not a permutation")
    return [(input_value(ins, 0).dtype, tuple(x[p] for p in perm))]


def shape_of(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Shape: a 1-D int64 of the kept dimensions (start/end clamped); Size: an int64 scalar."""
    x = shape_at(ins, 0)
    if node.op_type == "Size":
        return [("int64", ())]
    kept = x[attrs.get("start", 0) : attrs.get("end", len(x))]
    return [("int64", (len(kept),))]


def gather(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Gather: data (r), indices (q) -> data[:axis] + indices + data[axis + 1:]."""
    data, indices = shape_at(ins, 0), shape_at(ins, 1)
    typed(ins, [1], {"int32", "int64"})
    axis = axis_index(attrs.get("axis", 0), len(data))
    return [(input_value(ins, 0).dtype, data[:axis] + indices + data[axis + 1 :])]


def slice_(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Slice with known starts/ends/axes/steps, clamped as the spec (and Python) clamp."""
    x = shape_at(ins, 0)
    for index, key in enumerate(("starts", "ends", "axes", "steps"), start=1):
        needs_value(node, ins, index, attrs, key)
    starts, ends = int_list(attrs, "starts"), int_list(attrs, "ends")
    if starts is None or ends is None:
        raise NotFastError("Slice without starts/ends")
    axes = int_list(attrs, "axes") or list(range(len(starts)))
    steps = int_list(attrs, "steps") or [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps) or 0 in steps:
        raise NotFastError("Slice arguments of different lengths or a zero step")
    out = list(x)
    axes = [axis_index(a, len(x)) for a in axes]
    if len(set(axes)) != len(axes):
        raise NotFastError("Slice repeats an axis")
    for axis, start, end, step in zip(axes, starts, ends, steps):
        if x[axis] == 0 or (step < 0 and start < -x[axis]):
            raise NotFastError("a Slice bound where the spec and Python clamp differently")
        out[axis] = len(range(x[axis])[slice(start, end, step)])
    return [(input_value(ins, 0).dtype, tuple(out))]


def concat(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Concat: equal shapes off ``axis``, summed along it."""
    present = [i for i, v in enumerate(ins) if v is not None]
    dtype = typed(ins, present, NUMBER_TYPES | {"bool"})
    shapes = [shape_at(ins, i) for i in present]
    rank = len(shapes[0]) if shapes else 0
    axis = axis_index(attrs.get("axis", 0), rank) if rank else -1
    if axis < 0 or len(present) != len(ins) or any(len(s) != rank for s in shapes):
        raise NotFastError("Concat of scalars or of mixed ranks")
    if len({s[:axis] + s[axis + 1 :] for s in shapes}) != 1:
        raise NotFastError("Concat inputs disagree off the axis")
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return [(dtype, tuple(out))]


def unsqueeze(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Unsqueeze: a 1 inserted at each of ``axes`` (of the output's rank)."""
    x, axes = shape_at(ins, 0), int_list(attrs, "axes")
    if axes is None:
        raise NotFastError("Unsqueeze without known axes")
    rank = len(x) + len(axes)
    wanted = {axis_index(a, rank) for a in axes}
    if len(wanted) != len(axes):
        raise NotFastError("Unsqueeze repeats an axis")
    dims = iter(x)
    return [
        (input_value(ins, 0).dtype, tuple(1 if i in wanted else next(dims) for i in range(rank)))
    ]


def squeeze(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Squeeze: ``axes`` (each of size 1) removed, or every 1 when no axes are given."""
    needs_value(node, ins, 1, attrs, "axes")
    x, axes = shape_at(ins, 0), int_list(attrs, "axes")
    if axes is None:
        return [(input_value(ins, 0).dtype, tuple(d for d in x if d != 1))]
    drop = {axis_index(a, len(x)) for a in axes}
    if any(x[a] != 1 for a in drop):
        raise NotFastError("Squeeze of an axis that is not 1")
    return [(input_value(ins, 0).dtype, tuple(d for i, d in enumerate(x) if i not in drop))]


def cast(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Cast: X's shape, dtype ``to``."""
    to = attrs.get("to")
    if to not in (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 16):
        raise NotFastError(f"Cast to element type {to}")
    return [(dtype_name(to), shape_at(ins, 0))]


def constant_of_shape(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """ConstantOfShape: the shape its input holds, the ``value`` tensor's dtype (float32)."""
    shape = int_list(attrs, "shape")
    if shape is None or any(d < 0 for d in shape) or input_value(ins, 0).dtype != "int64":
        raise NotFastError("ConstantOfShape of an unknown shape")
    tensors = [a.t for a in node.attribute if a.name == "value"]
    return [(dtype_name(tensors[0].data_type) if tensors else "float32", tuple(shape))]


def expand(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Expand: X broadcast with the shape its second input holds (both ways)."""
    shape = int_list(attrs, "shape")
    if shape is None or any(d < 0 for d in shape):
        raise NotFastError("Expand to an unknown shape")
    return [(input_value(ins, 0).dtype, broadcast([shape_at(ins, 0), tuple(shape)]))]


def split(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Split along ``axis`` by ``split`` sizes, or into equal parts, one per output."""
    needs_value(node, ins, 1, attrs, "split")
    x, parts = shape_at(ins, 0), int_list(attrs, "split")
    axis = axis_index(attrs.get("axis", 0), len(x))
    count = len(node.output)
    if parts is None:
        if x[axis] % count or attrs.get("num_outputs", count) != count:
            raise NotFastError("an uneven Split")
        parts = [x[axis] // count] * count
    if len(parts) != count or sum(parts) != x[axis] or min(parts, default=0) < 0:
        raise NotFastError("Split sizes that do not add up")
    dtype = input_value(ins, 0).dtype
    return [(dtype, (*x[:axis], size, *x[axis + 1 :])) for size in parts]


def reduce(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Reduce*: ``axes`` (all when none) dropped, or kept as 1 with ``keepdims``."""
    needs_value(node, ins, 1, attrs, "axes")
    x, axes = shape_at(ins, 0), int_list(attrs, "axes")
    dtype = typed(ins, [0], NUMBER_TYPES)
    if not axes:
        if attrs.get("noop_with_empty_axes", 0):
            return [(dtype, x)]
        axes = list(range(len(x)))
    drop = {axis_index(a, len(x)) for a in axes}
    if len(drop) != len(axes):
        raise NotFastError("Reduce repeats an axis")
    keep = attrs.get("keepdims", 1)
    out = tuple(1 if i in drop else d for i, d in enumerate(x) if keep or i not in drop)
    return [(dtype, out)]


def tile(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Tile: each dimension times its ``repeats`` entry."""
    x, repeats = shape_at(ins, 0), int_list(attrs, "repeats")
    if repeats is None or len(repeats) != len(x) or min(repeats, default=0) < 0:
        raise NotFastError("Tile with unknown repeats")
    return [(input_value(ins, 0).dtype, tuple(d * r for d, r in zip(x, repeats)))]


def logical_not(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Not: a bool tensor of X's shape."""
    return [(typed(ins, [0], {"bool"}), shape_at(ins, 0))]


def range_(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Range: max(ceil((limit - start) / delta), 0) integers."""
    dtype = typed(ins, [0, 1, 2], INTS)
    start, limit, delta = (attrs.get(key) for key in ("start", "limit", "delta"))
    if not all(isinstance(v, int) for v in (start, limit, delta)) or delta == 0:
        raise NotFastError("Range of unknown or non-integer bounds")
    return [(dtype, (len(range(start, limit, delta)),))]  # type: ignore[arg-type]


VARIADIC = frozenset({"Max", "Min", "Sum", "Mean"})
LOGICAL = frozenset({"And", "Or", "Xor"})
COMPARISONS = frozenset({"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"})
UNARY = (
    "Identity", "Relu", "LeakyRelu", "Elu", "Selu", "Celu", "Sigmoid", "HardSigmoid",
    "HardSwish", "Mish", "Tanh", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal",
    "Floor", "Ceil", "Round", "Softplus", "Softsign", "ThresholdedRelu", "Shrink", "Sin",
    "Cos", "Tan", "Gelu", "Softmax", "LogSoftmax", "Hardmax", "Trilu", "Clip",
)  # fmt: skip

MOVEMENT_RULES: dict[str, Rule] = {
    "Where": where, "Flatten": flatten, "Reshape": reshape, "Transpose": transpose,
    "Shape": shape_of, "Size": shape_of, "Gather": gather, "Slice": slice_, "Concat": concat,
    "Unsqueeze": unsqueeze, "Squeeze": squeeze, "Cast": cast,
    "ConstantOfShape": constant_of_shape, "Expand": expand, "Split": split, "Range": range_,
    "Tile": tile, "Not": logical_not,
}  # fmt: skip
MOVEMENT_RULES.update(dict.fromkeys(UNARY, same))
MOVEMENT_RULES.update(dict.fromkeys(["Add", "Sub", "Mul", "Div", "Pow", "Mod"], elementwise))
MOVEMENT_RULES.update(dict.fromkeys(VARIADIC | LOGICAL | COMPARISONS, elementwise))
MOVEMENT_RULES.update(
    dict.fromkeys(["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"], reduce)
)
