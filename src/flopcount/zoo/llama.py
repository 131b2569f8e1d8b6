"""Llama 2 (7B and 70B) with untied LM head, built from the paper and the released configs.

Source: Touvron et al., "Llama 2: Open Foundation and Fine-Tuned Chat Models", 2023
(arXiv:2307.09288), Sec. 2.2 and Table 1: the Llama 1 architecture (Touvron et al. 2023,
arXiv:2302.13971, Sec. 2.2) of pre-normalised decoder blocks with RMSNorm (Zhang & Sennrich
2019), SwiGLU feed-forward (Shazeer 2020) and rotary position embeddings (Su et al. 2021),
a 4096-token context, and grouped-query attention (Ainslie et al. 2023) for the 70B model.
Sizes follow the released ``params.json`` / Hugging Face ``config.json`` of
meta-llama/Llama-2-7b-hf (dim 4096, 32 layers, 32 heads, ffn 11008) and Llama-2-70b-hf (dim
8192, 80 layers, 64 heads, 8 key/value heads, ffn 28672); vocabulary 32,000, RMSNorm eps 1e-5,
RoPE base 10,000.

Module names follow Hugging Face ``LlamaForCausalLM`` (``model.embed_tokens``,
``model.layers.N.self_attn.q_proj``, ``model.layers.N.mlp.gate_proj``, ``model.norm``,
``lm_head``). RoPE uses the "rotate half" pairing (dimension i with i + hd/2), as that class
does; its angles are computed inside ``forward`` from the positions 0..T-1, with no buffers and
no data-dependent control flow. Causal attention is ``scaled_dot_product_attention
(is_causal=True)``; with fewer key/value heads than query heads it passes ``enable_gqa=True``
(torch >= 2.5) so K and V keep their 8 heads instead of being repeated.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.functional import scaled_dot_product_attention

from flopcount.zoo._common import embedding, merge_heads, positions, split_heads

__all__ = ["LLAMA2_7B", "LLAMA2_70B", "LlamaConfig", "LlamaForCausalLM", "RMSNorm"]


@dataclass(frozen=True)
class LlamaConfig:
    """Hyper-parameters of a Llama model (Hugging Face ``LlamaConfig`` field meanings)."""

    vocab_size: int = 32000
    hidden_size: int = 4096
    num_layers: int = 32
    num_heads: int = 32
    num_kv_heads: int = 32
    intermediate_size: int = 11008
    norm_eps: float = 1e-5
    rope_theta: float = 10000.0

    @property
    def head_dim(self) -> int:
        return self.hidden_size // self.num_heads


# meta-llama/Llama-2-7b-hf and Llama-2-70b-hf config.json.
LLAMA2_7B = LlamaConfig()
LLAMA2_70B = LlamaConfig(
    hidden_size=8192, num_layers=80, num_heads=64, num_kv_heads=8, intermediate_size=28672
)


class RMSNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) * weight over the last axis (Zhang & Sennrich 2019, Eq. 4)."""

    def __init__(self, dim: int, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class RotaryEmbedding(nn.Module):
    """cos and sin of the rotary angles pos * theta^(-2i/hd) (Su et al. 2021, Eq. 15).

    Returns two (T, hd) tensors in ``dtype``; each frequency appears twice (once per half).
    """

    def __init__(self, head_dim: int, theta: float) -> None:
        super().__init__()
        self.head_dim = head_dim
        self.theta = theta

    def forward(self, pos: torch.Tensor, dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
        exponents = torch.arange(0, self.head_dim, 2, device=pos.device, dtype=torch.float32)
        inv_freq = self.theta ** (-exponents / self.head_dim)  # hd/2
        angles = torch.outer(pos.to(torch.float32), inv_freq)  # T, hd/2
        angles = torch.cat([angles, angles], dim=-1)  # T, hd
        return angles.cos().to(dtype), angles.sin().to(dtype)


def apply_rotary(x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    """Rotate (B, H, T, hd) ``x`` by the angles whose (T, hd) cos/sin are given."""
    first, second = x.chunk(2, dim=-1)
    return x * cos + torch.cat([-second, first], dim=-1) * sin


class LlamaAttention(nn.Module):
    """Bias-free Q/K/V/O projections, RoPE on Q and K, causal (grouped-query) SDPA."""

    def __init__(self, c: LlamaConfig) -> None:
        super().__init__()
        self.num_heads, self.num_kv_heads = c.num_heads, c.num_kv_heads
        kv_width = c.num_kv_heads * c.head_dim
        self.q_proj = nn.Linear(c.hidden_size, c.hidden_size, bias=False)
        self.k_proj = nn.Linear(c.hidden_size, kv_width, bias=False)
        self.v_proj = nn.Linear(c.hidden_size, kv_width, bias=False)
        self.o_proj = nn.Linear(c.hidden_size, c.hidden_size, bias=False)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        q = apply_rotary(split_heads(self.q_proj(x), self.num_heads), cos, sin)  # B, H, T, hd
        k = apply_rotary(split_heads(self.k_proj(x), self.num_kv_heads), cos, sin)  # B, KV, T, hd
        v = split_heads(self.v_proj(x), self.num_kv_heads)  # B, KV, T, hd
        if self.num_kv_heads == self.num_heads:
            out = scaled_dot_product_attention(q, k, v, is_causal=True)
        else:
            out = scaled_dot_product_attention(q, k, v, is_causal=True, enable_gqa=True)
        return self.o_proj(merge_heads(out))  # B, T, D


class LlamaMLP(nn.Module):
    """SwiGLU: down(silu(gate(x)) * up(x)) (Shazeer 2020, Eq. 6)."""

    def __init__(self, c: LlamaConfig) -> None:
        super().__init__()
        self.gate_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.up_proj = nn.Linear(c.hidden_size, c.intermediate_size, bias=False)
        self.down_proj = nn.Linear(c.intermediate_size, c.hidden_size, bias=False)
        self.act_fn = nn.SiLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class LlamaDecoderLayer(nn.Module):
    """Pre-norm block: x + attn(norm(x)), then x + mlp(norm(x)); (B, T, D) -> (B, T, D)."""

    def __init__(self, c: LlamaConfig) -> None:
        super().__init__()
        self.input_layernorm = RMSNorm(c.hidden_size, c.norm_eps)
        self.self_attn = LlamaAttention(c)
        self.post_attention_layernorm = RMSNorm(c.hidden_size, c.norm_eps)
        self.mlp = LlamaMLP(c)

    def forward(self, x: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class LlamaModel(nn.Module):
    """Token embedding, decoder layers and final RMSNorm: ids (B, T) int64 -> (B, T, D)."""

    def __init__(self, c: LlamaConfig) -> None:
        super().__init__()
        self.embed_tokens = embedding(c.vocab_size, c.hidden_size)
        self.rotary_emb = RotaryEmbedding(c.head_dim, c.rope_theta)
        self.layers = nn.ModuleList(LlamaDecoderLayer(c) for _ in range(c.num_layers))
        self.norm = RMSNorm(c.hidden_size, c.norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.embed_tokens(input_ids)  # B, T, D
        cos, sin = self.rotary_emb(positions(input_ids), x.dtype)  # T, hd each
        for layer in self.layers:
            x = layer(x, cos, sin)
        return self.norm(x)


class LlamaForCausalLM(nn.Module):
    """Llama with an untied LM head: ids (B, T) int64 -> logits (B, T, vocab_size)."""

    def __init__(self, config: LlamaConfig) -> None:
        super().__init__()
        self.config = config
        self.model = LlamaModel(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.model(input_ids))  # B, T, vocab_size


def llama2_7b() -> LlamaForCausalLM:
    """Llama 2 7B: 6,738,415,616 parameters."""
    return LlamaForCausalLM(LLAMA2_7B)


def llama2_70b() -> LlamaForCausalLM:
    """Llama 2 70B (grouped-query attention, 8 KV heads): 68,976,648,192 parameters."""
    return LlamaForCausalLM(LLAMA2_70B)
