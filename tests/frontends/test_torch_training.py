"""PyTorch frontend, training=True: the backward operators autograd really runs."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from test_torch_support import Encoder, TinyCnn, macs, ops  # noqa: E402

from flopcount.frontends.torch import lower  # noqa: E402
from flopcount.ir import Node  # noqa: E402


def test_linear_backward_is_twice_the_forward() -> None:
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    graph = lower(model, (2, 8), training=True)
    assert macs(graph, "forward") == 2 * 8 * 16 + 2 * 16 * 4  # rows * in * out per layer
    # layer 2: dX = dY @ W and dW = dY^T @ X, each its forward's MACs
    assert macs(graph, "backward", scope="2") == 2 * macs(graph, "forward", scope="2") == 256
    # layer 0: only dW; the input needs no gradient, and autograd computes none
    assert macs(graph, "backward", scope="0") == macs(graph, "forward", scope="0") == 256
    phases = [n.phase for n in graph.nodes]
    assert phases == sorted(phases, key=["forward", "backward"].index)  # forward first


def test_input_that_requires_grad_gets_its_gradient() -> None:
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 4))
    graph = lower(model, torch.randn(2, 8, requires_grad=True), training=True)
    assert macs(graph, "backward") == 2 * macs(graph, "forward") == 2 * (2 * 8 * 16 + 2 * 16 * 4)


def test_frozen_parameters_still_get_gradients() -> None:
    model = nn.Linear(8, 4)
    model.requires_grad_(False)
    graph = lower(model, (3, 8), training=True)
    assert macs(graph, "backward") == 3 * 8 * 4  # dW = dY^T @ X
    assert not model.weight.requires_grad  # the user's flag is untouched


def test_backward_nodes_carry_the_forward_scope() -> None:
    graph = lower(Encoder(d=16, layers=2), (2, 5, 16), training=True)
    scopes = {n.scope for n in graph.nodes if n.phase == "backward"}
    assert {"encoder.layers.0.mlp.fc1", "encoder.layers.1.norm", "head"} <= scopes
    fc1 = "encoder.layers.1.mlp.fc1"
    assert macs(graph, "backward", fc1) == 2 * macs(graph, "forward", fc1) == 2 * 10 * 16 * 64


CONVS = [
    nn.Conv2d(4, 6, 3, stride=2, padding=1, groups=2),
    nn.Conv2d(4, 6, 3, stride=2, dilation=2),  # a remainder row the forward never reads
    nn.Conv1d(4, 6, 5, padding=2),
    nn.ConvTranspose2d(4, 6, 4, stride=2, padding=1, groups=2),
    nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1),
]


@pytest.mark.parametrize("conv", CONVS, ids=str)
def test_conv_backward_is_input_and_weight_gradient(conv: nn.Module) -> None:
    spatial = (12, 10) if isinstance(conv, (nn.Conv2d, nn.ConvTranspose2d)) else (9,)
    x = torch.randn(2, 4, *spatial, requires_grad=True)
    graph = lower(conv, x, training=True)
    forward = macs(graph, "forward")
    assert macs(graph, "backward") == 2 * forward  # dX and dW: each the forward's MACs
    grads = {n.outputs[0].shape for n in graph.nodes if n.phase == "backward"}
    assert {tuple(x.shape), tuple(conv.weight.shape), (6,)} <= grads  # dX, dW, dB


def _weight_grad_from_node(node: Node, big: torch.Tensor, small: torch.Tensor) -> torch.Tensor:
    """Evaluate the lowered weight-gradient Conv on real data (layouts as in _weight_grad)."""
    groups = node.attrs["group"]
    n, c_big = big.shape[:2]
    x = big.reshape(n, groups, c_big // groups, *big.shape[2:]).transpose(0, 2)
    x = x.reshape(c_big // groups, groups * n, *big.shape[2:])
    sizes = node.inputs[0].shape[2:]
    x = x[(..., *[slice(0, s) for s in sizes])]  # rows the forward never read
    pads = node.attrs["pads"]
    ndim = len(sizes)
    x = F.pad(x, [p for i in reversed(range(ndim)) for p in (pads[i], pads[i + ndim])])
    w = small.transpose(0, 1)  # (C_small, N, *spatial)
    out = F.conv2d(x, w, stride=node.attrs["strides"], dilation=node.attrs["dilations"],
                   groups=groups)  # fmt: skip
    return out.transpose(0, 1)


@pytest.mark.parametrize("conv", [CONVS[0], CONVS[1], CONVS[3], CONVS[4]], ids=str)
def test_weight_gradient_conv_computes_the_weight_gradient(conv: nn.Module) -> None:
    torch.manual_seed(0)
    x = torch.randn(2, 4, 12, 10)
    y = conv(x)
    dy = torch.randn_like(y)
    (dw,) = torch.autograd.grad(y, conv.weight, dy)
    graph = lower(conv, x, training=True)
    node = next(n for n in graph.nodes if n.attrs.get("gradient") == "weight")
    transposed = isinstance(conv, nn.ConvTranspose2d)
    big, small = (dy, x) if transposed else (x, dy)
    assert node.inputs[1].shape == (small.shape[1], small.shape[0], *small.shape[2:])
    assert torch.allclose(_weight_grad_from_node(node, big, small), dw, atol=1e-4)


def test_cnn_training_graph_is_fully_costed() -> None:
    graph = lower(TinyCnn(), (2, 3, 8, 8), training=True)
    # macs() fails on any unsupported node: every forward and backward op has a formula
    fc = 2 * 8 * 4  # rows * in * out
    conv = 2 * 8 * 8 * 8 * 3 * 3 * 3  # N * C_out * H * W * C_in * k * k
    assert macs(graph, "backward") == 2 * fc + conv  # fc: dX and dW; conv: dW (input needs none)
    dropout = next(n for n in graph.nodes if n.op == "Dropout")
    assert dropout.attrs == {"ratio": 0.5, "training_mode": 1}
    bn = next(n for n in graph.nodes if n.op == "BatchNormalization")
    assert bn.attrs["training_mode"] == 1
    assert "Bernoulli" not in ops(graph)


def test_average_pool_backward_spreads_each_gradient_over_its_window() -> None:
    x = torch.randn(2, 3, 8, 8, requires_grad=True)
    graph = lower(nn.AvgPool2d(2), x, training=True)
    (node,) = [n for n in graph.nodes if n.phase == "backward" and n.op == "ConvTranspose"]
    assert node.op == "ConvTranspose" and node.outputs[0].shape == (2, 3, 8, 8)
    assert macs(graph, "backward") == 2 * 3 * 4 * 4 * 2 * 2  # N * C * H_out * W_out * k * k


class SelfAttention(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(32, 4, batch_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mha(x, x, x, need_weights=False)[0]


def test_multihead_attention_training_counts_sdpa_and_its_backward() -> None:
    t, d = 6, 32
    graph = lower(SelfAttention(), (1, t, d), training=True)
    assert ops(graph, "forward").count("ScaledDotProductAttention") == 1
    projections = 4 * t * d * d
    attention = 2 * t * t * d
    assert macs(graph, "forward") == projections + attention
    # projections: dW of all four, dX of out_proj and in_proj (x feeds the module: no dX);
    # attention: dV, dP, dQ, dK products
    assert macs(graph, "backward") == projections + t * d * d + 2 * attention


class ArgmaxHead(nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.argmax(-1)


def test_training_without_a_differentiable_output_is_noted() -> None:
    graph = lower(ArgmaxHead(), (2, 5), training=True)
    assert not [n for n in graph.nodes if n.phase == "backward"]
    assert any("no output requires grad" in note for note in graph.notes)
