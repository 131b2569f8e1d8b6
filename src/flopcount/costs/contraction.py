"""Cost formulas of the contraction primitives: convolution and matrix multiplication.

The three conventions (defined with their derivations in ``docs/conventions.md``):

- ``macs``: one multiply-accumulate per (output element, reduction index) pair.
- ``flops`` = 2 * macs, plus one add per output element for a bias.
- ``flops_exact``: what the direct algorithm performs. A dot product of length K is K multiplies
  and K - 1 adds, so an output costs 2K - 1 operations without bias and 2K with bias (the bias
  replaces the "first add into zero"). The often-quoted ``(2 * K + 1)`` per output with bias
  treats the bias as a multiply-add (x * 1 + b); the algorithm does not multiply by one.
"""

from __future__ import annotations

from flopcount.conv.geometry import ConvGeometry
from flopcount.costs.cost import Cost

__all__ = ["conv_cost", "dot_cost", "matmul_cost"]


def dot_cost(outputs: int, length: int, bias: bool = False) -> Cost:
    """``outputs`` dot products of ``length`` terms each, optionally plus a bias each.

    ``length * outputs`` MACs; FLOPs 2 per MAC + 1 per bias; exact K multiplies and K - 1 adds
    per dot (2K with a bias, which replaces the first add into zero).
    """
    macs = outputs * length
    bias_adds = outputs if bias else 0
    exact = outputs * (2 * length - 1) + bias_adds if length else bias_adds
    return Cost(macs=macs, flops=2 * macs + bias_adds, flops_exact=exact)


def conv_cost(geo: ConvGeometry, bias: bool = False) -> Cost:
    """Cost of one convolution: ``geo.macs`` MACs, the bias counted once per output element.

    A forward convolution computes N * C_out * prod(out_spatial) outputs, each a dot product of
    length kernel_volume * C_in / groups. A transposed convolution scatters each input element
    into kernel_volume * C_out / groups outputs (``ConvGeometry.macs``); its exact count is not
    defined by one algorithm, so ``flops_exact`` equals ``flops`` there.
    """
    if geo.transposed:
        bias_adds = geo.output_elements if bias else 0
        flops = 2 * geo.macs + bias_adds
        return Cost(macs=geo.macs, flops=flops, flops_exact=flops)
    length = geo.kernel_volume * (geo.in_channels // geo.groups)
    return dot_cost(geo.output_elements, length, bias)


def matmul_cost(m: int, k: int, n: int, batch: int = 1, bias: bool = False) -> Cost:
    """Cost of ``batch`` products (m, k) @ (k, n): ``batch * m * n`` dot products of length k.

    Example: (25, 16) @ (16, 9) is 25 * 9 = 225 dot products of 16 terms: 3,600 MACs,
    7,200 FLOPs, 225 * (2 * 16 - 1) = 6,975 exact operations.
    """
    return dot_cost(batch * m * n, k, bias)
