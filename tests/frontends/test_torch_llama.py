"""A Llama-2-70B-shaped model (meta device) through the PyTorch frontend: shapes only."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from flopcount.costs import REGISTRY  # noqa: E402
from flopcount.frontends.torch import lower  # noqa: E402


@dataclass(frozen=True)
class LlamaConfig:
    """Llama 2 70B (Touvron et al. 2023, table 1 / params.json): d 8192, 80 layers, 64 heads,
    8 KV heads (GQA), feed-forward 28672, vocabulary 32000."""

    vocab: int = 32000
    dim: int = 8192
    layers: int = 80
    heads: int = 64
    kv_heads: int = 8
    ffn: int = 28672
    eps: float = 1e-5


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.ones(dim))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rotate_half(x: torch.Tensor) -> torch.Tensor:
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


class Attention(nn.Module):
    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = cfg.heads, cfg.kv_heads, cfg.dim // cfg.heads
        self.wq = nn.Linear(cfg.dim, cfg.heads * self.head_dim, bias=False)
        self.wk = nn.Linear(cfg.dim, cfg.kv_heads * self.head_dim, bias=False)
        self.wv = nn.Linear(cfg.dim, cfg.kv_heads * self.head_dim, bias=False)
        self.wo = nn.Linear(cfg.heads * self.head_dim, cfg.dim, bias=False)
        inv_freq = 1.0 / (10000 ** (torch.arange(0, self.head_dim, 2).float() / self.head_dim))
        self.register_buffer("inv_freq", inv_freq, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q = self.wq(x).view(b, t, self.heads, self.head_dim).transpose(1, 2)
        k = self.wk(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        v = self.wv(x).view(b, t, self.kv_heads, self.head_dim).transpose(1, 2)
        angles = torch.outer(torch.arange(t, device=x.device).float(), self.inv_freq)
        cos, sin = torch.cat((angles, angles), -1).cos(), torch.cat((angles, angles), -1).sin()
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        y = F.scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        return self.wo(y.transpose(1, 2).reshape(b, t, -1))


class FeedForward(nn.Module):
    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.w1 = nn.Linear(cfg.dim, cfg.ffn, bias=False)
        self.w2 = nn.Linear(cfg.ffn, cfg.dim, bias=False)
        self.w3 = nn.Linear(cfg.dim, cfg.ffn, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.attention_norm = RMSNorm(cfg.dim, cfg.eps)
        self.attention = Attention(cfg)
        self.ffn_norm = RMSNorm(cfg.dim, cfg.eps)
        self.feed_forward = FeedForward(cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attention(self.attention_norm(x))
        return x + self.feed_forward(self.ffn_norm(x))


class Llama(nn.Module):
    def __init__(self, cfg: LlamaConfig) -> None:
        super().__init__()
        self.tok_embeddings = nn.Embedding(cfg.vocab, cfg.dim)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.layers))
        self.norm = RMSNorm(cfg.dim, cfg.eps)
        self.output = nn.Linear(cfg.dim, cfg.vocab, bias=False)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        h = self.tok_embeddings(tokens)
        for layer in self.layers:
            h = layer(h)
        return self.output(self.norm(h))


def build(layers: int) -> Llama:
    with torch.device("meta"):
        return Llama(LlamaConfig(layers=layers))


def _peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # Linux reports KiB


def expected_macs(cfg: LlamaConfig, t: int) -> int:
    """Closed form, per token: q and o projections d*d each, k and v d*(kv_heads*head_dim)
    each, SwiGLU 3*d*ffn; per layer 2*t*t*d for Q K^T and P V (dense causal); lm_head d*vocab."""
    kv = cfg.kv_heads * (cfg.dim // cfg.heads)
    linear = 2 * cfg.dim * cfg.dim + 2 * cfg.dim * kv + 3 * cfg.dim * cfg.ffn
    return cfg.layers * (t * linear + 2 * t * t * cfg.dim) + t * cfg.dim * cfg.vocab


def _analyse(layers: int, t: int) -> tuple[object, float, int]:
    model = build(layers)
    rss, start = _peak_rss_bytes(), time.perf_counter()
    graph = lower(model, ((1, t), torch.int64))
    return graph, time.perf_counter() - start, _peak_rss_bytes() - rss


def test_two_llama_70b_layers_from_shapes_alone() -> None:
    graph, seconds, grown = _analyse(layers=2, t=4096)
    cfg = LlamaConfig(layers=2)
    assert sum(REGISTRY.cost(n).macs for n in graph.nodes) == expected_macs(cfg, 4096)
    # 2 * 855,638,016 weights per layer + 2 * 32000 * 8192 embedding/head + norms: ~9.9 GB
    # of float32 if materialised; fake tensors allocate none of it
    params = sum(s.numel for s in graph.parameters.values())
    assert params == 2 * (855_638_016 + 2 * 8192) + 2 * 32000 * 8192 + 8192
    assert grown < 500 * 2**20
    assert seconds < 10
    sdpa = [n for n in graph.nodes if n.op == "ScaledDotProductAttention"]
    assert [n.scope for n in sdpa] == ["layers.0.attention", "layers.1.attention"]
    q, k, v = (s.shape for s in sdpa[0].inputs)
    assert (q, k, v) == ((1, 64, 4096, 128), (1, 8, 4096, 128), (1, 8, 4096, 128))  # GQA
    assert sdpa[0].attrs["is_causal"] is True
    assert "inv_freq" in next(iter(graph.buffers)) and graph.inputs[0].dtype == "int64"


@pytest.mark.slow
def test_full_llama_70b_under_ten_seconds() -> None:
    graph, seconds, grown = _analyse(layers=80, t=4096)
    macs = sum(REGISTRY.cost(n).macs for n in graph.nodes)
    assert macs == expected_macs(LlamaConfig(), 4096) == 303_439_439_462_400  # ~303 TMACs
    assert seconds < 10 and grown < int(1.5 * 2**30)
