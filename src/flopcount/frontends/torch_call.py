"""One captured aten call (`OpCall`) and the signature of the functions lowering it to IR nodes.

A lowering is a named function ``OpCall -> list[Node]``: it reads the call's arguments by
their schema names (``call.arg("stride")``), turns tensors into specs (``call.spec(x)``) and
builds ONNX-named nodes with ``call.node(...)``, which stamps the scope, phase and aten name.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

import torch

from flopcount.frontends.torch_specs import TensorTable, dtype_name, tensor_arguments
from flopcount.ir import Node, TensorSpec

__all__ = [
    "Lowering",
    "OpCall",
    "Phase",
    "adaptive_window",
    "batched",
    "bind",
    "conv_attrs",
    "ints",
    "spatial_rank",
]

Phase = Literal["forward", "backward"]
Lowering = Callable[["OpCall"], list[Node]]
_NO_DEFAULT = object()


@functools.cache
def _signature(func: torch._ops.OpOverload) -> tuple[tuple[str, Any], ...]:
    """(name, default) of each schema argument; ``_NO_DEFAULT`` when it has none."""
    return tuple(
        (arg.name, arg.default_value if arg.has_default_value() else _NO_DEFAULT)
        for arg in func._schema.arguments
    )


def bind(
    func: torch._ops.OpOverload, args: Sequence[Any], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """Arguments of one aten call by schema name, defaults filled in."""
    bound: dict[str, Any] = {}
    for index, (name, default) in enumerate(_signature(func)):
        if index < len(args):
            bound[name] = args[index]
        elif name in kwargs:
            bound[name] = kwargs[name]
        elif default is not _NO_DEFAULT:
            bound[name] = default
    return bound


def _scalar_dtype(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    return "int64" if isinstance(value, int) else "float32"


@dataclass
class OpCall:
    """An executed aten op: ``func`` with bound ``args`` and its result ``out``."""

    func: torch._ops.OpOverload
    args: dict[str, Any]
    out: Any
    table: TensorTable
    scope: str
    phase: Phase

    @property
    def op_name(self) -> str:
        """The overload packet's name: ``"addmm"``, ``"add_"``."""
        return str(self.func.overloadpacket.__name__)

    @property
    def overload(self) -> str:
        """The overload's name: ``"default"``, ``"Tensor"``, ``"Scalar"``."""
        return str(self.func._overloadname)

    def arg(self, name: str, default: Any = None) -> Any:
        value = self.args.get(name, default)
        return default if value is None else value

    def spec(self, value: Any) -> TensorSpec:
        """Spec of a tensor, or of a Python scalar operand (a rank-0 constant)."""
        if isinstance(value, torch.Tensor):
            return self.table.spec(value)
        return TensorSpec((), _scalar_dtype(value), repr(value), "constant")

    def operand_spec(self, value: Any) -> TensorSpec:
        """Spec of a matmul operand, with batch dims that are broadcast views (stride 0, made by
        ``expand``) shown as size 1: the product broadcasts them, and the bytes read and the
        parameters counted are the storage's, not the expanded view's (eager ``matmul`` folds
        a broadcast weight into one GEMM the same way)."""
        spec = self.spec(value)
        if not isinstance(value, torch.Tensor) or value.dim() < 3:
            return spec
        batch = [
            1 if stride == 0 else size
            for size, stride in zip(value.shape[:-2], value.stride()[:-2])
        ]
        return replace(spec, shape=(*batch, *spec.shape[-2:]))

    def specs(self, *names: str) -> list[TensorSpec]:
        """Specs of the named arguments that are present (``None`` arguments are skipped)."""
        return [self.spec(self.args[n]) for n in names if self.args.get(n) is not None]

    def outputs(self) -> tuple[TensorSpec, ...]:
        """Specs of every tensor the call returned."""
        out = self.out if isinstance(self.out, (tuple, list)) else (self.out,)
        return tuple(self.table.spec(t) for t in out if isinstance(t, torch.Tensor))

    def output(self, index: int = 0) -> TensorSpec:
        return self.outputs()[index]

    def temp(self, shape: Sequence[int], dtype: str = "float32") -> TensorSpec:
        """A synthetic intermediate of a multi-node lowering (no live tensor behind it)."""
        return TensorSpec(tuple(int(d) for d in shape), dtype, self.table.fresh_name())

    def constant(self, shape: Sequence[int], dtype: str, label: str) -> TensorSpec:
        """A constant operand the aten op implies but does not receive (a unit scale...)."""
        return TensorSpec(tuple(int(d) for d in shape), dtype, label, "constant")

    def dtype(self, name: str = "self") -> str:
        value = self.args.get(name)
        return dtype_name(value.dtype) if isinstance(value, torch.Tensor) else "float32"

    def node(
        self,
        op: str,
        inputs: Sequence[TensorSpec],
        outputs: Sequence[TensorSpec],
        **attrs: Any,
    ) -> Node:
        """An IR node for this call, stamped with its scope, phase and aten overload name;
        ``view=True`` when the aten op only reinterprets its input's storage (no bytes move)."""
        if getattr(self.func, "is_view", False):
            attrs = {**attrs, "view": True}
        return Node(
            op=op,
            inputs=tuple(inputs),
            outputs=tuple(outputs),
            attrs=attrs,
            scope=self.scope,
            name=str(self.func),
            phase=self.phase,
        )

    def unsupported(self) -> Node:
        """The node of an op no lowering knows: ``aten.<name>``, reported as unsupported."""
        inputs = [self.spec(v) for v in tensor_arguments(self.args.values())]
        return self.node(f"{self.func.namespace}.{self.op_name}", inputs, self.outputs())


def ints(value: Any, count: int, default: Sequence[int] = ()) -> list[int]:
    """An int-list argument as ``count`` ints (one value repeats; empty gives ``default``)."""
    values = [int(v) for v in value] if isinstance(value, (list, tuple)) else [int(value)]
    if not values:
        return list(default)
    return values * count if len(values) == 1 else values


def conv_attrs(
    w_shape: Sequence[int], stride: Any, padding: Any, dilation: Any, groups: int
) -> dict[str, Any]:
    """ONNX Conv attributes; ``pads`` lists all begins, then all ends (symmetric in PyTorch)."""
    ndim = len(w_shape) - 2
    pads = ints(padding, ndim)
    return {
        "kernel_shape": [int(k) for k in w_shape[2:]],
        "strides": ints(stride, ndim),
        "pads": pads + pads,
        "dilations": ints(dilation, ndim),
        "group": int(groups),
    }


def spatial_rank(call: OpCall) -> int:
    """1, 2 or 3 from the op name (``max_pool2d_with_indices`` -> 2)."""
    found = re.search(r"(\d)d", call.op_name)
    return int(found.group(1)) if found else 2


def batched(call: OpCall, value: Any, ndim: int) -> TensorSpec:
    """Spec of a pooling input with a batch dim (unbatched (C, *spatial) gets N = 1)."""
    spec = call.spec(value)
    if spec.rank == ndim + 1:
        return dataclasses.replace(spec, shape=(1, *spec.shape))
    return spec


def adaptive_window(size: int, out: int) -> tuple[int, int]:
    """(kernel, stride) of adaptive pooling along one axis.

    PyTorch's window j spans [floor(j * size / out), ceil((j + 1) * size / out))
    (aten/src/ATen/native/AdaptiveAveragePooling.cpp, start_index / end_index). When ``out``
    divides ``size`` every window is size / out wide with that stride; otherwise the widest
    window is used (an upper bound on the work).
    """
    if size % out == 0:
        return size // out, size // out
    kernel = max(math.ceil((j + 1) * size / out) - (j * size) // out for j in range(out))
    stride = (size - kernel) // (out - 1) if out > 1 else size
    return kernel, max(stride, 1)
