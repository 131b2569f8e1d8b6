"""ResNet-18 and ResNet-50, built from the paper's description.

Source: He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016
(arXiv:1512.03385), Table 1: a 7x7/2 stem conv, a 3x3/2 max pool, four stages of residual
blocks (64, 128, 256, 512 base widths) and global average pooling into a 1000-way FC layer.
ResNet-18 stacks [2, 2, 2, 2] two-conv "basic" blocks; ResNet-50 stacks [3, 4, 6, 3]
1x1-3x3-1x1 "bottleneck" blocks whose last conv widens by 4.

Conventions matching torchvision's ``resnet18``/``resnet50`` (so parameter counts and module
names agree: ``conv1``, ``bn1``, ``layer1.0.conv1``, ``layer2.0.downsample.0``, ``fc``):
every conv is bias-free and followed by BatchNorm; the projection shortcut is a 1x1 conv + BN
used whenever the shape changes; the bottleneck puts its stride on the 3x3 conv (the
"ResNet v1.5" placement, as torchvision does; the paper strides the first 1x1 conv).
"""

from __future__ import annotations

import torch
from torch import nn

__all__ = ["BasicBlock", "Bottleneck", "ResNet", "resnet18", "resnet50"]


def _conv(c_in: int, c_out: int, kernel: int, stride: int = 1) -> nn.Conv2d:
    """A bias-free square conv with "same" padding ``(kernel - 1) // 2``."""
    return nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=(kernel - 1) // 2, bias=False)


def _shortcut(c_in: int, c_out: int, stride: int) -> nn.Sequential | None:
    """Projection shortcut (He et al. 2016, option B): 1x1 conv + BN when the shape changes."""
    if stride == 1 and c_in == c_out:
        return None
    return nn.Sequential(_conv(c_in, c_out, 1, stride), nn.BatchNorm2d(c_out))


class BasicBlock(nn.Module):
    """Two 3x3 convs with a residual connection: (N, c_in, H, W) -> (N, width, H/s, W/s)."""

    expansion = 1

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        self.conv1 = _conv(c_in, width, 3, stride)
        self.bn1 = nn.BatchNorm2d(width)
        self.relu = nn.ReLU()
        self.conv2 = _conv(width, width, 3)
        self.bn2 = nn.BatchNorm2d(width)
        self.downsample = _shortcut(c_in, width, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return self.relu(out + identity)


class Bottleneck(nn.Module):
    """1x1 reduce, 3x3 (strided), 1x1 expand by 4: (N, c_in, H, W) -> (N, 4*width, H/s, W/s)."""

    expansion = 4

    def __init__(self, c_in: int, width: int, stride: int = 1) -> None:
        super().__init__()
        c_out = width * self.expansion
        self.conv1 = _conv(c_in, width, 1)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = _conv(width, width, 3, stride)
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = _conv(width, c_out, 1)
        self.bn3 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU()
        self.downsample = _shortcut(c_in, c_out, stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet(nn.Module):
    """An ImageNet ResNet: images (N, 3, H, W) float32 -> logits (N, num_classes).

    ``depths`` is the number of blocks per stage; stage widths are 64, 128, 256, 512 and the
    first block of stages 2-4 halves the resolution (He et al. 2016, Table 1).
    """

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        depths: tuple[int, int, int, int],
        num_classes: int = 1000,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU()
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        c_in = 64
        stages = []
        for index, (width, depth) in enumerate(zip((64, 128, 256, 512), depths)):
            stride = 1 if index == 0 else 2
            blocks = []
            for b in range(depth):
                blocks.append(block(c_in, width, stride if b == 0 else 1))
                c_in = width * block.expansion
            stages.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3, self.layer4 = stages
        self.avgpool = nn.AdaptiveAvgPool2d((1, 1))
        self.fc = nn.Linear(c_in, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))  # N, 64, H/4, W/4
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))  # N, C, H/32, W/32
        x = torch.flatten(self.avgpool(x), 1)  # N, C
        return self.fc(x)  # N, num_classes


def resnet18() -> ResNet:
    """ResNet-18: basic blocks [2, 2, 2, 2], 11,689,512 parameters."""
    return ResNet(BasicBlock, (2, 2, 2, 2))


def resnet50() -> ResNet:
    """ResNet-50: bottleneck blocks [3, 4, 6, 3], 25,557,032 parameters."""
    return ResNet(Bottleneck, (3, 4, 6, 3))
