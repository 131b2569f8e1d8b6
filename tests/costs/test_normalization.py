"""Normalisation and softmax families: per-element and per-group constants, arithmetic shown."""

from __future__ import annotations

import pytest
from costs_helpers import cost

from flopcount.errors import CostError

BN_STATS = [(3,)] * 4  # scale, B, mean, var of 3 channels


def test_batchnorm_inference() -> None:
    c = cost("BatchNormalization", (2, 3, 4, 4), *BN_STATS)
    numel = 2 * 3 * 4 * 4  # 96
    # (x - mean) * inv_std * scale + B: 4 per element; inv_std = 1/sqrt(var + eps): 3 per channel
    assert c.flops == c.flops_exact == 4 * numel + 3 * 3
    assert c.macs == 0


def test_batchnorm_training_adds_batch_statistics() -> None:
    c = cost("BatchNormalization", (2, 3, 4, 4), *BN_STATS, training_mode=1)
    numel, channels = 96, 3
    # mean-add, subtract, square, var-add, normalise, scale, bias per element; per channel two
    # divides + eps, sqrt, reciprocal; running mean and var updates 3 + 3 per channel
    assert c.flops == 7 * numel + 5 * channels + 6 * channels
    assert c.flops_exact == c.flops - 2 * channels  # two sums of 32 terms skip the first add


def test_layernorm_follows_the_onnx_function_body() -> None:
    c = cost("LayerNormalization", (2, 5, 8), (8,), (8,))
    groups, size = 2 * 5, 8
    assert c.flops == 7 * groups * size + 5 * groups
    assert c.flops_exact == groups * (7 * size + 3)  # ReduceMean twice, Sub, Mul, Add, ...
    no_bias = cost("LayerNormalization", (2, 5, 8), (8,))
    assert no_bias.flops == c.flops - groups * size
    wide = cost("LayerNormalization", (2, 5, 8), (5, 8), (5, 8), axis=1)
    assert wide.flops == 7 * 80 + 5 * 2  # 2 groups of 5 * 8


def test_group_and_instance_norm() -> None:
    group = cost("GroupNormalization", (2, 6, 4, 4), (6,), (6,), num_groups=3)
    numel = 2 * 6 * 4 * 4  # 192
    assert group.flops == 7 * numel + 5 * (2 * 3)  # statistics per (sample, group)
    instance = cost("InstanceNormalization", (2, 6, 4, 4), (6,), (6,))
    assert instance.flops == 7 * numel + 5 * (2 * 6)  # per (sample, channel)
    assert instance.flops_exact == instance.flops - 2 * 12


def test_rms_and_lp_normalization() -> None:
    rms = cost("RMSNormalization", (2, 5, 8), (8,))
    # x*x, mean-add, divide, scale per element; mean divide, + eps, sqrt per group
    assert (rms.flops, rms.flops_exact) == (4 * 80 + 3 * 10, 4 * 80 + 3 * 10 - 10)
    lp2 = cost("LpNormalization", (3, 4))
    assert (lp2.flops, lp2.flops_exact) == (3 * 12 + 3, 3 * 12 + 3 - 3)  # square, add, div; sqrt
    lp1 = cost("LpNormalization", (3, 4), p=1, axis=0)
    assert (lp1.flops, lp1.flops_exact) == (3 * 12, 3 * 12 - 4)  # 4 columns of 3, no root


def test_softmax_family() -> None:
    numel, rows = 2 * 3 * 10, 2 * 3
    soft = cost("Softmax", (2, 3, 10))
    # max-compare, subtract, exp, add, divide per element; max and sum skip one term per row
    assert (soft.flops, soft.flops_exact) == (5 * numel, 5 * numel - 2 * rows)
    axis1 = cost("Softmax", (2, 3, 10), axis=1)
    assert axis1.flops_exact == 5 * numel - 2 * (2 * 10)  # rows of 3 along axis 1
    log = cost("LogSoftmax", (2, 3, 10))
    assert (log.flops, log.flops_exact) == (5 * numel + rows, 5 * numel - rows)  # + log per row
    hard = cost("Hardmax", (2, 3, 10))
    assert (hard.flops, hard.flops_exact) == (numel, numel - rows)  # running argmax


@pytest.mark.parametrize(
    ("op", "shapes", "attrs"),
    [
        ("GroupNormalization", [(2, 6, 4, 4), (6,), (6,)], {"num_groups": 4}),
        ("GroupNormalization", [(2, 6, 4, 4), (6,), (6,)], {}),
        ("LayerNormalization", [(2, 5, 8), (8,)], {"axis": 3}),
        ("BatchNormalization", [(2, 3, 4, 4), (3,), (3,)], {}),
        ("LpNormalization", [(3, 4)], {"p": 3}),
        ("Softmax", [(2, 3, 10)], {"axis": -4}),
    ],
)
def test_malformed_norms_raise(
    op: str, shapes: list[tuple[int, ...]], attrs: dict[str, object]
) -> None:
    with pytest.raises(CostError, match=rf"cannot cost {op} .* in scope 'model.block'"):
        cost(op, *shapes, **attrs)
