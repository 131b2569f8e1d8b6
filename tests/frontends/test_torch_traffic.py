"""Traffic of views and broadcast matmul operands: storage bytes, not the expanded view's."""

from __future__ import annotations

import torch
from torch import nn

import flopcount


def test_expanded_weight_is_read_at_its_storage_size() -> None:
    class Batched(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.w = nn.Parameter(torch.empty(64, 32))

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.bmm(x, self.w.expand(x.shape[0], 64, 32))  # (B, T, 64) @ (B, 64, 32)

    report = flopcount.analyze(Batched(), (10, 5, 64))
    (matmul,) = [r for r in report.rows if r.op == "MatMul"]
    assert matmul.cost.macs == 10 * 5 * 64 * 32  # B * T * K * N
    assert matmul.cost.params == 64 * 32  # the weight once, not once per batch entry
    x_bytes, w_bytes, y_bytes = 4 * 10 * 5 * 64, 4 * 64 * 32, 4 * 10 * 5 * 32  # float32
    assert matmul.cost.bytes_read == x_bytes + w_bytes
    assert matmul.cost.bytes_written == y_bytes
    views = [r for r in report.rows if r.node.attrs.get("view")]
    assert views and all(r.cost.bytes_read == r.cost.bytes_written == 0 for r in views)


def test_a_copy_still_moves_bytes() -> None:
    class Copy(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.transpose(0, 1).contiguous()

    report = flopcount.analyze(Copy(), (6, 7))
    (copy,) = [r for r in report.rows if not r.node.attrs.get("view")]
    assert copy.cost.bytes_read == copy.cost.bytes_written == 4 * 6 * 7  # one float32 copy
