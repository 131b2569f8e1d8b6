"""The architectures themselves: module names, layer counts, and real-valued behaviour of tiny
configurations on CPU (causality, bidirectionality, rotary embeddings, RMSNorm)."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from flopcount import zoo
from flopcount.zoo.bert import BertConfig, BertModel
from flopcount.zoo.gpt2 import GPT2Config, GPT2LMHeadModel
from flopcount.zoo.llama import (
    LlamaConfig,
    LlamaForCausalLM,
    RMSNorm,
    RotaryEmbedding,
    apply_rotary,
)
from flopcount.zoo.vit import VisionTransformer, ViTConfig

TINY_LLAMA = LlamaConfig(
    vocab_size=50, hidden_size=32, num_layers=2, num_heads=4, num_kv_heads=2, intermediate_size=48
)


def modules_of(name: str) -> dict[str, nn.Module]:
    model, _ = zoo.build(name)
    return dict(model.named_modules())


def count_of(name: str, kind: type[nn.Module]) -> int:
    return sum(isinstance(m, kind) for m in modules_of(name).values())


@pytest.mark.parametrize(
    ("name", "scopes"),
    [("resnet50", ["conv1", "bn1", "layer1.0.conv3", "layer2.0.downsample.0", "layer4.2.bn3"]),
     ("resnet18", ["layer1.1.conv2", "layer3.0.downsample.1", "avgpool", "fc"]),
     ("mobilenet_v2", ["features.0.0", "features.1.conv.0.0", "features.2.conv.3",
                       "features.17.conv.2", "features.18.0", "classifier.1"]),
     ("vit_b_16", ["conv_proj", "encoder.layers.encoder_layer_0.self_attention",
                   "encoder.layers.encoder_layer_11.mlp.3", "encoder.ln", "heads.head"]),
     ("bert-base", ["embeddings.word_embeddings", "encoder.layer.0.attention.self.query",
                    "encoder.layer.11.output.LayerNorm", "pooler.dense"]),
     ("gpt2", ["transformer.wte", "transformer.h.11.attn.c_attn", "transformer.ln_f", "lm_head"]),
     ("llama2-7b", ["model.embed_tokens", "model.layers.31.self_attn.k_proj",
                    "model.layers.0.mlp.gate_proj", "model.norm", "lm_head"])],
)  # fmt: skip
def test_familiar_module_names(name: str, scopes: list[str]) -> None:
    present = modules_of(name)
    assert [s for s in scopes if s not in present] == []


def test_layer_counts() -> None:
    assert count_of("resnet50", nn.Conv2d) == 1 + 3 * (3 + 4 + 6 + 3) + 4  # stem, blocks, shortcuts
    assert count_of("resnet18", nn.Conv2d) == 1 + 2 * (2 + 2 + 2 + 2) + 3
    assert count_of("mobilenet_v2", nn.Conv2d) == 1 + 2 + 3 * 16 + 1  # stem, t=1 block, 16 blocks
    assert count_of("vit_b_16", nn.MultiheadAttention) == 12
    assert count_of("llama2-70b", RMSNorm) == 2 * 80 + 1


def test_llama2_70b_uses_grouped_query_projections() -> None:
    model, _ = zoo.build("llama2-70b")
    attn = model.model.layers[0].self_attn
    assert tuple(attn.q_proj.weight.shape) == (64 * 128, 8192)
    assert tuple(attn.k_proj.weight.shape) == (8 * 128, 8192)  # 8 KV heads of 8192/64 = 128
    assert model.lm_head.weight is not model.model.embed_tokens.weight  # untied


def test_resnet50_strides_the_3x3_conv() -> None:
    scopes = modules_of("resnet50")
    assert scopes["layer2.0.conv2"].stride == (2, 2)  # v1.5 placement, as torchvision
    assert scopes["layer2.0.conv1"].stride == (1, 1)


def _changed_positions(model: nn.Module, ids: torch.Tensor, position: int) -> torch.Tensor:
    """For each position, whether the output moves when token ``position`` changes."""
    edited = ids.clone()
    edited[0, position] = (edited[0, position] + 1) % 50
    with torch.no_grad():
        a, b = model(ids), model(edited)
    a, b = (a[0], b[0]) if isinstance(a, tuple) else (a, b)
    return ~torch.isclose(a, b, atol=1e-6).all(dim=-1)[0]


def test_tiny_llama_is_causal() -> None:
    torch.manual_seed(0)
    model = LlamaForCausalLM(TINY_LLAMA).eval()
    ids = torch.randint(0, 50, (1, 6))
    changed = _changed_positions(model, ids, 3)
    assert changed.tolist() == [False, False, False, True, True, True]


def test_tiny_gpt2_is_causal() -> None:
    torch.manual_seed(0)
    config = GPT2Config(vocab_size=50, max_positions=8, hidden_size=16, num_layers=2, num_heads=2)
    model = GPT2LMHeadModel(config).eval()
    changed = _changed_positions(model, torch.randint(0, 50, (1, 6)), 4)
    assert changed.tolist() == [False, False, False, False, True, True]


def test_tiny_bert_is_bidirectional() -> None:
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=50, hidden_size=16, num_layers=1, num_heads=2, intermediate_size=32,
        max_positions=8,
    )  # fmt: skip
    model = BertModel(config).eval()
    changed = _changed_positions(model, torch.randint(0, 50, (1, 5)), 4)
    assert changed.tolist() == [True] * 5


def test_rotary_scores_depend_only_on_relative_position() -> None:
    # Su et al. 2021, Eq. 16: <R(m) q, R(n) k> is a function of m - n.
    torch.manual_seed(0)
    q, k = torch.randn(1, 1, 1, 8), torch.randn(1, 1, 1, 8)
    cos, sin = RotaryEmbedding(8, 10000.0)(torch.arange(12), torch.float32)

    def score(m: int, n: int) -> float:
        qm = apply_rotary(q, cos[m : m + 1], sin[m : m + 1])
        kn = apply_rotary(k, cos[n : n + 1], sin[n : n + 1])
        return float((qm * kn).sum())

    assert score(5, 2) == pytest.approx(score(10, 7), rel=1e-5)
    assert score(0, 0) == pytest.approx(float((q * k).sum()), rel=1e-5)  # angle 0: identity


def test_rmsnorm_normalises_root_mean_square() -> None:
    x = torch.tensor([[3.0, 4.0]])  # rms = sqrt((9 + 16) / 2)
    y = RMSNorm(2, eps=0.0)(x)
    assert torch.allclose(y, x / (12.5**0.5))


def test_tiny_vit_runs_on_cpu() -> None:
    config = ViTConfig(image_size=32, patch_size=16, num_layers=1, num_heads=2, hidden_dim=8,
                       mlp_dim=16, num_classes=3)  # fmt: skip
    model = VisionTransformer(config).eval()
    assert config.seq_length == (32 // 16) ** 2 + 1
    assert tuple(model(torch.randn(2, 3, 32, 32)).shape) == (2, 3)
