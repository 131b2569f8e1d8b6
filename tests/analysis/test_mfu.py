"""MFU/HFU (Chowdhery et al. 2022, Appendix B) with the arithmetic written out."""

from __future__ import annotations

import pytest

from flopcount.analysis.hardware import get_hardware
from flopcount.analysis.mfu import mfu
from flopcount.errors import HardwareError


def test_palm_540b_reproduces_the_papers_46_percent() -> None:
    # PaLM Appendix B: FLOPs per token = 6N + 12 L H Q T with N = 540.35e9 parameters,
    # L = 118 layers, H = 48 heads, Q = 256 head dim, T = 2048 sequence length; 238.3K
    # tokens/s on 6144 TPU v4 chips at 275 TFLOP/s bf16 -> MFU 46.2 %.
    per_token = 6 * 540_350_000_000 + 12 * 118 * 48 * 256 * 2048
    tokens_per_step = 2048 * 2048  # batch of 2048 sequences of 2048 tokens
    result = mfu(
        per_token * tokens_per_step,
        hardware=get_hardware("tpu-v4"),
        dtype="bf16",
        tokens_per_s=238.3e3,
        tokens_per_step=tokens_per_step,
        n_devices=6144,
    )
    assert result.peak_flops_per_s == pytest.approx(6144 * 275e12)
    assert result.achieved_flops_per_s == pytest.approx(238.3e3 * per_token)
    assert round(result.mfu, 3) == 0.462
    assert result.hfu is None and result.notes == ()


def test_six_n_d_with_step_time_and_recompute() -> None:
    # 1B parameters, 2**20 tokens per step: 6 * N * D = 6e9 * 2**20 FLOPs per step.
    # 8 A100 at 312 TFLOP/s bf16, 10 s per step:
    #   achieved = 6e9 * 2**20 / 10 = 6.29e14 FLOP/s; MFU = 6.29e14 / (8 * 312e12) = 25.2 %.
    # Full activation recomputation re-runs the forward: +2 * N * D FLOPs -> HFU = MFU * 8/6.
    model_flops = 6 * 10**9 * 2**20
    result = mfu(
        model_flops,
        hardware=get_hardware("a100"),
        dtype="bfloat16",
        step_time_s=10.0,
        n_devices=8,
        recompute_flops_per_step=2 * 10**9 * 2**20,
    )
    assert result.mfu == pytest.approx(model_flops / 10.0 / (8 * 312e12))
    assert result.mfu == pytest.approx(0.2520, abs=1e-4)
    assert result.hfu == pytest.approx(result.mfu * 8 / 6)
    assert result.step_time_s == 10.0


def test_step_time_and_token_rate_must_agree() -> None:
    h100 = get_hardware("h100")
    ok = mfu(10**15, hardware=h100, dtype="bf16", step_time_s=2.0, tokens_per_s=500.0,
             tokens_per_step=1000)  # fmt: skip
    assert ok.step_time_s == 2.0  # 1000 tokens / 500 tokens/s = 2 s: consistent
    with pytest.raises(HardwareError, match="disagrees"):
        mfu(10**15, hardware=h100, dtype="bf16", step_time_s=3.0, tokens_per_s=500.0,
            tokens_per_step=1000)  # fmt: skip


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({}, "give the step time"),
        ({"tokens_per_s": 10.0}, "needs tokens_per_step"),
        ({"step_time_s": 0.0}, "step_time_s must be a positive"),
        ({"step_time_s": 1.0, "n_devices": 0}, "n_devices must be a positive"),
        ({"step_time_s": 1.0, "n_devices": 1.5}, "whole number"),
        ({"step_time_s": 1.0, "recompute_flops_per_step": -1}, "recompute"),
        ({"step_time_s": float("nan")}, "positive"),
    ],
)
def test_bad_inputs_raise_value_errors_from_the_tree(kwargs: dict, message: str) -> None:
    with pytest.raises(HardwareError, match=message) as err:
        mfu(10**12, hardware=get_hardware("h100"), dtype="bf16", **kwargs)
    assert isinstance(err.value, ValueError)


def test_unknown_dtype_on_device_raises() -> None:
    with pytest.raises(HardwareError, match="no bf16 peak"):
        mfu(10**12, hardware=get_hardware("v100"), dtype="bf16", step_time_s=1.0)


def test_above_peak_is_flagged_not_hidden() -> None:
    # 2e15 FLOPs in 1 s on one H100 (989.4e12 FLOP/s bf16) is 202 % of peak.
    result = mfu(2 * 10**15, hardware=get_hardware("h100"), dtype="bf16", step_time_s=1.0)
    assert result.mfu == pytest.approx(2e15 / 989.4e12)
    assert result.notes and "above 100%" in result.notes[0]
