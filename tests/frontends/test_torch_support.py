"""Shared helpers of the PyTorch-frontend tests (no tests here): totals and small models."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from flopcount.costs import REGISTRY, ZERO, Cost  # noqa: E402
from flopcount.ir import Graph  # noqa: E402


def total(graph: Graph, phase: str | None = None, scope: str | None = None) -> Cost:
    """Sum of the node costs (of one phase / scope prefix); unsupported nodes fail the test."""
    cost = ZERO
    for node in graph.nodes:
        if (phase and node.phase != phase) or (scope is not None and node.scope != scope):
            continue
        node_cost = REGISTRY.cost(node)
        assert node_cost is not None, f"unsupported node {node!r}"
        cost = cost + node_cost
    return cost


def macs(graph: Graph, phase: str | None = None, scope: str | None = None) -> int:
    return total(graph, phase, scope).macs


def ops(graph: Graph, phase: str | None = None) -> list[str]:
    return [n.op for n in graph.nodes if phase is None or n.phase == phase]


class Mlp(nn.Module):
    def __init__(self, d: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(d, hidden)
        self.fc2 = nn.Linear(hidden, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc2(F.gelu(self.fc1(x)))


class Block(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.mlp = Mlp(d, 4 * d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mlp(self.norm(x))


class Encoder(nn.Module):
    """encoder.layers.{i}.{norm,mlp.fc1,mlp.fc2} + head: a scope tree three levels deep."""

    def __init__(self, d: int = 16, layers: int = 2, classes: int = 3) -> None:
        super().__init__()
        self.encoder = nn.Module()
        self.encoder.layers = nn.ModuleList(Block(d) for _ in range(layers))
        self.head = nn.Linear(d, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.encoder.layers:
            x = layer(x)
        return self.head(x.mean(1))


class TinyCnn(nn.Module):
    """conv-bn-relu-pool + dropout + linear head: modes, buffers and fused kernels."""

    def __init__(self) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.bn = nn.BatchNorm2d(8)
        self.drop = nn.Dropout(0.5)
        self.fc = nn.Linear(8, 4)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.max_pool2d(torch.relu(self.bn(self.conv(x))), 2)
        return self.fc(self.drop(F.adaptive_avg_pool2d(x, 1).flatten(1)))
