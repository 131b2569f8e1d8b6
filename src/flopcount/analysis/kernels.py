"""What kind of kernel a node becomes: implicit-GEMM shape, depthwise convs, views.

Used by the refined roofline (`flopcount.analysis.roofline`): a GEMM kernel's efficiency
depends on its smallest dimension, a depthwise conv is not a GEMM, and a view moves no data
(its consumers read the storage it aliases, not its logical size).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Collection, Iterator, Sequence

from flopcount.ir import Node

__all__ = [
    "VIEW_OPS",
    "folded_matmuls",
    "gemm_dims",
    "interpolate_log2",
    "is_depthwise",
    "view_savings",
]

# Ops eager PyTorch runs as views of their input (aten.view/permute/squeeze/unsqueeze/expand/
# slice return aliases; PyTorch docs, "Tensor Views"): no kernel, no bytes moved.
VIEW_OPS = frozenset(
    {"Reshape", "Flatten", "Transpose", "Squeeze", "Unsqueeze", "Identity", "Expand", "Slice"}
)


def gemm_dims(node: Node, folded: bool = False) -> tuple[int, int, int] | None:
    """Implicit-GEMM ``(M, N, K)`` of one contraction node (per batch entry), else None.

    Conv: M = N_batch * prod(out spatial), N = C_out / group, K = C_in / group * prod(kernel);
    Gemm: A (M, K) and B (K, N) after transA/transB; MatMul: A (..., M, K) @ B (..., K, N),
    1-D operands as M = 1 or N = 1; attention: Q (..., T_q, d) K^T: M = T_q, N = T_k, K = d.
    ``folded``: a MatMul whose right operand is one broadcast matrix (`folded_matmuls`).
    """
    shapes = [t.shape for t in node.inputs]
    if node.op == "Conv" and len(shapes) >= 2 and node.outputs:
        out, weight = node.outputs[0].shape, shapes[1]
        n = weight[0] // int(node.attrs.get("group", 1))
        return math.prod(out[:1] + out[2:]), n, math.prod(weight[1:])
    if node.op == "Gemm" and len(shapes) >= 2:
        (m, k) = shapes[0][::-1] if node.attrs.get("transA") else shapes[0]
        n = shapes[1][0] if node.attrs.get("transB") else shapes[1][-1]
        return m, n, k
    if node.op == "MatMul" and len(shapes) >= 2:
        a, b = shapes[0], shapes[1]
        m = (math.prod(a[:-1]) if len(b) <= 2 or folded else a[-2]) if len(a) >= 2 else 1
        return m, (b[-1] if len(b) >= 2 else 1), a[-1]
    if node.op == "ScaledDotProductAttention" and len(shapes) >= 2:
        return shapes[0][-2], shapes[1][-2], shapes[0][-1]
    return None


def is_depthwise(node: Node) -> bool:
    """A Conv with one input channel per group (``group`` > 1, W of shape (C_out, 1, ...))."""
    group = int(node.attrs.get("group", 1))
    return node.op == "Conv" and group > 1 and len(node.inputs) > 1 and node.inputs[1].shape[1] == 1


def _storages(nodes: Sequence[Node], view_ops: Collection[str]) -> Iterator[dict[str, int]]:
    """Before each node, the storage bytes of every named tensor a view op has made so far."""
    storage: dict[str, int] = {}
    for node in nodes:
        yield storage
        if node.op in view_ops and node.inputs:
            source = node.inputs[0]
            real = min(source.nbytes, storage.get(source.name, source.nbytes))
            storage.update({t.name: min(real, t.nbytes) for t in node.outputs if t.name})
        else:
            for t in node.outputs:
                storage.pop(t.name, None)


def view_savings(nodes: Sequence[Node], view_ops: Collection[str]) -> list[int]:
    """Per node, the input bytes that are views of smaller storage (not read from memory).

    A view's output aliases its input's storage: ``x.expand(197, 768, 2304)`` of a 768 x 2304
    weight is 197 times larger logically but occupies (and is read from) 7 MB. Each named tensor
    made by a view op keeps the storage size of the tensor it views; a consumer's saving is its
    logical size minus that storage. A tensor written by any other op is fresh storage again.
    """
    return [
        sum(max(t.nbytes - storage.get(t.name, t.nbytes), 0) for t in node.inputs if t.name)
        for node, storage in zip(nodes, _storages(nodes, view_ops))
    ]


def folded_matmuls(nodes: Sequence[Node], view_ops: Collection[str]) -> list[bool]:
    """Per node: a MatMul whose right operand is a broadcast view of one matrix.

    ``A (..., M, K) @ B.expand(..., K, N)`` is one GEMM of ``prod(...) * M`` rows, and eager
    PyTorch runs it so: ``torch.matmul`` folds the batch into M when the right operand is a
    matrix (ATen ``matmul``, ``should_fold``), whatever view a trace recorded.
    """
    folded = []
    for node, storage in zip(nodes, _storages(nodes, view_ops)):
        right = node.inputs[1] if node.op == "MatMul" and len(node.inputs) > 1 else None
        matrix = right is not None and len(right.shape) > 2 and right.name in storage
        if matrix and right is not None:
            matrix = storage[right.name] <= right.nbytes // math.prod(right.shape[:-2])
        folded.append(matrix)
    return folded


def interpolate_log2(points: Sequence[tuple[float, float]], x: float) -> float:
    """``y`` at ``x`` on a curve of ``(x, y)`` points, linear in log2(x), clamped at the ends.

    >>> interpolate_log2(((4, 0.2), (16, 0.6)), 8)  # halfway in log2: 2 -> 4 -> 3
    0.4
    """
    pts = sorted(points)
    if x <= pts[0][0]:
        return pts[0][1]
    for (x0, y0), (x1, y1) in itertools.pairwise(pts):
        if x <= x1:
            t = (math.log2(x) - math.log2(x0)) / (math.log2(x1) - math.log2(x0))
            return y0 + t * (y1 - y0)
    return pts[-1][1]
