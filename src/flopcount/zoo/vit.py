"""ViT-B/16, built from the paper's description.

Source: Dosovitskiy et al., "An Image is Worth 16x16 Words: Transformers for Image Recognition
at Scale", ICLR 2021 (arXiv:2010.11929), Sec. 3.1 and Table 1 (ViT-Base: 12 layers, hidden
768, MLP 3072, 12 heads): the image is cut into 16x16 patches that are linearly embedded (a
16x16/16 conv), a learnable class token is prepended, learned position embeddings are added,
pre-norm encoder blocks (LayerNorm -> multi-head self-attention -> residual, LayerNorm -> GELU
MLP -> residual) follow, and a final LayerNorm feeds the class token into the linear head.

Conventions matching torchvision's ``vit_b_16`` (same parameter count, 86,567,656, and module
names: ``conv_proj``, ``class_token``, ``encoder.pos_embedding``,
``encoder.layers.encoder_layer_N.self_attention``, ``...mlp.0``, ``encoder.ln``, ``heads.head``):
LayerNorm eps 1e-6, attention is ``nn.MultiheadAttention`` (packed in-projection with bias),
so the published 17.564 GMACs apply at 224x224.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

import torch
from torch import nn

__all__ = ["EncoderBlock", "ViTConfig", "VisionTransformer", "vit_b_16"]


@dataclass(frozen=True)
class ViTConfig:
    """Hyper-parameters of a ViT; defaults are ViT-B/16 (Dosovitskiy et al. 2021, Table 1)."""

    image_size: int = 224
    patch_size: int = 16
    num_layers: int = 12
    num_heads: int = 12
    hidden_dim: int = 768
    mlp_dim: int = 3072
    num_classes: int = 1000
    dropout: float = 0.0
    norm_eps: float = 1e-6  # torchvision ViT LayerNorm eps

    @property
    def seq_length(self) -> int:
        """Patches plus the class token: (image_size / patch_size)^2 + 1."""
        return (self.image_size // self.patch_size) ** 2 + 1


class MLPBlock(nn.Sequential):
    """Linear, GELU, Dropout, Linear, Dropout as children ``0``..``4`` (torchvision's layout)."""

    def __init__(self, hidden_dim: int, mlp_dim: int, dropout: float) -> None:
        super().__init__(
            nn.Linear(hidden_dim, mlp_dim),
            nn.GELU(),
            nn.Dropout(dropout),
            nn.Linear(mlp_dim, hidden_dim),
            nn.Dropout(dropout),
        )


class EncoderBlock(nn.Module):
    """One pre-norm transformer block: (N, S, D) -> (N, S, D)."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        d = config.hidden_dim
        self.ln_1 = nn.LayerNorm(d, eps=config.norm_eps)
        self.self_attention = nn.MultiheadAttention(d, config.num_heads, batch_first=True)
        self.dropout = nn.Dropout(config.dropout)
        self.ln_2 = nn.LayerNorm(d, eps=config.norm_eps)
        self.mlp = MLPBlock(d, config.mlp_dim, config.dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.ln_1(x)
        h, _ = self.self_attention(h, h, h, need_weights=False)
        x = x + self.dropout(h)
        return x + self.mlp(self.ln_2(x))


class Encoder(nn.Module):
    """Position embedding, ``num_layers`` blocks and a final LayerNorm: (N, S, D) -> (N, S, D)."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        d = config.hidden_dim
        self.pos_embedding = nn.Parameter(torch.zeros(1, config.seq_length, d))
        self.dropout = nn.Dropout(config.dropout)
        blocks = [(f"encoder_layer_{i}", EncoderBlock(config)) for i in range(config.num_layers)]
        self.layers = nn.Sequential(OrderedDict(blocks))
        self.ln = nn.LayerNorm(d, eps=config.norm_eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.ln(self.layers(self.dropout(x + self.pos_embedding)))


class VisionTransformer(nn.Module):
    """ViT classifier: images (N, 3, S, S) float32, S = image_size -> logits (N, num_classes)."""

    def __init__(self, config: ViTConfig) -> None:
        super().__init__()
        self.config = config
        d, p = config.hidden_dim, config.patch_size
        self.conv_proj = nn.Conv2d(3, d, kernel_size=p, stride=p)
        self.class_token = nn.Parameter(torch.zeros(1, 1, d))
        self.encoder = Encoder(config)
        self.heads = nn.Sequential(OrderedDict([("head", nn.Linear(d, config.num_classes))]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = x.shape[0]
        x = self.conv_proj(x)  # N, D, H/p, W/p
        x = x.flatten(2).transpose(1, 2)  # N, S-1, D
        x = torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)  # N, S, D
        x = self.encoder(x)  # N, S, D
        return self.heads(x[:, 0])  # N, num_classes


def vit_b_16(image_size: int = 224) -> VisionTransformer:
    """ViT-B/16 for ``image_size`` x ``image_size`` images (a multiple of 16).

    The position embedding has (image_size/16)^2 + 1 rows, so the parameter count is
    86,567,656 only at the default 224 (torchvision builds the same way).
    """
    return VisionTransformer(ViTConfig(image_size=image_size))
