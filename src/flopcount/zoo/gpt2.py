"""GPT-2 small with its language-model head, built from the paper's description.

Source: Radford, Wu, Child, Luan, Amodei, Sutskever, "Language Models are Unsupervised
Multitask Learners", OpenAI 2019, Sec. 2.3 and Table 2 (smallest model: 12 layers, d_model
768): a decoder-only transformer with pre-norm blocks (LayerNorm moved to each sub-block's
input, plus a final LayerNorm), a 50,257-token byte-level BPE vocabulary and a 1024-token
context. Heads (12), the 4x MLP with tanh-approximated GELU, and LayerNorm eps 1e-5 follow the
released hyper-parameters (openai/gpt-2 ``hparams.json``, ``model.py``); the output projection
is tied to the token embedding ``wte``, so the model has 124,439,808 distinct parameters.

Module names follow Hugging Face ``GPT2LMHeadModel`` (``transformer.wte``, ``transformer.h.N.attn.
c_attn``, ``transformer.h.N.mlp.c_fc``, ``lm_head``); where that class uses a transposed
"Conv1D", this one uses ``nn.Linear`` (same parameters and arithmetic). Causal attention is
``scaled_dot_product_attention(is_causal=True)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.functional import scaled_dot_product_attention

from flopcount.zoo._common import embedding, merge_heads, positions, split_heads

__all__ = ["GPT2Config", "GPT2LMHeadModel", "gpt2_small"]


@dataclass(frozen=True)
class GPT2Config:
    """Hyper-parameters of GPT-2; defaults are GPT-2 small (openai/gpt-2 124M hparams.json)."""

    vocab_size: int = 50257
    max_positions: int = 1024
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    norm_eps: float = 1e-5
    dropout: float = 0.1


class CausalSelfAttention(nn.Module):
    """Packed QKV projection, causal SDPA, output projection: (B, T, D) -> (B, T, D)."""

    def __init__(self, c: GPT2Config) -> None:
        super().__init__()
        self.num_heads = c.num_heads
        self.c_attn = nn.Linear(c.hidden_size, 3 * c.hidden_size)
        self.c_proj = nn.Linear(c.hidden_size, c.hidden_size)
        self.resid_dropout = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.c_attn(x).chunk(3, dim=-1)  # each B, T, D
        q, k, v = (split_heads(t, self.num_heads) for t in (q, k, v))  # B, heads, T, D/heads
        out = scaled_dot_product_attention(q, k, v, is_causal=True)
        return self.resid_dropout(self.c_proj(merge_heads(out)))


class MLP(nn.Module):
    """D -> 4D -> GELU (tanh approximation, openai/gpt-2 model.py ``gelu``) -> D."""

    def __init__(self, c: GPT2Config) -> None:
        super().__init__()
        self.c_fc = nn.Linear(c.hidden_size, 4 * c.hidden_size)
        self.act = nn.GELU(approximate="tanh")
        self.c_proj = nn.Linear(4 * c.hidden_size, c.hidden_size)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.c_proj(self.act(self.c_fc(x))))


class Block(nn.Module):
    """Pre-norm decoder block: x + attn(ln_1(x)), then x + mlp(ln_2(x))."""

    def __init__(self, c: GPT2Config) -> None:
        super().__init__()
        self.ln_1 = nn.LayerNorm(c.hidden_size, eps=c.norm_eps)
        self.attn = CausalSelfAttention(c)
        self.ln_2 = nn.LayerNorm(c.hidden_size, eps=c.norm_eps)
        self.mlp = MLP(c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT2Model(nn.Module):
    """Embeddings, blocks ``h.N`` and final ``ln_f``: ids (B, T) int64 -> hidden (B, T, D)."""

    def __init__(self, c: GPT2Config) -> None:
        super().__init__()
        self.wte = embedding(c.vocab_size, c.hidden_size)
        self.wpe = embedding(c.max_positions, c.hidden_size)
        self.drop = nn.Dropout(c.dropout)
        self.h = nn.ModuleList(Block(c) for _ in range(c.num_layers))
        self.ln_f = nn.LayerNorm(c.hidden_size, eps=c.norm_eps)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        x = self.drop(self.wte(input_ids) + self.wpe(positions(input_ids)))  # B, T, D
        for block in self.h:
            x = block(x)
        return self.ln_f(x)


class GPT2LMHeadModel(nn.Module):
    """GPT-2 with tied LM head: ids (B, T) int64 -> logits (B, T, vocab_size)."""

    def __init__(self, config: GPT2Config) -> None:
        super().__init__()
        self.config = config
        self.transformer = GPT2Model(config)
        self.lm_head = nn.Linear(config.hidden_size, config.vocab_size, bias=False)
        self.lm_head.weight = self.transformer.wte.weight  # weight tying (Radford et al. 2019)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.transformer(input_ids))  # B, T, vocab_size


def gpt2_small() -> GPT2LMHeadModel:
    """GPT-2 small (the "124M" model): 124,439,808 distinct parameters."""
    return GPT2LMHeadModel(GPT2Config())
