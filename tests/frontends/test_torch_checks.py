"""PyTorch frontend: closed-form check values and invariances (one count, however it is run)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from test_torch_support import TinyCnn, macs, ops, total  # noqa: E402
from torch.nn.attention import SDPBackend, sdpa_kernel  # noqa: E402

from flopcount.frontends.torch import lower  # noqa: E402

D, T, HEADS, FF = 256, 128, 8, 1024


def test_transformer_encoder_layer_check_value() -> None:
    layer = nn.TransformerEncoderLayer(D, HEADS, FF, batch_first=True)
    qkv, out_proj = 3 * D * D * T, D * D * T
    attention = 2 * T * T * D  # Q K^T and P V over all heads
    mlp = 2 * D * FF * T
    assert qkv + out_proj + attention + mlp == 109_051_904
    assert macs(lower(layer, (1, T, D))) == 109_051_904


def test_conv_transpose_check_value() -> None:
    deconv = nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1)
    # every input element scatters into C_out * k * k outputs: N * C_in * H * W * C_out * k * k
    expected = 1 * 64 * 32 * 32 * 32 * 4 * 4
    assert expected == 33_554_432
    graph = lower(deconv, (1, 64, 32, 32))
    assert macs(graph) == expected
    (node,) = graph.nodes
    assert node.op == "ConvTranspose"
    assert node.inputs[1].shape == (64, 32, 4, 4)  # (C_in, C_out / group, k, k), ONNX layout
    assert node.attrs["pads"] == [1, 1, 1, 1] and node.attrs["strides"] == [2, 2]
    assert node.outputs[0].shape == (1, 32, 64, 64)


class Sdpa(nn.Module):
    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)


class ExplicitAttention(nn.Module):
    def forward(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        scores = (q @ k.transpose(-1, -2)) * q.shape[-1] ** -0.5
        mask = torch.ones(q.shape[-2], k.shape[-2], dtype=torch.bool).tril()
        return scores.masked_fill(~mask, float("-inf")).softmax(-1) @ v


QKV = [(2, 4, 16, 8)] * 3  # (B, H, T, d)


@pytest.mark.parametrize(
    "backends",
    [[SDPBackend.MATH], [SDPBackend.FLASH_ATTENTION], [SDPBackend.EFFICIENT_ATTENTION], None],
)
def test_sdpa_is_one_node_on_every_backend(backends: list | None) -> None:
    reference = lower(Sdpa(), *QKV)
    context = sdpa_kernel(backends) if backends else torch.no_grad()
    with context:
        graph = lower(Sdpa(), *QKV)
    assert ops(graph) == ["ScaledDotProductAttention"]
    (node,) = graph.nodes
    assert node.attrs == {"is_causal": True, "scale": None}
    assert total(graph) == total(reference)
    assert macs(graph) == 2 * 4 * 16 * 16 * (8 + 8)  # B*H*Tq*Tk*(d + dv)


def test_explicit_attention_has_sdpa_macs() -> None:
    explicit = lower(ExplicitAttention(), *QKV)
    assert "ScaledDotProductAttention" not in ops(explicit)
    assert macs(explicit) == macs(lower(Sdpa(), *QKV)) == 2 * 4 * 16 * 16 * (8 + 8)


def test_sdpa_backward_is_the_same_on_every_backend() -> None:
    inputs = [torch.randn(s, requires_grad=True) for s in QKV]
    totals = []
    for backends in ([SDPBackend.MATH], [SDPBackend.FLASH_ATTENTION], None):
        with sdpa_kernel(backends) if backends else torch.enable_grad():
            totals.append(total(lower(Sdpa(), *inputs, training=True), "backward"))
    assert totals[0] == totals[1] == totals[2]
    # dV = P^T dO, dP = dO V^T, dQ = dS K, dK = dS^T Q: four products of the forward's two
    assert totals[0].macs == 4 * 2 * 4 * 16 * 16 * 8


class ExplicitMha(nn.Module):
    """Self-attention written out with the same weights layout as nn.MultiheadAttention."""

    def __init__(self) -> None:
        super().__init__()
        self.qkv = nn.Linear(D, 3 * D)
        self.out = nn.Linear(D, D)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, _ = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, HEADS, D // HEADS).permute(2, 0, 3, 1, 4)
        weights = torch.softmax(q @ k.transpose(-1, -2) / (D // HEADS) ** 0.5, dim=-1)
        return self.out((weights @ v).transpose(1, 2).reshape(b, t, D))


class SelfAttention(nn.Module):
    def __init__(self, need_weights: bool) -> None:
        super().__init__()
        self.mha = nn.MultiheadAttention(D, HEADS, batch_first=True)
        self.need_weights = need_weights

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mha(x, x, x, need_weights=self.need_weights)[0]


MHA_MACS = 4 * D * D * T + 2 * T * T * D  # q, k, v, out projections + the two products


@pytest.mark.parametrize("fastpath", [True, False])
def test_mha_fast_path_slow_path_and_explicit_agree(fastpath: bool) -> None:
    before = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(fastpath)
    try:
        with torch.no_grad():  # eval + no_grad: the conditions of the fused fast path
            fast = lower(SelfAttention(need_weights=False).eval(), (1, T, D))
        assert torch.backends.mha.get_fastpath_enabled() is fastpath  # restored exactly
    finally:
        torch.backends.mha.set_fastpath_enabled(before)
    slow = lower(SelfAttention(need_weights=False).train(), (1, T, D))
    weights = lower(SelfAttention(need_weights=True), (1, T, D))  # baddbmm/bmm path
    explicit = lower(ExplicitMha(), (1, T, D))
    assert not [op for op in ops(fast) if op.startswith("aten.")]
    assert macs(fast) == macs(slow) == macs(weights) == macs(explicit) == MHA_MACS
    assert total(fast) == total(slow)


def test_transformer_encoder_fast_path_matches_slow_path() -> None:
    encoder = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(D, HEADS, FF, batch_first=True), 2, enable_nested_tensor=True
    )
    with torch.no_grad():
        fast = lower(encoder.eval(), (1, T, D))
    slow = lower(encoder.train(), (1, T, D))
    assert total(fast) == total(slow)
    assert macs(fast) == 2 * 109_051_904  # two layers, each the check value above


class FunctionalConv(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)
        self.weight, self.bias = conv.weight, conv.bias

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, self.bias, stride=2, padding=1)


def test_conv_functional_equals_module() -> None:
    module = lower(nn.Conv2d(3, 8, 3, stride=2, padding=1), (2, 3, 16, 16))
    functional = lower(FunctionalConv(), (2, 3, 16, 16))
    assert total(module) == total(functional)
    assert macs(module) == 2 * 8 * 8 * 8 * 3 * 3 * 3  # N * C_out * H_out * W_out * C_in * k * k


class MatmulOperator(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(32, 16))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.weight.t()


class MatmulFunction(MatmulOperator):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.matmul(x, self.weight.t())


@pytest.mark.parametrize("shape", [(5, 16), (2, 5, 16)])
def test_at_matmul_and_linear_agree(shape: tuple[int, ...]) -> None:
    expected = 5 * 32 * 16 * (2 if len(shape) == 3 else 1)  # tokens * out * in
    for model in (MatmulOperator(), MatmulFunction(), nn.Linear(16, 32, bias=False)):
        assert macs(lower(model, shape)) == expected


def test_user_mode_and_grad_mode_do_not_change_the_count() -> None:
    model = TinyCnn()
    reference = lower(model.eval(), (2, 3, 8, 8))
    assert total(lower(model.train(), (2, 3, 8, 8))) == total(reference)
    with torch.no_grad():
        assert total(lower(model, (2, 3, 8, 8))) == total(reference)
    assert "Dropout" not in ops(reference)  # inference: eval() semantics
    assert torch.is_grad_enabled()


def test_real_and_meta_models_lower_identically() -> None:
    torch.manual_seed(0)
    real = TinyCnn()
    with torch.device("meta"):
        meta = TinyCnn()
    real_graph = lower(real, torch.randn(2, 3, 8, 8))
    meta_graph = lower(meta, torch.empty(2, 3, 8, 8, device="meta"))
    assert real_graph.nodes == meta_graph.nodes
    assert real_graph.parameters == meta_graph.parameters
    assert total(real_graph) == total(meta_graph)
