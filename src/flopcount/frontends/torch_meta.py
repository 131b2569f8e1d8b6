"""Output shapes of the aten ops whose meta kernels are Python reference code.

On the meta device, ops such as ``relu``, ``native_batch_norm``, ``native_layer_norm``,
``mean.dim`` and ``cat`` run Python references (``torch._refs``, ``torch._decomp``) whose
``torch._disable_dynamo`` wrappers import ``torch._dynamo`` on first use: about a second, more
than analysing a whole ResNet-50. Their output shapes are simple, so the recorder makes the
outputs itself when every tensor argument is a floating-point meta tensor. Every shortcut is
checked against the real meta kernel (shape, dtype, strides) in
``tests/frontends/test_torch_meta.py``; anything else runs the real kernel.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import torch

from flopcount.frontends.torch_specs import tensor_arguments

__all__ = ["ANY_DTYPE", "SHORTCUTS", "meta_shortcut"]

aten = torch.ops.aten
_HALF = (torch.float16, torch.bfloat16)


class _DeclinedError(Exception):
    """A shortcut cannot vouch for these arguments: run the real kernel (and its checks)."""


def _require(ok: bool) -> None:
    if not ok:
        raise _DeclinedError


def _stats_dtype(dtype: torch.dtype) -> torch.dtype:
    """Normalisation statistics accumulate in float32 for half-precision inputs."""
    return torch.float32 if dtype in _HALF else dtype


def _empty(shape: Sequence[int], dtype: torch.dtype, stride: Sequence[int] | None = None) -> Any:
    """A meta tensor. ``empty_strided``/``empty`` are C++ factories; ``empty_like`` on meta runs
    a Python reference (about 10x slower per call)."""
    if stride is None:
        return torch.empty(tuple(shape), dtype=dtype, device="meta")
    return torch.empty_strided(tuple(shape), tuple(stride), dtype=dtype, device="meta")


def _dense_stride(tensor: torch.Tensor) -> tuple[int, ...] | None:
    """The strides an elementwise result copies from ``tensor``: channels-last kept, anything
    else (contiguous, or a broadcast/overlapping view) made contiguous (None)."""
    channels_last = tensor.dim() == 4 and not tensor.is_contiguous()
    if channels_last and tensor.is_contiguous(memory_format=torch.channels_last):
        return tuple(tensor.stride())
    return None


def _like(input: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
    """Elementwise ops on a floating-point tensor: same shape, dtype and memory format."""
    return _empty(input.shape, input.dtype, _dense_stride(input))


def _like_exponent(base: Any, exponent: torch.Tensor) -> torch.Tensor:
    """``pow.Scalar(base, exponent)``: the floating-point exponent tensor's shape and dtype."""
    return _empty(exponent.shape, exponent.dtype, _dense_stride(exponent))


def _native_batch_norm(
    input: torch.Tensor, *args: Any, **kwargs: Any
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(out like input, save_mean (C,), save_invstd (C,))."""
    channels = input.shape[1] if input.dim() > 1 else -1
    params = [a for a in args[:4] if isinstance(a, torch.Tensor)]
    _require(channels > 0 and all(p.shape == (channels,) for p in params))
    stats = (input.shape[1],)
    dtype = _stats_dtype(input.dtype)
    return _like(input), _empty(stats, dtype), _empty(stats, dtype)


def _native_layer_norm(
    input: torch.Tensor, normalized_shape: Sequence[int], *args: Any, **kwargs: Any
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(out like input, mean, rstd) with the normalised dims kept as size 1."""
    axis = input.dim() - len(normalized_shape)
    affine = [a for a in args[:2] if isinstance(a, torch.Tensor)]
    trailing = tuple(input.shape[axis:])
    _require(axis >= 0 and trailing == tuple(normalized_shape))
    _require(all(tuple(a.shape) == trailing for a in affine))
    shape = (*input.shape[:axis], *(1,) * len(normalized_shape))
    dtype = _stats_dtype(input.dtype)
    return _empty(input.shape, input.dtype), _empty(shape, dtype), _empty(shape, dtype)


def _mean_dim(
    input: torch.Tensor, dim: Sequence[int] | None, keepdim: bool = False, *, dtype: Any = None
) -> torch.Tensor:
    """Reduction over ``dim`` (all dims when None or empty), keeping them as 1 if asked."""
    _require(input.dim() > 0)
    axes = {d % input.dim() for d in dim} if dim else set(range(input.dim()))
    shape = [1 if i in axes else s for i, s in enumerate(input.shape) if keepdim or i not in axes]
    return torch.empty(shape, dtype=dtype or input.dtype, device="meta")


def _broadcast(*operands: Any, **kwargs: Any) -> torch.Tensor:
    """Elementwise ops over broadcast operands (tensors or Python scalars): the broadcast
    shape and the promoted dtype; an operand of the output's shape lends its memory format."""
    tensors = [t for t in operands if isinstance(t, torch.Tensor)]
    shape = torch.broadcast_shapes(*(t.shape for t in tensors))
    dtype = torch.result_type(*operands[:2]) if len(operands) > 1 else tensors[0].dtype
    template = next((t for t in tensors if t.shape == shape), None)
    return _empty(shape, dtype, _dense_stride(template) if template is not None else None)


def _where(condition: torch.Tensor, input: Any, other: Any) -> torch.Tensor:
    """``where(cond, a, b)``: broadcast of all three, dtype promoted from ``a`` and ``b``."""
    values = [v for v in (input, other) if isinstance(v, torch.Tensor)]
    shape = torch.broadcast_shapes(condition.shape, *(v.shape for v in values))
    dtype = torch.result_type(input, other)
    return _empty(shape, dtype)


def _addmm(
    bias: torch.Tensor, mat1: torch.Tensor, mat2: torch.Tensor, **kwargs: Any
) -> torch.Tensor:
    """``bias + mat1 @ mat2``: (mat1 rows, mat2 columns)."""
    _require(mat1.dim() == 2 and mat2.dim() == 2 and mat1.shape[1] == mat2.shape[0])
    _require(mat1.dtype == mat2.dtype == bias.dtype)
    torch.broadcast_shapes(bias.shape, (mat1.shape[0], mat2.shape[1]))  # raises as addmm does
    return torch.empty((mat1.shape[0], mat2.shape[1]), dtype=mat1.dtype, device="meta")


def _arange(*bounds: float, dtype: Any = None, **kwargs: Any) -> torch.Tensor:
    """``arange([start,] end[, step])``: ceil((end - start) / step) values; int64 unless a
    bound is a float (then the default float dtype), as ``torch.arange`` documents."""
    start, end, step = (0, bounds[0], 1) if len(bounds) == 1 else (*bounds, 1)[:3]
    length = max(0, math.ceil((end - start) / step))
    if dtype is None:
        floats = any(isinstance(b, float) for b in bounds)
        dtype = torch.get_default_dtype() if floats else torch.int64
    return torch.empty((length,), dtype=dtype, device="meta")


def _cat(tensors: Sequence[torch.Tensor], dim: int = 0) -> torch.Tensor:
    """Concatenation along ``dim``; 1-D empty tensors are skipped (legacy ``cat`` rule)."""
    used = [t for t in tensors if not (t.dim() == 1 and t.numel() == 0)] or list(tensors[:1])
    first = used[0]
    _require(first.dim() > 0 and all(t.dim() == first.dim() for t in used))
    axis = dim % first.dim()
    _require(
        all(
            t.shape[:axis] + t.shape[axis + 1 :] == first.shape[:axis] + first.shape[axis + 1 :]
            for t in used
        )
    )
    shape = list(first.shape)
    shape[axis] = sum(t.shape[axis] for t in used)
    dtype = functools.reduce(torch.promote_types, (t.dtype for t in tensors))
    return torch.empty(shape, dtype=dtype, device="meta")


# Shortcuts for floating-point operands only (an integer input may change the result dtype).
SHORTCUTS: dict[Any, Callable[..., Any]] = {
    aten.native_batch_norm.default: _native_batch_norm,
    aten.native_layer_norm.default: _native_layer_norm,
    aten.mean.dim: _mean_dim,
    aten.cat.default: _cat,
    aten.pow.Scalar: _like_exponent,
    aten.addmm.default: _addmm,
    **{
        op: _broadcast
        for op in (aten.add.Tensor, aten.sub.Tensor, aten.mul.Tensor, aten.div.Tensor,
                   aten.pow.Tensor_Scalar, aten.mul.Scalar, aten.add.Scalar,
                   aten.sub.Scalar, aten.div.Scalar)
    },
    **{
        op: _like
        for op in (
            aten.relu.default, aten.gelu.default, aten.hardtanh.default, aten.neg.default,
            aten.cos.default, aten.sin.default, aten._safe_softmax.default, aten.silu.default,
            aten.sigmoid.default, aten.tanh.default, aten.hardswish.default,
            aten.hardsigmoid.default, aten.elu.default, aten.leaky_relu.default,
            aten.erf.default, aten.rsqrt.default,
        )
    },
}  # fmt: skip
# Shortcuts whose output dtype never depends on the operands' being floating point.
ANY_DTYPE: dict[Any, Callable[..., Any]] = {
    aten.tril.default: _like,
    aten.triu.default: _like,
    aten.where.self: _where,
}


_FACTORIES = (aten.arange.default, aten.arange.start, aten.arange.start_step)


def meta_shortcut(
    func: Any, args: Sequence[Any], kwargs: dict[str, Any]
) -> Callable[[], Any] | None:
    """A thunk making ``func``'s outputs directly, or None to run the real kernel.

    Only when every tensor argument is a meta tensor (floating point for `SHORTCUTS`) and no
    ``out=`` is given.
    """
    tensors = tensor_arguments(args)
    if func in _FACTORIES:
        device = kwargs.get("device")
        on_meta = device is not None and torch.device(device).type == "meta"
        return functools.partial(_run, _arange, func, args, kwargs) if on_meta else None
    if "out" in kwargs or not tensors or any(t.device.type != "meta" for t in tensors):
        return None
    shortcut = ANY_DTYPE.get(func)
    if shortcut is None and all(t.is_floating_point() for t in tensors):
        shortcut = SHORTCUTS.get(func)
    return None if shortcut is None else functools.partial(_run, shortcut, func, args, kwargs)


def _run(
    shortcut: Callable[..., Any], func: Any, args: Sequence[Any], kwargs: dict[str, Any]
) -> Any:
    try:
        return shortcut(*args, **kwargs)
    except _DeclinedError:
        return func(*args, **kwargs)
