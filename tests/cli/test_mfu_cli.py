"""`flopcount mfu`: model FLOPs from the analysis (forward + backward), PaLM's MFU definition."""

from __future__ import annotations

import pytest

import flopcount
from flopcount.analysis.hardware import get_hardware
from flopcount.cli import main


def test_mfu_from_step_time(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "mfu",
        "zoo:gpt2",
        "--seq",
        "64",
        "--hardware",
        "a100",
        "--dtype",
        "bf16",
        "--step-time",
        "0.01",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    flops = flopcount.analyze("zoo:gpt2", seq=64, training=True).total.flops
    peak = get_hardware("a100").peak_for("bf16")  # 312 TFLOP/s dense (A100 datasheet)
    assert f"MFU: {flops / 0.01 / peak:.1%}" in out  # achieved FLOP/s over peak
    assert "forward + backward" in out


def test_hfu_with_full_recompute_adds_one_forward(capsys: pytest.CaptureFixture[str]) -> None:
    argv = [
        "mfu",
        "zoo:gpt2",
        "--seq",
        "64",
        "--hardware",
        "a100",
        "--tokens-per-s",
        "20000",
        "--recompute",
        "full",
    ]
    assert main(argv) == 0
    out = capsys.readouterr().out
    report = flopcount.analyze("zoo:gpt2", seq=64, training=True)
    step_time = 64 / 20000  # tokens per step (batch 1 x seq 64) / tokens per second
    peak = get_hardware("a100").peak_for("bf16")
    assert f"MFU: {report.total.flops / step_time / peak:.1%}" in out
    hfu = (report.total.flops + report.forward.flops) / step_time / peak
    assert f"HFU (with full recomputation): {hfu:.1%}" in out


def test_mfu_needs_a_time(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mfu", "zoo:conv3x3", "--hardware", "a100"]) == 2
    assert "step" in capsys.readouterr().err
