"""Lowerings of the simple aten families: elementwise math, data movement, reductions.

Each family is a table ``aten name -> ONNX op`` plus one named lowering function; the in-place
variant of an op (``add_``, ``relu_``) lowers like the op. Data-movement ops become the ONNX op
that moves the data the same way (``view`` -> Reshape, ``permute`` -> Transpose, ``cat`` ->
Concat, ``_to_copy`` -> Cast); the cost registry declares those free.
"""

from __future__ import annotations

import math

import torch

from flopcount.frontends.torch_call import Lowering, OpCall
from flopcount.ir import Node

__all__ = ["SIMPLE_LOWERINGS"]

# aten elementwise op -> ONNX op (operands: the call's condition/self/other/exponent args).
_ELEMENTWISE: dict[str, str] = {
    "mul": "Mul", "div": "Div", "floor_divide": "Div", "pow": "Pow", "float_power": "Pow",
    "neg": "Neg", "abs": "Abs", "exp": "Exp", "log": "Log", "sqrt": "Sqrt",
    "reciprocal": "Reciprocal", "sin": "Sin", "cos": "Cos", "tan": "Tan", "erf": "Erf",
    "floor": "Floor", "ceil": "Ceil", "round": "Round", "sign": "Sign", "tanh": "Tanh",
    "sigmoid": "Sigmoid", "relu": "Relu", "hardswish": "HardSwish", "mish": "Mish",
    "remainder": "Mod", "fmod": "Mod", "isnan": "IsNaN", "isinf": "IsInf",
    "eq": "Equal", "gt": "Greater", "lt": "Less", "ge": "GreaterOrEqual",
    "le": "LessOrEqual", "maximum": "Max", "minimum": "Min", "fmax": "Max", "fmin": "Min",
    "where": "Where", "logical_not": "Not", "bitwise_not": "Not", "logical_and": "And",
    "bitwise_and": "And", "logical_or": "Or", "bitwise_or": "Or", "logical_xor": "Xor",
    "bitwise_xor": "Xor", "__and__": "And", "__iand__": "And", "__or__": "Or", "__ior__": "Or",
    "__xor__": "Xor", "__ixor__": "Xor", "_prelu_kernel": "PRelu",
}  # fmt: skip
_OPERANDS = ("condition", "self", "input", "other", "exponent", "weight")

# Activation attributes: aten argument -> ONNX attribute.
_ACTIVATION_ATTRS: dict[str, tuple[str, dict[str, str]]] = {
    "gelu": ("Gelu", {"approximate": "approximate"}),
    "leaky_relu": ("LeakyRelu", {"negative_slope": "alpha"}),
    "elu": ("Elu", {"alpha": "alpha"}),
    "softplus": ("Softplus", {"beta": "beta", "threshold": "threshold"}),
    "threshold": ("ThresholdedRelu", {"threshold": "alpha", "value": "value"}),
    "hardtanh": ("Clip", {"min_val": "min", "max_val": "max"}),
    "clamp": ("Clip", {"min": "min", "max": "max"}),
    "clamp_min": ("Clip", {"min": "min"}),
    "clamp_max": ("Clip", {"max": "max"}),
}

# Data movement and constants: no arithmetic.
_FREE: dict[str, str] = {
    "view": "Reshape", "_unsafe_view": "Reshape", "reshape": "Reshape", "view_as": "Reshape",
    "_reshape_alias": "Reshape", "unflatten": "Reshape", "flatten": "Flatten",
    "as_strided": "Reshape", "t": "Transpose", "transpose": "Transpose", "permute": "Transpose",
    "expand": "Expand", "expand_as": "Expand", "unsqueeze": "Unsqueeze", "squeeze": "Squeeze",
    "slice": "Slice", "narrow": "Slice", "flip": "Slice", "select": "Gather",
    "split": "Split", "split_with_sizes": "Split", "unbind": "Split", "chunk": "Split",
    "cat": "Concat", "stack": "Concat", "clone": "Identity", "contiguous": "Identity",
    "alias": "Identity", "detach": "Identity", "lift_fresh": "Identity",
    "lift_fresh_copy": "Identity", "copy": "Identity", "copy_": "Identity",
    "_local_scalar_dense": "Identity", "conj": "Identity", "conj_physical": "Identity",
    "resolve_conj": "Identity", "resolve_neg": "Identity", "index_select": "Gather",
    "gather": "GatherElements",
    "index": "GatherND", "_unsafe_index": "GatherND", "_unsafe_masked_index": "GatherND",
    "index_put": "ScatterND", "_unsafe_index_put": "ScatterND",
    "_unsafe_masked_index_put_accumulate": "ScatterND", "scatter": "ScatterElements",
    "select_backward": "ScatterND", "slice_backward": "ScatterND", "select_scatter": "ScatterND",
    "slice_scatter": "ScatterND", "diagonal_backward": "ScatterND",
    "scatter_add": "ScatterElements", "constant_pad_nd": "Pad", "reflection_pad1d": "Pad",
    "reflection_pad2d": "Pad", "replication_pad2d": "Pad", "repeat": "Tile",
    "tril": "Trilu", "triu": "Trilu", "pixel_shuffle": "DepthToSpace",
    "pixel_unshuffle": "SpaceToDepth", "empty": "ConstantOfShape",
    "empty_like": "ConstantOfShape", "empty_strided": "ConstantOfShape",
    "zeros": "ConstantOfShape", "zeros_like": "ConstantOfShape", "ones": "ConstantOfShape",
    "ones_like": "ConstantOfShape", "full": "ConstantOfShape", "full_like": "ConstantOfShape",
    "new_empty": "ConstantOfShape", "new_empty_strided": "ConstantOfShape",
    "new_zeros": "ConstantOfShape", "new_ones": "ConstantOfShape",
    "new_full": "ConstantOfShape", "scalar_tensor": "ConstantOfShape",
    "fill": "ConstantOfShape", "fill_": "ConstantOfShape", "zero_": "ConstantOfShape",
    "arange": "Range", "eye": "EyeLike", "bernoulli": "Bernoulli", "rand": "RandomUniform",
    "rand_like": "RandomUniformLike", "randn": "RandomNormal",
    "randn_like": "RandomNormalLike", "uniform_": "RandomUniformLike",
    "normal_": "RandomNormalLike",
}  # fmt: skip

_REDUCTIONS: dict[str, str] = {
    "sum": "ReduceSum", "nansum": "ReduceSum", "mean": "ReduceMean", "amax": "ReduceMax",
    "amin": "ReduceMin", "max": "ReduceMax", "min": "ReduceMin", "prod": "ReduceProd",
    "logsumexp": "ReduceLogSumExp",
}  # fmt: skip


def _base(name: str) -> str:
    """``add_`` -> ``add``: in-place variants lower like the op."""
    return name[:-1] if name.endswith("_") and not name.startswith("_") else name


def _operands(call: OpCall) -> list:
    return [call.spec(call.args[n]) for n in _OPERANDS if call.args.get(n) is not None]


def lower_elementwise(call: OpCall) -> list[Node]:
    """One ONNX elementwise node over the call's operands (scalars become rank-0 constants)."""
    return [call.node(_ELEMENTWISE[_base(call.op_name)], _operands(call), call.outputs())]


def lower_activation(call: OpCall) -> list[Node]:
    """An activation with attributes (``gelu(approximate=...)`` -> Gelu ``approximate``)."""
    op, attr_names = _ACTIVATION_ATTRS[_base(call.op_name)]
    x = call.args["self"]
    inputs = [call.spec(x)]
    attrs = {}
    for arg, attr in attr_names.items():
        value = call.args.get(arg)
        if isinstance(value, torch.Tensor):  # clamp.Tensor: tensor bounds are operands
            inputs.append(call.spec(value))
        elif value is not None:
            attrs[attr] = value
    return [call.node(op, inputs, call.outputs(), **attrs)]


def lower_silu(call: OpCall) -> list[Node]:
    """SiLU is Swish with alpha 1: x * sigmoid(x) (Ramachandran et al. 2017)."""
    return [call.node("Swish", [call.spec(call.args["self"])], call.outputs(), alpha=1.0)]


def lower_hardsigmoid(call: OpCall) -> list[Node]:
    """PyTorch's Hardsigmoid is relu6(x + 3) / 6: ONNX HardSigmoid with alpha 1/6, beta 0.5."""
    x = call.spec(call.args["self"])
    return [call.node("HardSigmoid", [x], call.outputs(), alpha=1 / 6, beta=0.5)]


def lower_rsqrt(call: OpCall) -> list[Node]:
    """rsqrt(x) = 1 / sqrt(x): Sqrt then Reciprocal, as ONNX spells it (2 ops per element)."""
    x = call.spec(call.args["self"])
    root = call.temp(x.shape, x.dtype)
    return [call.node("Sqrt", [x], [root]), call.node("Reciprocal", [root], call.outputs())]


def lower_add_sub(call: OpCall) -> list[Node]:
    """add/sub(self, other, alpha) = self +- alpha * other; rsub = other - alpha * self."""
    first, second = call.args["self"], call.args["other"]
    if call.op_name == "rsub":
        first, second = second, first
    op = "Add" if _base(call.op_name) == "add" else "Sub"
    a, b = call.spec(first), call.spec(second)
    alpha = call.arg("alpha", 1)
    nodes = []
    if alpha != 1:
        scaled = call.temp(b.shape, b.dtype)
        nodes.append(call.node("Mul", [b, call.spec(alpha)], [scaled]))
        b = scaled
    return [*nodes, call.node(op, [a, b], call.outputs())]


def lower_ne(call: OpCall) -> list[Node]:
    """a != b is Not(Equal(a, b)) in ONNX."""
    out = call.output()
    equal = call.temp(out.shape, "bool")
    operands = _operands(call)
    return [call.node("Equal", operands, [equal]), call.node("Not", [equal], [out])]


def lower_masked_fill(call: OpCall) -> list[Node]:
    """masked_fill(self, mask, value) = Where(mask, value, self)."""
    inputs = [call.spec(call.args["mask"]), call.spec(call.args["value"])]
    return [call.node("Where", [*inputs, call.spec(call.args["self"])], call.outputs())]


def lower_free(call: OpCall) -> list[Node]:
    """Data movement: the ONNX op moving data the same way, over every tensor argument."""
    inputs = []
    for value in call.args.values():
        if isinstance(value, torch.Tensor):
            inputs.append(call.spec(value))
        elif isinstance(value, (list, tuple)):
            inputs.extend(call.spec(v) for v in value if isinstance(v, torch.Tensor))
    op = _FREE.get(call.op_name) or _FREE[_base(call.op_name)]
    adds = call.op_name in ("scatter_add", "_unsafe_masked_index_put_accumulate")
    attrs = {"reduction": "add"} if adds or call.arg("accumulate") else {}
    return [call.node(op, inputs, call.outputs(), **attrs)]


def lower_to_copy(call: OpCall) -> list[Node]:
    """``_to_copy``/``to``: Cast when the dtype changes, else Identity (a device or layout copy)."""
    x = call.spec(call.args["self"])
    out = call.output()
    if out.dtype == x.dtype:
        return [call.node("Identity", [x], [out])]
    return [call.node("Cast", [x], [out], to=out.dtype)]


def _axes(call: OpCall) -> list[int] | None:
    dim = call.args.get("dim")
    if dim is None or (isinstance(dim, (list, tuple)) and not dim):
        return None  # every axis
    return [int(dim)] if isinstance(dim, int) else [int(d) for d in dim]


def lower_reduce(call: OpCall) -> list[Node]:
    """sum/mean/amax/... over ``dim`` (all axes when absent); max/min with ``other`` are
    elementwise."""
    if call.op_name in ("max", "min") and call.overload == "other":
        op = "Max" if call.op_name == "max" else "Min"
        return [call.node(op, _operands(call), call.outputs())]
    keep = bool(call.arg("keepdim", False))
    axes = _axes(call)
    x = call.spec(call.args["self"])
    if call.op_name == "mean" and keep and _spatial(axes, x.rank):
        return [call.node("GlobalAveragePool", [x], call.outputs())]
    attrs: dict = {"keepdims": int(keep)}
    if axes is not None:
        attrs["axes"] = axes
    return [call.node(_REDUCTIONS[call.op_name], [x], call.outputs(), **attrs)]


def _spatial(axes: list[int] | None, rank: int) -> bool:
    """Do ``axes`` name every axis after (N, C)? A keepdim mean over them is how PyTorch
    computes ``adaptive_avg_pool2d(x, 1)``: ONNX GlobalAveragePool."""
    return axes is not None and rank >= 3 and sorted(a % rank for a in axes) == [*range(2, rank)]


def lower_arg_reduce(call: OpCall) -> list[Node]:
    """argmax/argmin over ``dim``; without ``dim`` over the flattened input (axis 0)."""
    x = call.spec(call.args["self"])
    dim = call.args.get("dim")
    if dim is None:
        x, dim = call.temp((math.prod(x.shape),), x.dtype), 0
    op = "ArgMax" if call.op_name == "argmax" else "ArgMin"
    keep = int(bool(call.arg("keepdim", False)))
    return [call.node(op, [x], call.outputs(), axis=int(dim), keepdims=keep)]


def lower_cumsum(call: OpCall) -> list[Node]:
    """cumsum(self, dim) = ONNX CumSum along ``axis``."""
    x = call.spec(call.args["self"])
    return [call.node("CumSum", [x], call.outputs(), axis=int(call.args["dim"]))]


def lower_vector_norm(call: OpCall) -> list[Node]:
    """linalg_vector_norm with ord 2 or 1 = ReduceL2 / ReduceL1; other orders are unsupported."""
    order = call.arg("ord", 2)
    if order not in (1, 2):
        return [call.unsupported()]
    attrs: dict = {"keepdims": int(bool(call.arg("keepdim", False)))}
    axes = _axes(call)
    if axes is not None:
        attrs["axes"] = axes
    op = "ReduceL2" if order == 2 else "ReduceL1"
    return [call.node(op, [call.spec(call.args["self"])], call.outputs(), **attrs)]


def _with_inplace(names: list[str], lowering: Lowering) -> dict[str, Lowering]:
    table = {name: lowering for name in names}
    table.update({f"{name}_": lowering for name in names if not name.startswith("_")})
    return table


SIMPLE_LOWERINGS: dict[str, Lowering] = {
    **_with_inplace(list(_ELEMENTWISE), lower_elementwise),
    **_with_inplace(list(_ACTIVATION_ATTRS), lower_activation),
    **_with_inplace(["add", "sub"], lower_add_sub),
    **_with_inplace(["silu"], lower_silu),
    **_with_inplace(["hardsigmoid"], lower_hardsigmoid),
    **_with_inplace(["rsqrt"], lower_rsqrt),
    **_with_inplace(["ne"], lower_ne),
    **_with_inplace(["masked_fill"], lower_masked_fill),
    "rsub": lower_add_sub,
    **{name: lower_free for name in _FREE},
    **{name: lower_free for name in ("index_put_", "scatter_", "scatter_add_", "bernoulli_")},
    "_to_copy": lower_to_copy,
    "to": lower_to_copy,
    **{name: lower_reduce for name in _REDUCTIONS},
    "argmax": lower_arg_reduce,
    "argmin": lower_arg_reduce,
    "cumsum": lower_cumsum,
    "linalg_vector_norm": lower_vector_norm,
}
