"""BERT-base (uncased), built from the paper's description.

Source: Devlin, Chang, Lee, Toutanova, "BERT: Pre-training of Deep Bidirectional Transformers
for Language Understanding", NAACL 2019 (arXiv:1810.04805), Sec. 3: BERT-BASE has L=12 layers,
H=768 hidden, A=12 heads, feed-forward 4H=3072, GELU; the input embedding is the sum of
WordPiece (30,522-token uncased vocabulary), learned position (512) and segment (2) embeddings;
the encoder is the post-norm transformer of Vaswani et al. 2017; the [CLS] state goes through a
tanh "pooler" (Sec. 3 / released TF code). LayerNorm eps is 1e-12 (released bert_config.json
uses the TF default of the reference implementation).

Module names follow Hugging Face ``BertModel`` so scopes read familiarly
(``embeddings.word_embeddings``, ``encoder.layer.N.attention.self.query``,
``encoder.layer.N.intermediate.dense``, ``pooler.dense``); the parameter count, 109,482,240,
includes the pooler. Attention uses ``scaled_dot_product_attention`` without a mask (every
token attends to every token, as with an all-ones attention mask).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn.functional import scaled_dot_product_attention

from flopcount.zoo._common import embedding, merge_heads, positions, split_heads

__all__ = ["BertConfig", "BertModel", "bert_base"]


@dataclass(frozen=True)
class BertConfig:
    """Hyper-parameters of BERT; defaults are BERT-base uncased (Devlin et al. 2019, Sec. 3)."""

    vocab_size: int = 30522
    hidden_size: int = 768
    num_layers: int = 12
    num_heads: int = 12
    intermediate_size: int = 3072
    max_positions: int = 512
    type_vocab_size: int = 2
    norm_eps: float = 1e-12
    dropout: float = 0.1


class BertEmbeddings(nn.Module):
    """Token + position + segment embeddings, LayerNorm: ids (B, T) int64 -> (B, T, H)."""

    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.word_embeddings = embedding(c.vocab_size, c.hidden_size)
        self.position_embeddings = embedding(c.max_positions, c.hidden_size)
        self.token_type_embeddings = embedding(c.type_vocab_size, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.norm_eps)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, input_ids: torch.Tensor) -> torch.Tensor:
        segments = torch.zeros_like(input_ids)  # one segment: every token is sentence A
        x = self.word_embeddings(input_ids) + self.token_type_embeddings(segments)  # B, T, H
        x = x + self.position_embeddings(positions(input_ids))  # (T, H) broadcasts over B
        return self.dropout(self.LayerNorm(x))


class BertSelfAttention(nn.Module):
    """Multi-head self-attention without the output projection: (B, T, H) -> (B, T, H)."""

    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.num_heads = c.num_heads
        self.query = nn.Linear(c.hidden_size, c.hidden_size)
        self.key = nn.Linear(c.hidden_size, c.hidden_size)
        self.value = nn.Linear(c.hidden_size, c.hidden_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q = split_heads(self.query(x), self.num_heads)  # B, A, T, H/A
        k = split_heads(self.key(x), self.num_heads)
        v = split_heads(self.value(x), self.num_heads)
        return merge_heads(scaled_dot_product_attention(q, k, v))  # B, T, H


class BertResidualOutput(nn.Module):
    """Projection, dropout, residual add and post-norm: LayerNorm(x + dense(h))."""

    def __init__(self, d_in: int, c: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(d_in, c.hidden_size)
        self.LayerNorm = nn.LayerNorm(c.hidden_size, eps=c.norm_eps)
        self.dropout = nn.Dropout(c.dropout)

    def forward(self, h: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        return self.LayerNorm(x + self.dropout(self.dense(h)))


class BertAttention(nn.Module):
    """Self-attention sub-layer (``self``) and its residual output (``output``)."""

    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.self = BertSelfAttention(c)
        self.output = BertResidualOutput(c.hidden_size, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.self(x), x)


class BertIntermediate(nn.Module):
    """Feed-forward expansion: dense (H -> 4H) then exact (erf) GELU."""

    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.intermediate_size)
        self.intermediate_act_fn = nn.GELU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.intermediate_act_fn(self.dense(x))


class BertLayer(nn.Module):
    """One post-norm encoder layer: (B, T, H) -> (B, T, H)."""

    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.attention = BertAttention(c)
        self.intermediate = BertIntermediate(c)
        self.output = BertResidualOutput(c.intermediate_size, c)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.attention(x)
        return self.output(self.intermediate(x), x)


class BertEncoder(nn.Module):
    """``num_layers`` stacked `BertLayer` s under ``layer.N``."""

    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.layer = nn.ModuleList(BertLayer(c) for _ in range(c.num_layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layer:
            x = layer(x)
        return x


class BertPooler(nn.Module):
    """tanh(dense(first token)): (B, T, H) -> (B, H)."""

    def __init__(self, c: BertConfig) -> None:
        super().__init__()
        self.dense = nn.Linear(c.hidden_size, c.hidden_size)
        self.activation = nn.Tanh()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.activation(self.dense(x[:, 0]))


class BertModel(nn.Module):
    """BERT encoder with pooler: ids (B, T) int64 -> (hidden (B, T, H), pooled (B, H))."""

    def __init__(self, config: BertConfig) -> None:
        super().__init__()
        self.config = config
        self.embeddings = BertEmbeddings(config)
        self.encoder = BertEncoder(config)
        self.pooler = BertPooler(config)

    def forward(self, input_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        hidden = self.encoder(self.embeddings(input_ids))  # B, T, H
        return hidden, self.pooler(hidden)


def bert_base() -> BertModel:
    """BERT-base uncased with pooler: 109,482,240 parameters."""
    return BertModel(BertConfig())
