"""Small helpers shared by the zoo's transformers: head splitting and token positions."""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["embedding", "merge_heads", "positions", "split_heads"]


def embedding(num: int, dim: int) -> nn.Embedding:
    """An ``nn.Embedding(num, dim)``, initialised N(0, 1) as PyTorch does, except on meta.

    The zoo builds on the meta device, where ``reset_parameters``'s ``normal_`` would only run
    the Python reference kernel (and import ``torch._dynamo``) to fill no storage.
    """
    weight = torch.empty(num, dim)
    if weight.device.type != "meta":
        nn.init.normal_(weight)
    return nn.Embedding(num, dim, _weight=weight)


def split_heads(x: torch.Tensor, num_heads: int) -> torch.Tensor:
    """(B, T, H*hd) -> (B, H, T, hd): the layout `scaled_dot_product_attention` expects."""
    b, t, width = x.shape
    return x.view(b, t, num_heads, width // num_heads).transpose(1, 2)


def merge_heads(x: torch.Tensor) -> torch.Tensor:
    """(B, H, T, hd) -> (B, T, H*hd): undo `split_heads`."""
    b, h, t, hd = x.shape
    return x.transpose(1, 2).reshape(b, t, h * hd)


def positions(token_ids: torch.Tensor) -> torch.Tensor:
    """Positions 0..T-1 of (B, T) token ids, as a (T,) int64 tensor on their device."""
    return torch.arange(token_ids.shape[1], device=token_ids.device)
