"""Backward aten ops: lowered to the forward IR ops that do the same work, or decomposed.

Training analyses capture the operators autograd really runs. Most are ordinary ops (the
``mm`` pair of a Linear's backward: dX = dY @ W, dW = dY^T @ X). The fused backward kernels
are handled two ways:

- lowered here into ONNX ops of equal work: ``convolution_backward`` into a ConvTranspose
  (input gradient), a Conv over rearranged operands (weight gradient) and a ReduceSum (bias
  gradient); average-pool backward into a depthwise ConvTranspose that spreads each output
  gradient over its window;
- decomposed (`DECOMPOSED`): run through PyTorch's own reference decomposition
  (``torch._decomp``) during capture, so their elementwise ops and reductions are recorded one
  by one (``_softmax_backward_data`` = Mul, ReduceSum, Sub, Mul).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch._decomp import decomposition_table

from flopcount.frontends.torch_call import Lowering, OpCall, adaptive_window, ints, spatial_rank
from flopcount.ir import Node, TensorSpec

__all__ = ["BACKWARD_LOWERINGS", "DECOMPOSED", "decomposition"]

# Backward kernels (and var/std) replaced by their torch._decomp reference decomposition.
DECOMPOSED: tuple[str, ...] = (
    "native_layer_norm_backward", "native_batch_norm_backward", "cudnn_batch_norm_backward",
    "native_group_norm_backward", "_fused_rms_norm_backward", "_softmax_backward_data",
    "_log_softmax_backward_data", "gelu_backward", "silu_backward", "sigmoid_backward",
    "tanh_backward", "threshold_backward", "hardswish_backward", "hardsigmoid_backward",
    "hardtanh_backward", "leaky_relu_backward", "elu_backward", "softplus_backward",
    "mish_backward", "embedding_dense_backward", "native_dropout_backward",
    "max_pool2d_with_indices_backward", "var", "var_mean", "std", "std_mean",
)  # fmt: skip


def _decomposition_index() -> dict[Any, Callable[..., Any]]:
    index: dict[Any, Callable[..., Any]] = {}
    for name in DECOMPOSED:
        packet = getattr(torch.ops.aten, name, None)
        for overload in packet.overloads() if packet is not None else ():
            op = getattr(packet, overload)
            if op in decomposition_table:
                index[op] = decomposition_table[op]
    return index


_INDEX = _decomposition_index()


def decomposition(func: Any) -> Callable[..., Any] | None:
    """The reference decomposition of ``func`` when it is in `DECOMPOSED`, else ``None``."""
    return _INDEX.get(func)


@dataclass(frozen=True)
class _ConvGeo:
    """The forward convolution's geometry, per spatial axis."""

    kernel: list[int]
    strides: list[int]
    pads: list[int]
    dilations: list[int]
    group: int

    def attrs(self) -> dict[str, Any]:
        return {"kernel_shape": self.kernel, "strides": self.strides, "pads": self.pads * 2,
                "dilations": self.dilations, "group": self.group}  # fmt: skip


def _weight_grad(
    call: OpCall, big: TensorSpec, small: TensorSpec, w_grad: TensorSpec, geo: _ConvGeo
) -> list[Node]:
    """The weight gradient of a convolution as one Conv of equal MACs.

    For a forward conv ``big`` = X (N, C_in, *S) and ``small`` = dY (N, C_out, *S_out):
    dW[co, ci, kk] = sum over n, o of dY[n, co, o] * X[n, ci, o * stride + kk * dilation - pad],
    a convolution of X (batch C_in/g, channels g * N) with dY (C_out, N, *S_out) as kernel,
    stride and dilation swapped, giving (C_in/g, C_out, *k), then transposed to dW's layout.
    Input rows the forward conv never read (the remainder r of the output-size division) are
    trimmed from the end padding, or from X, so the output is exactly k wide. MACs:
    (C_in/g) * C_out * prod(k) * N * prod(S_out), the forward conv's. For a transposed conv
    the roles swap (``big`` = dY, ``small`` = X).
    """
    n, c_big, c_small = big.shape[0], big.shape[1], small.shape[1]
    sizes, ends = [], []
    axes = zip(big.shape[2:], small.shape[2:], geo.kernel, geo.strides, geo.pads, geo.dilations)
    for b, o, k, s, p, d in axes:
        rest = max(b + 2 * p - d * (k - 1) - 1 - s * (o - 1), 0)
        sizes.append(b - max(rest - p, 0))
        ends.append(max(p - rest, 0))
    x = call.temp((c_big // geo.group, geo.group * n, *sizes), big.dtype)
    w = call.temp((c_small, n, *small.shape[2:]), small.dtype)
    out = call.temp((c_big // geo.group, c_small, *geo.kernel), w_grad.dtype)
    conv = call.node(
        "Conv", [x, w], [out], kernel_shape=list(small.shape[2:]), strides=geo.dilations,
        pads=[*geo.pads, *ends], dilations=geo.strides, group=geo.group, gradient="weight",
    )  # fmt: skip
    perm = [1, 0, *range(2, 2 + len(geo.kernel))]
    return [conv, call.node("Transpose", [out], [w_grad], perm=perm)]


def _output(call: OpCall, index: int) -> TensorSpec | None:
    value = call.out[index]
    return call.spec(value) if isinstance(value, torch.Tensor) else None


def _input_grad_padding(dy: TensorSpec, x: TensorSpec, geo: _ConvGeo) -> list[int]:
    """ConvTranspose output_padding that restores the forward input size (the remainder)."""
    axes = zip(dy.shape[2:], x.shape[2:], geo.strides, geo.pads, geo.dilations, geo.kernel)
    return [max(size - ((o - 1) * s - 2 * p + d * (k - 1) + 1), 0) for o, size, s, p, d, k in axes]


def lower_convolution_backward(call: OpCall) -> list[Node]:
    """convolution_backward(grad_output, input, weight, bias_sizes, stride, padding, dilation,
    transposed, output_padding, groups, output_mask) -> (dX, dW, dB) as IR nodes.

    Conv: dX = ConvTranspose(dY, W) with the forward geometry (output_padding restores the
    input size). ConvTranspose: dX = Conv(dY, W). Both have the forward MACs. dB = ReduceSum
    of dY over batch and spatial axes.
    """
    dy, x, w = call.specs("grad_output", "input", "weight")
    ndim = w.rank - 2
    geo = _ConvGeo(list(w.shape[2:]), ints(call.args["stride"], ndim),
                   ints(call.args["padding"], ndim), ints(call.args["dilation"], ndim),
                   int(call.args["groups"]))  # fmt: skip
    transposed = bool(call.args["transposed"])
    nodes: list[Node] = []
    dx, dw, db = (_output(call, i) for i in range(3))
    if dx is not None and transposed:
        nodes.append(call.node("Conv", [dy, w], [dx], **geo.attrs()))
    elif dx is not None:
        extra = _input_grad_padding(dy, x, geo)
        nodes.append(call.node("ConvTranspose", [dy, w], [dx], output_padding=extra, **geo.attrs()))
    if dw is not None:
        big, small = (dy, x) if transposed else (x, dy)
        nodes += _weight_grad(call, big, small, dw, geo)
    if db is not None:
        axes = [0, *range(2, dy.rank)]
        nodes.append(call.node("ReduceSum", [dy], [db], axes=axes, keepdims=0))
    return nodes


def _window_scatter(
    call: OpCall, kernel: list[int], strides: list[int], pads: list[int]
) -> list[Node]:
    """Average-pool backward: every output gradient is spread evenly over its window, the
    transpose of a depthwise conv with a constant 1/window kernel: a ConvTranspose of
    grad_output (N, C, *S_out) with a (C, 1, *k) constant, group C."""
    ndim = len(kernel)
    dy = call.spec(call.args["grad_output"])
    dx = call.output()
    if dy.rank == ndim + 1:  # unbatched (C, *spatial)
        dy = dataclasses.replace(dy, shape=(1, *dy.shape))
    channels = dy.shape[1]
    w = call.constant((channels, 1, *kernel), dy.dtype, "window")
    full = [(o - 1) * s - 2 * p + k for o, s, p, k in zip(dy.shape[2:], strides, pads, kernel)]
    extra = [max(size - f, 0) for size, f in zip(dx.shape[-ndim:], full)]
    attrs = {"kernel_shape": kernel, "strides": strides, "pads": pads * 2,
             "group": channels, "output_padding": extra}  # fmt: skip
    return [call.node("ConvTranspose", [dy, w], [dx], **attrs)]


def lower_avg_pool_backward(call: OpCall) -> list[Node]:
    """avg_pool{2,3}d_backward(grad_output, self, kernel_size, stride, padding, ...)."""
    ndim = spatial_rank(call)
    kernel = ints(call.args["kernel_size"], ndim)
    strides = ints(call.arg("stride", []), ndim, default=kernel)
    return _window_scatter(call, kernel, strides, ints(call.arg("padding", 0), ndim))


def lower_adaptive_avg_pool_backward(call: OpCall) -> list[Node]:
    """_adaptive_avg_pool{2,3}d_backward(grad_output, self): windows as in the forward."""
    ndim = spatial_rank(call)
    dy, x = call.args["grad_output"], call.args["self"]
    windows = [adaptive_window(int(s), int(o)) for s, o in zip(x.shape[-ndim:], dy.shape[-ndim:])]
    kernel, strides = [k for k, _ in windows], [s for _, s in windows]
    return _window_scatter(call, kernel, strides, [0] * ndim)


BACKWARD_LOWERINGS: dict[str, Lowering] = {
    "convolution_backward": lower_convolution_backward,
    "avg_pool2d_backward": lower_avg_pool_backward,
    "avg_pool3d_backward": lower_avg_pool_backward,
    "_adaptive_avg_pool2d_backward": lower_adaptive_avg_pool_backward,
    "_adaptive_avg_pool3d_backward": lower_adaptive_avg_pool_backward,
}
