"""measure_local: quick mode returns positive rates, reports progress, and round-trips."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest

from flopcount.analysis import measure
from flopcount.analysis.hardware import Hardware, get_hardware, save_profile
from flopcount.analysis.measure import QUICK, cpu_cores, measure_local


@pytest.fixture(scope="module")
def quick_profile() -> Hardware:
    start = time.perf_counter()
    hw = measure_local(quick=True, use_torch=False)
    assert time.perf_counter() - start < 3.0, "quick mode must stay under 3 s"
    return hw


def test_quick_mode_returns_positive_numbers(quick_profile: Hardware) -> None:
    assert quick_profile.peak_for("float64") > 0
    assert quick_profile.peak_for("float32") > 0
    assert quick_profile.memory_bandwidth > 0
    assert quick_profile.cores == cpu_cores() >= 1
    assert quick_profile.source.startswith("measured on ")
    for key in ("gemm_numpy_fp64", "gemm_numpy_fp32", "stream_copy", "stream_scale", "stream_add"):
        assert quick_profile.measured[key] > 0  # GFLOP/s or GB/s
    # The profile's bandwidth is the best STREAM kernel (stored in GB/s, profile in bytes/s).
    best = max(quick_profile.measured[f"stream_{k}"] for k in ("copy", "scale", "add"))
    assert quick_profile.memory_bandwidth == pytest.approx(best * 1e9)


def test_profile_round_trips_through_get_hardware(quick_profile: Hardware, tmp_path: Path) -> None:
    path = save_profile(quick_profile, tmp_path / "local.json")
    loaded = get_hardware(str(path))
    assert loaded.name == quick_profile.name
    assert loaded.peak_flops == pytest.approx(quick_profile.peak_flops)
    assert loaded.memory_bandwidth == pytest.approx(quick_profile.memory_bandwidth)
    assert loaded.cores == quick_profile.cores
    assert loaded.measured == pytest.approx(dict(quick_profile.measured))


def test_progress_reports_every_step_in_order() -> None:
    calls: list[tuple[str, float]] = []

    def progress(message: str, fraction: float) -> None:
        calls.append((message, fraction))

    measure_local(progress=progress, quick=True, use_torch=False)
    fractions = [f for _, f in calls]
    assert fractions == sorted(fractions) and fractions[0] == 0.0 and fractions[-1] == 1.0
    # 2 NumPy GEMMs + 3 STREAM kernels, then "done".
    assert len(calls) == 2 + 3 + 1
    assert calls[0][0] == "measuring gemm numpy fp64"


def test_gemm_counts_two_flops_per_mac(monkeypatch: pytest.MonkeyPatch) -> None:
    # With every matmul timed at exactly 0.5 s, an n = 192 product is 2 * 192^3 / 0.5 FLOP/s.
    monkeypatch.setattr(measure, "_median_time", lambda run, repeats: 0.5)
    assert measure._numpy_gemm("float32", 192, 1) == pytest.approx(2 * 192**3 / 0.5)


def test_stream_counts_bytes_as_stream_does(monkeypatch: pytest.MonkeyPatch) -> None:
    # Copy moves 16 bytes per float64 element (read 8, write 8), Add 24 (read 16, write 8).
    ticks = iter(float(i) for i in range(100))  # every trial takes exactly 1 "second"
    monkeypatch.setattr(measure, "perf_counter", lambda: next(ticks))
    arrays = [np.zeros(1000) for _ in range(3)]
    assert measure._stream("copy", arrays, 1, 2) == pytest.approx(16 * 1000 / 1.0)
    assert measure._stream("add", arrays, 1, 2) == pytest.approx(24 * 1000 / 1.0)


def test_stream_kernels_compute_the_stream_results() -> None:
    a, b, c = (np.full(QUICK.gemm_n, v) for v in (1.0, 2.0, 0.0))
    measure._stream("copy", [a, b, c], 2, 1)  # c = a
    assert np.all(c == 1.0)
    measure._stream("scale", [a, b, c], 2, 1)  # b = 3 c
    assert np.all(b == 3.0)
    measure._stream("add", [a, b, c], 2, 1)  # c = a + b
    assert np.all(c == 4.0)
