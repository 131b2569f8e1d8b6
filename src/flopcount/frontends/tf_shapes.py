"""Shape (and small-value) inference for TensorFlow ops, without TensorFlow.

A rule takes a `TfNode` and its input `TfTensor`s and returns the output tensors. Besides
shapes it carries the *values* of small integer tensors, because TF graphs compute shapes at
run time (``Shape -> StridedSlice -> Pack -> Reshape`` in a flatten with an unknown batch).
The semantics follow the op definitions in TensorFlow's ``tensorflow/core/ops/*.cc``
(``array_ops.cc``, ``math_ops.cc``); this module holds the array and elementwise ops,
`flopcount.frontends.tf_shapes_nn` the convolutions, pools, matmuls and reductions.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from flopcount.errors import ShapeError
from flopcount.frontends.tf_graph import TfNode

__all__ = ["RULES", "TfTensor", "broadcast", "const_ints", "norm_axis", "rule"]


@dataclass(frozen=True, slots=True)
class TfTensor:
    """A tensor during inference: static shape, dtype, and values of small integer tensors.

    ``handle`` is the shape of the variable a resource tensor points to.
    """

    shape: tuple[int, ...]
    dtype: str = "float32"
    value: np.ndarray | None = None
    handle: tuple[int, ...] | None = None


Rule = Callable[[TfNode, list[TfTensor]], list[TfTensor]]
RULES: dict[str, Rule] = {}


def rule(*ops: str) -> Callable[[Rule], Rule]:
    """Register ``fn`` as the shape rule of every op in ``ops``."""

    def decorate(fn: Rule) -> Rule:
        for op in ops:
            RULES[op] = fn
        return fn

    return decorate


def const_ints(node: TfNode, tensor: TfTensor, what: str) -> list[int]:
    """The values of an integer input that must be known (a constant or computed from shapes)."""
    if tensor.value is None:
        raise ShapeError(
            f"{node.op} node {node.name!r}: its {what} is computed at run time from data, so "
            "the output shape is unknown; give fixed input shapes with input_shapes={...}"
        )
    return [int(v) for v in np.asarray(tensor.value).reshape(-1)]


def norm_axis(node: TfNode, axis: int, rank: int) -> int:
    """``axis`` in ``[0, rank)``; negative axes count from the end."""
    if not -rank <= axis < max(rank, 1):
        raise ShapeError(
            f"{node.op} node {node.name!r}: axis {axis} is out of range for rank {rank}"
        )
    return axis % rank if rank else 0


def _out(shape: Sequence[int], dtype: str, value: np.ndarray | None = None) -> TfTensor:
    return TfTensor(tuple(int(d) for d in shape), dtype, value)


def _dtype(node: TfNode, ins: list[TfTensor], *keys: str) -> str:
    for key in keys:
        found = node.attrs.get(key)
        if isinstance(found, str):
            return found
    return ins[0].dtype if ins else "float32"


def broadcast(node: TfNode, shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """NumPy broadcasting of ``shapes``, as TF's ``BroadcastBinaryOpShapeFn`` does."""
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for i in range(rank):
        dims = {s[len(s) - rank + i] for s in shapes if len(s) - rank + i >= 0} - {1}
        if len(dims) > 1:
            raise ShapeError(
                f"{node.op} node {node.name!r}: shapes {list(shapes)} do not broadcast "
                f"(dimension {i} is {sorted(dims)})"
            )
        out.append(dims.pop() if dims else 1)
    return tuple(out)


# --- identities and sources --------------------------------------------------------------

_PASS_THROUGH = ("Identity", "Snapshot", "StopGradient", "PreventGradient", "CheckNumerics",
                 "EnsureShape", "PlaceholderWithDefault", "ZerosLike", "OnesLike", "Relu6",
                 "Relu", "Elu", "Selu", "Softplus", "Softsign", "LeakyRelu", "Sigmoid", "Tanh",
                 "Exp", "Expm1", "Log", "Log1p", "Sqrt", "Rsqrt", "Square", "Reciprocal", "Inv",
                 "Neg", "Abs", "Sign", "Floor", "Ceil", "Round", "Rint", "Erf", "Erfc", "Sin",
                 "Cos", "Tan", "Asin", "Acos", "Atan", "Sinh", "Cosh", "Asinh", "Acosh", "Atanh",
                 "IsNan", "IsInf", "IsFinite", "LogicalNot", "Softmax", "LogSoftmax",
                 "Gelu", "Swish", "HardSwish", "Mish", "ClipByValue", "Bitcast", "Conj",
                 "Real", "Imag", "Angle", "Invert", "Cumsum", "Cumprod", "LRN", "L2Normalize",
                 "ReverseV2", "MatrixBandPart", "RandomShuffle")  # fmt: skip


@rule(*_PASS_THROUGH)
def _same(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    value = ins[0].value if node.op in ("Identity", "Snapshot", "StopGradient") else None
    if node.op == "Neg" and ins[0].value is not None:
        value = -ins[0].value
    return [TfTensor(ins[0].shape, _dtype(node, ins, "out_type"), value, ins[0].handle)]


@rule("IdentityN")
def _identity_n(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    return list(ins)


@rule("Const")
def _const(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    tensor = node.attrs.get("value")
    if tensor is None:
        raise ShapeError(f"Const node {node.name!r} has no value attribute")
    values = tensor.values if tensor.dtype not in ("float32", "float64", "float16") else None
    return [TfTensor(tensor.shape, tensor.dtype, values)]


@rule("VariableV2", "Variable", "VarHandleOp")
def _variable(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    shape = node.attrs.get("shape")
    if shape is None or any(d is None for d in shape):
        raise ShapeError(f"variable {node.name!r} has an unknown shape {shape}")
    dims = tuple(int(d) for d in shape)  # type: ignore[arg-type]
    if node.op == "VarHandleOp":
        return [TfTensor((), "resource", None, dims)]
    return [TfTensor(dims, _dtype(node, ins, "dtype"))]


@rule("ReadVariableOp")
def _read_variable(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    if ins[0].handle is None:
        raise ShapeError(f"ReadVariableOp {node.name!r} reads a variable of unknown shape")
    return [TfTensor(ins[0].handle, _dtype(node, ins, "dtype"))]


# --- elementwise ------------------------------------------------------------------------------

_INT_MATH: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
    "Add": np.add, "AddV2": np.add, "Sub": np.subtract, "Mul": np.multiply,
    "FloorDiv": np.floor_divide, "FloorMod": np.mod, "Maximum": np.maximum,
    "Minimum": np.minimum,
}  # fmt: skip
_COMPARISONS = ("Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual",
                "LogicalAnd", "LogicalOr")  # fmt: skip
_BINARY = (*_INT_MATH, "RealDiv", "Div", "DivNoNan", "TruncateDiv", "Mod", "TruncateMod", "Pow",
           "SquaredDifference", "BiasAdd", "Atan2", "Xlogy", "Xdivy", "MulNoNan", "BitwiseAnd",
           "BitwiseOr", "BitwiseXor", *_COMPARISONS)  # fmt: skip


@rule(*_BINARY)
def _binary(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    if node.op == "BiasAdd":
        return [TfTensor(ins[0].shape, ins[0].dtype)]
    shape = broadcast(node, [t.shape for t in ins])
    dtype = "bool" if node.op in _COMPARISONS else ins[0].dtype
    value = None
    fn = _INT_MATH.get(node.op)
    left, right = ins[0].value, ins[-1].value
    if fn is not None and left is not None and right is not None:
        value = fn(left, right)
    return [TfTensor(shape, dtype, value)]


@rule("AddN", "Select", "SelectV2")
def _nary(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    if node.op == "Select" and len(ins[0].shape) < len(ins[1].shape):  # a per-row condition
        return [TfTensor(ins[1].shape, ins[1].dtype)]
    return [TfTensor(broadcast(node, [t.shape for t in ins]), ins[-1].dtype)]


# --- shape arithmetic ------------------------------------------------------------------------


@rule("Shape", "ShapeN", "Size", "Rank")
def _shape_of(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    dtype = _dtype(node, [], "out_type") if "out_type" in node.attrs else "int32"
    if node.op == "Size":
        return [_out((), dtype, np.array(math.prod(ins[0].shape)))]
    if node.op == "Rank":
        return [_out((), "int32", np.array(len(ins[0].shape)))]
    return [_out((len(t.shape),), dtype, np.array(t.shape, dtype=np.int64)) for t in ins]


@rule("Cast")
def _cast(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    return [TfTensor(ins[0].shape, _dtype(node, ins, "DstT"), ins[0].value)]


@rule("Fill", "BroadcastTo")
def _fill(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    dims_in, data = (ins[0], ins[1]) if node.op == "Fill" else (ins[1], ins[0])
    return [_out(const_ints(node, dims_in, "shape"), data.dtype)]


@rule("Range")
def _range(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    start, limit, delta = (const_ints(node, t, "bound")[0] for t in ins[:3])
    return [_out((len(range(start, limit, delta)),), ins[0].dtype, np.arange(start, limit, delta))]


@rule("Prod", "Sum", "Max", "Min", "Mean", "All", "Any", "EuclideanNorm")
def _reduce(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    rank = len(ins[0].shape)
    axes = {norm_axis(node, a, rank) for a in const_ints(node, ins[1], "axes")}
    keep = bool(node.attrs.get("keep_dims", False))
    shape = [1 if i in axes else d for i, d in enumerate(ins[0].shape) if keep or i not in axes]
    value = None
    if ins[0].value is not None and node.op in ("Prod", "Sum"):
        fn = np.prod if node.op == "Prod" else np.sum
        value = np.asarray(fn(ins[0].value, axis=tuple(sorted(axes)), keepdims=keep))
    dtype = "bool" if node.op in ("All", "Any") else ins[0].dtype
    return [_out(shape, dtype, value)]
