"""What the ONNX frontend knows about each tensor, and how symbolic dimensions get bound.

A dimension is an ``int`` once known, a ``str`` symbol while not (an ONNX ``dim_param`` such
as ``"batch"``, or ``"TENSOR[AXIS]"`` for a dimension nothing names), and a shape is ``None``
while even its rank is unknown. `Symbols` holds the user's bindings (``dims``) and where each
symbol came from, so an unresolved dimension is reported with its name, its tensor and the
option that binds it.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any

from flopcount.errors import ShapeError
from flopcount.frontends.onnx_proto import dtype_name
from flopcount.ir import TensorKind, TensorSpec

__all__ = ["ABSENT", "Dim", "Shape", "Symbols", "Value", "check_dim", "type_shape"]

Dim = int | str
Shape = tuple[Dim, ...] | None

# A skipped optional input or output (ONNX spells it as the empty name): zero elements, so it
# adds no bytes, and formulas read it as absent (flopcount.costs conventions).
ABSENT = TensorSpec(shape=(0,), dtype="float32", name="", kind="constant")


def check_dim(value: Any, what: str) -> int:
    """``value`` as a dimension (an int >= 0), else `ShapeError` naming ``what``."""
    numpy = sys.modules.get("numpy")  # a NumPy scalar exists only once NumPy is imported
    integer = (int, numpy.integer) if numpy is not None else int
    if isinstance(value, bool) or (numpy is not None and isinstance(value, numpy.bool_)):
        raise ShapeError(f"{what} = {value!r}: a dimension must be an integer >= 0")
    if not isinstance(value, integer):
        raise ShapeError(f"{what} = {value!r}: a dimension must be an integer >= 0")
    if value < 0:
        raise ShapeError(f"{what} = {value}: a dimension cannot be negative")
    return int(value)


@dataclass(slots=True)
class Value:
    """One tensor while lowering: dtype, (partly) known shape, small value, kind, producer."""

    name: str
    dtype: str = "float32"
    shape: Shape = None
    value: Any = None  # a NumPy array (onnx path) or an `onnx_small.Small` (fast path)
    kind: TensorKind = "activation"
    producer: str = ""  # "graph input", "initializer" or the producing node's description
    sequence: bool = False  # an ONNX sequence or optional value (no tensor shape)

    @property
    def concrete(self) -> tuple[int, ...] | None:
        """The shape when every dimension is known, else ``None``."""
        if self.shape is None or any(isinstance(d, str) for d in self.shape):
            return None
        return self.shape  # type: ignore[return-value]


@dataclass(slots=True)
class Symbols:
    """Bindings of symbolic dimensions, with the origin of each symbol for error messages."""

    bound: dict[str, int] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def bind(self, symbol: str, size: int, why: str) -> None:
        """Bind ``symbol`` to ``size``; a different earlier binding is a `ShapeError`."""
        old = self.bound.get(symbol)
        if old is not None and old != size:
            raise ShapeError(
                f"dimension {symbol!r} is bound twice, to {old} and to {size} ({why}); "
                "give one value per dimension name"
            )
        self.bound[symbol] = size

    def resolve(self, dim: Dim) -> Dim:
        """``dim`` with a bound symbol replaced by its size."""
        if isinstance(dim, str) and dim in self.bound:
            self.used.add(dim)
            return self.bound[dim]
        return dim

    def shape(self, shape: Shape) -> Shape:
        return None if shape is None else tuple(self.resolve(d) for d in shape)

    def unresolved(self, symbol: str, tensor: str, axis: int, producer: str) -> ShapeError:
        """The error for a dimension still symbolic where a node needs it."""
        origin = self.origins.get(symbol)
        if origin is not None:
            return ShapeError(
                f"dimension {symbol!r} ({origin}) is not bound, and tensor {tensor!r} needs it; "
                f"bind it with --dim {symbol}=VALUE (Python: dims={{{symbol!r}: VALUE}}) or "
                "give the input's whole shape with --input-shape NAME=1x3x224x224"
            )
        key = f"{tensor}[{axis}]"
        return ShapeError(
            f"axis {axis} of tensor {tensor!r} ({producer}) could not be inferred from shapes "
            f"(symbol {symbol!r}); bind it with --dim '{key}=VALUE' (Python: "
            f"dims={{{key!r}: VALUE}}) or add its shape to the model's value_info"
        )

    def spec(self, value: Value, kind: TensorKind | None = None) -> TensorSpec:
        """The `TensorSpec` of ``value``; `ShapeError` naming any dimension still unknown."""
        if value.sequence:
            return TensorSpec(shape=(0,), dtype=value.dtype, name=value.name, kind="constant")
        if value.shape is None:
            raise ShapeError(
                f"the shape of tensor {value.name!r} ({value.producer}) is unknown: flopcount "
                "cannot infer shapes through that op; give it with --input-shape "
                f"'{value.name}=D0xD1x...' or add the tensor to the model's value_info"
            )
        if all(type(d) is int for d in value.shape):  # the common case: nothing to resolve
            return TensorSpec(tuple(value.shape), value.dtype, value.name, kind or value.kind)  # type: ignore[arg-type]
        dims = []
        for axis, dim in enumerate(self.shape(value.shape) or ()):
            if isinstance(dim, str):
                dim = self.resolve(f"{value.name}[{axis}]")
            if isinstance(dim, str):
                raise self.unresolved(
                    str(value.shape[axis]), value.name, axis, value.producer or "a tensor"
                )
            dims.append(dim)
        return TensorSpec(
            shape=tuple(dims), dtype=value.dtype, name=value.name, kind=kind or value.kind
        )


def type_shape(type_proto: Any, name: str) -> tuple[str, Shape, bool]:
    """(dtype, shape, is_sequence) of an ONNX ``TypeProto`` (or a light `onnx_light.Type`,
    which answers the same ``WhichOneof``/``HasField`` calls); unnamed dimensions become
    ``NAME[AXIS]``."""
    which = type_proto.WhichOneof("value")
    if which != "tensor_type":
        inner = type_proto
        while inner.WhichOneof("value") in ("sequence_type", "optional_type"):
            nested = getattr(inner, inner.WhichOneof("value"))  # type: ignore[arg-type]
            inner = nested.elem_type
        elem = inner.tensor_type.elem_type if inner.HasField("tensor_type") else 0
        return dtype_name(elem), None, which is not None
    tensor = type_proto.tensor_type
    if not tensor.HasField("shape"):
        return dtype_name(tensor.elem_type), None, False
    dims: list[Dim] = []
    for axis, dim in enumerate(tensor.shape.dim):
        if dim.HasField("dim_value"):
            if dim.dim_value < 0:
                raise ShapeError(
                    f"tensor {name!r} declares axis {axis} = {dim.dim_value}: a dimension cannot "
                    "be negative; fix the model or override it with --input-shape"
                )
            dims.append(int(dim.dim_value))
        else:
            dims.append(dim.dim_param or f"{name}[{axis}]")
    return dtype_name(tensor.elem_type), tuple(dims), False
