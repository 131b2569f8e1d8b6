"""Tensor bookkeeping of the PyTorch frontend: dtype names, specs of live tensors, input forms.

`TensorTable` names every tensor the capture sees and remembers its kind (``parameter``,
``buffer``, ``input``, ``activation``); views inherit their base's name and kind, so the
``weight.t()`` a ``Gemm`` reads is still the parameter ``fc.weight``. It holds tensors weakly:
bookkeeping never keeps a (fake) tensor alive.

`build_inputs` turns the example-input forms `flopcount.frontends.torch.lower` accepts into
tensors: tensors (real, meta or fake), shapes (``(1, 3, 224, 224)``, ``torch.Size``) meaning
float32, ``(shape, dtype)`` pairs, `flopcount.ir.TensorSpec`, and lists, tuples and dicts of
these; anything else (ints, strings, ``None``) is passed through unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

import torch
from torch.utils.weak import WeakTensorKeyDictionary

from flopcount.errors import FrontendError
from flopcount.ir import TensorKind, TensorSpec

__all__ = [
    "TensorFactory",
    "TensorTable",
    "build_inputs",
    "dtype_name",
    "iter_tensors",
    "torch_dtype",
]

# Quantized dtypes are named by their storage type (what DTYPE_BYTES knows).
_RENAMED: dict[torch.dtype, str] = {
    torch.qint8: "int8", torch.quint8: "uint8", torch.qint32: "int32", torch.quint4x2: "uint4",
}  # fmt: skip

# Signature of the callables that make one input tensor: (shape, dtype, template) -> tensor.
TensorFactory = Callable[[tuple[int, ...], torch.dtype, "torch.Tensor | None"], torch.Tensor]


def dtype_name(dtype: torch.dtype) -> str:
    """NumPy-style name of a torch dtype: ``torch.float32`` -> ``"float32"``."""
    return _RENAMED.get(dtype) or str(dtype).removeprefix("torch.")


def torch_dtype(name: str) -> torch.dtype:
    """The torch dtype of a NumPy-style name, or `FrontendError`."""
    dtype = getattr(torch, name, None)
    if not isinstance(dtype, torch.dtype):
        raise FrontendError(f"dtype {name!r} has no PyTorch equivalent; use e.g. float32, int64")
    return dtype


def shape_of(tensor: torch.Tensor) -> tuple[int, ...]:
    """Static shape as plain ints (fake tensors may carry symbolic ints)."""
    return tuple(int(dim) for dim in tensor.shape)


class TensorTable:
    """Names, kinds and specs of the tensors of one capture, keyed weakly by tensor identity.

    Each entry is ``(kind, name, spec)``: the `TensorSpec` last built for the tensor is kept
    and handed out again while the tensor's shape and dtype are unchanged, so a tensor's
    producer and its consumers share one spec object (fewer allocations, and analyses that
    walk the graph size each tensor once).
    """

    def __init__(self) -> None:
        self._seen: WeakTensorKeyDictionary = WeakTensorKeyDictionary()
        self._count = 0

    def mark(self, tensor: torch.Tensor, kind: TensorKind, name: str) -> None:
        """Record ``tensor`` as a ``kind`` tensor called ``name`` (parameters, inputs...)."""
        self._seen[tensor] = (kind, name, None)

    def lookup(self, tensor: torch.Tensor) -> tuple[TensorKind, str]:
        """(kind, name) of ``tensor``; a tensor seen for the first time is a new activation."""
        kind, name, _ = self._entry(tensor)
        return kind, name

    def _entry(self, tensor: torch.Tensor) -> tuple[TensorKind, str, TensorSpec | None]:
        entry = self._seen.get(tensor)
        if entry is None:
            entry = ("activation", self.fresh_name(), None)
            self._seen[tensor] = entry
        return entry  # type: ignore[no-any-return]

    def fresh_name(self) -> str:
        self._count += 1
        return f"t{self._count}"

    def alias(self, view: torch.Tensor, base: torch.Tensor) -> None:
        """``view`` shares ``base``'s storage: it inherits base's name and kind."""
        if view is not base and view not in self._seen:
            self._seen[view] = (*self.lookup(base), None)

    def spec(self, tensor: torch.Tensor) -> TensorSpec:
        """The `TensorSpec` of a live tensor (shape, dtype, name, kind)."""
        kind, name, spec = self._entry(tensor)
        dtype = dtype_name(tensor.dtype)
        if spec is None or spec.shape != tensor.shape or spec.dtype != dtype:
            spec = TensorSpec(shape_of(tensor), dtype, name, kind)
            self._seen[tensor] = (kind, name, spec)
        return spec


def tensor_arguments(values: Iterable[Any]) -> list[torch.Tensor]:
    """The tensors among an op's arguments, and inside its list/tuple arguments (one level:
    ``aten.cat``'s tensor list), in order."""
    found: list[torch.Tensor] = []
    for value in values:
        if isinstance(value, torch.Tensor):
            found.append(value)
        elif isinstance(value, (list, tuple)):
            found.extend(v for v in value if isinstance(v, torch.Tensor))
    return found


def iter_tensors(value: Any) -> Iterator[torch.Tensor]:
    """Every tensor inside ``value``: tensors, lists, tuples, dicts, dataclass-like outputs
    (Hugging Face ``ModelOutput`` is a dict), in order, depth first."""
    if isinstance(value, torch.Tensor):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from iter_tensors(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from iter_tensors(item)
    elif hasattr(value, "__dataclass_fields__"):
        for key in value.__dataclass_fields__:
            yield from iter_tensors(getattr(value, key, None))


def _is_shape(value: Any) -> bool:
    """A non-empty tuple/list of non-negative ints, or a ``torch.Size``."""
    if isinstance(value, torch.Size):
        return True
    return (
        isinstance(value, (tuple, list))
        and len(value) > 0
        and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value)
    )


def _is_shape_dtype(value: Any) -> bool:
    """A ``(shape, dtype)`` pair such as ``((1, 128), torch.int64)``."""
    return (
        isinstance(value, tuple)
        and len(value) == 2
        and _is_shape(value[0])
        and isinstance(value[1], torch.dtype)
    )


def build_inputs(
    value: Any, make: TensorFactory, shape_dtype: torch.dtype = torch.float32
) -> tuple[Any, bool]:
    """``value`` with every tensor form replaced by ``make(shape, dtype, template)``.

    Returns (new value, whether some input was a bare shape given ``shape_dtype``).
    """
    if isinstance(value, torch.Tensor):
        return make(shape_of(value), value.dtype, value), False
    if isinstance(value, TensorSpec):
        return make(value.shape, torch_dtype(value.dtype), None), False
    if _is_shape_dtype(value):
        return make(tuple(value[0]), value[1], None), False
    if _is_shape(value):
        return make(tuple(value), shape_dtype, None), True
    if isinstance(value, dict):
        built = {key: build_inputs(item, make, shape_dtype) for key, item in value.items()}
        return {key: pair[0] for key, pair in built.items()}, any(
            pair[1] for pair in built.values()
        )
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        pairs = [build_inputs(item, make, shape_dtype) for item in value]
        return type(value)(pair[0] for pair in pairs), any(pair[1] for pair in pairs)
    return value, False
