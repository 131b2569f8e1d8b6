"""`flopcount mfu`: model FLOPs from the analysis (forward + backward), PaLM's MFU definition."""

from __future__ import annotations

import pytest

import flopcount
from flopcount.analysis.hardware import get_hardware
from flopcount.cli import main
from flopcount.report import Report

A100_BF16 = get_hardware("a100").peak_for("bf16")  # 312 TFLOP/s dense (A100 datasheet)
GPT2 = ["zoo:gpt2", "--seq", "64", "--hardware", "a100"]


@pytest.fixture(scope="module")
def training() -> Report:
    """GPT-2 small at 64 tokens, forward + backward: the FLOPs `mfu` must use."""
    return flopcount.analyze("zoo:gpt2", seq=64, training=True)


def mfu_output(capsys: pytest.CaptureFixture[str], *extra: str) -> str:
    assert main(["mfu", *GPT2, *extra]) == 0
    return capsys.readouterr().out


def test_mfu_from_step_time(capsys: pytest.CaptureFixture[str], training: Report) -> None:
    out = mfu_output(capsys, "--dtype", "bf16", "--step-time", "0.01")
    assert f"MFU: {training.total.flops / 0.01 / A100_BF16:.1%}" in out  # achieved / peak
    assert "forward + backward" in out


def test_hfu_with_full_recompute_adds_one_forward(
    capsys: pytest.CaptureFixture[str], training: Report
) -> None:
    out = mfu_output(capsys, "--tokens-per-s", "20000", "--recompute", "full")
    step_time = 64 / 20000  # tokens per step (batch 1 x seq 64) / tokens per second
    assert f"MFU: {training.total.flops / step_time / A100_BF16:.1%}" in out
    hfu = (training.total.flops + training.forward.flops) / step_time / A100_BF16
    assert f"HFU (with full recomputation): {hfu:.1%}" in out


def test_mfu_needs_a_time(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mfu", "zoo:conv3x3", "--hardware", "a100"]) == 2
    assert "step" in capsys.readouterr().err
