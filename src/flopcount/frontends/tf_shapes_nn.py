"""Shape rules of TensorFlow's NN ops: convolutions, pools, batch norm, matmuls, einsum.

Also the layout and padding helpers the lowering shares. TensorFlow's rules
(``tensorflow/core/framework/common_shape_fns.cc``, ``GetWindowedOutputSize``): with
``padding="SAME"`` the output is ``ceil(in / stride)`` and the total padding
``max((out - 1) * stride + (k - 1) * dilation + 1 - in, 0)`` goes ``total // 2`` before and the
rest after; ``"VALID"`` pads nothing; ``"EXPLICIT"`` reads ``explicit_paddings`` (a (lo, hi)
pair per dimension in ``data_format`` order).
"""

from __future__ import annotations

import re

from flopcount.conv.geometry import normalize_padding
from flopcount.errors import ShapeError
from flopcount.frontends.tf_graph import TfNode
from flopcount.frontends.tf_shapes import TfTensor, broadcast, const_ints, rule

__all__ = ["Layout", "layout", "window_pads"]


class Layout:
    """Where channels and spatial dimensions sit in a tensor of ``rank`` in ``data_format``."""

    def __init__(self, data_format: str, rank: int) -> None:
        self.data_format = data_format
        self.channels_first = data_format.startswith("NC")
        self.rank = rank
        self.channel = 1 if self.channels_first else rank - 1
        self.spatial = list(range(2, rank)) if self.channels_first else list(range(1, rank - 1))

    def pick(self, values: list[int]) -> list[int]:
        """The spatial entries of a per-dimension list (``strides``, ``ksize``, ``dilations``)."""
        return [values[i] for i in self.spatial] if len(values) == self.rank else list(values)

    def to_channels_first(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        """(N, *spatial, C) -> (N, C, *spatial); channels-first shapes are returned as they are."""
        if self.channels_first:
            return shape
        return (shape[0], shape[-1], *shape[1:-1])


def layout(node: TfNode, rank: int) -> Layout:
    default = "NHWC" if rank <= 4 else "NDHWC"
    return Layout(str(node.attrs.get("data_format") or default), rank)


def window_pads(
    node: TfNode, lay: Layout, in_spatial: list[int], kernel: list[int], strides: list[int],
    dilations: list[int],
) -> list[tuple[int, int]]:  # fmt: skip
    """(lo, hi) padding per spatial dimension from ``padding`` (SAME, VALID or EXPLICIT)."""
    padding = str(node.attrs.get("padding", "VALID")).upper()
    if padding == "EXPLICIT":
        flat = [int(v) for v in node.attrs.get("explicit_paddings") or []]
        pairs = [(flat[2 * i], flat[2 * i + 1]) for i in range(len(flat) // 2)]
        return [pairs[i] for i in lay.spatial] if len(pairs) == lay.rank else [(0, 0)] * len(kernel)
    if padding not in ("SAME", "VALID"):
        raise ShapeError(f"{node.op} node {node.name!r}: unknown padding {padding!r}")
    return list(normalize_padding(padding.lower(), in_spatial, kernel, strides, dilations))


def _windowed(
    node: TfNode, x: tuple[int, ...], kernel: list[int], strides: list[int], dilations: list[int]
) -> tuple[Layout, list[int]]:
    """Layout and output spatial sizes of a sliding-window op on input ``x``."""
    lay = layout(node, len(x))
    in_spatial = [x[i] for i in lay.spatial]
    pads = window_pads(node, lay, in_spatial, kernel, strides, dilations)
    out = [
        (i + lo + hi - d * (k - 1) - 1) // s + 1
        for i, k, s, d, (lo, hi) in zip(in_spatial, kernel, strides, dilations, pads)
    ]
    if any(o <= 0 for o in out):
        raise ShapeError(f"{node.op} node {node.name!r}: input {x} is smaller than its window")
    return lay, out


def _ints(node: TfNode, key: str, lay_rank: int, default: int = 1) -> list[int]:
    return [int(v) for v in node.attrs.get(key) or [default] * lay_rank]


@rule("Conv2D", "Conv3D", "DepthwiseConv2dNative")
def _conv(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    x, w = ins[0].shape, ins[1].shape  # w: (*kernel, C_in / groups, C_out) or (*kernel, C_in, mult)
    ndim = len(x) - 2
    lay = layout(node, len(x))
    strides = lay.pick(_ints(node, "strides", len(x)))
    dilations = lay.pick(_ints(node, "dilations", len(x)))
    lay, out = _windowed(node, x, list(w[:ndim]), strides, dilations)
    c_out = w[-2] * w[-1] if node.op == "DepthwiseConv2dNative" else w[-1]
    shape = list(x)
    shape[lay.channel] = c_out
    for axis, size in zip(lay.spatial, out):
        shape[axis] = size
    return [TfTensor(tuple(shape), ins[0].dtype)]


@rule("MaxPool", "AvgPool", "MaxPool3D", "AvgPool3D", "MaxPoolV2")
def _pool(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    x = ins[0].shape
    lay = layout(node, len(x))
    if node.op == "MaxPoolV2":
        ksize, strides = const_ints(node, ins[1], "ksize"), const_ints(node, ins[2], "strides")
    else:
        ksize, strides = _ints(node, "ksize", len(x)), _ints(node, "strides", len(x))
    kernel, step = lay.pick(ksize), lay.pick(strides)
    lay, out = _windowed(node, x, kernel, step, [1] * len(kernel))
    shape = list(x)
    for axis, size in zip(lay.spatial, out):
        shape[axis] = size
    return [TfTensor(tuple(shape), ins[0].dtype)]


@rule("Conv2DBackpropInput", "Conv3DBackpropInputV2")
def _conv_transpose(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    sizes = const_ints(node, ins[0], "input_sizes")
    return [TfTensor(tuple(sizes), ins[2].dtype)]


@rule("FusedBatchNorm", "FusedBatchNormV2", "FusedBatchNormV3")
def _fused_batch_norm(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    x = ins[0]
    channels = ins[1].shape
    stats = [TfTensor(channels, ins[1].dtype) for _ in range(5 if node.op.endswith("V3") else 4)]
    return [TfTensor(x.shape, x.dtype), *stats]


@rule("MatMul")
def _matmul(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    a, b = ins[0].shape, ins[1].shape
    if len(a) != 2 or len(b) != 2:
        raise ShapeError(f"MatMul node {node.name!r}: operands {a} and {b} must be matrices")
    m, k = a[::-1] if node.attrs.get("transpose_a") else a
    k2, n = b[::-1] if node.attrs.get("transpose_b") else b
    if k != k2:
        raise ShapeError(f"MatMul node {node.name!r}: inner dimensions of {a} @ {b} differ")
    return [TfTensor((m, n), ins[0].dtype)]


@rule("BatchMatMul", "BatchMatMulV2", "BatchMatMulV3")
def _batch_matmul(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    a, b = ins[0].shape, ins[1].shape
    m, k = (a[-1], a[-2]) if node.attrs.get("adj_x") else (a[-2], a[-1])
    k2, n = (b[-1], b[-2]) if node.attrs.get("adj_y") else (b[-2], b[-1])
    if k != k2:
        raise ShapeError(f"{node.op} node {node.name!r}: inner dimensions of {a} @ {b} differ")
    batch = broadcast(node, [a[:-2], b[:-2]])
    dtype = str(node.attrs.get("Tout") or ins[0].dtype)
    return [TfTensor((*batch, m, n), dtype)]


def _einsum_term(
    node: TfNode, term: str, shape: tuple[int, ...], sizes: dict[str, int]
) -> tuple[int, ...]:
    """Bind the labels of one operand to its dimensions; returns the ellipsis dimensions."""
    labels = term.replace("...", "")
    ellipsis = len(shape) - len(labels) if "..." in term else 0
    before = term.index("...") if "..." in term else len(labels)
    dims = list(shape[:before]) + list(shape[before + ellipsis :])
    for label, size in zip(labels, dims):
        if sizes.setdefault(label, size) != size and 1 not in (size, sizes[label]):
            raise ShapeError(
                f"Einsum node {node.name!r}: label {label!r} is {sizes[label]} and {size}"
            )
        sizes[label] = max(sizes[label], size)
    return tuple(shape[before : before + ellipsis])


@rule("Einsum")
def _einsum(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    equation = str(node.attrs.get("equation", "")).replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(ins):
        raise ShapeError(f"Einsum node {node.name!r}: {equation!r} names {len(terms)} operands")
    sizes: dict[str, int] = {}
    ellipses = [_einsum_term(node, t, x.shape, sizes) for t, x in zip(terms, ins)]
    if not arrow:  # implicit output: labels used once, in alphabetical order
        once = sorted(c for c in set(lhs) if c.isalpha() and lhs.count(c) == 1)
        rhs = ("..." if "..." in lhs else "") + "".join(once)
    batch = broadcast(node, ellipses)
    shape: list[int] = []
    for part in re.split(r"(\.\.\.)", rhs):
        shape.extend(batch if part == "..." else (sizes[c] for c in part))
    return [TfTensor(tuple(shape), ins[0].dtype)]
