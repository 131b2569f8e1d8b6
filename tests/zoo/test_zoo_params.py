"""Parameter counts of the zoo models against published numbers, each derived by hand here.

Sources of the published counts:
  resnet18, resnet50, mobilenet_v2, vit_b_16: torchvision weight metadata ``num_params`` of
    ResNet18_Weights / ResNet50_Weights / MobileNet_V2_Weights / ViT_B_16_Weights.IMAGENET1K_V1.
  bert-base: Hugging Face BertModel.from_pretrained("bert-base-uncased").num_parameters(),
    pooler included (Devlin et al. 2019 round it to 110M).
  gpt2: Hugging Face GPT2LMHeadModel.from_pretrained("gpt2").num_parameters(), the tied LM head
    counted once (openai/gpt-2 names the model "124M").
  llama2-7b / llama2-70b: meta-llama/Llama-2-{7b,70b}-hf model.safetensors.index.json
    total_size (13,476,839,424 and 137,953,316,864 bytes): 2 bytes per fp16 parameter plus a
    64-value float32 rotary ``inv_freq`` buffer per layer.
"""

from __future__ import annotations

import pytest
from torch import nn

from flopcount import zoo

PUBLISHED = {
    "resnet18": 11_689_512,
    "resnet50": 25_557_032,
    "mobilenet_v2": 3_504_872,
    "vit_b_16": 86_567_656,
    "bert-base": 109_482_240,
    "gpt2": 124_439_808,
    "llama2-7b": (13_476_839_424 - 32 * 64 * 4) // 2,  # = 6,738,415,616
    "llama2-70b": (137_953_316_864 - 80 * 64 * 4) // 2,  # = 68,976,648,192
}


def count(model: nn.Module) -> int:
    """Distinct parameters: ``parameters()`` yields a tied tensor once."""
    return sum(p.numel() for p in model.parameters())


def bn(c: int) -> int:
    """BatchNorm affine parameters (running stats are buffers)."""
    return 2 * c


def resnet_by_hand(bottleneck: bool, depths: tuple[int, ...]) -> int:
    """He et al. 2016, Table 1: stem, four stages, fc; projection shortcut when shape changes."""
    total = 64 * 3 * 7 * 7 + bn(64)  # conv1 7x7 + bn1
    c_in = 64
    for stage, (width, depth) in enumerate(zip((64, 128, 256, 512), depths)):
        c_out = 4 * width if bottleneck else width
        for block in range(depth):
            if bottleneck:  # 1x1 reduce, 3x3, 1x1 expand
                total += c_in * width + width * width * 9 + width * c_out
                total += bn(width) * 2 + bn(c_out)
            else:  # two 3x3 convs
                total += c_in * width * 9 + width * width * 9 + bn(width) * 2
            strided = stage > 0 and block == 0
            if strided or c_in != c_out:
                total += c_in * c_out + bn(c_out)  # 1x1 projection + BN
            c_in = c_out
    return total + c_in * 1000 + 1000  # fc


def mobilenet_v2_by_hand() -> int:
    """Sandler et al. 2018, Table 2: stem, (t, c, n, s) bottlenecks, 1x1 to 1280, classifier."""
    total = 32 * 3 * 9 + bn(32)
    c_in = 32
    for t, c, n, _ in [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
                       (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]:  # fmt: skip
        for _ in range(n):
            hidden = c_in * t
            if t != 1:
                total += c_in * hidden + bn(hidden)  # 1x1 expansion
            total += hidden * 9 + bn(hidden)  # 3x3 depthwise
            total += hidden * c + bn(c)  # 1x1 linear projection
            c_in = c
    return total + 320 * 1280 + bn(1280) + 1280 * 1000 + 1000


def test_resnet18_by_hand() -> None:
    assert resnet_by_hand(False, (2, 2, 2, 2)) == PUBLISHED["resnet18"]


def test_resnet50_by_hand() -> None:
    assert resnet_by_hand(True, (3, 4, 6, 3)) == PUBLISHED["resnet50"]


def test_mobilenet_v2_by_hand() -> None:
    assert mobilenet_v2_by_hand() == PUBLISHED["mobilenet_v2"]


def test_vit_b_16_by_hand() -> None:
    d, layers = 768, 12
    block = 2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d)
    patches = (224 // 16) ** 2  # 196
    total = (d * 3 * 16 * 16 + d) + d + (patches + 1) * d + layers * block + 2 * d + d * 1000 + 1000
    # conv_proj + class token + position table + blocks + final LN + head
    assert total == PUBLISHED["vit_b_16"]


def test_bert_base_by_hand() -> None:
    d, ff, layers = 768, 3072, 12
    embeddings = (30522 + 512 + 2) * d + 2 * d  # word + position + segment tables, LayerNorm
    layer = 4 * (d * d + d) + (d * ff + ff) + (ff * d + d) + 2 * 2 * d  # QKVO, FFN, 2 LNs
    pooler = d * d + d
    assert embeddings + layers * layer + pooler == PUBLISHED["bert-base"]


def test_gpt2_by_hand() -> None:
    d, layers = 768, 12
    block = 2 * 2 * d + (d * 3 * d + 3 * d) + (d * d + d) + (d * 4 * d + 4 * d) + (4 * d * d + d)
    total = 50257 * d + 1024 * d + layers * block + 2 * d  # wte (= lm_head) + wpe + blocks + ln_f
    assert block == 7_087_872
    assert total == PUBLISHED["gpt2"]


def test_llama2_7b_by_hand() -> None:
    d, ff, layers, vocab = 4096, 11008, 32, 32000
    layer = 4 * d * d + 3 * d * ff + 2 * d  # q, k, v, o; gate, up, down; two RMSNorms
    assert vocab * d + layers * layer + d + vocab * d == PUBLISHED["llama2-7b"] == 6_738_415_616


def test_llama2_70b_by_hand() -> None:
    d, ff, layers, vocab, kv = 8192, 28672, 80, 32000, 8 * 128  # 8 KV heads of size 128
    layer = 2 * d * d + 2 * d * kv + 3 * d * ff + 2 * d  # q, o; k, v (GQA); SwiGLU; norms
    assert vocab * d + layers * layer + d + vocab * d == PUBLISHED["llama2-70b"] == 68_976_648_192


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_model_matches_published_count(name: str) -> None:
    model, _ = zoo.build(name)
    assert count(model) == PUBLISHED[name]


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_entry_reference_is_the_published_count(name: str) -> None:
    value, source = zoo.get(name).reference["params"]
    assert value == PUBLISHED[name]
    assert source  # every reference names where it comes from


def test_gpt2_head_is_tied_and_counted_once() -> None:
    model, _ = zoo.build("gpt2")
    assert model.lm_head.weight is model.transformer.wte.weight
    every_tensor = sum(p.numel() for _, p in model.named_parameters(remove_duplicate=False))
    assert every_tensor - count(model) == 50257 * 768  # the tied matrix, once more


def test_examples_by_hand() -> None:
    matmul, _ = zoo.build("matmul")
    conv, _ = zoo.build("conv3x3")
    assert count(matmul) == 16 * 9  # B: K x N
    assert count(conv) == 16 * 3 * 3 * 3 + 16  # C_out*C_in*k*k + bias
    assert zoo.get("matmul").reference["macs"][0] == 25 * 16 * 9 == 3600
    assert zoo.get("conv3x3").reference["macs"][0] == 16 * 32 * 32 * 27 == 442_368
