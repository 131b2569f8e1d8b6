"""flopcount's framework-free intermediate representation.

A frontend lowers a model into a `Graph`: a topologically ordered list of `Node`s whose ``op``
is spelled as ONNX spells it (``Conv``, ``MatMul``, ``LayerNormalization``...), plus the few ops
ONNX lacks under clear names (see `flopcount.ir.ops`). Tensors are described by `TensorSpec`
alone (shape, dtype, name, kind): no values ever enter the IR, so analysing a model never
materialises its weights.

Convolution-like nodes are canonical channels-first, as in ONNX: a frontend for a
channels-last framework transposes the *specs* when it lowers (no data moves).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from flopcount.errors import ShapeError

__all__ = ["DTYPE_BYTES", "Graph", "Node", "TensorKind", "TensorSpec", "dtype_bytes"]

TensorKind = Literal["activation", "input", "parameter", "buffer", "constant"]

# Bytes per element of each dtype name flopcount uses (NumPy's spelling, plus bfloat16/float8).
DTYPE_BYTES: dict[str, float] = {
    "float64": 8,
    "float32": 4,
    "float16": 2,
    "bfloat16": 2,
    "float8": 1,
    "float8_e4m3fn": 1,
    "float8_e5m2": 1,
    "complex64": 8,
    "complex128": 16,
    "int64": 8,
    "int32": 4,
    "int16": 2,
    "int8": 1,
    "uint64": 8,
    "uint32": 4,
    "uint16": 2,
    "uint8": 1,
    "bool": 1,
    "int4": 0.5,
    "uint4": 0.5,
    "string": 0,
}


def dtype_bytes(dtype: str) -> float:
    """Bytes per element of ``dtype``; unknown dtypes raise `ShapeError`."""
    try:
        return DTYPE_BYTES[dtype]
    except KeyError:
        raise ShapeError(
            f"unknown dtype {dtype!r}; flopcount knows {', '.join(sorted(DTYPE_BYTES))}"
        ) from None


@dataclass(frozen=True, slots=True)
class TensorSpec:
    """A tensor's metadata: ``shape`` (ints >= 0), ``dtype`` name, ``name`` and ``kind``."""

    shape: tuple[int, ...]
    dtype: str = "float32"
    name: str = ""
    kind: TensorKind = "activation"

    def __post_init__(self) -> None:
        for dim in self.shape:
            if not isinstance(dim, int) or isinstance(dim, bool) or dim < 0:
                raise ShapeError(
                    f"tensor {self.name or '<unnamed>'} has shape {self.shape}: every dimension "
                    "must be a non-negative integer; bind symbolic dimensions with --input-shape"
                )

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def numel(self) -> int:
        return math.prod(self.shape)

    @property
    def nbytes(self) -> int:
        return math.ceil(self.numel * dtype_bytes(self.dtype))


@dataclass(frozen=True, slots=True)
class Node:
    """One operation: ``op`` applied to ``inputs`` producing ``outputs``.

    ``attrs`` holds ONNX-style attributes (``strides``, ``pads``, ``group``...), ``scope`` the
    dotted module path the node ran in (``encoder.layers.3.mlp.fc1``), ``name`` a frontend's
    own identifier (an aten overload, a TF node name), and ``phase`` whether the node belongs to
    the forward or the backward pass.
    """

    op: str
    inputs: tuple[TensorSpec, ...] = ()
    outputs: tuple[TensorSpec, ...] = ()
    attrs: Mapping[str, Any] = field(default_factory=dict)
    scope: str = ""
    name: str = ""
    domain: str = ""
    phase: Literal["forward", "backward"] = "forward"

    def attr(self, key: str, default: Any = None) -> Any:
        """Attribute ``key``, or ``default`` when the frontend did not set it."""
        return self.attrs.get(key, default)

    def __repr__(self) -> str:
        ins = ", ".join(str(t.shape) for t in self.inputs)
        outs = ", ".join(str(t.shape) for t in self.outputs)
        where = f" in {self.scope!r}" if self.scope else ""
        return f"Node({self.op}{where}: {ins} -> {outs})"


@dataclass(slots=True)
class Graph:
    """A lowered model: nodes in topological order and the tensors around them.

    ``parameters`` and ``buffers`` map each *distinct* stored tensor to its spec, so shared or
    tied weights appear once. ``notes`` collects what the frontend assumed (a ``None`` batch
    bound to 1, a fallback to real execution) so every report can say so.
    """

    nodes: list[Node] = field(default_factory=list)
    inputs: list[TensorSpec] = field(default_factory=list)
    outputs: list[TensorSpec] = field(default_factory=list)
    parameters: dict[str, TensorSpec] = field(default_factory=dict)
    buffers: dict[str, TensorSpec] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    framework: str = ""
    name: str = ""

    def __iter__(self) -> Iterator[Node]:
        return iter(self.nodes)

    def __len__(self) -> int:
        return len(self.nodes)
