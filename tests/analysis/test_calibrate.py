"""cpu-eager calibration: curve interpolation, the profile's cal_* entries, kernel shapes."""

from __future__ import annotations

import pytest

from flopcount.analysis.calibrate import (
    CAL_PREFIX,
    Calibration,
    Clock,
    calibrate_local,
    calibrate_overheads,
    interpolate_log2,
    median_calibration,
)
from flopcount.analysis.hardware import Hardware
from flopcount.analysis.kernels import folded_matmuls, gemm_dims, is_depthwise, view_savings
from flopcount.errors import HardwareError
from flopcount.ir import Node, TensorSpec


def test_interpolation_is_linear_in_log2_and_clamped() -> None:
    curve = ((4.0, 0.2), (16.0, 0.6), (64.0, 1.0))
    assert interpolate_log2(curve, 8) == pytest.approx(0.4)  # log2 8 = 3, halfway from 2 to 4
    assert interpolate_log2(curve, 32) == pytest.approx(0.8)  # halfway from 4 to 6
    assert interpolate_log2(curve, 1) == 0.2 and interpolate_log2(curve, 1e6) == 1.0
    assert interpolate_log2(reversed(curve), 16) == 0.6  # type: ignore[arg-type]  # any order


def test_calibration_round_trips_through_the_measured_map() -> None:
    cal = Calibration(
        threads=2,
        overhead_s={"conv": 10e-6, "elementwise": 3e-6},
        gemm_efficiency=((1.0, 0.05), (512.0, 0.9)),
        bandwidth=((65536.0, 80e9), (2.0**28, 20e9)),
        conv_factor={"pointwise": 0.9},
        depthwise_bandwidth=5e9,
        kernel_efficiency={"MaxPool": 0.02},
        peak=150e9,
    )
    measured = cal.to_measured()
    assert measured[f"{CAL_PREFIX}overhead_us_conv"] == pytest.approx(10.0)  # stored in us
    assert measured[f"{CAL_PREFIX}bw_gbs_ws65536"] == pytest.approx(80.0)  # stored in GB/s
    back = Calibration.from_measured({"gemm_torch_fp32": 300.0, **measured})
    assert back.threads == 2 and back.depthwise_bandwidth == pytest.approx(5e9)
    assert dict(back.overhead_s) == pytest.approx(dict(cal.overhead_s))
    assert back.gemm_efficiency == cal.gemm_efficiency
    assert [w for w, _ in back.bandwidth] == [65536.0, 2.0**28]
    assert [b for _, b in back.bandwidth] == pytest.approx([80e9, 20e9])  # GB/s and back
    assert back.kernel_efficiency == {"MaxPool": 0.02}
    assert back.peak == pytest.approx(150e9)
    with pytest.raises(HardwareError, match="no cpu-eager calibration"):
        Calibration.from_measured({"gemm_torch_fp32": 300.0})


def spec(shape: tuple[int, ...], name: str = "") -> TensorSpec:
    return TensorSpec(shape, "float32", name)


def test_gemm_dims_of_each_contraction() -> None:
    conv = Node("Conv", (spec((2, 16, 8, 8)), spec((32, 4, 3, 3))), (spec((2, 32, 8, 8)),),
                {"group": 4})  # fmt: skip
    assert gemm_dims(conv) == (2 * 8 * 8, 32 // 4, 4 * 3 * 3)  # N*H*W, C_out/g, C_in/g*k*k
    gemm = Node("Gemm", (spec((6, 5)), spec((7, 6))), (spec((5, 7)),), {"transA": 1, "transB": 1})
    assert gemm_dims(gemm) == (5, 7, 6)
    folded = Node("MatMul", (spec((4, 5, 6)), spec((6, 7))), (spec((4, 5, 7)),))
    assert gemm_dims(folded) == (4 * 5, 7, 6)  # a 2-D right operand folds the batch into M
    batched = Node("MatMul", (spec((4, 5, 6)), spec((4, 6, 7))), (spec((4, 5, 7)),))
    assert gemm_dims(batched) == (5, 7, 6)
    vector = Node("MatMul", (spec((6,)), spec((6, 7))), (spec((7,)),))
    assert gemm_dims(vector) == (1, 7, 6)
    q, k = spec((1, 12, 197, 64)), spec((1, 12, 50, 64))
    sdpa = Node("ScaledDotProductAttention", (q, k, k), (spec((1, 12, 197, 64)),))
    assert gemm_dims(sdpa) == (197, 50, 64)  # T_q, T_k, d
    assert gemm_dims(Node("Relu", (spec((4,)),), (spec((4,)),))) is None


def test_depthwise_means_one_input_channel_per_group() -> None:
    x, y = spec((1, 32, 8, 8)), spec((1, 32, 8, 8))
    assert is_depthwise(Node("Conv", (x, spec((32, 1, 3, 3))), (y,), {"group": 32}))
    assert not is_depthwise(Node("Conv", (x, spec((32, 2, 3, 3))), (y,), {"group": 16}))
    assert not is_depthwise(Node("Conv", (spec((1, 1, 8, 8)), spec((32, 1, 3, 3))), (y,)))


def test_view_savings_follow_a_chain_of_views() -> None:
    w = spec((4, 8), "w")  # 128 bytes
    expand = Node("Expand", (w,), (spec((16, 4, 8), "w"),))  # 2048 bytes logically
    reshape = Node("Reshape", (expand.outputs[0],), (spec((64, 8), "w"),))
    use = Node("MatMul", (spec((2, 64), "x"), reshape.outputs[0]), (spec((2, 8), "y"),))
    fresh = Node("Relu", (spec((2, 8), "y"),), (spec((2, 8), "w"),))  # "w" is new storage
    again = Node("Relu", (fresh.outputs[0],), (spec((2, 8), "z"),))
    views = frozenset({"Expand", "Reshape"})
    savings = view_savings([expand, reshape, use, fresh, again], views)
    assert savings == [0, 2048 - 128, 2048 - 128, 0, 0]
    assert view_savings([expand, reshape, use], frozenset()) == [0, 0, 0]


def test_a_matmul_with_a_broadcast_matrix_folds_into_one_gemm() -> None:
    w = spec((768, 2304), "w")
    expand = Node("Expand", (w,), (spec((197, 768, 2304), "w"),))
    x = spec((197, 8, 768), "x")
    broadcast = Node("MatMul", (x, expand.outputs[0]), (spec((197, 8, 2304), "y"),))
    batched = Node("MatMul", (x, spec((197, 768, 2304), "b")), (spec((197, 8, 2304), "z"),))
    nodes = [expand, broadcast, batched]
    assert folded_matmuls(nodes, frozenset({"Expand"})) == [False, True, False]
    assert gemm_dims(broadcast, folded=True) == (197 * 8, 2304, 768)  # one GEMM of 1576 rows
    assert gemm_dims(broadcast) == (8, 2304, 768)  # as traced: 197 GEMMs of 8 rows


@pytest.mark.slow
def test_quick_calibration_records_every_entry() -> None:
    pytest.importorskip("torch")
    hw = Hardware("toy", "test", {"fp32": 1e9}, 1e9, 1e9, "fixture", cores=1)
    calibrated = calibrate_local(hw, threads=1, quick=True)
    cal = Calibration.from_measured(calibrated.measured)
    assert set(cal.overhead_s) == {"elementwise", "conv", "linear", "norm"}
    assert all(0 < e <= 1 for _, e in cal.gemm_efficiency)
    assert [d for d, _ in cal.gemm_efficiency] == [2.0**i for i in range(10)]  # d = 1 ... 512
    assert cal.bandwidth and all(b > 0 for _, b in cal.bandwidth)
    assert set(cal.conv_factor) == {"pointwise", "spatial", "strided"}
    assert cal.depthwise_bandwidth > 0
    assert set(cal.kernel_efficiency) == {
        "MaxPool", "BatchNormalization", "Relu", "Clip", "Add", "LayerNormalization", "Gelu",
        "ScaledDotProductAttention",
    }  # fmt: skip
    assert cal.peak > 0  # the calibration's own compute roof; the profile's peak is kept:
    assert calibrated.peak_flops == hw.peak_flops


def test_clock_times_a_call() -> None:
    torch = pytest.importorskip("torch")
    calls = []

    def run() -> None:
        calls.append(torch.zeros(4).sum())

    assert Clock(repeats=3).time(run) > 0
    assert len(calls) >= 1 + 1 + 3  # warm-up, sizing call, then three batches of at least one


def test_median_calibration_merges_passes_entry_by_entry() -> None:
    base = Hardware("toy", "test", {"fp32": 1e9}, 1e9, 1e9, "fixture", measured={"x": 1.0})

    def calibrated(overhead_us: float, bandwidths: dict[float, float]) -> Hardware:
        cal = Calibration(1, {"conv": overhead_us * 1e-6}, bandwidth=tuple(bandwidths.items()))
        return Hardware(**{**base.__dict__, "measured": {"x": 1.0, **cal.to_measured()}})

    passes = [calibrated(10, {1024.0: 5e9}), calibrated(30, {1024.0: 9e9, 4096.0: 2e9}),
              calibrated(20, {1024.0: 7e9})]  # fmt: skip
    merged = Calibration.from_measured(median_calibration(passes).measured)
    assert merged.overhead_s["conv"] == pytest.approx(20e-6)  # median of 10, 30, 20 us
    assert dict(merged.bandwidth) == pytest.approx({1024.0: 7e9, 4096.0: 2e9})  # 4096: one pass
    assert median_calibration(passes).measured["x"] == 1.0  # other entries: the first pass's
    with pytest.raises(HardwareError):
        median_calibration([])


def test_overhead_calibration_records_only_overheads() -> None:
    pytest.importorskip("torch")
    hw = Hardware("toy", "test", {"fp32": 1e9}, 1e9, 1e9, "fixture")
    cal = Calibration.from_measured(calibrate_overheads(hw, "cpu", "float32").measured)
    assert set(cal.overhead_s) == {"elementwise", "conv", "linear", "norm"}
    assert min(cal.overhead_s.values()) > 0 and cal.threads == 0
    assert cal.gemm_efficiency == () and cal.bandwidth == () and cal.peak == 0
