"""Cost formulas of the contraction ops: Conv, ConvTranspose, MatMul, Gemm.

Each formula builds the op's shapes from the node (ONNX semantics) and hands them to the
primitives of `flopcount.costs.contraction` (``conv_cost``, ``matmul_cost``), so every
contraction is counted by the same two functions. Einsum lives in `flopcount.costs.einsum`,
attention in `flopcount.costs.attention`.
"""

from __future__ import annotations

import math

from flopcount.conv.geometry import ConvGeometry
from flopcount.costs._common import (
    arithmetic,
    broadcast,
    cost_error,
    flops,
    int_attr,
    optional_input,
    require_inputs,
    require_rank,
)
from flopcount.costs._spatial import Pads, auto_pad_mode, int_list, spatial_pads
from flopcount.costs.contraction import conv_cost, matmul_cost
from flopcount.costs.cost import Cost
from flopcount.costs.registry import register
from flopcount.errors import ConvError
from flopcount.ir import Node

__all__ = ["conv_formula", "conv_geometry", "conv_transpose_formula", "gemm", "matmul"]


def _kernel(node: Node, w_shape: tuple[int, ...]) -> tuple[int, ...]:
    """Kernel spatial size from W; a ``kernel_shape`` attribute must agree with it."""
    kernel = w_shape[2:]
    declared = node.attr("kernel_shape")
    if declared is not None and tuple(declared) != kernel:
        raise cost_error(node, f"kernel_shape={list(declared)} disagrees with W {w_shape}")
    return kernel


def _transpose_padding(
    node: Node, x_spatial: tuple[int, ...], kernel: tuple[int, ...]
) -> tuple[Pads, tuple[int, ...]]:
    """(pads, output_padding) of a ConvTranspose.

    With ``output_shape`` or SAME ``auto_pad`` (output = in * stride) the ONNX spec derives
    ``total = stride * (in - 1) + output_padding + (kernel - 1) * dilation + 1 - out`` per axis.
    A negative total (stride wider than the dilated kernel) becomes extra output padding. The
    begin/end split never changes the cost: MACs follow the input positions.
    """
    ndim = len(x_spatial)
    strides = int_list(node, "strides", ndim, 1)
    dilations = int_list(node, "dilations", ndim, 1)
    out_pad = int_list(node, "output_padding", ndim, 0)
    wanted = node.attr("output_shape")
    if wanted is None and not auto_pad_mode(node).startswith("SAME"):
        return spatial_pads(node, x_spatial, kernel, strides, dilations), out_pad
    if wanted is None:
        wanted = tuple(i * s for i, s in zip(x_spatial, strides))
    wanted = tuple(wanted)[-ndim:]  # some exporters include N and C
    pads, extra = [], []
    for i, k, s, d, o, want in zip(x_spatial, kernel, strides, dilations, out_pad, wanted):
        total = s * (i - 1) + o + (k - 1) * d + 1 - want
        pads.append((total - total // 2, total // 2) if total > 0 else (0, 0))
        extra.append(o - min(total, 0))
    return tuple(pads), tuple(extra)


def conv_geometry(node: Node, transposed: bool = False) -> ConvGeometry:
    """The `ConvGeometry` of an ONNX Conv / ConvTranspose node.

    Shapes: X (N, C, *spatial); W (C_out, C_in/group, *kernel) for Conv and
    (C_in, C_out/group, *kernel) for ConvTranspose; optional B (C_out,).
    """
    require_inputs(node, 2, 3)
    x = require_rank(node, 0, 3, 5).shape
    w = require_rank(node, 1, 3, 5).shape
    ndim, kernel = len(x) - 2, _kernel(node, w)
    strides = int_list(node, "strides", ndim, 1)
    dilations = int_list(node, "dilations", ndim, 1)
    out_pad: tuple[int, ...] | int = 0
    if transposed:
        pads, out_pad = _transpose_padding(node, x[2:], kernel)
    else:
        pads = spatial_pads(node, x[2:], kernel, strides, dilations)
    try:
        return ConvGeometry.from_shapes(
            x,
            w,
            stride=strides,
            padding=pads,
            dilation=dilations,
            groups=int_attr(node, "group", 1),
            transposed=transposed,
            output_padding=out_pad,
        )
    except ConvError as err:
        raise cost_error(node, str(err)) from err


@register("Conv")
def conv_formula(node: Node) -> Cost:
    """N * C_out * prod(out_spatial) dot products of kernel_volume * C_in / group terms, plus
    one bias add per output element when B is given."""
    geo = conv_geometry(node)
    return arithmetic(node, conv_cost(geo, bias=optional_input(node, 2) is not None))


@register("ConvTranspose")
def conv_transpose_formula(node: Node) -> Cost:
    """Each of the N * C_in * prod(in_spatial) input elements scatters into kernel_volume *
    C_out / group outputs (`ConvGeometry.macs`); plus one bias add per output element."""
    geo = conv_geometry(node, transposed=True)
    return arithmetic(node, conv_cost(geo, bias=optional_input(node, 2) is not None))


def _matmul_dims(node: Node) -> tuple[int, int, int, int]:
    """(batch, m, k, n) of numpy ``matmul``: a 1-D A is (1, k) and a 1-D B is (k, 1), the
    prepended / appended 1 removed afterwards; batch dims broadcast (numpy.matmul docs)."""
    require_inputs(node, 2)
    a = require_rank(node, 0, 1).shape
    b = require_rank(node, 1, 1).shape
    a2 = (1, *a) if len(a) == 1 else a
    b2 = (*b, 1) if len(b) == 1 else b
    if a2[-1] != b2[-2]:
        raise cost_error(
            node,
            f"inner dimensions differ: A {a} has k={a2[-1]}, B {b} has k={b2[-2]}",
            "fix the operand shapes (numpy matmul rules)",
        )
    batch = math.prod(broadcast(node, [a2[:-2], b2[:-2]]))
    return batch, a2[-2], a2[-1], b2[-1]


@register("MatMul")
def matmul(node: Node) -> Cost:
    """batch * m * n dot products of length k. Example: (2, 5, 16) @ (16, 9) is 2 * 5 * 9 dots
    of 16 terms: 1,440 MACs."""
    batch, m, k, n = _matmul_dims(node)
    return arithmetic(node, matmul_cost(m, k, n, batch=batch))


@register("Gemm")
def gemm(node: Node) -> Cost:
    """Y = alpha * A' @ B' + beta * C with A' (M, K), B' (K, N) (``transA`` / ``transB``
    transpose the stored A, B); C broadcasts to (M, N).

    Counted: the M*N dots of length K; one add per output for C (unless beta == 0); M*N
    multiplies by alpha unless alpha == 1; numel(C) multiplies by beta unless beta is 0 or 1
    (beta scales C before it broadcasts).
    """
    require_inputs(node, 2, 3)
    a = require_rank(node, 0, 2, 2).shape
    b = require_rank(node, 1, 2, 2).shape
    m, k = a[::-1] if int_attr(node, "transA", 0) else a
    k_b, n = b[::-1] if int_attr(node, "transB", 0) else b
    if k != k_b:
        raise cost_error(
            node,
            f"inner dimensions differ: A' has K={k}, B' has K={k_b}",
            "check transA / transB against the stored shapes",
        )
    alpha, beta = float(node.attr("alpha", 1.0)), float(node.attr("beta", 1.0))
    c = optional_input(node, 2) if beta != 0.0 else None
    if c is not None:
        broadcast(node, [c.shape, (m, n)])  # validates C against (M, N)
    scale_a = m * n if alpha != 1.0 else 0
    scale_c = c.numel if c is not None and beta != 1.0 else 0
    return arithmetic(node, matmul_cost(m, k, n, bias=c is not None) + flops(scale_a + scale_c))
