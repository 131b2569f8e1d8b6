"""Shared test helpers: random convolution cases, layout moves, and PyTorch references."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import torch
from hypothesis import strategies as st
from torch.nn import functional

from flopcount.conv import (
    conv_backward,
    conv_forward,
    conv_transpose_backward,
    conv_transpose_forward,
)

METHODS = ("direct", "im2col", "gemm", "auto")  # winograd runs only on 3x3 stride 1
LAYOUTS = ("channels_first", "channels_last")
RTOL = {np.float32: 1e-4, np.float64: 1e-10}

TORCH_CONV = {1: functional.conv1d, 2: functional.conv2d, 3: functional.conv3d}
TORCH_CONV_T = {
    1: functional.conv_transpose1d,
    2: functional.conv_transpose2d,
    3: functional.conv_transpose3d,
}


@dataclass(frozen=True)
class Case:
    """One convolution problem in channels_first terms (PyTorch's order).

    x_shape (N, C_in, *in); w_shape (C_out, C_in/groups, *k) or, transposed,
    (C_in, C_out/groups, *k); padding: one (lo, hi) pair per spatial dim.
    """

    x_shape: tuple[int, ...]
    w_shape: tuple[int, ...]
    stride: tuple[int, ...]
    padding: tuple[tuple[int, int], ...]
    dilation: tuple[int, ...]
    groups: int
    bias: bool
    transposed: bool = False
    output_padding: tuple[int, ...] = ()

    @property
    def out_channels(self) -> int:
        return self.w_shape[1] * self.groups if self.transposed else self.w_shape[0]

    def kwargs(self) -> dict[str, Any]:
        """Keyword arguments for conv_forward / conv_transpose_forward."""
        kw: dict[str, Any] = {
            "stride": self.stride, "padding": self.padding,
            "dilation": self.dilation, "groups": self.groups,
        }  # fmt: skip
        if self.transposed:
            kw["output_padding"] = self.output_padding
        return kw

    def arrays(
        self, dtype: type, seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        rng = np.random.default_rng(seed)
        x = rng.standard_normal(self.x_shape).astype(dtype)
        w = rng.standard_normal(self.w_shape).astype(dtype)
        b = rng.standard_normal(self.out_channels).astype(dtype) if self.bias else None
        return x, w, b


@st.composite
def cases(draw: st.DrawFn, transposed: bool = False, winograd: bool = False) -> Case:
    """A small random (transposed) convolution: 1-3 spatial dims, groups, strides, dilation;
    with ``winograd``, a 2-D 3x3 stride-1 one (sizes up to 10, odd and even)."""
    nd = 2 if winograd else draw(st.integers(1, 3))
    size_cap = 10 if winograd else 7 if nd < 3 else 4
    groups = draw(st.integers(1, 3))
    c_in, c_out = groups * draw(st.integers(1, 2)), groups * draw(st.integers(1, 3))
    kernel = (3, 3) if winograd else tuple(draw(st.integers(1, 3)) for _ in range(nd))
    stride = (1, 1) if winograd else tuple(draw(st.integers(1, 3)) for _ in range(nd))
    dilation = (1, 1) if winograd else tuple(draw(st.integers(1, 2)) for _ in range(nd))
    padding, spatial, out_pad = [], [], []
    for k, s, d in zip(kernel, stride, dilation):
        span = d * (k - 1) + 1
        if transposed:  # PyTorch pads symmetrically; 2 * padding <= d * (k - 1) keeps out >= 1
            p = draw(st.integers(0, d * (k - 1) // 2))
            padding.append((p, p))
            spatial.append(draw(st.integers(1, size_cap - 2)))
            out_pad.append(draw(st.integers(0, max(s, d) - 1)))
        else:
            lo, hi = draw(st.integers(0, 2)), draw(st.integers(0, 2))
            padding.append((lo, hi))
            spatial.append(max(span - lo - hi, 1) + draw(st.integers(0, size_cap - 3)))
    if transposed:
        x_shape = (draw(st.integers(1, 2)), c_in, *spatial)
        w_shape = (c_in, c_out // groups, *kernel)
    else:
        x_shape = (draw(st.integers(1, 2)), c_in, *spatial)
        w_shape = (c_out, c_in // groups, *kernel)
    return Case(
        x_shape, w_shape, stride, tuple(padding), dilation, groups, draw(st.booleans()),
        transposed, tuple(out_pad) if transposed else (),
    )  # fmt: skip


def symmetric(case: Case) -> Case:
    """The same case with each dim's padding made symmetric (its low side on both sides)."""
    return replace(case, padding=tuple((lo, lo) for lo, _ in case.padding))


def to_layout(x: np.ndarray, layout: str, weight: bool = False) -> np.ndarray:
    """channels_first x (N, C, *s) or w (A, B, *k) into ``layout``, contiguous."""
    if layout == "channels_first":
        return x
    order = (*range(2, x.ndim), 1, 0) if weight else (0, *range(2, x.ndim), 1)
    return np.ascontiguousarray(x.transpose(order))


def from_layout(x: np.ndarray, layout: str, weight: bool = False) -> np.ndarray:
    """Inverse of `to_layout`."""
    if layout == "channels_first":
        return x
    nd = x.ndim - 2
    order = (nd + 1, nd, *range(nd)) if weight else (0, x.ndim - 1, *range(1, x.ndim - 1))
    return np.ascontiguousarray(x.transpose(order))


def _t(a: np.ndarray | None, grad: bool = False) -> torch.Tensor | None:
    return None if a is None else torch.tensor(a, requires_grad=grad)


def torch_forward(
    case: Case, x: np.ndarray, w: np.ndarray, b: np.ndarray | None, grad: bool = False
) -> tuple[torch.Tensor, list[torch.Tensor | None]]:
    """PyTorch's result for channels_first arrays, and the leaf tensors (x, w, b)."""
    leaves = [_t(x, grad), _t(w, grad), _t(b, grad)]
    tx, tw, tb = leaves
    nd = x.ndim - 2
    if case.transposed:
        pads = tuple(lo for lo, _ in case.padding)
        out = TORCH_CONV_T[nd](
            tx, tw, tb, stride=case.stride, padding=pads, output_padding=case.output_padding,
            groups=case.groups, dilation=case.dilation,
        )  # fmt: skip
    else:
        flat_pads = [p for lo_hi in reversed(case.padding) for p in lo_hi]  # F.pad: last dim 1st
        out = TORCH_CONV[nd](
            functional.pad(tx, flat_pads), tw, tb, stride=case.stride, dilation=case.dilation,
            groups=case.groups,
        )  # fmt: skip
    return out, leaves


def assert_close(actual: np.ndarray, expected: np.ndarray, dtype: type) -> None:
    """Relative tolerance of the dtype, absolute tolerance scaled by the largest value."""
    rtol = RTOL[dtype]
    atol = rtol * max(1.0, float(np.abs(expected).max()))
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


def check_against_torch(case: Case, method: str, layout: str, dtype: type) -> None:
    """Forward and backward of one case against PyTorch (channels_first inside torch)."""
    x, w, b = case.arrays(dtype)
    ref, (tx, tw, tb) = torch_forward(case, x, w, b, grad=True)
    dout = np.random.default_rng(1).standard_normal(tuple(ref.shape)).astype(dtype)
    ref.backward(torch.tensor(dout))
    run = conv_transpose_forward if case.transposed else conv_forward
    back = conv_transpose_backward if case.transposed else conv_backward
    xl, wl = to_layout(x, layout), to_layout(w, layout, weight=True)
    out, cache = run(xl, wl, b, layout=layout, method=method, **case.kwargs())
    assert out.dtype == dtype and out.shape == to_layout(ref.detach().numpy(), layout).shape
    assert_close(from_layout(out, layout), ref.detach().numpy(), dtype)
    dx, dw, db = back(to_layout(dout, layout), cache)
    assert dx.dtype == dw.dtype == dtype
    assert_close(from_layout(dx, layout), tx.grad.numpy(), dtype)
    assert_close(from_layout(dw, layout, weight=True), tw.grad.numpy(), dtype)
    if b is None:
        assert db is None
    else:
        assert_close(db, tb.grad.numpy(), dtype)
