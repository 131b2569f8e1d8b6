"""Independent oracle: 2 * our MACs equals torch.utils.flop_counter on meta tensors (no bias,
no softmax: what PyTorch's counter counts). Nothing is computed; meta tensors carry shapes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from costs_helpers import cost

torch = pytest.importorskip("torch", reason="the torch extra provides this oracle")
F = torch.nn.functional


def torch_flops(fn: Callable[..., Any], *shapes: tuple[int, ...], **kwargs: Any) -> int:
    from torch.utils.flop_counter import FlopCounterMode

    tensors = [torch.empty(s, device="meta") for s in shapes]
    with FlopCounterMode(display=False) as mode:
        fn(*tensors, **kwargs)
    return int(mode.get_total_flops())


@pytest.mark.parametrize(
    ("x", "w", "stride", "padding", "dilation", "groups"),
    [
        ((2, 6, 17, 13), (8, 3, 3, 5), 2, (1, 2), 1, 2),
        ((1, 16, 9, 9), (16, 1, 3, 3), 1, 1, 2, 16),
        ((1, 4, 20), (6, 4, 4), 3, 0, 1, 1),
        ((1, 2, 5, 6, 7), (4, 2, 2, 3, 3), (1, 2, 1), 1, 1, 1),
    ],
)
def test_conv_matches_torch(
    x: tuple[int, ...], w: tuple[int, ...], stride: Any, padding: Any, dilation: int, groups: int
) -> None:
    nd = len(x) - 2
    conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
    per_dim = padding if isinstance(padding, tuple) else (padding,) * nd
    ours = cost(
        "Conv", x, w, strides=[stride] * nd if isinstance(stride, int) else list(stride),
        pads=list(per_dim) * 2, dilations=[dilation] * nd, group=groups,
    )  # fmt: skip
    theirs = torch_flops(
        conv, x, w, stride=stride, padding=padding, dilation=dilation, groups=groups
    )
    assert 2 * ours.macs == theirs


def test_conv_transpose_matches_torch() -> None:
    ours = cost("ConvTranspose", (1, 64, 32, 32), (64, 32, 4, 4), strides=[2, 2], pads=[1] * 4)
    theirs = torch_flops(F.conv_transpose2d, (1, 64, 32, 32), (64, 32, 4, 4), stride=2, padding=1)
    assert 2 * ours.macs == theirs == 2 * 33_554_432


@pytest.mark.parametrize(
    ("a", "b"), [((3, 1, 4, 6), (5, 6, 2)), ((7, 5), (5, 3)), ((2, 5, 16), (16, 9))]
)
def test_matmul_matches_torch(a: tuple[int, ...], b: tuple[int, ...]) -> None:
    assert 2 * cost("MatMul", a, b).macs == torch_flops(torch.matmul, a, b)


def test_sdpa_gqa_matches_torch() -> None:
    q, kv = (2, 8, 16, 64), (2, 2, 16, 64)
    ours = cost("ScaledDotProductAttention", q, kv, kv)
    theirs = torch_flops(F.scaled_dot_product_attention, q, kv, kv, enable_gqa=True)
    assert 2 * ours.macs == theirs  # torch counts the two matmuls only
