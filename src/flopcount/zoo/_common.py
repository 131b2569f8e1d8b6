"""Small helpers shared by the zoo's transformers: head splitting and token positions."""

from __future__ import annotations

import torch

__all__ = ["merge_heads", "positions", "split_heads"]


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
