"""The aten -> IR table of the PyTorch frontend: `LOWERINGS`, one named function per op family.

Forward families live here (contractions, convolution, normalisation, pooling, softmax,
attention, embedding, dropout, resize), the simple families (elementwise, data movement,
reductions) in `torch_aten_simple`, the backward-only ops in `torch_aten_backward`. Mapping:

==========================================  ==================================================
aten                                        IR (ONNX names and attributes)
==========================================  ==================================================
convolution(transposed=False/True)          Conv / ConvTranspose (W layouts coincide:
                                            PyTorch (C_in, C_out/g, *k) = ONNX ConvTranspose)
mm, bmm, mv, dot, vdot                      MatMul
addmm                                       Gemm (A, B, C; alpha, beta)
baddbmm, addmv / addbmm / _addmm_activation MatMul (+ ReduceSum) + Mul/Add / Gemm + Relu|Gelu
native_layer_norm                           LayerNormalization (axis, epsilon)
native_batch_norm, _native_batch_norm_*,    BatchNormalization (epsilon, momentum,
_batch_norm_with_update / _no_update        training_mode)
native_group_norm, _fused_rms_norm          GroupNormalization, RMSNormalization
max/avg_pool{1,2,3}d                        MaxPool / AveragePool
_adaptive_avg_pool*, adaptive_max_pool*     GlobalAveragePool / GlobalMaxPool for a 1x1 output,
                                            else AveragePool / MaxPool with the widest window
_softmax, _safe_softmax, _log_softmax       Softmax / LogSoftmax (axis)
_scaled_dot_product_*_attention*            ScaledDotProductAttention (is_causal, scale)
embedding                                   Gather (axis 0)
native_dropout                              Dropout (ratio, training_mode)
upsample_*                                  Resize (mode)
add, mul, relu, gelu, clamp, where, ...     Add, Mul, Relu, Gelu, Clip, Where, ... (one each)
rsqrt / silu / log1p / ne                   Sqrt + Reciprocal / Swish / Add + Log / Equal + Not
sum, mean, amax, argmax, cumsum, ...        ReduceSum, ReduceMean (GlobalAveragePool over all
                                            spatial axes), ReduceMax, ArgMax, CumSum, ...
view, t, permute, expand, cat, slice,       Reshape, Transpose, Expand, Concat, Slice, Gather,
index_select, _to_copy, clone, zeros, ...   Cast, Identity, ConstantOfShape, ... (free)
convolution_backward, avg_pool*_backward    ConvTranspose + Conv + ReduceSum / ConvTranspose
*_backward of norms, activations, softmax;  their torch._decomp reference decompositions,
var, glu, addcmul, lerp, roll, ...          recorded op by op (torch_aten_backward.DECOMPOSED)
==========================================  ==================================================

Python-level calls are intercepted before they reach aten (`torch_capture`):
``F.scaled_dot_product_attention`` -> one ScaledDotProductAttention node; training-mode
``F.dropout`` (and 1d/2d/3d/alpha) -> one Dropout node. An op absent from the table becomes
``<namespace>.<name>`` (``aten.cumprod``): reported as unsupported, never dropped.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import torch

from flopcount.frontends.torch_aten_backward import BACKWARD_LOWERINGS
from flopcount.frontends.torch_aten_simple import SIMPLE_LOWERINGS
from flopcount.frontends.torch_call import (
    Lowering,
    OpCall,
    adaptive_window,
    batched,
    conv_attrs,
    ints,
    spatial_rank,
)
from flopcount.ir import Node, TensorSpec

__all__ = ["LOWERINGS"]


def lower_convolution(call: OpCall) -> list[Node]:
    """convolution(input, weight, bias, stride, padding, dilation, transposed, output_padding,
    groups) -> Conv or ConvTranspose; X (N, C, *spatial), W in ONNX layout, optional B."""
    w = call.args["weight"]
    attrs = conv_attrs(w.shape, call.args["stride"], call.args["padding"],
                       call.args["dilation"], call.args["groups"])  # fmt: skip
    inputs = [*call.specs("input", "weight"), *call.specs("bias")]
    if not call.arg("transposed", False):
        return [call.node("Conv", inputs, call.outputs(), **attrs)]
    attrs["output_padding"] = ints(call.arg("output_padding", 0), w.dim() - 2)
    return [call.node("ConvTranspose", inputs, call.outputs(), **attrs)]


def lower_matmul(call: OpCall) -> list[Node]:
    """mm/bmm/mv/dot/vdot(self, other): numpy matmul semantics = ONNX MatMul."""
    other = next(call.args[n] for n in ("mat2", "vec", "tensor", "other") if n in call.args)
    operands = [call.operand_spec(call.args["self"]), call.operand_spec(other)]
    return [call.node("MatMul", operands, call.outputs())]


def lower_addmm(call: OpCall) -> list[Node]:
    """addmm(self=C, mat1=A, mat2=B, beta, alpha) = alpha * A @ B + beta * C: ONNX Gemm."""
    inputs = call.specs("mat1", "mat2", "self")
    attrs = {"alpha": float(call.arg("alpha", 1)), "beta": float(call.arg("beta", 1))}
    if call.op_name != "_addmm_activation":
        return [call.node("Gemm", inputs, call.outputs(), **attrs)]
    out = call.output()
    gemm = call.temp(out.shape, out.dtype)
    if call.arg("use_gelu", False):  # the fused epilogue uses the tanh approximation
        act = call.node("Gelu", [gemm], [out], approximate="tanh")
    else:
        act = call.node("Relu", [gemm], [out])
    return [call.node("Gemm", inputs, [gemm], **attrs), act]


def _finish(call: OpCall, nodes: list[Node]) -> list[Node]:
    """Make the last node of a chain write the call's output."""
    return [*nodes[:-1], dataclasses.replace(nodes[-1], outputs=call.outputs()[:1])]


def lower_add_matmul(call: OpCall) -> list[Node]:
    """baddbmm/addbmm/addmv(self, A, B, beta, alpha) = beta * self + alpha * (A @ B), where
    addbmm also sums the batch of products: MatMul (+ ReduceSum) + Mul + Add nodes."""
    a, b = (v for n, v in call.args.items() if n != "self" and isinstance(v, torch.Tensor))
    sa, sb = call.spec(a), call.spec(b)
    out = call.output()
    batched = (*sa.shape[:-1], *sb.shape[-1:]) if sb.rank > 1 else sa.shape[:-1]
    product = call.temp(batched, out.dtype)
    nodes = [call.node("MatMul", [sa, sb], [product])]
    if call.op_name == "addbmm":
        summed = call.temp(out.shape, out.dtype)
        nodes.append(call.node("ReduceSum", [product], [summed], axes=[0], keepdims=0))
        product = summed
    alpha, beta = call.arg("alpha", 1), call.arg("beta", 1)
    if alpha != 1:
        scaled = call.temp(out.shape, out.dtype)
        nodes.append(call.node("Mul", [product, call.spec(alpha)], [scaled]))
        product = scaled
    if beta != 0:
        c = call.spec(call.args["self"])
        if beta != 1:
            c_scaled = call.temp(c.shape, c.dtype)
            nodes.append(call.node("Mul", [c, call.spec(beta)], [c_scaled]))
            c = c_scaled
        nodes.append(call.node("Add", [product, c], [out]))
    return _finish(call, nodes)


def _optional(call: OpCall, name: str, channels: int, label: str) -> TensorSpec:
    """An optional per-channel operand; absent, a constant (what ONNX export writes)."""
    value = call.args.get(name)
    if value is not None:
        return call.spec(value)
    return call.constant((channels,), call.dtype("input"), label)


def lower_layer_norm(call: OpCall) -> list[Node]:
    """native_layer_norm(input, normalized_shape, weight, bias, eps) -> LayerNormalization over
    the last len(normalized_shape) dims; no weight: a constant unit Scale (as ONNX export)."""
    shape = [int(d) for d in call.args["normalized_shape"]]
    scale = call.args.get("weight")
    inputs = [call.spec(call.args["input"])]
    inputs.append(call.spec(scale) if scale is not None else call.constant(shape, inputs[0].dtype,
                                                                            "ones"))  # fmt: skip
    inputs += call.specs("bias")
    eps = float(call.arg("eps", 1e-5))
    return [call.node("LayerNormalization", inputs, call.outputs(), axis=-len(shape), epsilon=eps)]


# Batch-norm variants whose training flag is implied by the op rather than an argument.
_BATCH_NORM_TRAINING: dict[str, bool] = {
    "_native_batch_norm_legit_no_training": False,
    "_batch_norm_with_update": True,
    "_batch_norm_no_update": False,
}


def lower_batch_norm(call: OpCall) -> list[Node]:
    """native_batch_norm & co (input, weight, bias, running_mean, running_var, [training,]
    momentum, eps) -> BatchNormalization(X, scale, B, mean, var)."""
    x = call.spec(call.args["input"])
    channels = x.shape[1] if x.rank > 1 else 1
    inputs = [x] + [
        _optional(call, name, channels, label)
        for name, label in (("weight", "ones"), ("bias", "zeros"),
                            ("running_mean", "batch_mean"), ("running_var", "batch_var"))
    ]  # fmt: skip
    training = _BATCH_NORM_TRAINING.get(call.op_name, bool(call.arg("training", False)))
    attrs = {
        "epsilon": float(call.arg("eps", call.arg("epsilon", 1e-5))),
        "momentum": float(call.arg("momentum", call.arg("exponential_average_factor", 0.1))),
        "training_mode": int(training),
    }
    return [call.node("BatchNormalization", inputs, call.outputs(), **attrs)]


def lower_group_norm(call: OpCall) -> list[Node]:
    """native_group_norm(input, weight, bias, N, C, HxW, group, eps) -> GroupNormalization."""
    x = call.spec(call.args["input"])
    channels = x.shape[1]
    inputs = [x, _optional(call, "weight", channels, "ones"),
              _optional(call, "bias", channels, "zeros")]  # fmt: skip
    attrs = {"num_groups": int(call.args["group"]), "epsilon": float(call.arg("eps", 1e-5))}
    return [call.node("GroupNormalization", inputs, call.outputs(), **attrs)]


def lower_rms_norm(call: OpCall) -> list[Node]:
    """_fused_rms_norm(input, normalized_shape, weight, eps) -> RMSNormalization (opset 23)."""
    shape = [int(d) for d in call.args["normalized_shape"]]
    x = call.spec(call.args["input"])
    scale = call.args.get("weight")
    inputs = [x, call.spec(scale) if scale is not None else call.constant(shape, x.dtype, "ones")]
    attrs: dict[str, Any] = {"axis": -len(shape)}
    if call.args.get("eps") is not None:
        attrs["epsilon"] = float(call.args["eps"])
    return [call.node("RMSNormalization", inputs, call.outputs(), **attrs)]


def lower_pool(call: OpCall) -> list[Node]:
    """max_pool / avg_pool (self, kernel_size, stride=kernel, padding, [dilation,] ceil_mode,
    [count_include_pad, divisor_override]) -> MaxPool / AveragePool."""
    ndim = spatial_rank(call)
    kernel = ints(call.args["kernel_size"], ndim)
    pads = ints(call.arg("padding", 0), ndim)
    attrs: dict[str, Any] = {
        "kernel_shape": kernel,
        "strides": ints(call.arg("stride", []), ndim, default=kernel),
        "pads": pads + pads,
        "ceil_mode": int(bool(call.arg("ceil_mode", False))),
    }
    if call.op_name.startswith("max"):
        attrs["dilations"] = ints(call.arg("dilation", 1), ndim)
        op = "MaxPool"
    else:
        attrs["count_include_pad"] = int(bool(call.arg("count_include_pad", True)))
        if call.args.get("divisor_override") is not None:
            attrs["divisor_override"] = int(call.args["divisor_override"])
        op = "AveragePool"
    return [call.node(op, [batched(call, call.args["self"], ndim)], call.outputs(), **attrs)]


def lower_adaptive_pool(call: OpCall) -> list[Node]:
    """_adaptive_avg_pool / adaptive_max_pool (self, output_size) -> Global* for a 1x1 output,
    else AveragePool / MaxPool with `adaptive_window` kernels."""
    ndim = spatial_rank(call)
    x = batched(call, call.args["self"], ndim)
    out = ints(call.args["output_size"], ndim)
    kind = "Max" if "max" in call.op_name else "Average"
    if all(o == 1 for o in out):
        return [call.node(f"Global{kind}Pool", [x], call.outputs())]
    windows = [adaptive_window(s, o) for s, o in zip(x.shape[2:], out)]
    attrs = {"kernel_shape": [k for k, _ in windows], "strides": [s for _, s in windows],
             "pads": [0] * (2 * ndim)}  # fmt: skip
    return [call.node(f"{kind}Pool", [x], call.outputs(), **attrs)]


def lower_softmax(call: OpCall) -> list[Node]:
    """_softmax/_safe_softmax/_log_softmax(self, dim) -> Softmax / LogSoftmax (axis = dim)."""
    op = "LogSoftmax" if "log" in call.op_name else "Softmax"
    out = call.outputs()[:1]
    return [call.node(op, [call.spec(call.args["self"])], out, axis=int(call.args["dim"]))]


def lower_attention(call: OpCall) -> list[Node]:
    """Any scaled_dot_product_attention kernel -> one ScaledDotProductAttention node:
    Q (..., Tq, d), K (..., Tk, d), V (..., Tk, dv), optional mask; attrs is_causal, scale."""
    inputs = call.specs("query", "key", "value", "attn_mask", "attn_bias")
    attrs: dict[str, Any] = {
        "is_causal": bool(call.arg("is_causal", False)),
        "scale": None if call.args.get("scale") is None else float(call.args["scale"]),
    }
    if call.arg("dropout_p", 0.0):
        attrs["dropout_p"] = float(call.args["dropout_p"])
    if call.arg("enable_gqa", False):
        attrs["enable_gqa"] = True
    return [call.node("ScaledDotProductAttention", inputs, call.outputs()[:1], **attrs)]


def lower_embedding(call: OpCall) -> list[Node]:
    """embedding(weight, indices) = Gather(data=weight, indices, axis=0)."""
    return [call.node("Gather", call.specs("weight", "indices"), call.outputs(), axis=0)]


def lower_dropout(call: OpCall) -> list[Node]:
    """native_dropout(input, p, train) -> Dropout (outputs: output, mask)."""
    attrs = {"ratio": float(call.args["p"]), "training_mode": int(bool(call.arg("train", True)))}
    return [call.node("Dropout", call.specs("input"), call.outputs(), **attrs)]


def lower_resize(call: OpCall) -> list[Node]:
    """upsample_{nearest,linear,bilinear,bicubic,trilinear}*d -> Resize(mode)."""
    name = call.op_name
    mode = "nearest" if "nearest" in name else "cubic" if "bicubic" in name else "linear"
    attrs: dict[str, Any] = {"mode": mode}
    if call.arg("align_corners", False):
        attrs["coordinate_transformation_mode"] = "align_corners"
    x = call.args.get("self", call.args.get("input"))
    return [call.node("Resize", [call.spec(x)], call.outputs(), **attrs)]


def _names(prefix: str, suffixes: Sequence[str]) -> list[str]:
    return [prefix.format(s) for s in suffixes]


LOWERINGS: dict[str, Lowering] = {
    **SIMPLE_LOWERINGS,
    **BACKWARD_LOWERINGS,
    "convolution": lower_convolution,
    "_convolution": lower_convolution,
    **{name: lower_matmul for name in ("mm", "bmm", "mv", "dot", "vdot")},
    "addmm": lower_addmm,
    "_addmm_activation": lower_addmm,
    **{name: lower_add_matmul for name in ("baddbmm", "addbmm", "addmv")},
    "native_layer_norm": lower_layer_norm,
    **{name: lower_batch_norm for name in (
        "native_batch_norm", "_native_batch_norm_legit", "_native_batch_norm_legit_no_training",
        "_batch_norm_with_update", "_batch_norm_no_update", "cudnn_batch_norm",
        "miopen_batch_norm")},
    "native_group_norm": lower_group_norm,
    "_fused_rms_norm": lower_rms_norm,
    **{name: lower_pool for name in (
        *_names("max_pool{}d", "123"), *_names("max_pool{}d_with_indices", "23"),
        *_names("avg_pool{}d", "123"))},
    **{name: lower_adaptive_pool for name in (
        *_names("_adaptive_avg_pool{}d", "23"), "adaptive_avg_pool1d",
        *_names("adaptive_max_pool{}d", "123"))},
    **{name: lower_softmax for name in ("_softmax", "_safe_softmax", "softmax", "_log_softmax",
                                       "log_softmax")},
    **{name: lower_attention for name in (
        "_scaled_dot_product_flash_attention_for_cpu", "_scaled_dot_product_flash_attention",
        "_scaled_dot_product_efficient_attention", "_scaled_dot_product_cudnn_attention",
        "_scaled_dot_product_fused_attention_overrideable", "scaled_dot_product_attention")},
    "embedding": lower_embedding,
    "native_dropout": lower_dropout,
    **{name: lower_resize for name in (
        "upsample_nearest1d", "upsample_nearest2d", "upsample_nearest3d",
        "_upsample_nearest_exact2d", "upsample_linear1d", "upsample_bilinear2d",
        "upsample_bicubic2d", "upsample_trilinear3d")},
}  # fmt: skip
