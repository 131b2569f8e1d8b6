"""The ``tfprof`` convention: what TensorFlow's profiler reports as ``float_ops``, op by op.

``tf.compat.v1.profiler.profile(graph, options=ProfileOptionBuilder.float_operation())`` sums
the ``"flops"`` statistic that ops register with ``@ops.RegisterStatistics``. The formulas
below reproduce those functions exactly (TensorFlow 2.x sources:
``tensorflow/python/profiler/internal/flops_registry.py`` and, for Conv2D, Conv3D,
DepthwiseConv2dNative, BiasAdd and Dilation2D, ``tensorflow/python/ops/nn_ops.py``),
including their quirks:

- an op type without a registered function counts 0 (Relu, Sigmoid, Tanh, Exp, Einsum,
  FusedBatchNormV3, Pad, ...);
- a function that raises ``ValueError`` counts 0: pools and the transposed convolution in
  NCHW (``_verify_conv_data_format``), and any op whose static shape is not fully defined;
- ``BatchMatMul*`` reads a ``transpose_a`` attribute these ops do not have (they have
  ``adj_x``), so K is always the last dimension of the first operand as stored;
- ``Conv2DBackpropInput`` divides as a float and the logger truncates with ``int()``.

The function reads only the IR node: ``attrs["tf_op"]`` (the original TF op type) and the
specs, which the TensorFlow frontend writes channels-first for convolutions and pools (an
element count does not depend on the layout). Nodes not from TensorFlow count 0.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from flopcount.ir import Node

__all__ = ["TFPROF_OPS", "tfprof_flops"]


def _numel(shape: tuple[int, ...]) -> int:
    return math.prod(shape)


def _in(node: Node) -> int:
    return _numel(node.inputs[0].shape)


def _out(node: Node) -> int:
    return _numel(node.outputs[0].shape)


def _nhwc(node: Node) -> bool:
    """``_verify_conv_data_format``: only NHWC pools and transposed convolutions are counted."""
    return node.attrs.get("tf_data_format", "NHWC") == "NHWC"


# Unary ops: ops_per_element * elements of input 0 (``_unary_op_flops``).
def _unary(node: Node) -> int:
    return _in(node)


def _rsqrt(node: Node) -> int:  # "Rsqrt(x) = 1 / sqrt(x)": 2 per element
    return 2 * _in(node)


def _softmax(node: Node) -> int:  # 2n shifted logits + n exp + 2n normalise = 5 per element
    return 5 * _in(node)


def _l2_loss(node: Node) -> int:  # "TensorFlow uses inefficient implementation, with (3*N-1)"
    return 3 * _in(node) - 1


# Binary ops: ops_per_element * elements of the output (``_binary_per_element_op_flops``).
def _binary(node: Node) -> int:
    return _out(node)


def _twice_out(node: Node) -> int:  # SquaredDifference
    return 2 * _out(node)


def _rsqrt_grad(node: Node) -> int:
    return 4 * _out(node)


# Reductions: in * reduce + out * (finalize - reduce) (``_reduction_op_flops``).
def _mean(node: Node) -> int:  # reduce 1, finalize 1 (the divide)
    return _in(node)


def _sum(node: Node) -> int:  # Sum, ArgMax, ArgMin, BiasAddGrad: reduce 1, finalize 0
    return _in(node) - _out(node)


def _pool(node: Node) -> int:  # kernel area (the full 4-D ksize) * output elements
    if not _nhwc(node):
        return 0
    return math.prod(node.attrs.get("tf_ksize") or node.attrs.get("kernel_shape") or []) * _out(
        node
    )


def _conv(node: Node) -> int:  # output_count * filter_in_depth * filter_h * filter_w * 2
    weight = node.inputs[1].shape  # ONNX layout (C_out, C_in / group, *kernel)
    return _out(node) * math.prod(weight[1:]) * 2


def _depthwise(node: Node) -> int:  # output_count * filter_h * filter_w * 2
    weight = node.inputs[1].shape  # (C_in * multiplier, 1, kh, kw)
    return _out(node) * math.prod(weight[2:]) * 2


def _dilation2d(node: Node) -> int:  # TF layout filter (kh, kw, C)
    weight = node.inputs[1].shape
    return _out(node) * weight[0] * weight[1] * 2


def _conv_backprop_input(node: Node) -> int:
    """2 * out_elements * kernel_elements / (out_channels * stride_h * stride_w), truncated."""
    if not _nhwc(node):
        return 0
    out = node.outputs[0].shape  # channels-first in the IR: channels at index 1
    strides = node.attrs.get("strides") or [1, 1]
    value = 2 * _numel(out) * _numel(node.inputs[1].shape) / (out[1] * strides[0] * strides[1])
    return int(value)


def _bias_add(node: Node) -> int:  # elements of input 0
    return _in(node)


def _add_n(node: Node) -> int:  # elements of input 0 * (len(node.input) - 1), controls included
    count = node.attrs.get("tf_inputs", len(node.inputs))
    return _in(node) * (count - 1) if node.inputs else 0


def _matmul(node: Node) -> int:  # k * output elements * 2, k from transpose_a
    a = node.inputs[0].shape
    k = a[0] if node.attrs.get("transA") else a[1]
    return k * _out(node) * 2


def _batch_matmul(node: Node) -> int:
    """K = the first operand's last dimension as TF stores it (``transpose_a`` is never set)."""
    a = node.inputs[0].shape  # the IR swapped the last two dims when adj_x was set
    k = a[-2] if node.attrs.get("adj_x") else a[-1]
    return k * _out(node) * 2


TFPROF_OPS: dict[str, Callable[[Node], int]] = {
    "Reciprocal": _unary, "Square": _unary, "Log": _unary, "Neg": _unary,
    "AssignSub": _unary, "AssignAdd": _unary, "Rsqrt": _rsqrt, "L2Loss": _l2_loss,
    "Softmax": _softmax,
    "Add": _binary, "AddV2": _binary, "Sub": _binary, "Mul": _binary, "RealDiv": _binary,
    "Maximum": _binary, "Minimum": _binary, "Pow": _binary, "GreaterEqual": _binary,
    "Greater": _binary, "LessEqual": _binary, "Less": _binary, "Equal": _binary,
    "NotEqual": _binary, "SquaredDifference": _twice_out, "RsqrtGrad": _rsqrt_grad,
    "Mean": _mean, "Sum": _sum, "ArgMax": _sum, "ArgMin": _sum, "BiasAddGrad": _sum,
    "AvgPool": _pool, "MaxPool": _pool, "Conv2DBackpropInput": _conv_backprop_input,
    "AddN": _add_n, "MatMul": _matmul, "BatchMatMul": _batch_matmul,
    "BatchMatMulV2": _batch_matmul, "BatchMatMulV3": _batch_matmul,
    "Conv2D": _conv, "Conv3D": _conv, "DepthwiseConv2dNative": _depthwise,
    "BiasAdd": _bias_add, "Dilation2D": _dilation2d,
}  # fmt: skip
"""TF op type -> its profiler formula. AvgPoolGrad, MaxPoolGrad and Conv2DBackpropFilter are
registered by TensorFlow too but appear only in training graphs, which the frontend does not
produce; they count 0 here."""


def tfprof_flops(node: Node) -> int:
    """The profiler's ``float_ops`` for the TF op this IR node was lowered from.

    Only the first node of a lowered chain (``tf_part`` unset) carries the TF op's count, so
    ``Rsqrt`` lowered to ``Sqrt`` + ``Reciprocal`` counts 2 * elements once.
    """
    tf_op = node.attrs.get("tf_op")
    if tf_op is None or node.attrs.get("tf_part"):
        return 0
    formula = TFPROF_OPS.get(tf_op)
    return int(formula(node)) if formula is not None else 0
