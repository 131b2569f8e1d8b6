"""PyTorch frontend: the common layers lower to costed ONNX ops, forward and backward."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from test_torch_support import macs, ops, total  # noqa: E402

from flopcount.frontends.torch import lower  # noqa: E402


class Zoo(nn.Module):
    """One of each common layer (vision and language), in one differentiable chain."""

    def __init__(self) -> None:
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU6())
        self.depthwise = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.gn = nn.GroupNorm(2, 8)
        self.acts = nn.Sequential(nn.Hardswish(), nn.LeakyReLU(0.1), nn.ELU(), nn.Mish())
        self.se = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(8, 8, 1), nn.Hardsigmoid())
        self.pool = nn.Sequential(nn.MaxPool2d(2), nn.AvgPool2d(2, ceil_mode=True))
        self.adaptive = nn.AdaptiveAvgPool2d(3)
        self.embed = nn.Embedding(20, 8)
        self.norms = nn.Sequential(nn.LayerNorm(8), nn.RMSNorm(8), nn.LayerNorm(8, bias=False))
        self.mha = nn.MultiheadAttention(8, 2, batch_first=True)
        self.mlp = nn.Sequential(
            nn.Linear(8, 16), nn.GELU("tanh"), nn.SiLU(), nn.Softplus(), nn.Tanh(),
            nn.Dropout(0.1), nn.Linear(16, 8), nn.Sigmoid(),
        )  # fmt: skip
        self.conv1d = nn.Conv1d(8, 4, 3, stride=2)

    def forward(self, image: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        x = self.gn(self.depthwise(self.stem(image)))
        x = self.acts(x)
        x = self.pool(x * self.se(x)).amax((2, 3))  # (N, 8, 8, 8) -> (N, 8, 2, 2) -> (N, 8)
        grid = self.adaptive(self.stem(image)).flatten(2).transpose(1, 2)  # (N, 9, 8)
        h = self.norms(self.embed(ids) + x[:, None, :]) + grid[:, :1]
        h = h + self.mha(h, h, h)[0]  # need_weights=True: the explicit bmm/softmax path
        h = self.mlp(h).transpose(1, 2)
        out = self.conv1d(h).log_softmax(-1) + F.softmax(h, 1).sum()
        return out.clamp(-10, 10)


@pytest.mark.parametrize("training", [False, True])
def test_every_common_layer_is_costed(training: bool) -> None:
    graph = lower(Zoo(), (2, 3, 8, 8), ((2, 9), torch.int64), training=training)
    assert total(graph).flops > 0  # total() fails on any unsupported node
    found = set(ops(graph, "forward"))
    expected = {
        "Conv", "BatchNormalization", "Clip", "GroupNormalization", "HardSwish", "LeakyRelu",
        "Elu", "Mish", "GlobalAveragePool", "HardSigmoid", "MaxPool", "AveragePool", "Gather",
        "LayerNormalization", "MatMul", "Gemm", "Softmax", "Gelu", "Swish", "Softplus", "Tanh",
        "Sigmoid", "LogSoftmax", "Sqrt", "Reciprocal", "ReduceMax",
    }  # fmt: skip
    assert expected <= found, expected - found
    if training:
        assert macs(graph, "backward") > macs(graph, "forward")
        assert "Dropout" in found


class Fused(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.bias = nn.Parameter(torch.zeros(4, 5))

    def forward(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        batched = torch.baddbmm(self.bias, a, b, beta=0.5, alpha=2.0)  # (3, 4, 5)
        return torch.addmm(self.bias, a[0], b[0], beta=0.0) + batched


def test_fused_multiply_adds() -> None:
    graph = lower(Fused(), (3, 4, 6), (3, 6, 5))
    assert ops(graph) == ["MatMul", "Mul", "Mul", "Add", "Gather", "Gather", "Gemm", "Add"]
    gemm = graph.nodes[6]
    assert gemm.attrs == {"alpha": 1.0, "beta": 0.0}
    assert [s.kind for s in gemm.inputs] == ["input", "input", "parameter"]  # a[0] views a
    assert macs(graph) == 3 * 4 * 6 * 5 + 4 * 6 * 5  # batch * m * k * n + m * k * n


def test_adaptive_pool_windows() -> None:
    graph = lower(nn.AdaptiveAvgPool2d((2, 3)), (1, 4, 8, 9))
    (node,) = graph.nodes
    # 8 -> 2: windows of 4 every 4; 9 -> 3: windows of 3 every 3 (divisible: exact)
    assert (node.op, node.attrs["kernel_shape"], node.attrs["strides"]) == (
        "AveragePool", [4, 3], [4, 3],
    )  # fmt: skip
    _, uneven, _ = lower(nn.AdaptiveAvgPool1d(3), (1, 2, 8)).nodes  # as 2-D
    # 8 -> 3: windows [0,3) [2,6) [5,8) are 3, 4, 3 wide: counted at the widest, 4, stride 2
    assert (uneven.attrs["kernel_shape"], uneven.attrs["strides"]) == ([1, 4], [1, 2])
    assert uneven.outputs[0].shape == (1, 2, 1, 3)


def test_upsampling_is_resize() -> None:
    nearest = lower(nn.Upsample(scale_factor=2), (1, 2, 4, 4)).nodes[0]
    bilinear = lower(nn.Upsample(scale_factor=2, mode="bilinear", align_corners=True),
                     (1, 2, 4, 4)).nodes[0]  # fmt: skip
    assert (nearest.op, nearest.attrs["mode"]) == ("Resize", "nearest")
    assert bilinear.attrs == {"mode": "linear", "coordinate_transformation_mode": "align_corners"}
    assert bilinear.outputs[0].shape == (1, 2, 8, 8)
