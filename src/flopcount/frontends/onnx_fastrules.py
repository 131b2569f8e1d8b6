"""Output dtypes and shapes of ONNX ops from concrete input shapes, in pure Python.

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

__all__ = ["RULES", "SINCE", "Ins", "Outs"]

Ins = list[Value | None]
Shape = tuple[int, ...]
Outs = list[tuple[str, Shape]]
Rule = Callable[[Any, dict[str, Any], Ins], Outs]

FLOAT_TYPES = FLOATS | {"float16", "bfloat16"}
NUMBER_TYPES = FLOAT_TYPES | set(INTS)


def _input(ins: Ins, index: int) -> Value:
    value = ins[index] if index < len(ins) else None
    if value is None:
        raise NotFastError(f"input {index} is absent")
    return value


def _shape(ins: Ins, index: int) -> Shape:
    """The shape of input ``index`` (`FastShapes.outputs` checked that it is concrete)."""
    return _input(ins, index).shape  # type: ignore[return-value]


def _typed(ins: Ins, indices: Sequence[int], allowed: Any) -> str:
    """The one dtype of the present inputs ``indices`` (ONNX's type variable T), in
    ``allowed``; `NotFastError` otherwise."""
    dtypes = {v.dtype for i in indices if i < len(ins) for v in [ins[i]] if v is not None}
    if len(dtypes) != 1 or not dtypes <= set(allowed):
        raise NotFastError(f"operand dtypes {sorted(dtypes)}")
    return dtypes.pop()


def _axis(axis: int, rank: int) -> int:
    if not -rank <= axis < rank:
        raise NotFastError(f"axis {axis} out of range for rank {rank}")
    return axis % rank


def _ints(attrs: dict[str, Any], key: str) -> list[int] | None:
    value = attrs.get(key)
    if value is None:
        return None
    if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
        raise NotFastError(f"{key} = {value!r}")
    return value


def _needs(node: Any, ins: Ins, index: int, attrs: dict[str, Any], key: str) -> None:
    """`NotFastError` when input ``index`` is given but its value (copied to ``key``) is unknown."""
    given = index < len(node.input) and node.input[index]
    if given and key not in attrs:
        raise NotFastError(f"{node.op_type} input {index} has no known value")


def _single(node: Any) -> None:
    """`NotFastError` for a node using an optional output beyond the first (training outputs)."""
    if any(node.output[1:]):
        raise NotFastError(f"{node.op_type} with optional outputs")


def same(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Elementwise unary ops, Identity, Softmax, Trilu...: Y has X's shape and dtype."""
    value = _input(ins, 0)
    if node.op_type in ("Softmax", "LogSoftmax", "Hardmax"):
        _axis(attrs.get("axis", -1), len(_shape(ins, 0)))
    if node.op_type not in ("Identity", "Trilu") and value.dtype not in NUMBER_TYPES:
        raise NotFastError(f"{node.op_type} of {value.dtype}")
    return [(value.dtype, _shape(ins, 0))]


def normalization(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """LayerNormalization, BatchNormalization (inference): Y has X's shape and dtype."""
    _single(node)
    layer = node.op_type == "LayerNormalization"
    dtype = _typed(
        ins, [i for i, v in enumerate(ins) if v is not None] if layer else [0], FLOAT_TYPES
    )
    if layer:
        _axis(attrs.get("axis", -1), len(_shape(ins, 0)))
    elif attrs.get("training_mode", 0) or len(_shape(ins, 0)) < 2:
        raise NotFastError("BatchNormalization in training mode")
    return [(dtype, _shape(ins, 0))]


def dropout(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Dropout: output and optional bool mask of X's shape."""
    dtype = _typed(ins, [0], FLOAT_TYPES)
    return [(dtype, _shape(ins, 0)), ("bool", _shape(ins, 0))][: len(node.output)]


def elementwise(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Broadcasting binary and variadic ops (Add, Mul, Equal, Max...)."""
    op = node.op_type
    present = [i for i, v in enumerate(ins) if v is not None]
    if len(present) != len(ins) or not ins or (op not in VARIADIC and len(ins) != 2):
        raise NotFastError(f"{op} with {len(ins)} inputs")
    shape = broadcast(_shape(ins, i) for i in present)
    if op == "Pow":
        _typed(ins, [1], NUMBER_TYPES)
        return [(_typed(ins, [0], NUMBER_TYPES), shape)]
    if op in LOGICAL:
        _typed(ins, present, {"bool"})
        return [("bool", shape)]
    dtype = _typed(ins, present, NUMBER_TYPES | {"bool"} if op == "Equal" else NUMBER_TYPES)
    return [("bool" if op in COMPARISONS else dtype, shape)]


def where(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Where(condition, X, Y): the broadcast of all three, X's dtype."""
    _typed(ins, [0], {"bool"})
    dtype = _typed(ins, [1, 2], NUMBER_TYPES | {"bool"})
    return [(dtype, broadcast(_shape(ins, i) for i in range(3)))]


def _spatial(attrs: dict[str, Any], sizes: Shape, kernel: Sequence[int]) -> Shape:
    """Output sizes of a convolution or pooling window over ``sizes`` (ONNX Conv/MaxPool
    "Outputs": floor((in + pad_begin + pad_end - ((k - 1) * dilation + 1)) / stride) + 1)."""
    n = len(sizes)
    pads = _ints(attrs, "pads") or [0] * 2 * n
    strides = _ints(attrs, "strides") or [1] * n
    dilations = _ints(attrs, "dilations") or [1] * n
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise NotFastError(f"auto_pad {attrs.get('auto_pad')}")
    if attrs.get("auto_pad") == "VALID":
        pads = [0] * 2 * n
    if (len(pads), len(strides), len(dilations), len(kernel)) != (2 * n, n, n, n):
        raise NotFastError("window attributes of the wrong length")
    out = []
    for i in range(n):
        room = sizes[i] + pads[i] + pads[i + n] - ((kernel[i] - 1) * dilations[i] + 1)
        if min(strides[i], dilations[i], kernel[i]) < 1 or room < 0 or min(pads) < 0:
            raise NotFastError("a window larger than its padded input")
        if attrs.get("ceil_mode", 0) and room % strides[i]:
            raise NotFastError("ceil_mode rounding")
        out.append(room // strides[i] + 1)
    return tuple(out)


def conv(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Conv: X (N, C, *D), W (M, C / group, *k), B (M,) -> (N, M, *D_out)."""
    dtype = _typed(ins, [0, 1, 2], FLOAT_TYPES)
    x, w = _shape(ins, 0), _shape(ins, 1)
    group = attrs.get("group", 1)
    if len(x) < 3 or len(w) != len(x) or group < 1 or x[1] != w[1] * group or w[0] % group:
        raise NotFastError(f"Conv of {x} with weight {w} in {group} groups")
    if len(ins) > 2 and ins[2] is not None and _shape(ins, 2) != (w[0],):
        raise NotFastError("Conv bias of the wrong shape")
    kernel = _ints(attrs, "kernel_shape")
    if kernel is not None and tuple(kernel) != w[2:]:
        raise NotFastError("Conv kernel_shape differs from the weight")
    return [(dtype, (x[0], w[0], *_spatial(attrs, x[2:], w[2:])))]


def pool(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """MaxPool / AveragePool: X (N, C, *D) -> (N, C, *D_out) (MaxPool's Indices: int64)."""
    dtype = _typed(ins, [0], FLOAT_TYPES)
    x, kernel = _shape(ins, 0), _ints(attrs, "kernel_shape")
    if len(x) < 3 or kernel is None:
        raise NotFastError("pooling without kernel_shape")
    shape = (x[0], x[1], *_spatial(attrs, x[2:], kernel))
    return [(dtype, shape), ("int64", shape)][: len(node.output)]


def global_pool(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """GlobalAveragePool / GlobalMaxPool: X (N, C, *D) -> (N, C, 1, ..., 1)."""
    dtype = _typed(ins, [0], FLOAT_TYPES)
    x = _shape(ins, 0)
    if len(x) < 3:
        raise NotFastError("global pooling of rank < 3")
    return [(dtype, (x[0], x[1]) + (1,) * (len(x) - 2))]


def gemm(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Gemm: A (M, K) (or (K, M) with transA), B (K, N) (or (N, K)), C broadcast to (M, N)."""
    dtype = _typed(ins, [0, 1, 2], NUMBER_TYPES - {"bool"})
    a, b = _shape(ins, 0), _shape(ins, 1)
    if len(a) != 2 or len(b) != 2:
        raise NotFastError("Gemm of rank != 2")
    m, k = a[::-1] if attrs.get("transA", 0) else a
    k2, n = b[::-1] if attrs.get("transB", 0) else b
    if k != k2:
        raise NotFastError("Gemm with mismatched K")
    if len(ins) > 2 and ins[2] is not None:
        c = _shape(ins, 2)
        if len(c) > 2 or any(d not in (1, full) for d, full in zip(c[::-1], (n, m))):
            raise NotFastError("Gemm C does not broadcast to (M, N)")
    return [(dtype, (m, n))]


def matmul(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """MatMul with numpy.matmul's shape rules (1-D operands, broadcast batch dimensions)."""
    dtype = _typed(ins, [0, 1], FLOAT_TYPES | {"int32", "int64", "uint32", "uint64"})
    a, b = _shape(ins, 0), _shape(ins, 1)
    if not a or not b:
        raise NotFastError("MatMul of a scalar")
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise NotFastError("MatMul with mismatched K")
    out = (*broadcast([a2[:-2], b2[:-2]]), a2[-2], b2[-1])
    if len(a) == 1:
        out = out[:-2] + out[-1:]
    if len(b) == 1:
        out = out[:-1]
    return [(dtype, out)]


def flatten(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Flatten: (prod(D[:axis]), prod(D[axis:])), axis in [-r, r]."""
    x = _shape(ins, 0)
    axis = attrs.get("axis", 1)
    if not x or not -len(x) <= axis <= len(x):
        raise NotFastError("Flatten axis out of range")
    axis %= len(x) + 1
    return [(_input(ins, 0).dtype, (math.prod(x[:axis]), math.prod(x[axis:])))]


def reshape(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Reshape: 0 copies the input dimension (unless allowzero), -1 takes the rest."""
    x, target = _shape(ins, 0), _ints(attrs, "shape")
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
    return [(_input(ins, 0).dtype, tuple(target))]


def transpose(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Transpose: dimensions permuted by ``perm`` (default: reversed)."""
    x = _shape(ins, 0)
    perm = _ints(attrs, "perm") or list(range(len(x) - 1, -1, -1))
    if sorted(perm) != list(range(len(x))):
        raise NotFastError("Transpose perm is not a permutation")
    return [(_input(ins, 0).dtype, tuple(x[p] for p in perm))]


def shape_of(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Shape: a 1-D int64 of the kept dimensions (start/end clamped); Size: an int64 scalar."""
    x = _shape(ins, 0)
    if node.op_type == "Size":
        return [("int64", ())]
    kept = x[attrs.get("start", 0) : attrs.get("end", len(x))]
    return [("int64", (len(kept),))]


def gather(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Gather: data (r), indices (q) -> data[:axis] + indices + data[axis + 1:]."""
    data, indices = _shape(ins, 0), _shape(ins, 1)
    _typed(ins, [1], {"int32", "int64"})
    axis = _axis(attrs.get("axis", 0), len(data))
    return [(_input(ins, 0).dtype, data[:axis] + indices + data[axis + 1 :])]


def slice_(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Slice with known starts/ends/axes/steps, clamped as the spec (and Python) clamp."""
    x = _shape(ins, 0)
    for index, key in enumerate(("starts", "ends", "axes", "steps"), start=1):
        _needs(node, ins, index, attrs, key)
    starts, ends = _ints(attrs, "starts"), _ints(attrs, "ends")
    if starts is None or ends is None:
        raise NotFastError("Slice without starts/ends")
    axes = _ints(attrs, "axes") or list(range(len(starts)))
    steps = _ints(attrs, "steps") or [1] * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps) or 0 in steps:
        raise NotFastError("Slice arguments of different lengths or a zero step")
    out = list(x)
    axes = [_axis(a, len(x)) for a in axes]
    if len(set(axes)) != len(axes):
        raise NotFastError("Slice repeats an axis")
    for axis, start, end, step in zip(axes, starts, ends, steps):
        if x[axis] == 0 or (step < 0 and start < -x[axis]):
            raise NotFastError("a Slice bound where the spec and Python clamp differently")
        out[axis] = len(range(x[axis])[slice(start, end, step)])
    return [(_input(ins, 0).dtype, tuple(out))]


def concat(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Concat: equal shapes off ``axis``, summed along it."""
    present = [i for i, v in enumerate(ins) if v is not None]
    dtype = _typed(ins, present, NUMBER_TYPES | {"bool"})
    shapes = [_shape(ins, i) for i in present]
    rank = len(shapes[0]) if shapes else 0
    axis = _axis(attrs.get("axis", 0), rank) if rank else -1
    if axis < 0 or len(present) != len(ins) or any(len(s) != rank for s in shapes):
        raise NotFastError("Concat of scalars or of mixed ranks")
    if len({s[:axis] + s[axis + 1 :] for s in shapes}) != 1:
        raise NotFastError("Concat inputs disagree off the axis")
    out = list(shapes[0])
    out[axis] = sum(s[axis] for s in shapes)
    return [(dtype, tuple(out))]


def unsqueeze(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Unsqueeze: a 1 inserted at each of ``axes`` (of the output's rank)."""
    x, axes = _shape(ins, 0), _ints(attrs, "axes")
    if axes is None:
        raise NotFastError("Unsqueeze without known axes")
    rank = len(x) + len(axes)
    wanted = {_axis(a, rank) for a in axes}
    if len(wanted) != len(axes):
        raise NotFastError("Unsqueeze repeats an axis")
    dims = iter(x)
    return [(_input(ins, 0).dtype, tuple(1 if i in wanted else next(dims) for i in range(rank)))]


def squeeze(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Squeeze: ``axes`` (each of size 1) removed, or every 1 when no axes are given."""
    _needs(node, ins, 1, attrs, "axes")
    x, axes = _shape(ins, 0), _ints(attrs, "axes")
    if axes is None:
        return [(_input(ins, 0).dtype, tuple(d for d in x if d != 1))]
    drop = {_axis(a, len(x)) for a in axes}
    if any(x[a] != 1 for a in drop):
        raise NotFastError("Squeeze of an axis that is not 1")
    return [(_input(ins, 0).dtype, tuple(d for i, d in enumerate(x) if i not in drop))]


def cast(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Cast: X's shape, dtype ``to``."""
    to = attrs.get("to")
    if to not in (1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 16):
        raise NotFastError(f"Cast to element type {to}")
    return [(dtype_name(to), _shape(ins, 0))]


def constant_of_shape(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """ConstantOfShape: the shape its input holds, the ``value`` tensor's dtype (float32)."""
    shape = _ints(attrs, "shape")
    if shape is None or any(d < 0 for d in shape) or _input(ins, 0).dtype != "int64":
        raise NotFastError("ConstantOfShape of an unknown shape")
    tensors = [a.t for a in node.attribute if a.name == "value"]
    return [(dtype_name(tensors[0].data_type) if tensors else "float32", tuple(shape))]


def expand(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Expand: X broadcast with the shape its second input holds (both ways)."""
    shape = _ints(attrs, "shape")
    if shape is None or any(d < 0 for d in shape):
        raise NotFastError("Expand to an unknown shape")
    return [(_input(ins, 0).dtype, broadcast([_shape(ins, 0), tuple(shape)]))]


def split(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Split along ``axis`` by ``split`` sizes, or into equal parts, one per output."""
    _needs(node, ins, 1, attrs, "split")
    x, parts = _shape(ins, 0), _ints(attrs, "split")
    axis = _axis(attrs.get("axis", 0), len(x))
    count = len(node.output)
    if parts is None:
        if x[axis] % count or attrs.get("num_outputs", count) != count:
            raise NotFastError("an uneven Split")
        parts = [x[axis] // count] * count
    if len(parts) != count or sum(parts) != x[axis] or min(parts, default=0) < 0:
        raise NotFastError("Split sizes that do not add up")
    dtype = _input(ins, 0).dtype
    return [(dtype, (*x[:axis], size, *x[axis + 1 :])) for size in parts]


def reduce(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Reduce*: ``axes`` (all when none) dropped, or kept as 1 with ``keepdims``."""
    _needs(node, ins, 1, attrs, "axes")
    x, axes = _shape(ins, 0), _ints(attrs, "axes")
    dtype = _typed(ins, [0], NUMBER_TYPES)
    if not axes:
        if attrs.get("noop_with_empty_axes", 0):
            return [(dtype, x)]
        axes = list(range(len(x)))
    drop = {_axis(a, len(x)) for a in axes}
    if len(drop) != len(axes):
        raise NotFastError("Reduce repeats an axis")
    keep = attrs.get("keepdims", 1)
    out = tuple(1 if i in drop else d for i, d in enumerate(x) if keep or i not in drop)
    return [(dtype, out)]


def tile(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Tile: each dimension times its ``repeats`` entry."""
    x, repeats = _shape(ins, 0), _ints(attrs, "repeats")
    if repeats is None or len(repeats) != len(x) or min(repeats, default=0) < 0:
        raise NotFastError("Tile with unknown repeats")
    return [(_input(ins, 0).dtype, tuple(d * r for d, r in zip(x, repeats)))]


def logical_not(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Not: a bool tensor of X's shape."""
    return [(_typed(ins, [0], {"bool"}), _shape(ins, 0))]


def range_(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Range: max(ceil((limit - start) / delta), 0) integers."""
    dtype = _typed(ins, [0, 1, 2], INTS)
    start, limit, delta = (attrs.get(key) for key in ("start", "limit", "delta"))
    if not all(isinstance(v, int) for v in (start, limit, delta)) or delta == 0:
        raise NotFastError("Range of unknown or non-integer bounds")
    return [(dtype, (len(range(start, limit, delta)),))]  # type: ignore[arg-type]


VARIADIC = frozenset({"Max", "Min", "Sum", "Mean"})
LOGICAL = frozenset({"And", "Or", "Xor"})
COMPARISONS = frozenset({"Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual"})
UNARY = (
    "Identity", "Relu", "LeakyRelu", "Elu", "Selu", "Sigmoid", "HardSigmoid", "HardSwish",
    "Tanh", "Erf", "Sqrt", "Exp", "Log", "Neg", "Abs", "Reciprocal", "Floor", "Ceil",
    "Softplus", "Softsign", "Sin", "Cos", "Gelu", "Softmax", "LogSoftmax", "Trilu", "Clip",
)  # fmt: skip

RULES: dict[str, Rule] = {
    "LayerNormalization": normalization, "BatchNormalization": normalization,
    "Dropout": dropout, "Where": where, "Conv": conv, "MaxPool": pool, "AveragePool": pool,
    "GlobalAveragePool": global_pool, "GlobalMaxPool": global_pool, "Gemm": gemm,
    "MatMul": matmul, "Flatten": flatten, "Reshape": reshape, "Transpose": transpose,
    "Shape": shape_of, "Size": shape_of, "Gather": gather, "Slice": slice_, "Concat": concat,
    "Unsqueeze": unsqueeze, "Squeeze": squeeze, "Cast": cast,
    "ConstantOfShape": constant_of_shape, "Expand": expand, "Split": split, "Range": range_,
    "Tile": tile, "Not": logical_not,
}  # fmt: skip
RULES.update(dict.fromkeys(UNARY, same))
RULES.update(dict.fromkeys(["Add", "Sub", "Mul", "Div", "Pow", "Mod"], elementwise))
RULES.update(dict.fromkeys(VARIADIC | LOGICAL | COMPARISONS, elementwise))
# The opset each op entered the default domain (Operators.md): before it, no schema.
SINCE = {"Gelu": 20, "LayerNormalization": 17, "Trilu": 14, "HardSwish": 14}
RULES.update(
    dict.fromkeys(["ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin", "ReduceProd"], reduce)
)
