"""Shape rules of TensorFlow's array ops: reshape, slice, concat, pack, pad, gather...

Semantics from ``tensorflow/core/ops/array_ops.cc`` and, for ``StridedSlice``, the mask
rules of ``tensorflow/core/util/strided_slice_op.cc`` (``ValidateStridedSliceOp``). Values of
small integer tensors are carried through, so run-time shape computations resolve.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from flopcount.errors import ShapeError
from flopcount.frontends.tf_graph import TfNode
from flopcount.frontends.tf_shapes import TfTensor, const_ints, norm_axis, rule

__all__: list[str] = []


def _values(ins: list[TfTensor]) -> list[np.ndarray] | None:
    found = [t.value for t in ins]
    return None if any(v is None for v in found) else found  # type: ignore[return-value]


@rule("Reshape")
def _reshape(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    target = const_ints(node, ins[1], "target shape")
    size = math.prod(ins[0].shape)
    if target.count(-1) > 1:
        raise ShapeError(f"Reshape node {node.name!r}: target {target} has more than one -1")
    if -1 in target:
        known = math.prod(d for d in target if d != -1)
        target[target.index(-1)] = size // known if known else 0
    if math.prod(target) != size:
        raise ShapeError(
            f"Reshape node {node.name!r}: cannot reshape {ins[0].shape} ({size} elements) "
            f"into {tuple(target)}"
        )
    value = None if ins[0].value is None else ins[0].value.reshape(target)
    return [TfTensor(tuple(target), ins[0].dtype, value)]


@rule("Squeeze")
def _squeeze(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    shape = ins[0].shape
    axes = {norm_axis(node, a, len(shape)) for a in node.attrs.get("squeeze_dims") or []}
    out = tuple(d for i, d in enumerate(shape) if not (i in axes or (not axes and d == 1)))
    value = None if ins[0].value is None else ins[0].value.reshape(out)
    return [TfTensor(out, ins[0].dtype, value)]


@rule("ExpandDims")
def _expand_dims(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    rank = len(ins[0].shape)
    axis = norm_axis(node, const_ints(node, ins[1], "axis")[0], rank + 1)
    out = (*ins[0].shape[:axis], 1, *ins[0].shape[axis:])
    value = None if ins[0].value is None else ins[0].value.reshape(out)
    return [TfTensor(out, ins[0].dtype, value)]


@rule("Transpose")
def _transpose(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    perm = const_ints(node, ins[1], "permutation")
    if sorted(perm) != list(range(len(ins[0].shape))):
        raise ShapeError(f"Transpose node {node.name!r}: {perm} permutes no rank-{len(perm)} shape")
    value = None if ins[0].value is None else np.transpose(ins[0].value, perm)
    return [TfTensor(tuple(ins[0].shape[p] for p in perm), ins[0].dtype, value)]


@rule("Pad", "PadV2", "MirrorPad")
def _pad(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    pads = const_ints(node, ins[1], "paddings")
    shape = tuple(d + pads[2 * i] + pads[2 * i + 1] for i, d in enumerate(ins[0].shape))
    return [TfTensor(shape, ins[0].dtype)]


@rule("ConcatV2", "Concat")
def _concat(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    axis_in, parts = (ins[-1], ins[:-1]) if node.op == "ConcatV2" else (ins[0], ins[1:])
    rank = len(parts[0].shape)
    axis = norm_axis(node, const_ints(node, axis_in, "axis")[0], rank)
    shape = list(parts[0].shape)
    shape[axis] = sum(t.shape[axis] for t in parts)
    vals = _values(parts)
    value = None if vals is None else np.concatenate(vals, axis=axis)
    return [TfTensor(tuple(shape), parts[0].dtype, value)]


@rule("Pack")
def _pack(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    rank = len(ins[0].shape) + 1
    axis = norm_axis(node, int(node.attrs.get("axis", 0)), rank)
    shape = (*ins[0].shape[:axis], len(ins), *ins[0].shape[axis:])
    vals = _values(ins)
    value = None if vals is None else np.stack(vals, axis=axis)
    return [TfTensor(shape, ins[0].dtype, value)]


@rule("Unpack")
def _unpack(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    rank = len(ins[0].shape)
    axis = norm_axis(node, int(node.attrs.get("axis", 0)), rank)
    shape = ins[0].shape[:axis] + ins[0].shape[axis + 1 :]
    count = ins[0].shape[axis]
    value = ins[0].value
    parts = [None] * count if value is None else list(np.moveaxis(value, axis, 0))
    return [TfTensor(shape, ins[0].dtype, part) for part in parts]


@rule("Split", "SplitV")
def _split(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    data, axis_in = (ins[1], ins[0]) if node.op == "Split" else (ins[0], ins[2])
    axis = norm_axis(node, const_ints(node, axis_in, "axis")[0], len(data.shape))
    total = data.shape[axis]
    if node.op == "Split":
        count = int(node.attrs.get("num_split", 1))
        sizes = [total // count] * count
    else:
        sizes = const_ints(node, ins[1], "split sizes")
        if -1 in sizes:
            sizes[sizes.index(-1)] = total - (sum(sizes) + 1)
    out = []
    for size in sizes:
        shape = list(data.shape)
        shape[axis] = size
        out.append(TfTensor(tuple(shape), data.dtype))
    return out


def _slice_dim(size: int, begin: int, end: int, stride: int, masks: tuple[bool, bool]) -> slice:
    """One dimension of a strided slice, clamped as ``strided_slice_op.cc`` does."""
    if stride == 0:
        raise ShapeError("StridedSlice: a stride is 0")
    lo, hi = (0, size) if stride > 0 else (-1, size - 1)
    b = (0 if stride > 0 else size - 1) if masks[0] else begin + size if begin < 0 else begin
    e = (size if stride > 0 else -1) if masks[1] else end + size if end < 0 else end
    b, e = min(max(b, lo), hi), min(max(e, lo), hi)
    return slice(b, e if e >= 0 else None, stride)


@rule("StridedSlice")
def _strided_slice(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    begin, end, strides = (const_ints(node, t, "slice bounds") for t in ins[1:4])
    bits = {
        k: int(node.attrs.get(f"{k}_mask", 0))
        for k in ("begin", "end", "ellipsis", "new_axis", "shrink_axis")
    }
    shape = ins[0].shape
    spec = len(begin)
    if not bits["ellipsis"]:  # no ellipsis: an implicit one at the end
        bits["ellipsis"] = 1 << spec
        begin, end, strides = [*begin, 0], [*end, 0], [*strides, 1]
        spec += 1
    used = sum(1 for i in range(spec) if not (bits["ellipsis"] | bits["new_axis"]) >> i & 1)
    index: list[Any] = []
    dims: list[int] = []
    dim = 0
    for i in range(spec):
        if bits["ellipsis"] >> i & 1:
            for _ in range(len(shape) - used):
                index.append(slice(None))
                dims.append(shape[dim])
                dim += 1
        elif bits["new_axis"] >> i & 1:
            index.append(None)
            dims.append(1)
        elif dim < len(shape):
            if bits["shrink_axis"] >> i & 1:
                position = begin[i] + shape[dim] if begin[i] < 0 else begin[i]
                index.append(position)
            else:
                masks = (bool(bits["begin"] >> i & 1), bool(bits["end"] >> i & 1))
                cut = _slice_dim(shape[dim], begin[i], end[i], strides[i], masks)
                index.append(cut)
                dims.append(len(range(*cut.indices(shape[dim]))))
            dim += 1
    value = None if ins[0].value is None else np.asarray(ins[0].value[tuple(index)])
    return [TfTensor(tuple(dims), ins[0].dtype, value)]


@rule("Slice")
def _slice(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    begin = const_ints(node, ins[1], "slice begin")
    size = const_ints(node, ins[2], "slice size")
    shape = tuple(d - b if s == -1 else s for d, b, s in zip(ins[0].shape, begin, size))
    value = None
    if ins[0].value is not None:
        value = ins[0].value[tuple(slice(b, b + s) for b, s in zip(begin, shape))]
    return [TfTensor(shape, ins[0].dtype, value)]


@rule("Tile")
def _tile(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    reps = const_ints(node, ins[1], "multiples")
    return [TfTensor(tuple(d * r for d, r in zip(ins[0].shape, reps)), ins[0].dtype)]


@rule("GatherV2", "Gather", "ResourceGather")
def _gather(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    params = ins[0].handle if node.op == "ResourceGather" else ins[0].shape
    if params is None:
        raise ShapeError(f"{node.op} node {node.name!r} gathers from a variable of unknown shape")
    axis = const_ints(node, ins[2], "axis")[0] if node.op == "GatherV2" else 0
    axis = norm_axis(node, axis, len(params))
    batch = int(node.attrs.get("batch_dims", 0))
    shape = (*params[:axis], *ins[1].shape[batch:], *params[axis + 1 :])
    value = None
    if ins[0].value is not None and ins[1].value is not None and not batch:
        value = np.take(ins[0].value, ins[1].value, axis=axis)
    dtype = str(node.attrs.get("dtype", ins[0].dtype))
    return [TfTensor(shape, dtype, value)]


@rule("ArgMax", "ArgMin")
def _arg_reduce(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    axis = norm_axis(node, const_ints(node, ins[1], "axis")[0], len(ins[0].shape))
    shape = ins[0].shape[:axis] + ins[0].shape[axis + 1 :]
    return [TfTensor(shape, str(node.attrs.get("output_type", "int64")))]


@rule("ResizeBilinear", "ResizeNearestNeighbor", "ResizeBicubic", "ResizeArea")
def _resize(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    height, width = const_ints(node, ins[1], "output size")
    n, _, _, c = ins[0].shape
    return [TfTensor((n, height, width, c), "float32" if node.op != "ResizeNearestNeighbor"
                     else ins[0].dtype)]  # fmt: skip


@rule("OneHot")
def _one_hot(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    depth = const_ints(node, ins[1], "depth")[0]
    rank = len(ins[0].shape) + 1
    axis = norm_axis(node, int(node.attrs.get("axis", -1)), rank)
    return [TfTensor((*ins[0].shape[:axis], depth, *ins[0].shape[axis:]), ins[2].dtype)]


@rule("TopKV2")
def _top_k(node: TfNode, ins: list[TfTensor]) -> list[TfTensor]:
    k = const_ints(node, ins[1], "k")[0]
    shape = (*ins[0].shape[:-1], k)
    return [TfTensor(shape, ins[0].dtype), TfTensor(shape, "int32")]
