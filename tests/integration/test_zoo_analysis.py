"""The zoo through the PyTorch frontend: published numbers, with their arithmetic or source."""

from __future__ import annotations

import flopcount


def macs(name: str, **sizes: int) -> int:
    return flopcount.analyze(f"zoo:{name}", convention="macs", **sizes).total.macs


def test_resnet50_matches_torchvision_metadata() -> None:
    # torchvision ResNet50_Weights.IMAGENET1K_V1.meta: "_ops": 4.089 (GFLOPS, which count MACs),
    # "num_params": 25557032.
    report = flopcount.analyze("zoo:resnet50", convention="macs")
    assert round(report.total.macs / 1e9, 3) == 4.089
    assert report.params == 25_557_032
    assert report.unsupported == []


def test_mobilenet_v2_matches_torchvision_metadata() -> None:
    # torchvision MobileNet_V2_Weights.IMAGENET1K_V1.meta: "_ops": 0.301, "num_params": 3504872.
    assert round(macs("mobilenet_v2") / 1e9, 3) == 0.301


def test_vit_b_16_closed_form() -> None:
    T, d, ff, layers = 197, 768, 3072, 12  # 196 patches + class token
    per_layer = 4 * d * d * T + 2 * T * T * d + 2 * d * ff * T  # qkv+out, QK^T+AV, MLP
    patchify = 768 * 3 * 16 * 16 * 196  # C_out * C_in * k*k * positions
    head = 768 * 1000
    expected = layers * per_layer + patchify + head
    assert macs("vit_b_16") == expected
    assert round(expected / 1e9, 3) == 17.564  # torchvision ViT_B_16 meta "_ops": 17.564


def test_bert_base_128_tokens() -> None:
    T, d, ff, layers = 128, 768, 3072, 12
    encoder = layers * (4 * d * d * T + 2 * T * T * d + 2 * d * ff * T)
    pooler = d * d  # the [CLS] token's dense layer
    assert macs("bert-base") == encoder + pooler
    assert round((encoder + pooler) / 1e9, 3) == 11.174


def test_gpt2_dense_and_causal_exact() -> None:
    T, d, layers, vocab = 1024, 768, 12, 50257
    linear = layers * 12 * d * d * T  # qkv (3), out (1), MLP (4 + 4), in d*d*T units
    attention = layers * 2 * T * T * d  # QK^T + AV, dense
    lm_head = T * d * vocab
    report = flopcount.analyze("zoo:gpt2", convention="macs")
    assert report.total.macs == linear + attention + lm_head
    assert report.params == 124_439_808  # lm_head tied to wte: counted once
    causal = layers * 2 * d * (T * (T + 1) // 2)  # only keys j <= i: T(T+1)/2 pairs per head-dim
    assert report.causal_exact is not None
    assert report.causal_exact.macs == linear + causal + lm_head


def test_llama2_7b_parameters() -> None:
    # Touvron et al. 2023 (Llama 2), 7B config: 32 layers, d 4096, ff 11008, vocab 32000.
    report = flopcount.analyze("zoo:llama2-7b", seq=16, convention="macs")
    assert report.params == 6_738_415_616


def test_training_counts_backward_separately() -> None:
    report = flopcount.analyze("zoo:conv3x3", training=True)
    assert report.has_backward
    # backward of a conv = input-gradient conv + weight-gradient conv, 2x the forward MACs each
    # layer; conv3x3's only layer reads the model input, which needs no gradient, so only the
    # weight gradient runs: C_out*H*W * k*k*C_in = 16*32*32 * 3*3*3, once each way.
    assert report.forward.macs == report.backward.macs == 16 * 32 * 32 * 3 * 3 * 3
