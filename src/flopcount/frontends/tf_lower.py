"""Lowering TensorFlow nodes into flopcount's IR (ONNX-named ops), one table entry per op.

Each TF node becomes one IR node, or a short chain where ONNX has no single op
(``Rsqrt`` -> ``Sqrt``, ``Reciprocal``; ``SquaredDifference`` -> ``Sub``, ``Mul``); every
node keeps the TF op type in ``attrs["tf_op"]`` (parts of a chain after the first carry
``attrs["tf_part"]``), the TF node name in ``name`` and the name scope in ``scope``. Ops
without an entry become ``tf.<OpType>`` nodes, reported unsupported. No node is emitted for
sources (``Const``, ``Placeholder``, variables), identities (``Identity``,
``ReadVariableOp``...), reshapes of weights, or integer shape arithmetic whose values are known:
those are folded into the tensors they produce, and counted in the notes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from flopcount.frontends.tf_graph import TfNode
from flopcount.ir import DTYPE_BYTES, Node, TensorSpec

__all__ = ["LOWERERS", "Ctx", "lowers", "tf_dtype"]


def tf_dtype(dtype: str) -> str:
    """flopcount's dtype name for a TF dtype (resource and variant handles count no bytes)."""
    return dtype if dtype in DTYPE_BYTES else "string"


@dataclass(slots=True)
class Ctx:
    """What a lowering function sees: the TF node, its input and output specs (TF layout)."""

    node: TfNode
    ins: list[TensorSpec]
    values: list[np.ndarray | None]
    outs: list[TensorSpec]
    scope: str = ""
    emitted: list[Node] = field(default_factory=list)

    def attr(self, key: str, default: Any = None) -> Any:
        return self.node.attrs.get(key, default)

    def emit(
        self, op: str, inputs: Sequence[TensorSpec], outputs: Sequence[TensorSpec], **attrs: Any
    ) -> TensorSpec:
        """Add one IR node; returns its first output (to chain the next part)."""
        attrs = {"tf_op": self.node.op, **attrs}
        if self.emitted:
            attrs["tf_part"] = len(self.emitted)
        self.emitted.append(
            Node(op, tuple(inputs), tuple(outputs), attrs, self.scope, self.node.name)
        )
        return outputs[0]

    def temp(self, like: TensorSpec, suffix: str) -> TensorSpec:
        """An intermediate tensor of a lowered chain, shaped like ``like``."""
        return TensorSpec(like.shape, like.dtype, f"{self.node.name}/{suffix}")

    def const(self, value: float, dtype: str) -> TensorSpec:
        return TensorSpec((), dtype, f"{self.node.name}/{value:g}", "constant")


Lowerer = Callable[[Ctx], None]
LOWERERS: dict[str, Lowerer] = {}


def lowers(*ops: str) -> Callable[[Lowerer], Lowerer]:
    """Register ``fn`` as the lowering of every TF op in ``ops``."""

    def decorate(fn: Lowerer) -> Lowerer:
        for op in ops:
            LOWERERS[op] = fn
        return fn

    return decorate


# TF op -> ONNX op, inputs and outputs passed through (attributes added where listed below).
RENAMED: dict[str, str] = {
    "Add": "Add", "AddV2": "Add", "Sub": "Sub", "Mul": "Mul", "RealDiv": "Div", "Div": "Div",
    "DivNoNan": "Div", "TruncateDiv": "Div", "Maximum": "Max", "Minimum": "Min", "Pow": "Pow",
    "FloorMod": "Mod", "Mod": "Mod", "TruncateMod": "Mod", "Equal": "Equal", "Less": "Less",
    "LessEqual": "LessOrEqual", "Greater": "Greater", "GreaterEqual": "GreaterOrEqual",
    "LogicalAnd": "And", "LogicalOr": "Or", "LogicalNot": "Not", "Select": "Where",
    "SelectV2": "Where", "AddN": "Sum", "Relu": "Relu", "Sigmoid": "Sigmoid", "Tanh": "Tanh",
    "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Neg": "Neg", "Abs": "Abs", "Sign": "Sign",
    "Floor": "Floor", "Ceil": "Ceil", "Round": "Round", "Rint": "Round", "Erf": "Erf",
    "Sin": "Sin", "Cos": "Cos", "Tan": "Tan", "Asin": "Asin", "Acos": "Acos", "Atan": "Atan",
    "Sinh": "Sinh", "Cosh": "Cosh", "Asinh": "Asinh", "Acosh": "Acosh", "Atanh": "Atanh",
    "Reciprocal": "Reciprocal", "Inv": "Reciprocal", "Softplus": "Softplus",
    "Softsign": "Softsign", "Selu": "Selu", "Elu": "Elu", "IsNan": "IsNaN", "IsInf": "IsInf",
    "Shape": "Shape", "ShapeN": "Shape", "Size": "Size", "Tile": "Tile", "Range": "Range",
    "Fill": "ConstantOfShape", "ZerosLike": "ConstantOfShape", "OnesLike": "ConstantOfShape",
    "BroadcastTo": "Expand", "Cumsum": "CumSum", "StridedSlice": "Slice", "Slice": "Slice",
    "Split": "Split", "SplitV": "Split", "Unpack": "Split", "Reshape": "Reshape",
    "OneHot": "OneHot", "TopKV2": "TopK", "DepthToSpace": "DepthToSpace",
    "SpaceToDepth": "SpaceToDepth", "ClipByValue": "Clip",
}  # fmt: skip
# Inputs that ONNX holds as attributes: the data inputs to keep, by TF op.
_DATA_INPUTS: dict[str, slice] = {
    "Tile": slice(0, 1), "StridedSlice": slice(0, 1), "Slice": slice(0, 1), "Split": slice(1, 2),
    "SplitV": slice(0, 1), "Fill": slice(0, 0), "BroadcastTo": slice(0, 1), "Cumsum": slice(0, 1),
    "OneHot": slice(0, 1), "TopKV2": slice(0, 1), "Reshape": slice(0, 2),
}  # fmt: skip


@lowers(*RENAMED)
def _renamed(ctx: Ctx) -> None:
    ins = ctx.ins[_DATA_INPUTS.get(ctx.node.op, slice(None))]
    attrs: dict[str, Any] = {}
    op = ctx.node.op
    if op == "Elu":
        attrs["alpha"] = 1.0  # TF's elu has no alpha: exp(x) - 1 for x < 0
    if op == "AddN":
        attrs["tf_inputs"] = len(ctx.node.inputs) + len(ctx.node.control_inputs)
    if op in ("Split", "SplitV", "Unpack"):
        found = {"Split": ctx.values[0], "SplitV": ctx.values[-1]}.get(op)
        attrs["axis"] = _ints(found)[0] if found is not None else int(ctx.attr("axis", 0))
    ctx.emit(RENAMED[op], ins, ctx.outs, **attrs)


@lowers("LeakyRelu")
def _leaky_relu(ctx: Ctx) -> None:
    ctx.emit("LeakyRelu", ctx.ins, ctx.outs, alpha=float(ctx.attr("alpha", 0.2)))


@lowers("Relu6")
def _relu6(ctx: Ctx) -> None:  # relu6(x) = min(max(x, 0), 6): TF's nn_ops.relu6 docstring
    ctx.emit("Clip", ctx.ins, ctx.outs, min=0.0, max=6.0)


@lowers("Softmax", "LogSoftmax")
def _softmax(ctx: Ctx) -> None:  # TF normalises over the last axis (nn_ops.softmax_v2)
    ctx.emit(ctx.node.op, ctx.ins, ctx.outs, axis=-1)


@lowers("Cast")
def _cast(ctx: Ctx) -> None:
    ctx.emit("Cast", ctx.ins, ctx.outs, to=str(ctx.attr("DstT", ctx.outs[0].dtype)))


@lowers("BiasAdd")
def _bias_add(ctx: Ctx) -> None:
    """x + b along the channel axis; for NCHW the bias spec is viewed as (C, 1, 1)."""
    x, b = ctx.ins
    if str(ctx.attr("data_format", "NHWC")).startswith("NC") and x.rank > 2:
        b = replace(b, shape=(*b.shape, *(1,) * (x.rank - 2)))
    ctx.emit("Add", [x, b], ctx.outs, tf_data_format=ctx.attr("data_format", "NHWC"))


# --- ops ONNX spells as a chain -----------------------------------------------------------


@lowers("Rsqrt")
def _rsqrt(ctx: Ctx) -> None:  # rsqrt(x) = 1 / sqrt(x)
    root = ctx.emit("Sqrt", ctx.ins, [ctx.temp(ctx.outs[0], "sqrt")])
    ctx.emit("Reciprocal", [root], ctx.outs)


@lowers("Square")
def _square(ctx: Ctx) -> None:  # x * x
    ctx.emit("Mul", [ctx.ins[0], ctx.ins[0]], ctx.outs)


@lowers("SquaredDifference")
def _squared_difference(ctx: Ctx) -> None:  # (x - y) * (x - y)
    diff = ctx.emit("Sub", ctx.ins, [ctx.temp(ctx.outs[0], "diff")])
    ctx.emit("Mul", [diff, diff], ctx.outs)


@lowers("Erfc")
def _erfc(ctx: Ctx) -> None:  # erfc(x) = 1 - erf(x)
    erf = ctx.emit("Erf", ctx.ins, [ctx.temp(ctx.outs[0], "erf")])
    ctx.emit("Sub", [ctx.const(1, erf.dtype), erf], ctx.outs)


@lowers("Expm1")
def _expm1(ctx: Ctx) -> None:  # exp(x) - 1
    exp = ctx.emit("Exp", ctx.ins, [ctx.temp(ctx.outs[0], "exp")])
    ctx.emit("Sub", [exp, ctx.const(1, exp.dtype)], ctx.outs)


@lowers("Log1p")
def _log1p(ctx: Ctx) -> None:  # log(1 + x)
    shifted = ctx.emit(
        "Add", [ctx.ins[0], ctx.const(1, ctx.ins[0].dtype)], [ctx.temp(ctx.ins[0], "add")]
    )
    ctx.emit("Log", [shifted], ctx.outs)


@lowers("NotEqual")
def _not_equal(ctx: Ctx) -> None:
    equal = ctx.emit("Equal", ctx.ins, [ctx.temp(ctx.outs[0], "equal")])
    ctx.emit("Not", [equal], ctx.outs)


@lowers("FloorDiv")
def _floor_div(ctx: Ctx) -> None:  # floor(x / y)
    quotient = ctx.emit("Div", ctx.ins, [ctx.temp(ctx.outs[0], "div")])
    ctx.emit("Floor", [quotient], ctx.outs)


# --- reductions and array ops with attributes -------------------------------------------------

_REDUCTIONS = {"Mean": "ReduceMean", "Sum": "ReduceSum", "Max": "ReduceMax", "Min": "ReduceMin",
               "Prod": "ReduceProd", "EuclideanNorm": "ReduceL2"}  # fmt: skip


def _ints(value: np.ndarray | None) -> list[int]:
    return [] if value is None else [int(v) for v in np.asarray(value).reshape(-1)]


def _axes(values: list[int], rank: int) -> list[int]:
    return sorted({a % rank if rank else 0 for a in values})


@lowers(*_REDUCTIONS)
def _reduce(ctx: Ctx) -> None:
    axes = _axes(_ints(ctx.values[1]), ctx.ins[0].rank)
    keep = int(bool(ctx.attr("keep_dims", False)))
    ctx.emit(_REDUCTIONS[ctx.node.op], ctx.ins[:1], ctx.outs, axes=axes, keepdims=keep)


@lowers("ArgMax", "ArgMin")
def _arg_reduce(ctx: Ctx) -> None:
    axis = _axes(_ints(ctx.values[1]), ctx.ins[0].rank)[0]
    ctx.emit(ctx.node.op, ctx.ins[:1], ctx.outs, axis=axis, keepdims=0)


@lowers("Transpose")
def _transpose(ctx: Ctx) -> None:
    ctx.emit("Transpose", ctx.ins[:1], ctx.outs, perm=_ints(ctx.values[1]))


@lowers("Squeeze", "ExpandDims")
def _squeeze(ctx: Ctx) -> None:
    if ctx.node.op == "Squeeze":
        axes = _axes([int(a) for a in ctx.attr("squeeze_dims") or []], ctx.ins[0].rank)
        ctx.emit("Squeeze", ctx.ins[:1], ctx.outs, axes=axes)
    else:
        axes = _axes(_ints(ctx.values[1]), ctx.outs[0].rank)
        ctx.emit("Unsqueeze", ctx.ins[:1], ctx.outs, axes=axes)


@lowers("Pad", "PadV2", "MirrorPad")
def _pad(ctx: Ctx) -> None:
    flat = _ints(ctx.values[1])
    pads = flat[0::2] + flat[1::2]  # ONNX order: all begins, then all ends
    mode = "constant" if ctx.node.op != "MirrorPad" else str(ctx.attr("mode", "REFLECT")).lower()
    ctx.emit("Pad", ctx.ins[:1], ctx.outs, pads=pads, mode="edge" if mode == "symmetric" else mode)


@lowers("ConcatV2", "Concat", "Pack")
def _concat(ctx: Ctx) -> None:
    if ctx.node.op == "Pack":
        axis = int(ctx.attr("axis", 0)) % ctx.outs[0].rank
        ctx.emit("Concat", ctx.ins, ctx.outs, axis=axis, new_axis=1)
        return
    parts, axis_value = (
        (ctx.ins[:-1], ctx.values[-1])
        if ctx.node.op == "ConcatV2"
        else (ctx.ins[1:], ctx.values[0])
    )
    ctx.emit("Concat", parts, ctx.outs, axis=_axes(_ints(axis_value), ctx.outs[0].rank)[0])


@lowers("GatherV2", "Gather", "ResourceGather")
def _gather(ctx: Ctx) -> None:
    axis = _ints(ctx.values[2])[0] if ctx.node.op == "GatherV2" else 0
    ctx.emit("Gather", ctx.ins[:2], ctx.outs, axis=axis % max(ctx.ins[0].rank, 1))


@lowers("ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic", "ResizeArea")
def _resize(ctx: Ctx) -> None:
    modes = {
        "ResizeBilinear": "linear",
        "ResizeNearestNeighbor": "nearest",
        "ResizeBicubic": "cubic",
    }
    ctx.emit("Resize", ctx.ins[:1], ctx.outs, mode=modes.get(ctx.node.op, "linear"))
