"""Cost formulas of the quantized ops (ai.onnx and ONNX Runtime's com.microsoft ones).

Conventions (``docs/onnx.md``, "Quantized ops"):

- ``macs`` counts multiply-accumulates of every dtype: an int8 convolution has the MACs of
  the float one, so MAC totals compare across precisions.
- ``int_ops`` = 2 per integer MAC (multiply and add) + integer elementwise work: zero-point
  subtractions (once per operand element, as kernels subtract before the contraction), int32
  bias adds, and requantisation's zero-point add and saturation (2 compares).
- ``flops`` counts floating-point work only: scaling by the scales, rounding (1 FLOP, as
  every elementary function), dequantised float arithmetic. An integer contraction has
  ``flops == 0`` for its MACs.

Requantisation of an int32 accumulator (ONNX QLinearConv / QLinearMatMul spec): multiply by
the combined scale x_scale * w_scale / y_scale (1 FLOP; forming the combined scale costs 2 per
scale element), round (1 FLOP), add y_zero_point and saturate (3 int_ops).
"""

from __future__ import annotations

import math

from flopcount.costs._common import flops, optional_input, require_inputs
from flopcount.costs.cost import Cost
from flopcount.costs.elementwise import ELEMENTWISE_CONSTANTS
from flopcount.costs.onnx_ops import proxy
from flopcount.costs.ops_contraction import conv_geometry, matmul
from flopcount.costs.pooling import average_pool, global_pool
from flopcount.costs.registry import CostFormula, register
from flopcount.costs.softmax import softmax
from flopcount.ir import Node, TensorSpec

__all__ = ["dequantize", "integer_contraction", "quantize", "requantize"]

MS = "com.microsoft"


def integer_contraction(macs: int, *zero_pointed: TensorSpec | None) -> Cost:
    """``macs`` integer MACs, and one zero-point subtract per element of each operand given."""
    subtracts = sum(t.numel for t in zero_pointed if t is not None)
    return Cost(macs=macs, int_ops=2 * macs + subtracts)


def _given(node: Node, index: int, operand: TensorSpec) -> TensorSpec | None:
    """``operand`` when the zero point at ``index`` is given (its subtracts count), else None."""
    return operand if optional_input(node, index) is not None else None


def _products(node: Node, a: TensorSpec, b: TensorSpec) -> tuple[int, int]:
    """(MACs, output elements) of the MatMul a @ b (numpy rules, `ops_contraction.matmul`)."""
    macs = matmul(proxy(node, "MatMul", (a, b))).macs
    k = a.shape[-1]
    return macs, macs // k if k else math.prod(node.outputs[0].shape) if node.outputs else 0


def requantize(outputs: int, scale: TensorSpec | None = None) -> Cost:
    """int32 accumulators -> quantized outputs (module docstring)."""
    combine = 2 * (scale.numel if scale is not None else 1)
    return Cost(flops=2 * outputs + combine, flops_exact=2 * outputs + combine, int_ops=3 * outputs)


def quantize(elements: int, zero_point: bool = True) -> Cost:
    """saturate(round(x / scale) + zero_point): divide and round (2 FLOPs), zero-point add (if
    any) and saturation's 2 compares (int_ops)."""
    return Cost(flops=2 * elements, flops_exact=2 * elements, int_ops=(2 + zero_point) * elements)


def dequantize(elements: int, zero_point: bool = True) -> Cost:
    """(x - zero_point) * scale: an integer subtract (if a zero point) and a float multiply."""
    return Cost(flops=elements, flops_exact=elements, int_ops=elements * zero_point)


@register("QuantizeLinear")
@register("QuantizeLinear", domain=MS)
def quantize_linear(node: Node) -> Cost:
    """x, y_scale, optional y_zero_point (ONNX QuantizeLinear): `quantize` per element."""
    require_inputs(node, 2, 3)
    return quantize(node.inputs[0].numel, optional_input(node, 2) is not None)


@register("DequantizeLinear")
@register("DequantizeLinear", domain=MS)
def dequantize_linear(node: Node) -> Cost:
    """x, x_scale, optional x_zero_point (ONNX DequantizeLinear): `dequantize` per element."""
    require_inputs(node, 2, 3)
    return dequantize(node.inputs[0].numel, optional_input(node, 2) is not None)


@register("DynamicQuantizeLinear")
def dynamic_quantize_linear(node: Node) -> Cost:
    """x -> (y uint8, y_scale, y_zero_point) (ONNX DynamicQuantizeLinear-11): min and max over
    x (n compares each, n - 1 exact), scale = (max(0, max) - min(0, min)) / 255 (4), zero
    point = saturate(round(-min / scale)) (5), then `quantize` per element."""
    n = node.inputs[0].numel
    stats = Cost(flops=2 * n + 9, flops_exact=2 * max(n - 1, 0) + 9)
    return stats + quantize(n)


@register("MatMulInteger")
def matmul_integer(node: Node) -> Cost:
    """A, B, optional a_zero_point, b_zero_point: an integer MatMul (`integer_contraction`)."""
    require_inputs(node, 2, 4)
    a, b = node.inputs[0], node.inputs[1]
    macs, _ = _products(node, a, b)
    return integer_contraction(macs, _given(node, 2, a), _given(node, 3, b))


@register("ConvInteger")
def conv_integer(node: Node) -> Cost:
    """x, w, optional x_zero_point, w_zero_point: an integer Conv (`integer_contraction`)."""
    require_inputs(node, 2, 4)
    x, w = node.inputs[0], node.inputs[1]
    geo = conv_geometry(proxy(node, "Conv", (x, w), **node.attrs))
    return integer_contraction(geo.macs, _given(node, 2, x), _given(node, 3, w))


@register("QLinearMatMul")
def qlinear_matmul(node: Node) -> Cost:
    """a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp: integer MatMul with both zero
    points, then `requantize` per output."""
    require_inputs(node, 8)
    a, b = node.inputs[0], node.inputs[3]
    macs, outputs = _products(node, a, b)
    return integer_contraction(macs, a, b) + requantize(outputs, node.inputs[4])


@register("QLinearConv")
@register("QLinearConv", domain=MS)
def qlinear_conv(node: Node) -> Cost:
    """x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, optional int32 B: integer Conv with
    both zero points, an int32 bias add per output, then `requantize` per output.
    Example: x (1, 3, 8, 8), w (4, 3, 3, 3), no padding: 4 * 6 * 6 * 27 = 3,888 MACs."""
    require_inputs(node, 8, 9)
    x, w = node.inputs[0], node.inputs[3]
    geo = conv_geometry(proxy(node, "Conv", (x, w), **node.attrs))
    bias = geo.output_elements * int(optional_input(node, 8) is not None)
    return (
        integer_contraction(geo.macs, x, w)
        + Cost(int_ops=bias)
        + requantize(geo.output_elements, node.inputs[4])
    )


@register("QGemm", domain=MS)
def qgemm(node: Node) -> Cost:
    """A, a_scale, a_zp, B, b_scale, b_zp, optional int32 C, optional y_scale, y_zp: integer
    Gemm (transA / transB), C added per output, then `requantize` (or a float scale multiply
    per output when y_scale is absent and the output is float)."""
    require_inputs(node, 6, 9)
    a, b = node.inputs[0], node.inputs[3]
    m = a.shape[1] if node.attr("transA", 0) else a.shape[0]
    k = a.shape[0] if node.attr("transA", 0) else a.shape[1]
    n = b.shape[0] if node.attr("transB", 0) else b.shape[1]
    outputs = m * n
    adds = outputs * int(optional_input(node, 6) is not None)
    scaling = requantize(outputs, node.inputs[4]) if optional_input(node, 7) else flops(outputs)
    return integer_contraction(m * k * n, a, b) + Cost(int_ops=adds) + scaling


@register("QLinearAdd", "QLinearMul", domain=MS)
def qlinear_binary(node: Node) -> Cost:
    """A, A_scale, A_zp, B, B_scale, B_zp, C_scale, C_zp (ONNX Runtime computes in float):
    `dequantize` both operands, 1 add or multiply per output, `quantize` the result."""
    require_inputs(node, 7, 8)
    a, b = node.inputs[0], node.inputs[3]
    outputs = node.outputs[0].numel if node.outputs else max(a.numel, b.numel)
    return dequantize(a.numel) + dequantize(b.numel) + flops(outputs) + quantize(outputs)


def _dequantized(formula: CostFormula, op: str) -> CostFormula:
    """A QLinear op as dequantize -> the float op ``formula`` -> quantize."""

    def cost(node: Node) -> Cost:
        x = node.inputs[0]
        as_float = TensorSpec(shape=x.shape, dtype="float32", name=x.name)
        outputs = node.outputs[0].numel if node.outputs else x.numel
        return (
            dequantize(x.numel)
            + formula(proxy(node, op, (as_float,), **node.attrs))
            + (quantize(outputs))
        )

    cost.__doc__ = f"dequantize X, float {op} (flopcount.costs), quantize Y."
    return cost


def _activation(name: str) -> CostFormula:
    per_element = ELEMENTWISE_CONSTANTS[name]

    def cost(node: Node) -> Cost:
        return flops(per_element * node.inputs[0].numel)

    return cost


register("QLinearSigmoid", domain=MS)(_dequantized(_activation("Sigmoid"), "Sigmoid"))
register("QLinearLeakyRelu", domain=MS)(_dequantized(_activation("LeakyRelu"), "LeakyRelu"))
register("QLinearSoftmax", domain=MS)(_dequantized(softmax, "Softmax"))
register("QLinearAveragePool", domain=MS)(_dequantized(average_pool, "AveragePool"))
register("QLinearGlobalAveragePool", domain=MS)(_dequantized(global_pool, "GlobalAveragePool"))


@register("QLinearConcat", domain=MS)
def qlinear_concat(node: Node) -> Cost:
    """Y_scale, Y_zp, then (X, scale, zp) per input: each input requantised to Y's scale
    (`dequantize` then `quantize` per element); the concatenation itself moves data."""
    elements = sum(t.numel for t in node.inputs[2::3])
    return dequantize(elements) + quantize(elements)


@register("DynamicQuantizeMatMul", domain=MS)
def dynamic_quantize_matmul(node: Node) -> Cost:
    """A float, B int8, b_scale, optional b_zp, optional bias: A quantized on the fly
    (`dynamic_quantize_linear`), an integer MatMul, a float scale multiply per output and
    the bias add."""
    require_inputs(node, 3, 5)
    a, b = node.inputs[0], node.inputs[1]
    macs, outputs = _products(node, a, b)
    quant = dynamic_quantize_linear(proxy(node, "DynamicQuantizeLinear", (a,)))
    bias = outputs * int(optional_input(node, 4) is not None)
    return quant + integer_contraction(macs, a, _given(node, 3, b)) + flops(outputs + bias)


@register("MatMulIntegerToFloat", domain=MS)
def matmul_integer_to_float(node: Node) -> Cost:
    """A, B (integers), a_scale, b_scale, optional a_zp, b_zp, bias: integer MatMul, then a
    float scale multiply per output (+ the bias add)."""
    require_inputs(node, 4, 7)
    a, b = node.inputs[0], node.inputs[1]
    macs, outputs = _products(node, a, b)
    zps = (_given(node, 4, a), _given(node, 5, b))
    bias = outputs * int(optional_input(node, 6) is not None)
    return integer_contraction(macs, *zps) + flops(outputs + bias)


@register("QOrderedMatMul", domain=MS)
def qordered_matmul(node: Node) -> Cost:
    """A, scale_A, B, scale_B, scale_Y, optional bias, C, scale_C (int8, CUDA ordered layouts):
    an integer MatMul (symmetric: no zero points) and `requantize` per output."""
    require_inputs(node, 5, 8)
    macs, outputs = _products(node, node.inputs[0], node.inputs[2])
    return integer_contraction(macs) + requantize(outputs)
