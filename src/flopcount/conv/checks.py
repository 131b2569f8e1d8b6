"""Argument checks shared by the convolution and transposed-convolution entry points.

Everything a caller can get wrong raises `ConvError` naming the parameter and the shapes.
Geometry (rank, channels, groups, stride, padding, kernel size) is checked by
`ConvGeometry.from_shapes`; arrays (type, dtype, bias, gradients) here.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from flopcount.errors import ConvError

__all__ = ["FLOAT_DTYPES", "check_arrays", "check_bias_shape", "check_dout", "check_layout"]

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def check_layout(layout: Any) -> None:
    if layout not in ("channels_first", "channels_last"):
        raise ConvError(f"layout={layout!r}: use 'channels_first' or 'channels_last'")


def _check_array(name: str, a: Any) -> np.ndarray:
    if not isinstance(a, np.ndarray):
        raise ConvError(f"{name} must be a numpy.ndarray, got {type(a).__name__}")
    if a.dtype not in FLOAT_DTYPES:
        raise ConvError(
            f"{name} has dtype {a.dtype} (shape {a.shape}): the engine computes in float32 or "
            f"float64; convert with {name}.astype(np.float32)"
        )
    if a.size == 0:
        raise ConvError(f"{name} is empty (shape {a.shape}): every dim must be >= 1")
    return a


def check_arrays(x: Any, w: Any, b: Any) -> None:
    """x, w (and b unless None) are non-empty float32/float64 arrays of one dtype."""
    _check_array("x", x)
    _check_array("w", w)
    if w.dtype != x.dtype:
        raise ConvError(
            f"dtype mismatch: x is {x.dtype} {x.shape} but w is {w.dtype} {w.shape}; "
            "pass arrays of one dtype (no silent upcast)"
        )
    if b is not None:
        _check_array("b", b)
        if b.dtype != x.dtype:
            raise ConvError(f"dtype mismatch: x is {x.dtype} but bias b is {b.dtype} {b.shape}")


def check_bias_shape(b: np.ndarray | None, channels: int, w_shape: tuple[int, ...]) -> None:
    """The bias is (channels,): one value per output channel."""
    if b is not None and b.shape != (channels,):
        raise ConvError(
            f"bias b has shape {b.shape} but the weight {w_shape} makes {channels} output "
            f"channels: b must have shape ({channels},)"
        )


def check_dout(dout: Any, expected_shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    """The upstream gradient has the forward output's shape and dtype."""
    _check_array("dout", dout)
    if dout.shape != expected_shape:
        raise ConvError(f"dout has shape {dout.shape} but the forward output was {expected_shape}")
    if dout.dtype != dtype:
        raise ConvError(f"dtype mismatch: dout is {dout.dtype} but the forward ran in {dtype}")
    return np.asarray(dout)
