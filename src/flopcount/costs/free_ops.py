"""Ops that are free on purpose: they move, copy, relabel or create data without arithmetic.

Free means zero FLOPs, MACs and int_ops, never "unknown": the analysis still charges their
memory traffic (bytes read and written) from the tensor specs. Index computations inside a
gather or scatter, the comparisons of Trilu's triangle test and Range's running additions are
address arithmetic, not tensor arithmetic, and are not counted (the convention of fvcore's
``_IGNORED_OPS`` and of torch.utils.flop_counter, which cost none of these). Dropout is the
identity at inference (ONNX Dropout-13 with ``training_mode`` false); Cast and CastLike
convert representations without arithmetic on values.
"""

from __future__ import annotations

from flopcount.costs.registry import free

__all__ = ["FREE_OPS"]

FREE_OPS: tuple[str, ...] = (
    # Shape and layout: metadata or pure permutation of elements.
    "Reshape", "Transpose", "Flatten", "Squeeze", "Unsqueeze", "Expand", "Identity",
    "DepthToSpace", "SpaceToDepth",
    # Joining, splitting, selecting, replicating.
    "Concat", "Split", "Slice", "Gather", "GatherElements", "GatherND", "Tile", "Pad",
    "ScatterElements", "ScatterND", "Trilu",
    # Metadata and constants.
    "Shape", "Size", "Constant", "ConstantOfShape", "Range", "EyeLike", "OneHot",
    # Representation changes and inference no-ops.
    "Cast", "CastLike", "Dropout",
)  # fmt: skip

free(FREE_OPS)
