"""MobileNetV2 (width 1.0), built from the paper's description.

Source: Sandler, Howard, Zhu, Zhmoginov, Chen, "MobileNetV2: Inverted Residuals and Linear
Bottlenecks", CVPR 2018 (arXiv:1801.04381), Table 2: a 3x3/2 stem conv to 32 channels, seven
stages of inverted-residual bottlenecks given as (expansion t, channels c, repeats n, stride s),
a 1x1 conv to 1280 channels, global average pooling and a 1000-way classifier. Each bottleneck
is a 1x1 expansion (skipped when t = 1), a 3x3 depthwise conv, and a linear 1x1 projection;
the residual is used when stride is 1 and channel counts match (Sec. 3.3, Fig. 4).

Conventions matching torchvision's ``mobilenet_v2`` (same parameter count, same module names:
``features.0.0`` stem conv, ``features.N.conv.K`` block layers, ``classifier.1``): convs are
bias-free and followed by BatchNorm and ReLU6; dropout 0.2 precedes the classifier.
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["INVERTED_RESIDUAL_SETTING", "InvertedResidual", "MobileNetV2", "mobilenet_v2"]

# (t, c, n, s) per stage: Sandler et al. 2018, Table 2.
INVERTED_RESIDUAL_SETTING: tuple[tuple[int, int, int, int], ...] = (
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
)


class ConvBNReLU6(nn.Sequential):
    """Conv (bias-free, "same" padding) -> BatchNorm -> ReLU6, as children ``0``, ``1``, ``2``."""

    def __init__(
        self, c_in: int, c_out: int, kernel: int = 3, stride: int = 1, groups: int = 1
    ) -> None:
        padding = (kernel - 1) // 2
        super().__init__(
            nn.Conv2d(c_in, c_out, kernel, stride, padding, groups=groups, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU6(),
        )


class InvertedResidual(nn.Module):
    """Expand 1x1, depthwise 3x3, linear 1x1: (N, c_in, H, W) -> (N, c_out, H/s, W/s).

    The layers live in ``self.conv`` (a Sequential), as in torchvision.
    """

    def __init__(self, c_in: int, c_out: int, stride: int, expand_ratio: int) -> None:
        super().__init__()
        hidden = c_in * expand_ratio
        self.use_res_connect = stride == 1 and c_in == c_out
        layers: list[nn.Module] = []
        if expand_ratio != 1:
            layers.append(ConvBNReLU6(c_in, hidden, kernel=1))
        layers += [
            ConvBNReLU6(hidden, hidden, stride=stride, groups=hidden),  # depthwise
            nn.Conv2d(hidden, c_out, 1, bias=False),  # linear bottleneck: no activation
            nn.BatchNorm2d(c_out),
        ]
        self.conv = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return x + out if self.use_res_connect else out


class MobileNetV2(nn.Module):
    """MobileNetV2: images (N, 3, H, W) float32 -> logits (N, num_classes)."""

    def __init__(self, num_classes: int = 1000, dropout: float = 0.2) -> None:
        super().__init__()
        c_in, last_channel = 32, 1280  # Sandler et al. 2018, Table 2 (width multiplier 1.0)
        features: list[nn.Module] = [ConvBNReLU6(3, c_in, stride=2)]
        for t, c, n, s in INVERTED_RESIDUAL_SETTING:
            for i in range(n):
                features.append(InvertedResidual(c_in, c, s if i == 0 else 1, t))
                c_in = c
        features.append(ConvBNReLU6(c_in, last_channel, kernel=1))
        self.features = nn.Sequential(*features)
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.classifier = nn.Sequential(nn.Dropout(dropout), nn.Linear(last_channel, num_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)  # N, 1280, H/32, W/32
        x = torch.flatten(self.avgpool(x), 1)  # N, 1280
        return self.classifier(x)  # N, num_classes


def mobilenet_v2() -> MobileNetV2:
    """MobileNetV2 at width 1.0: 3,504,872 parameters."""
    return MobileNetV2()
