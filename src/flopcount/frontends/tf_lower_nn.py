"""Lowering TensorFlow's NN ops: convolutions, pools, batch norm, matmuls and einsum.

The IR is channels-first for convolutions, pools and batch norm, so NHWC specs are transposed
here (shape tuples only, no data moves) and TF's filter layouts rewritten into ONNX's:

- ``Conv2D``/``Conv3D`` filter ``(*kernel, C_in / groups, C_out)`` -> ``(C_out, C_in / groups,
  *kernel)``, ``group = C_in / filter's C_in`` (TF infers groups the same way).
- ``DepthwiseConv2dNative`` filter ``(kh, kw, C_in, multiplier)`` -> ``(C_in * multiplier, 1,
  kh, kw)`` with ``group = C_in``.
- ``Conv2DBackpropInput`` (the transposed convolution) filter ``(kh, kw, C_out, C_in)``, where
  C_in is the channels of its input ``out_backprop`` -> ``ConvTranspose`` weight ``(C_in, C_out,
  kh, kw)``; padding as the forward convolution's, ``output_padding`` makes up the rest.

TF's original ``data_format`` and window lists are kept (``tf_data_format``, ``tf_ksize``) for
the ``tfprof`` convention, which counts only NHWC pools.
"""

from __future__ import annotations

from dataclasses import replace

from flopcount.frontends.tf_lower import Ctx, lowers
from flopcount.frontends.tf_shapes_nn import Layout, layout, window_pads
from flopcount.ir import TensorSpec

__all__: list[str] = []


def _cf(spec: TensorSpec, lay: Layout) -> TensorSpec:
    """The spec with channels first (the IR's layout for conv, pool and batch norm)."""
    return replace(spec, shape=lay.to_channels_first(spec.shape))


def _window(
    ctx: Ctx, lay: Layout, x: TensorSpec, kernel: list[int], dilated: bool
) -> tuple[list[int], list[int], list[tuple[int, int]]]:
    """Spatial strides, dilations and (lo, hi) pads of a window sliding over ``x``."""
    rank = x.rank
    strides = lay.pick([int(v) for v in ctx.attr("strides") or [1] * rank])
    dilations = [1] * len(kernel)
    if dilated:
        dilations = lay.pick([int(v) for v in ctx.attr("dilations") or [1] * rank])
    in_spatial = [x.shape[i] for i in lay.spatial]
    return strides, dilations, window_pads(ctx.node, lay, in_spatial, kernel, strides, dilations)


def _window_attrs(
    ctx: Ctx, lay: Layout, x: TensorSpec, kernel: list[int], dilated: bool
) -> dict[str, object]:
    """ONNX ``kernel_shape``, ``strides``, ``pads`` (begins then ends), ``dilations``."""
    strides, dilations, pads = _window(ctx, lay, x, kernel, dilated)
    return {
        "kernel_shape": kernel,
        "strides": strides,
        "pads": [lo for lo, _ in pads] + [hi for _, hi in pads],
        "dilations": dilations,
        "tf_data_format": lay.data_format,
    }


@lowers("Conv2D", "Conv3D", "DepthwiseConv2dNative")
def _conv(ctx: Ctx) -> None:
    x, w = ctx.ins[0], ctx.ins[1]
    lay = layout(ctx.node, x.rank)
    ndim = x.rank - 2
    kernel = list(w.shape[:ndim])
    c_in = x.shape[lay.channel]
    if ctx.node.op == "DepthwiseConv2dNative":
        weight_shape = (w.shape[-2] * w.shape[-1], 1, *kernel)
        group = c_in
    else:
        weight_shape = (w.shape[-1], w.shape[-2], *kernel)
        group = c_in // w.shape[-2] if w.shape[-2] else 1
    attrs = _window_attrs(ctx, lay, x, kernel, dilated=True)
    weight = replace(w, shape=weight_shape)
    ctx.emit("Conv", [_cf(x, lay), weight], [_cf(ctx.outs[0], lay)], group=group, **attrs)


@lowers("Conv2DBackpropInput", "Conv3DBackpropInputV2")
def _conv_transpose(ctx: Ctx) -> None:
    w, x, out = ctx.ins[1], ctx.ins[2], ctx.outs[0]  # inputs: input_sizes, filter, out_backprop
    lay = layout(ctx.node, x.rank)
    ndim = x.rank - 2
    kernel = list(w.shape[:ndim])
    strides, dilations, pads = _window(ctx, lay, out, kernel, dilated=True)  # forward conv's
    in_spatial = [x.shape[i] for i in lay.spatial]
    out_spatial = [out.shape[i] for i in lay.spatial]
    # ONNX ConvTranspose: out = (in - 1) * s - lo - hi + d * (k - 1) + output_padding + 1
    extra = [
        o - ((i - 1) * s - lo - hi + d * (k - 1) + 1)
        for o, i, s, d, k, (lo, hi) in zip(
            out_spatial, in_spatial, strides, dilations, kernel, pads
        )
    ]
    attrs = _window_attrs(ctx, lay, out, kernel, dilated=True)
    weight = replace(w, shape=(w.shape[-1], w.shape[-2], *kernel))
    ctx.emit(
        "ConvTranspose", [_cf(x, lay), weight], [_cf(out, lay)], group=1,
        output_padding=extra, output_shape=out_spatial, **attrs,
    )  # fmt: skip


@lowers("MaxPool", "AvgPool", "MaxPool3D", "AvgPool3D", "MaxPoolV2")
def _pool(ctx: Ctx) -> None:
    x = ctx.ins[0]
    lay = layout(ctx.node, x.rank)
    if ctx.node.op == "MaxPoolV2":
        ksize = [int(v) for v in ctx.values[1].reshape(-1)] if ctx.values[1] is not None else []
        strides = [int(v) for v in ctx.values[2].reshape(-1)] if ctx.values[2] is not None else []
        ctx.node.attrs.setdefault("strides", strides)
    else:
        ksize = [int(v) for v in ctx.attr("ksize") or []]
    attrs = _window_attrs(ctx, lay, x, lay.pick(ksize), dilated=False)
    if "Avg" in ctx.node.op:  # TF's SAME average excludes the padding from the divisor
        ctx.emit(
            "AveragePool",
            [_cf(x, lay)],
            [_cf(ctx.outs[0], lay)],
            count_include_pad=0,
            tf_ksize=ksize,
            **attrs,
        )
    else:
        ctx.emit("MaxPool", [_cf(x, lay)], [_cf(ctx.outs[0], lay)], tf_ksize=ksize, **attrs)


@lowers("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
def _batch_norm(ctx: Ctx) -> None:
    """Inputs x, scale, offset, mean, variance; the statistics are buffers, not parameters."""
    x, scale, offset, mean, var = ctx.ins[:5]
    lay = layout(ctx.node, x.rank)
    stats = [s if s.kind == "activation" else replace(s, kind="buffer") for s in (mean, var)]
    ctx.emit(
        "BatchNormalization", [_cf(x, lay), scale, offset, *stats], [_cf(ctx.outs[0], lay)],
        epsilon=float(ctx.attr("epsilon", 1e-4)), training_mode=int(bool(ctx.attr("is_training"))),
        tf_data_format=lay.data_format,
    )  # fmt: skip


@lowers("MatMul")
def _matmul(ctx: Ctx) -> None:
    """2-D ``MatMul``; with ``transpose_a``/``transpose_b`` it is ONNX ``Gemm`` (transA/transB)."""
    trans_a, trans_b = int(bool(ctx.attr("transpose_a"))), int(bool(ctx.attr("transpose_b")))
    if trans_a or trans_b:
        ctx.emit("Gemm", ctx.ins[:2], ctx.outs, transA=trans_a, transB=trans_b, alpha=1.0, beta=1.0)
    else:
        ctx.emit("MatMul", ctx.ins[:2], ctx.outs)


def _swap_last(spec: TensorSpec) -> TensorSpec:
    return replace(spec, shape=(*spec.shape[:-2], spec.shape[-1], spec.shape[-2]))


@lowers("BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")
def _batch_matmul(ctx: Ctx) -> None:
    """``adj_x``/``adj_y`` transpose an operand's spec: the IR ``MatMul`` sees (m, k) @ (k, n)."""
    a, b = ctx.ins[:2]
    adj_x, adj_y = bool(ctx.attr("adj_x")), bool(ctx.attr("adj_y"))
    a = _swap_last(a) if adj_x else a
    b = _swap_last(b) if adj_y else b
    ctx.emit("MatMul", [a, b], ctx.outs, adj_x=adj_x, adj_y=adj_y)


@lowers("Einsum")
def _einsum(ctx: Ctx) -> None:
    ctx.emit("Einsum", ctx.ins, ctx.outs, equation=str(ctx.attr("equation", "")).replace(" ", ""))
