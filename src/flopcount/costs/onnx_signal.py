"""Cost formulas of the ai.onnx signal ops: DFT, STFT, the window generators, MelWeightMatrix.

Fourier transforms use the nominal FFT count of FFTW's benchmark methodology
(https://www.fftw.org/speed/method.html): a complex transform of length N costs
``5 N log2 N`` FLOPs and a transform of real input ``2.5 N log2 N``, for every N (not only
powers of two), rounded to the nearest integer. It is the radix-2 Cooley-Tukey count (N/2
butterflies per stage, log2 N stages, 10 real operations per butterfly) and the figure FFT
libraries report; a direct DFT would cost 4 N^2 real MACs per complex transform instead.
"""

from __future__ import annotations

import math

from flopcount.costs._common import (
    arithmetic,
    cost_error,
    flops,
    int_attr,
    normalize_axis,
    optional_input,
    require_rank,
)
from flopcount.costs.cost import Cost
from flopcount.costs.registry import register
from flopcount.ir import Node

__all__ = ["fft_flops"]


def fft_flops(length: int, complex_input: bool) -> int:
    """Nominal FFT FLOPs: 5 N log2 N (complex input) or 2.5 N log2 N (real input)."""
    if length <= 1:
        return 0
    per_point = 5.0 if complex_input else 2.5
    return round(per_point * length * math.log2(length))


@register("DFT")
def dft(node: Node) -> Cost:
    """input (..., N, 1 | 2) with the signal along ``axis`` (frontends resolve the opset 20
    input into the attribute; default -2, as opset 17's default 1 is for rank 3): one FFT of
    ``dft_length`` (default N) per signal. Example: (1, 8, 2) is 5 * 8 * 3 = 120 FLOPs."""
    x = require_rank(node, 0, 3)
    axis = normalize_axis(node, int_attr(node, "axis", -2), x.rank)
    if axis == x.rank - 1:
        raise cost_error(node, "the DFT axis cannot be the last (real/imaginary) axis")
    signal = x.shape[axis]
    length = int(node.attr("dft_length", signal))
    transforms = x.numel // (signal * x.shape[-1]) if signal and x.shape[-1] else 0
    return arithmetic(node, flops(transforms * fft_flops(length, x.shape[-1] == 2)))


@register("STFT")
def stft(node: Node) -> Cost:
    """signal (B, L, 1 | 2), frame_step, optional window (W,), optional frame_length ->
    (B, frames, bins, 2): per frame a window multiply per sample (when a window is given) and
    one FFT of frame_length."""
    x = require_rank(node, 0, 3, 3).shape
    window = optional_input(node, 2)
    length = node.attr("frame_length")
    if length is None and window is not None:
        length = window.shape[0]
    if length is None or not node.outputs:
        raise cost_error(
            node,
            "frame_length is unknown (no constant frame_length input, no window)",
            "make frame_length a constant or give a window",
        )
    frames = x[0] * node.outputs[0].shape[1]
    windowing = int(length) * x[2] if window is not None else 0
    return arithmetic(node, flops(frames * (windowing + fft_flops(int(length), x[2] == 2))))


def _window(per_element: int, node: Node) -> Cost:
    if not node.outputs:
        raise cost_error(node, "needs its output shape (the window size is an input value)")
    return flops(per_element * node.outputs[0].numel)


@register("HannWindow", "HammingWindow")
def cosine_window(node: Node) -> Cost:
    """a0 - a1 * cos(2 pi n / N) (ONNX HannWindow / HammingWindow-17): 2 pi n (1 multiply),
    / N, cos, * a1, a0 - (.): 5 per element."""
    return _window(5, node)


@register("BlackmanWindow")
def blackman_window(node: Node) -> Cost:
    """a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N) (ONNX BlackmanWindow-17): the angle
    (2 ops), its double (1), 2 cos, 2 multiplies, 2 adds: 9 per element."""
    return _window(9, node)


@register("MelWeightMatrix")
def mel_weight_matrix(node: Node) -> Cost:
    """Output (dft_length // 2 + 1, num_mel_bins) of triangular filters (ONNX
    MelWeightMatrix-17): num_mel_bins + 2 band edges converted mel -> Hz -> bin (9 ops each:
    the linspace step, 700 * (10^(m / 2595) - 1), the bin index), and each (bin, filter)
    entry evaluates the triangle: a subtract and a divide (2)."""
    if not node.outputs or len(node.outputs[0].shape) != 2:
        raise cost_error(node, "needs its 2-D output shape")
    entries = node.outputs[0].numel
    return flops(2 * entries + 9 * (node.outputs[0].shape[1] + 2))
