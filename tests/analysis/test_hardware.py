"""The hardware table: every device cited, dense peaks, lookup by name/alias/path, errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flopcount.analysis.hardware import (
    DTYPE_KEYS,
    Hardware,
    dtype_key,
    get_hardware,
    hardware_from_dict,
    list_hardware,
    save_profile,
)
from flopcount.errors import FlopcountError, HardwareError

TERA = 1e12
GIGA = 1e9

REQUIRED = [
    "NVIDIA V100 SXM2 32GB",
    "NVIDIA T4",
    "NVIDIA A100 SXM 40GB",
    "NVIDIA A100 SXM 80GB",
    "NVIDIA L4",
    "NVIDIA GeForce RTX 4090",
    "NVIDIA H100 SXM",
    "NVIDIA H200 SXM",
    "AMD Instinct MI300X",
    "Google TPU v5e",
]


def test_every_required_device_is_in_the_table() -> None:
    names = {hw.name for hw in list_hardware()}
    assert set(REQUIRED) <= names


@pytest.mark.parametrize("hw", list_hardware(), ids=lambda hw: hw.name)
def test_every_device_has_a_cited_float_peak_and_bandwidth(hw: Hardware) -> None:
    assert {"fp32", "bf16", "fp16"} & set(hw.peak_flops), hw.name
    assert set(hw.peak_flops) <= set(DTYPE_KEYS)
    assert all(v > 0 for v in hw.peak_flops.values())
    assert hw.memory_bandwidth > 0 and hw.memory_bytes > 0
    assert "(20" in hw.source, "source must name a document and its year"
    assert "http" not in hw.source


@pytest.mark.parametrize("hw", list_hardware(), ids=lambda hw: hw.name)
def test_tensor_peaks_are_ordered_as_the_hardware_works(hw: Hardware) -> None:
    # Narrower types never run slower than wider ones on the same units: a sparse figure
    # stored by mistake for bf16 but not fp8 (or vice versa) would break this ordering.
    peaks = hw.peak_flops
    for wide, narrow in (("fp32", "tf32"), ("tf32", "bf16"), ("bf16", "fp8"), ("fp16", "fp8")):
        if wide in peaks and narrow in peaks:
            assert peaks[narrow] >= peaks[wide], (hw.name, wide, narrow)
    if "bf16" in peaks and "fp16" in peaks:
        assert peaks["bf16"] == peaks["fp16"]


def test_h100_sxm_bf16_is_the_dense_figure() -> None:
    # NVIDIA H100 datasheet: BF16 Tensor Core 1,979 TFLOPS* (*with sparsity) -> dense 989.4.
    h100 = get_hardware("H100 SXM")
    assert h100.peak_for("bf16") == pytest.approx(989.4 * TERA)
    assert h100.peak_for("bf16") == pytest.approx(1978.9 / 2 * TERA, rel=1e-4)
    assert h100.memory_bandwidth == pytest.approx(3350 * GIGA)


def test_a100_figures_match_the_datasheet() -> None:
    # NVIDIA A100 datasheet: BF16 312 TFLOPS dense (624* sparse), 80GB SXM at 2,039 GB/s,
    # 40GB SXM at 1,555 GB/s.
    a100_80 = get_hardware("a100-80gb")
    assert a100_80.peak_for("bfloat16") == pytest.approx(312 * TERA)
    assert a100_80.peak_for("tf32") == pytest.approx(156 * TERA)  # 312* / 2
    assert a100_80.memory_bandwidth == pytest.approx(2039 * GIGA)
    assert get_hardware("A100 SXM 40GB").memory_bandwidth == pytest.approx(1555 * GIGA)


def test_h200_has_h100_arithmetic_and_faster_memory() -> None:
    # NVIDIA H200 datasheet: 4.8 TB/s, 141 GB; compute as H100 SXM.
    h200, h100 = get_hardware("h200"), get_hardware("h100")
    assert h200.memory_bandwidth == pytest.approx(4.8e12)
    assert h200.memory_bytes == pytest.approx(141e9)
    assert h200.peak_flops == h100.peak_flops


def test_other_spot_values() -> None:
    assert get_hardware("mi300x").peak_for("bf16") == pytest.approx(1307.4 * TERA)  # dense
    assert get_hardware("l4").peak_for("fp16") == pytest.approx(242 / 2 * TERA)  # 242* sparse
    assert get_hardware("t4").peak_for("fp16") == pytest.approx(65 * TERA)
    assert get_hardware("tpu-v5e").peak_for("bf16") == pytest.approx(197 * TERA)
    assert get_hardware("v100").peak_for("fp32") == pytest.approx(15.7 * TERA)


def test_ridge_point_is_peak_over_bandwidth() -> None:
    h100 = get_hardware("h100")
    assert h100.ridge_point("bf16") == pytest.approx(989.4e12 / 3.35e12)  # ~295 FLOP/byte


@pytest.mark.parametrize(
    ("query", "name"),
    [
        ("h100", "NVIDIA H100 SXM"),
        ("H100", "NVIDIA H100 SXM"),
        ("nvidia h100 sxm", "NVIDIA H100 SXM"),
        ("H100-PCIe", "NVIDIA H100 PCIe"),
        ("a100", "NVIDIA A100 SXM 80GB"),
        ("RTX 4090", "NVIDIA GeForce RTX 4090"),
        ("tpu_v5e", "Google TPU v5e"),
    ],
)
def test_lookup_ignores_case_spaces_and_dashes(query: str, name: str) -> None:
    assert get_hardware(query).name == name


def test_unknown_name_lists_close_matches_and_known_devices() -> None:
    with pytest.raises(HardwareError) as err:
        get_hardware("h10")
    message = str(err.value)
    assert "Did you mean" in message and "H100" in message
    assert "Google TPU v5e" in message  # the full list
    assert isinstance(err.value, FlopcountError) and isinstance(err.value, ValueError)


def test_peak_for_a_missing_dtype_names_what_exists() -> None:
    with pytest.raises(HardwareError, match=r"has no bf16 peak.*fp32, fp16, int8"):
        get_hardware("t4").peak_for("bfloat16")


@pytest.mark.parametrize(
    ("dtype", "key"),
    [("float32", "fp32"), ("bfloat16", "bf16"), ("float16", "fp16"), ("float64", "fp64"),
     ("float8_e4m3fn", "fp8"), ("float8_e5m2", "fp8"), ("int8", "int8"), ("uint8", "int8"),
     ("BF16", "bf16"), ("tf32", "tf32")],
)  # fmt: skip
def test_dtype_key_maps_ir_names(dtype: str, key: str) -> None:
    assert dtype_key(dtype) == key


def test_dtype_key_rejects_unknown_names() -> None:
    with pytest.raises(HardwareError, match="int64"):
        dtype_key("int64")


def test_profile_round_trips_through_json(tmp_path: Path) -> None:
    hw = get_hardware("h200")
    path = save_profile(hw, tmp_path / "h200.json")
    loaded = get_hardware(str(path))
    assert loaded.peak_flops == pytest.approx(hw.peak_flops)
    assert loaded.memory_bandwidth == pytest.approx(hw.memory_bandwidth)
    assert (loaded.name, loaded.source) == (hw.name, hw.source)
    assert get_hardware(path).name == hw.name  # a Path works too


def test_malformed_profiles_raise_hardware_errors(tmp_path: Path) -> None:
    with pytest.raises(HardwareError, match="does not exist"):
        get_hardware(str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(HardwareError, match="cannot read"):
        get_hardware(str(bad))
    bad.write_text(json.dumps({"name": "x", "peak_tflops": {"fp32": 1.0}}), encoding="utf-8")
    with pytest.raises(HardwareError, match="memory_bandwidth_gbs"):
        get_hardware(str(bad))


@pytest.mark.parametrize(
    "entry",
    [
        {"name": "x", "peak_tflops": {"fp32": -1.0}, "memory_bandwidth_gbs": 1.0},
        {"name": "x", "peak_tflops": {"fp33": 1.0}, "memory_bandwidth_gbs": 1.0},
        {"name": "x", "peak_tflops": {}, "memory_bandwidth_gbs": 1.0},
        {"name": "x", "peak_tflops": {"fp32": 1.0}, "memory_bandwidth_gbs": 0},
    ],
)
def test_invalid_entries_are_rejected(entry: dict[str, object]) -> None:
    with pytest.raises(HardwareError):
        hardware_from_dict(entry)
