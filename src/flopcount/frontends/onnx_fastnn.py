"""Output dtypes and shapes of the ONNX neural-network ops, from concrete input shapes.

The fast path's rules (`onnx_fastrules` holds the shared helpers, elementwise and data-
movement ops) for convolutions, pooling, normalizations, matrix products, padding and
arg-reductions, each transcribing the op's "Outputs" section in onnx/docs/Operators.md;
anything outside them (auto_pad SAME, rounding ceil_mode, ConvTranspose's output_shape...)
raises `NotFastError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from flopcount.conv.geometry import ConvGeometry
from flopcount.frontends.onnx_fastrules import (
    FLOAT_TYPES,
    NUMBER_TYPES,
    Ins,
    Outs,
    Shape,
    axis_index,
    input_value,
    int_list,
    needs_value,
    shape_at,
    single_output,
    typed,
)
from flopcount.frontends.onnx_small import NotFastError, broadcast

__all__ = ["NN_RULES"]


def normalization(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """LayerNormalization, BatchNormalization (inference): Y has X's shape and dtype."""
    single_output(node)
    layer = node.op_type == "LayerNormalization"
    dtype = typed(
        ins, [i for i, v in enumerate(ins) if v is not None] if layer else [0], FLOAT_TYPES
    )
    if layer:
        axis_index(attrs.get("axis", -1), len(shape_at(ins, 0)))
    elif attrs.get("training_mode", 0) or len(shape_at(ins, 0)) < 2:
        raise NotFastError("BatchNormalization in training mode")
    return [(dtype, shape_at(ins, 0))]


def dropout(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Dropout: output and optional bool mask of X's shape."""
    dtype = typed(ins, [0], FLOAT_TYPES)
    return [(dtype, shape_at(ins, 0)), ("bool", shape_at(ins, 0))][: len(node.output)]


def _spatial(attrs: dict[str, Any], sizes: Shape, kernel: Sequence[int]) -> Shape:
    """Output sizes of a convolution or pooling window over ``sizes`` (ONNX Conv/MaxPool
    "Outputs": floor((in + pad_begin + pad_end - ((k - 1) * dilation + 1)) / stride) + 1)."""
    n = len(sizes)
    pads = int_list(attrs, "pads") or [0] * 2 * n
    strides = int_list(attrs, "strides") or [1] * n
    dilations = int_list(attrs, "dilations") or [1] * n
    if attrs.get("auto_pad", "NOTSET") not in ("NOTSET", "VALID"):
        raise NotFastError(f"auto_pad {attrs.get('auto_pad')}")
    if attrs.get("auto_pad") == "VALID":
        pads = [0] * 2 * n
    if (len(pads), len(strides), len(dilations), len(kernel)) != (2 * n, n, n, n):
        raise NotFastError("window attributes of the wrong length")
    for i in range(n):
        room = sizes[i] + pads[i] + pads[i + n] - ((kernel[i] - 1) * dilations[i] + 1)
        if min(strides[i], dilations[i], kernel[i]) < 1 or room < 0 or min(pads) < 0:
            raise NotFastError("a window larger than its padded input")
        if attrs.get("ceil_mode", 0) and room % strides[i]:
            raise NotFastError("ceil_mode rounding")
    return _out_spatial(sizes, kernel, pads, strides, dilations)


def _out_spatial(
    sizes: Sequence[int],
    kernel: Sequence[int],
    pads: Sequence[int],
    strides: Sequence[int],
    dilations: Sequence[int],
    output_padding: Sequence[int] | None = None,
) -> Shape:
    """Output sizes by `ConvGeometry.out_spatial`, the one place that formula lives (ONNX
    ``pads`` order: every begin, then every end); ``output_padding`` given: transposed."""
    n = len(sizes)
    geo = ConvGeometry(
        batch=1, in_channels=1, out_channels=1, in_spatial=tuple(sizes), kernel=tuple(kernel),
        stride=tuple(strides), padding=tuple((pads[i], pads[i + n]) for i in range(n)),
        dilation=tuple(dilations), transposed=output_padding is not None,
        output_padding=tuple(output_padding or ()),
    )  # fmt: skip
    return geo.out_spatial


def conv(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Conv: X (N, C, *D), W (M, C / group, *k), B (M,) -> (N, M, *D_out)."""
    dtype = typed(ins, [0, 1, 2], FLOAT_TYPES)
    x, w = shape_at(ins, 0), shape_at(ins, 1)
    group = attrs.get("group", 1)
    if len(x) < 3 or len(w) != len(x) or group < 1 or x[1] != w[1] * group or w[0] % group:
        raise NotFastError(f"Conv of {x} with weight {w} in {group} groups")
    if len(ins) > 2 and ins[2] is not None and shape_at(ins, 2) != (w[0],):
        raise NotFastError("Conv bias of the wrong shape")
    kernel = int_list(attrs, "kernel_shape")
    if kernel is not None and tuple(kernel) != w[2:]:
        raise NotFastError("Conv kernel_shape differs from the weight")
    return [(dtype, (x[0], w[0], *_spatial(attrs, x[2:], w[2:])))]


def pool(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """MaxPool / AveragePool: X (N, C, *D) -> (N, C, *D_out) (MaxPool's Indices: int64)."""
    dtype = typed(ins, [0], FLOAT_TYPES)
    x, kernel = shape_at(ins, 0), int_list(attrs, "kernel_shape")
    if len(x) < 3 or kernel is None:
        raise NotFastError("pooling without kernel_shape")
    shape = (x[0], x[1], *_spatial(attrs, x[2:], kernel))
    return [(dtype, shape), ("int64", shape)][: len(node.output)]


def global_pool(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """GlobalAveragePool / GlobalMaxPool: X (N, C, *D) -> (N, C, 1, ..., 1)."""
    dtype = typed(ins, [0], FLOAT_TYPES)
    x = shape_at(ins, 0)
    if len(x) < 3:
        raise NotFastError("global pooling of rank < 3")
    return [(dtype, (x[0], x[1]) + (1,) * (len(x) - 2))]


def gemm(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Gemm: A (M, K) (or (K, M) with transA), B (K, N) (or (N, K)), C broadcast to (M, N)."""
    dtype = typed(ins, [0, 1, 2], NUMBER_TYPES - {"bool"})
    a, b = shape_at(ins, 0), shape_at(ins, 1)
    if len(a) != 2 or len(b) != 2:
        raise NotFastError("Gemm of rank != 2")
    m, k = a[::-1] if attrs.get("transA", 0) else a
    k2, n = b[::-1] if attrs.get("transB", 0) else b
    if k != k2:
        raise NotFastError("Gemm with mismatched K")
    if len(ins) > 2 and ins[2] is not None:
        c = shape_at(ins, 2)
        if len(c) > 2 or any(d not in (1, full) for d, full in zip(c[::-1], (n, m))):
            raise NotFastError("Gemm C does not broadcast to (M, N)")
    return [(dtype, (m, n))]


def matmul(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """MatMul with numpy.matmul's shape rules (1-D operands, broadcast batch dimensions)."""
    dtype = typed(ins, [0, 1], FLOAT_TYPES | {"int32", "int64", "uint32", "uint64"})
    a, b = shape_at(ins, 0), shape_at(ins, 1)
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


def conv_transpose(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """ConvTranspose: X (N, C, *D), W (C, M / group, *k) -> (N, M, *D_out) with
    D_out = stride * (D - 1) + output_padding + (k - 1) * dilation + 1 - pad_begin - pad_end."""
    dtype = typed(ins, [0, 1, 2], FLOAT_TYPES)
    x, w = shape_at(ins, 0), shape_at(ins, 1)
    group, n = attrs.get("group", 1), len(x) - 2
    if len(x) < 3 or len(w) != len(x) or group < 1 or x[1] != w[0] or "output_shape" in attrs:
        raise NotFastError(f"ConvTranspose of {x} with weight {w}")
    kernel = tuple(int_list(attrs, "kernel_shape") or w[2:])
    if attrs.get("auto_pad", "NOTSET") != "NOTSET" or kernel != w[2:]:
        raise NotFastError("ConvTranspose with auto_pad or a kernel_shape of its own")
    pads = int_list(attrs, "pads") or [0] * 2 * n
    strides = int_list(attrs, "strides") or [1] * n
    dilations = int_list(attrs, "dilations") or [1] * n
    extra = int_list(attrs, "output_padding") or [0] * n
    if (len(pads), len(strides), len(dilations), len(extra)) != (2 * n, n, n, n):
        raise NotFastError("ConvTranspose attributes of the wrong length")
    out = _out_spatial(x[2:], w[2:], pads, strides, dilations, extra)
    if min(out, default=1) < 1 or min(strides + dilations, default=1) < 1:
        raise NotFastError("ConvTranspose to an empty output")
    return [(dtype, (x[0], w[1] * group, *out))]


def pad(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """Pad: each axis grows by its begin and end pads (negative pads crop)."""
    for index, key in ((1, "pads"), (3, "axes")):
        needs_value(node, ins, index, attrs, key)
    x, pads = shape_at(ins, 0), int_list(attrs, "pads")
    axes = [axis_index(a, len(x)) for a in (int_list(attrs, "axes") or range(len(x)))]
    if pads is None or len(pads) != 2 * len(axes) or len(set(axes)) != len(axes):
        raise NotFastError("Pad with unknown pads")
    out = list(x)
    for i, axis in enumerate(axes):
        out[axis] += pads[i] + pads[i + len(axes)]
    if min(out, default=0) < 0:
        raise NotFastError("Pad crops below zero")
    return [(input_value(ins, 0).dtype, tuple(out))]


def instance_norm(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """InstanceNormalization: Y has X's shape (N, C, *D)."""
    dtype = typed(ins, [0, 1, 2], FLOAT_TYPES)
    if len(shape_at(ins, 0)) < 3:
        raise NotFastError("InstanceNormalization of rank < 3")
    return [(dtype, shape_at(ins, 0))]


def arg_reduce(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """ArgMax / ArgMin: int64 indices, ``axis`` dropped or kept as 1 (``keepdims``)."""
    x = shape_at(ins, 0)
    typed(ins, [0], NUMBER_TYPES)
    axis = axis_index(attrs.get("axis", 0), len(x))
    keep = attrs.get("keepdims", 1)
    return [("int64", tuple(1 if i == axis else d for i, d in enumerate(x) if keep or i != axis))]


def depth_space(node: Any, attrs: dict[str, Any], ins: Ins) -> Outs:
    """DepthToSpace (N, C, H, W) -> (N, C / b^2, H * b, W * b); SpaceToDepth the reverse."""
    x, block = shape_at(ins, 0), attrs.get("blocksize", 0)
    if len(x) != 4 or block < 1:
        raise NotFastError(f"{node.op_type} of rank != 4")
    n, c, h, w = x
    if node.op_type == "DepthToSpace":
        if c % (block * block):
            raise NotFastError("DepthToSpace channels not divisible")
        return [(input_value(ins, 0).dtype, (n, c // (block * block), h * block, w * block))]
    if h % block or w % block:
        raise NotFastError("SpaceToDepth size not divisible")
    return [(input_value(ins, 0).dtype, (n, c * block * block, h // block, w // block))]


NN_RULES: dict[str, Any] = {
    "LayerNormalization": normalization, "BatchNormalization": normalization,
    "InstanceNormalization": instance_norm, "Dropout": dropout, "Conv": conv,
    "ConvTranspose": conv_transpose, "MaxPool": pool, "AveragePool": pool,
    "GlobalAveragePool": global_pool, "GlobalMaxPool": global_pool, "Gemm": gemm,
    "MatMul": matmul, "Pad": pad, "ArgMax": arg_reduce, "ArgMin": arg_reduce,
    "DepthToSpace": depth_space, "SpaceToDepth": depth_space,
}  # fmt: skip
