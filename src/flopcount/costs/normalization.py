"""Cost formulas of the normalisation ops, built from one standardisation primitive.

Standardisation of ``groups`` groups of ``size`` elements counts the ONNX LayerNormalization
function body (ONNX operator spec, LayerNormalization-17)::

    Mean = ReduceMean(X)          size adds + 1 divide per group (exact: size - 1 adds)
    D    = X - Mean               1 per element (reused by the normalisation below)
    DD   = D * D                  1 per element
    Var  = ReduceMean(DD)         size adds + 1 divide per group (exact: size - 1 adds)
    Inv  = 1 / sqrt(Var + eps)    3 per group: add, sqrt, reciprocal
    Y    = D * Inv                1 per element
    Y    = Y * Scale (+ B)        1 per element per affine op

so 5 FLOPs per element + 5 per group before the affine ops (exact: 2 fewer per group).
"""

from __future__ import annotations

import math

from flopcount.costs._common import (
    accumulations,
    arithmetic,
    cost_error,
    flops,
    int_attr,
    normalize_axis,
    optional_input,
    require_inputs,
    require_rank,
)
from flopcount.costs.cost import Cost
from flopcount.costs.registry import register
from flopcount.ir import Node

__all__ = [
    "batch_normalization",
    "group_normalization",
    "instance_normalization",
    "layer_normalization",
    "lp_normalization",
    "moments",
    "rms_normalization",
    "standardize",
]


def moments(groups: int, size: int) -> Cost:
    """Mean and biased variance of each group, with the centred values D = X - Mean kept:
    two accumulations of ``size`` terms, 2 divides per group, a subtract and a square per
    element. Example: 2 groups of 8 is 16 + 16 adds + 4 divides + 32 = 68 FLOPs, 64 exact."""
    sums = accumulations(groups, size) + accumulations(groups, size)
    return sums + flops(2 * groups + 2 * groups * size)


def standardize(groups: int, size: int, affine_ops: int) -> Cost:
    """`moments`, then 1 / sqrt(Var + eps) per group (3 ops) and D * Inv per element, then
    ``affine_ops`` ops per element (Scale multiply, B add)."""
    return moments(groups, size) + flops(3 * groups + groups * size * (1 + affine_ops))


def _split_at(node: Node, axis_default: int) -> tuple[int, int]:
    """(groups, size): X split at ``axis`` into leading dims and the normalised trailing dims."""
    x = require_rank(node, 0, 1)
    axis = normalize_axis(node, int_attr(node, "axis", axis_default), x.rank)
    return math.prod(x.shape[:axis]), math.prod(x.shape[axis:])


@register("LayerNormalization")
def layer_normalization(node: Node) -> Cost:
    """X, Scale, optional B over dims ``axis``... (default -1): 7 FLOPs per element with B
    (6 without) + 5 per group; exact 2 fewer per group."""
    require_inputs(node, 2, 3)
    groups, size = _split_at(node, -1)
    return arithmetic(node, standardize(groups, size, 1 + (optional_input(node, 2) is not None)))


@register("GroupNormalization")
def group_normalization(node: Node) -> Cost:
    """X (N, C, *), scale, bias; statistics per (sample, group of C / num_groups channels)."""
    require_inputs(node, 3)
    x = require_rank(node, 0, 2)
    num_groups = int_attr(node, "num_groups", 0)
    if num_groups < 1 or x.shape[1] % num_groups:
        raise cost_error(node, f"num_groups={num_groups} must divide the {x.shape[1]} channels")
    groups = x.shape[0] * num_groups
    return arithmetic(node, standardize(groups, x.numel // groups, 2))


@register("InstanceNormalization")
def instance_normalization(node: Node) -> Cost:
    """X (N, C, *spatial), scale (C), B (C); statistics per (sample, channel)."""
    require_inputs(node, 3)
    x = require_rank(node, 0, 2)
    groups = x.shape[0] * x.shape[1]
    return arithmetic(node, standardize(groups, math.prod(x.shape[2:]), 2))


@register("BatchNormalization")
def batch_normalization(node: Node) -> Cost:
    """X (N, C, *), scale, B, input_mean, input_var (each (C,)).

    Inference (ONNX spec: Y = (X - mean) / sqrt(var + eps) * scale + B) with the inverse
    standard deviation computed once per channel (add eps, sqrt, reciprocal: 3 per channel):
    4 FLOPs per element (subtract, multiply by the inverse, scale, bias) + 3 per channel.
    ``training_mode=1`` computes the batch statistics (`standardize` over N * spatial per
    channel) and updates the running mean and variance (x * momentum + m * (1 - momentum):
    3 ops each, 6 per channel).
    """
    require_inputs(node, 5)
    x = require_rank(node, 0, 2)
    channels = x.shape[1]
    if not int_attr(node, "training_mode", 0):
        return arithmetic(node, flops(4 * x.numel + 3 * channels))
    size = x.numel // channels if channels else 0
    return arithmetic(node, standardize(channels, size, 2) + flops(6 * channels))


@register("RMSNormalization")
def rms_normalization(node: Node) -> Cost:
    """X, scale over dims ``axis``... (ONNX RMSNormalization-23 function body): X * X,
    ReduceMean, + eps, sqrt, X / RMS, * scale: 4 FLOPs per element + 3 per group (the mean's
    divide, eps add, sqrt); exact 1 fewer per group."""
    require_inputs(node, 2)
    groups, size = _split_at(node, -1)
    return arithmetic(node, accumulations(groups, size) + flops(3 * groups + 3 * groups * size))


@register("LpNormalization")
def lp_normalization(node: Node) -> Cost:
    """x / ||x||_p along ``axis`` (default -1), p in {1, 2}: |x| or x*x, the sum, the root
    (sqrt for p = 2), a divide: 3 FLOPs per element + 1 per group for p = 2."""
    require_inputs(node, 1)
    x = require_rank(node, 0, 1)
    p = int_attr(node, "p", 2)
    if p not in (1, 2):
        raise cost_error(node, f"p={p}: ONNX LpNormalization supports p = 1 or 2")
    axis = normalize_axis(node, int_attr(node, "axis", -1), x.rank)
    size = x.shape[axis]
    groups = x.numel // size if size else 0
    return arithmetic(node, accumulations(groups, size) + flops(2 * x.numel + (p == 2) * groups))
