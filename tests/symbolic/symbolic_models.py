"""Small PyTorch models for the symbolic tests (importable as ``symbolic_models:NAME``).

Sizes are tiny (width 32, 2 layers) so lowering and ONNX export take a fraction of a second;
the formulas are exact whatever the width, so small models test the same code paths.
"""

from __future__ import annotations

import math

import torch
from torch import nn

WIDTH, HEADS, LAYERS, VOCAB, POSITIONS = 32, 4, 2, 100, 2048


class Block(nn.Module):
    """A GPT-2 / BERT block: LN, fused QKV, attention as two matmuls, MLP 4x (no SDPA op, so
    the ONNX export holds the Q K^T and P V MatMuls of the textbook form)."""

    def __init__(self, d: int = WIDTH, heads: int = HEADS, causal: bool = True) -> None:
        super().__init__()
        self.heads, self.causal = heads, causal
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.qkv, self.proj = nn.Linear(d, 3 * d), nn.Linear(d, d)
        self.fc, self.out = nn.Linear(d, 4 * d), nn.Linear(4 * d, d)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(d, dim=2)
        q, k, v = (z.view(b, t, self.heads, d // self.heads).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(d // self.heads))
        if self.causal:
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).tril()
            scores = scores.masked_fill(~mask, float("-inf"))
        y = (scores.softmax(-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + self.proj(y)
        return x + self.out(nn.functional.gelu(self.fc(self.ln2(x))))


class TinyGPT(nn.Module):
    """Token + position embeddings, ``LAYERS`` causal blocks, final LN, untied LM head."""

    def __init__(self, causal: bool = True) -> None:
        super().__init__()
        self.wte, self.wpe = nn.Embedding(VOCAB, WIDTH), nn.Embedding(POSITIONS, WIDTH)
        self.blocks = nn.ModuleList(Block(causal=causal) for _ in range(LAYERS))
        self.ln, self.head = nn.LayerNorm(WIDTH), nn.Linear(WIDTH, VOCAB, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.wte(ids) + self.wpe(torch.arange(ids.shape[1], device=ids.device))
        for block in self.blocks:
            x = block(x)
        return self.head(self.ln(x))


class RMSNorm(nn.Module):
    def __init__(self, d: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + 1e-6) * self.weight


class TinyLlama(nn.Module):
    """Llama-shaped: RMSNorm, grouped-query attention (2 KV heads for 4), SwiGLU MLP."""

    def __init__(self, d: int = WIDTH, heads: int = HEADS, kv_heads: int = 2) -> None:
        super().__init__()
        self.heads, self.kv = heads, kv_heads
        self.embed = nn.Embedding(VOCAB, d)
        self.norm1, self.norm2 = RMSNorm(d), RMSNorm(d)
        self.q = nn.Linear(d, d, bias=False)
        self.kv_proj = nn.Linear(d, 2 * d * kv_heads // heads, bias=False)
        self.o = nn.Linear(d, d, bias=False)
        self.gate, self.up = nn.Linear(d, 3 * d, bias=False), nn.Linear(d, 3 * d, bias=False)
        self.down = nn.Linear(3 * d, d, bias=False)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        x = self.embed(ids)
        b, t, d = x.shape
        h = self.norm1(x)
        q = self.q(h).view(b, t, self.heads, d // self.heads).transpose(1, 2)
        k, v = self.kv_proj(h).view(b, t, 2, self.kv, d // self.heads).unbind(2)
        k, v = (z.transpose(1, 2).repeat_interleave(self.heads // self.kv, 1) for z in (k, v))
        y = (q @ k.transpose(-2, -1)).softmax(-1) @ v
        x = x + self.o(y.transpose(1, 2).reshape(b, t, d))
        h = self.norm2(x)
        return x + self.down(nn.functional.silu(self.gate(h)) * self.up(h))


class TinyViT(nn.Module):
    """Patch-16 conv embedding, class token, one non-causal block, head on the class token."""

    def __init__(self, d: int = WIDTH, patch: int = 16) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, d, patch, stride=patch)
        self.cls = nn.Parameter(torch.zeros(1, 1, d))
        self.block = Block(d, causal=False)
        self.head = nn.Linear(d, 10)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        x = self.patch(images).flatten(2).transpose(1, 2)
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1)
        return self.head(self.block(x)[:, 0])


class StridedCNN(nn.Module):
    """Strided conv, max pool, valid strided conv, flatten: floors of three kinds."""

    def __init__(self) -> None:
        super().__init__()
        self.c1 = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.pool = nn.MaxPool2d(3, 2, 1)
        self.c2 = nn.Conv2d(8, 16, 3, stride=2)
        self.fc = nn.Linear(16, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.c2(self.pool(torch.relu(self.c1(x))))
        return self.fc(x.flatten(2).mean(-1))


class Branchy(nn.Module):
    """Control flow on the sequence length: an extra layer above 100 tokens."""

    def __init__(self) -> None:
        super().__init__()
        self.a, self.extra = nn.Linear(8, 8), nn.Linear(8, 8)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.a(x)
        if x.shape[1] > 100:
            x = self.extra(x)
        return x


def branchy() -> nn.Module:
    """``symbolic_models:branchy`` for the CLI tests (inputs from --input-shape)."""
    return Branchy()


def mlp() -> nn.Module:
    """``symbolic_models:mlp``: Linear(8, 32), GELU, Linear(32, 8) on (B, T, 8) inputs."""
    return nn.Sequential(nn.Linear(8, 32), nn.GELU(), nn.Linear(32, 8))
