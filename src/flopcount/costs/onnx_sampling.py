"""Cost formulas of the resampling ai.onnx ops: Resize, Upsample, GridSample, AffineGrid,
RoiAlign, DeformConv and Col2Im.

Interpolation is counted as nested 1-D interpolations, the way separable kernels evaluate it
(ONNX Runtime's and PyTorch's upsample kernels): along d interpolated axes an output element
from a t^d neighbourhood costs (t^d - 1) / (t - 1) one-dimensional t-tap interpolations:

- linear (t = 2): a lerp ``a + w * (b - a)``: 3 FLOPs; 2-D bilinear = 3 lerps = 9 FLOPs.
- cubic (t = 4): a 4-tap weighted sum: 4 multiplies + 3 adds = 7; 2-D bicubic = 5 * 7 = 35.
- nearest: no arithmetic (a copy).

Weights that depend only on an output coordinate along one axis are computed once per axis
index (O(sum of output dims), not counted); weights that vary per sampled point (GridSample,
RoiAlign, DeformConv) are counted per point with the constants below.
"""

from __future__ import annotations

import math

from flopcount.costs._common import (
    arithmetic,
    cost_error,
    flops,
    int_attr,
    optional_input,
    require_inputs,
    require_rank,
)
from flopcount.costs.contraction import matmul_cost
from flopcount.costs.cost import Cost
from flopcount.costs.onnx_ops import proxy
from flopcount.costs.ops_contraction import conv_formula
from flopcount.costs.registry import register
from flopcount.ir import Node

__all__ = ["interpolation_flops"]

TAPS = {"nearest": 1, "linear": 2, "bilinear": 2, "trilinear": 2, "cubic": 4, "bicubic": 4}
PER_TAP_SUM = {2: 3, 4: 7}  # lerp a + w * (b - a); 4-tap sum: 4 multiplies + 3 adds
# Per sampled point and interpolated axis, when coordinates vary per point: floor and
# fraction (2), for cubic also 4 Keys cubic-convolution weights (Keys 1981, eq. 15: a
# cubic polynomial each, 6 ops by Horner's rule) = 26; nearest rounds (1).
POINT_WEIGHTS = {1: 1, 2: 2, 4: 26}
BILINEAR_POINT = 12  # 2 coordinate adds + 2 fractions + 2 one-minus + 4 products + 2 adds
BILINEAR_VALUE = 7  # w1*v1 + w2*v2 + w3*v3 + w4*v4: 4 multiplies + 3 adds


def interpolation_flops(mode: str, axes: int) -> int:
    """FLOPs per output element interpolated along ``axes`` axes (module docstring)."""
    taps = TAPS.get(mode, 1)
    if taps == 1 or axes == 0:
        return 0
    return (taps**axes - 1) // (taps - 1) * PER_TAP_SUM[taps]


@register("Resize", "Upsample")
def resize(node: Node) -> Cost:
    """X (N, C, *) -> Y: per output element `interpolation_flops` over the axes whose size
    changes (``mode`` nearest / linear / cubic; Upsample-7..9 "bilinear" is linear)."""
    require_inputs(node, 1, 4)
    x = require_rank(node, 0, 1).shape
    if not node.outputs:
        raise cost_error(node, "needs its output shape", "lower the node with its output spec")
    y = node.outputs[0].shape
    axes = sum(1 for a, b in zip(x, y) if a != b)
    mode = str(node.attr("mode", "nearest")).lower()
    return arithmetic(node, flops(node.outputs[0].numel * interpolation_flops(mode, axes)))


@register("GridSample")
def grid_sample(node: Node) -> Cost:
    """X (N, C, *in), grid (N, *out, d) -> Y (N, C, *out). Per grid point: unnormalise each
    coordinate (align_corners=1: ((x + 1) / 2) * (size - 1), 3 ops; else ((x + 1) * size - 1)
    / 2, 4 ops) and its interpolation weights (`POINT_WEIGHTS`); per output element the
    interpolation sum (`interpolation_flops`)."""
    require_inputs(node, 2)
    x = require_rank(node, 0, 3).shape
    grid = require_rank(node, 1, 3).shape
    d = grid[-1]
    raw = str(node.attr("mode", "linear"))  # opset 16 spells bilinear / bicubic
    mode = {"bilinear": "linear", "bicubic": "cubic"}.get(raw, raw)
    taps = TAPS.get(mode, 2)
    unnormalise = 3 if int_attr(node, "align_corners", 0) else 4
    points = math.prod(grid[:-1])
    per_point = d * (unnormalise + POINT_WEIGHTS[taps])
    values = points * x[1] * interpolation_flops(mode, d)
    return arithmetic(node, flops(points * per_point + values))


@register("AffineGrid")
def affine_grid(node: Node) -> Cost:
    """theta (N, d, d + 1), size -> grid (N, *spatial, d): the ONNX function body multiplies
    the homogeneous base grid (prod(spatial), d + 1) by theta^T: a batched MatMul."""
    theta = require_rank(node, 0, 3, 3).shape
    if not node.outputs:
        raise cost_error(node, "needs its output shape", "lower the node with its output spec")
    points = math.prod(node.outputs[0].shape[1:-1])
    return arithmetic(node, matmul_cost(points, theta[2], theta[1], batch=theta[0]))


@register("RoiAlign")
def roi_align(node: Node) -> Cost:
    """X (N, C, H, W), rois (R, 4), batch_indices (R,) -> Y (R, C, oh, ow) with
    ``sampling_ratio`` s > 0: s * s bilinear samples per output bin; weights per (roi, sample
    point) shared over channels (`BILINEAR_POINT` + 4 for its coordinates), `BILINEAR_VALUE`
    per sampled value, then a mean (s*s adds + 1 divide) or max (s*s compares) per output;
    10 ops per roi (scale 4 coordinates, width, height, 2 bin sizes, 2 sample steps)."""
    require_inputs(node, 3)
    x = require_rank(node, 0, 4, 4).shape
    rois = require_rank(node, 1, 2, 2).shape[0]
    ratio = int_attr(node, "sampling_ratio", 0)
    if ratio <= 0:
        raise cost_error(
            node,
            "sampling_ratio=0 samples ceil(roi_size / output_size) points per bin, a number "
            "set by the ROI coordinates (tensor values)",
            "export with a fixed sampling_ratio > 0 to cost this node",
        )
    bins = rois * int_attr(node, "output_height", 1) * int_attr(node, "output_width", 1)
    samples = ratio * ratio
    outputs = bins * x[1]
    pooled = outputs * (samples + int(node.attr("mode", "avg") == "avg"))
    exact = pooled - outputs  # each bin's first sample starts its sum or max
    per_point = bins * samples * (BILINEAR_POINT + 4) + rois * 10
    values = outputs * samples * BILINEAR_VALUE
    return arithmetic(node, flops(per_point + values + pooled, per_point + values + exact))


@register("DeformConv")
def deform_conv(node: Node) -> Cost:
    """X (N, C, H, W), W (oC, C/group, kH, kW), offset (N, og * 2 * kH * kW, oH, oW),
    optional B, optional mask (Dai et al. 2017, "Deformable Convolutional Networks"): the
    convolution's MACs and bias over the sampled values, plus one bilinear sample per (input
    channel, kernel tap, output position) (`BILINEAR_VALUE`, + 1 multiply by the mask) with
    its weights per (offset group, tap, position) (`BILINEAR_POINT`)."""
    require_inputs(node, 3, 5)
    x = require_rank(node, 0, 4, 4).shape
    w = require_rank(node, 1, 4, 4).shape
    offset = require_rank(node, 2, 4, 4).shape
    bias = optional_input(node, 3)
    conv_inputs = node.inputs[:2] + ((bias,) if bias is not None else ())
    conv = conv_formula(proxy(node, "Conv", conv_inputs, **node.attrs))
    taps = w[2] * w[3]
    positions = offset[0] * offset[2] * offset[3]
    points = positions * (offset[1] // 2)  # og * kH * kW sampling points per position
    values = positions * x[1] * taps
    masked = int(optional_input(node, 4) is not None)
    sampling = flops(points * BILINEAR_POINT + values * (BILINEAR_VALUE + masked))
    return conv + arithmetic(node, sampling)


@register("Col2Im")
def col2im(node: Node) -> Cost:
    """input (N, C * prod(block), L) -> image (N, C, *image_shape): every column element is
    added into its image position (fold), one add each."""
    x = require_rank(node, 0, 3, 3)
    return arithmetic(node, flops(x.numel))
