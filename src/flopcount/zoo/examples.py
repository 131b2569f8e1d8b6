"""Two textbook examples whose costs can be checked by hand.

``matmul``: C = A @ B with A the (25, 16) input and B a (16, 9) parameter, so the model has
16 * 9 = 144 parameters and costs M*K*N = 25 * 16 * 9 = 3,600 MACs (7,200 FLOPs at 2 per MAC).

``conv3x3``: one ``nn.Conv2d(3, 16, 3, padding=1)`` (with bias) on a (1, 3, 32, 32) image:
16*3*3*3 + 16 = 448 parameters and N*C_out*H*W*C_in*k*k = 1*16*32*32*3*3*3 = 442,368 MACs.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["Conv3x3", "MatMul", "conv3x3", "matmul"]


class MatMul(nn.Module):
    """C = A @ B: A (M, K) input, B (K, N) parameter -> C (M, N)."""

    def __init__(self, k: int = 16, n: int = 9) -> None:
        super().__init__()
        self.B = nn.Parameter(torch.zeros(k, n))

    def forward(self, a: torch.Tensor) -> torch.Tensor:
        return a @ self.B  # M, N


class Conv3x3(nn.Module):
    """A single 3x3 conv with "same" padding: (N, 3, H, W) -> (N, 16, H, W)."""

    def __init__(self, c_in: int = 3, c_out: int = 16) -> None:
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, 3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


def matmul() -> MatMul:
    """The (25x16) @ (16x9) example: B is the model's only parameter."""
    return MatMul()


def conv3x3() -> Conv3x3:
    """The 3 -> 16 channel 3x3 conv example."""
    return Conv3x3()
