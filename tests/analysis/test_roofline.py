"""Roofline: per-node time = max(flops / peak, bytes / bandwidth), with the arithmetic shown.

The toy device has round numbers: 100 GFLOP/s fp32, 400 GFLOP/s bf16, 10 GB/s, so its fp32
ridge point is 100e9 / 10e9 = 10 FLOP/byte.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest

from flopcount.analysis.calibrate import Calibration
from flopcount.analysis.hardware import Hardware, get_hardware
from flopcount.analysis.roofline import (
    RooflineOptions,
    get_preset,
    node_dtype,
    roofline,
    with_calibration,
)
from flopcount.costs import Cost
from flopcount.errors import HardwareError
from flopcount.ir import Node, TensorSpec

TOY = Hardware(
    name="toy",
    vendor="test",
    peak_flops={"fp32": 100e9, "bf16": 400e9, "int8": 800e9},
    memory_bandwidth=10e9,
    memory_bytes=1e9,
    source="test fixture (2024)",
)


def matmul(n: int, dtype: str = "float32", name: str = "") -> tuple[Node, Cost]:
    """An n x n x n MatMul: 2 n^3 FLOPs, reads two n x n operands, writes one."""
    a, b = TensorSpec((n, n), dtype, f"{name}a"), TensorSpec((n, n), dtype, f"{name}b")
    out = TensorSpec((n, n), dtype, f"{name}out")
    size = n * n * 4 if dtype == "float32" else n * n * 2
    return Node("MatMul", (a, b), (out,)), Cost(
        macs=n**3, flops=2 * n**3, bytes_read=2 * size, bytes_written=size
    )


def add(elements: int, x: str = "x", y: str = "y") -> tuple[Node, Cost]:
    """An fp32 Add: one FLOP per element, reads two inputs, writes one output."""
    specs = (TensorSpec((elements,), name=x), TensorSpec((elements,), name=f"{x}2"))
    node = Node("Add", specs, (TensorSpec((elements,), name=y),))
    return node, Cost(flops=elements, bytes_read=2 * 4 * elements, bytes_written=4 * elements)


def test_compute_bound_matmul() -> None:
    result = roofline([matmul(128)], TOY)
    row = result.rows[0]
    flops, nbytes = 2 * 128**3, 3 * 128 * 128 * 4  # 4,194,304 FLOPs, 196,608 bytes
    assert row.compute_time_s == pytest.approx(flops / 100e9)  # 41.9 us
    assert row.memory_time_s == pytest.approx(nbytes / 10e9)  # 19.7 us
    assert row.time_s == pytest.approx(flops / 100e9)
    assert row.bound == "compute"
    assert row.intensity == pytest.approx(flops / nbytes)  # 21.3 FLOP/byte > ridge 10
    assert result.ridge_point == pytest.approx(10.0)


def test_memory_bound_add() -> None:
    row = roofline([add(2**20)], TOY).rows[0]
    nbytes = 3 * 4 * 2**20  # read x and x2, write y
    assert row.time_s == pytest.approx(nbytes / 10e9)  # 1.26 ms
    assert row.compute_time_s == pytest.approx(2**20 / 100e9)  # 10.5 us
    assert row.bound == "memory"
    assert row.intensity == pytest.approx(1 / 12)  # 1 FLOP per 12 bytes


def test_totals_split_by_bound_and_free_nodes_take_no_time() -> None:
    reshape = (Node("Reshape", (TensorSpec((4,)),), (TensorSpec((2, 2)),)), Cost())
    result = roofline([matmul(128), add(2**20), reshape], TOY)
    compute = 2 * 128**3 / 100e9
    memory = 3 * 4 * 2**20 / 10e9
    assert result.rows[2].time_s == 0 and result.rows[2].bound == "none"
    assert result.rows[2].intensity == 0.0
    assert result.total_time_s == pytest.approx(compute + memory)
    assert result.compute_bound_time_s == pytest.approx(compute)
    assert result.memory_bound_time_s == pytest.approx(memory)
    assert [r.index for r in result.rows] == [0, 1, 2]


def test_node_dtype_drives_the_peak() -> None:
    node, cost = matmul(256, "bfloat16")
    assert node_dtype(node) == "bf16"
    row = roofline([(node, cost)], TOY).rows[0]
    flops, nbytes = 2 * 256**3, 3 * 256 * 256 * 2
    assert row.compute_time_s == pytest.approx(flops / 400e9)  # 83.9 us at the bf16 peak
    assert row.time_s == pytest.approx(max(flops / 400e9, nbytes / 10e9))
    assert row.dtype == "bf16"


def test_forced_dtype_overrides_and_sets_the_ridge() -> None:
    result = roofline([matmul(128)], TOY, dtype="bf16")
    assert result.rows[0].compute_time_s == pytest.approx(2 * 128**3 / 400e9)
    assert result.ridge_point == pytest.approx(400e9 / 10e9)  # 40 FLOP/byte
    assert result.dtype == "bf16"


def test_first_float_input_wins_over_integer_indices() -> None:
    indices = TensorSpec((8,), "int64", "idx")
    table = TensorSpec((100, 16), "bfloat16", "emb", "parameter")
    gather = Node("Gather", (table, indices), (TensorSpec((8, 16), "bfloat16", "g"),))
    assert node_dtype(gather) == "bf16"
    shape_only = Node("Shape", (indices,), (TensorSpec((1,), "int64", "s"),))
    assert node_dtype(shape_only) == "fp32"  # no float tensor at all: the fallback


def test_missing_peak_names_the_node() -> None:
    t4 = get_hardware("t4")  # no bf16 on Turing
    with pytest.raises(HardwareError, match=r"node 0 \(MatMul.*bf16"):
        roofline([matmul(64, "bfloat16")], t4)


def test_integer_ops_use_the_int8_peak() -> None:
    a = TensorSpec((64, 64), "int8", "qa")
    node = Node("MatMulInteger", (a, a), (TensorSpec((64, 64), "int32", "qo"),))
    cost = Cost(macs=64**3, int_ops=2 * 64**3, bytes_read=2 * 64 * 64, bytes_written=4 * 64 * 64)
    row = roofline([(node, cost)], TOY).rows[0]
    assert row.compute_time_s == pytest.approx(2 * 64**3 / 800e9)
    assert row.intensity == 0.0  # FLOP/byte: integer work is not FLOPs


def test_launch_overhead_is_added_per_working_node() -> None:
    reshape = (Node("Reshape"), Cost())
    options = RooflineOptions(launch_overhead_s=5e-6)
    plain = roofline([matmul(128), add(1024), reshape], TOY)
    refined = roofline([matmul(128), add(1024), reshape], TOY, options=options)
    assert refined.total_time_s == pytest.approx(plain.total_time_s + 2 * 5e-6)
    assert refined.overhead_time_s == pytest.approx(2 * 5e-6)


def test_efficiency_factors_scale_the_roofs() -> None:
    options = RooflineOptions(compute_efficiency={"MatMul": 0.5}, memory_efficiency=0.8)
    result = roofline([matmul(128), add(2**20)], TOY, options=options)
    assert result.rows[0].compute_time_s == pytest.approx(2 * 128**3 / (0.5 * 100e9))
    assert result.rows[1].memory_time_s == pytest.approx(3 * 4 * 2**20 / (0.8 * 10e9))


def test_cache_rule_skips_rereading_a_fresh_small_output() -> None:
    first, second = add(1024, x="x", y="y"), add(1024, x="y", y="z")  # second reads y
    options = RooflineOptions(cache_bytes=1 << 20)
    rows = roofline([first, second], TOY, options=options).rows
    assert rows[1].memory_time_s == pytest.approx((3 - 1) * 4 * 1024 / 10e9)  # y from cache
    too_small = RooflineOptions(cache_bytes=1024)  # y is 4096 bytes: does not fit
    rows = roofline([first, second], TOY, options=too_small).rows
    assert rows[1].memory_time_s == pytest.approx(3 * 4 * 1024 / 10e9)


def test_zero_byte_work_has_infinite_intensity() -> None:
    row = roofline([(Node("Foo"), Cost(flops=10))], TOY).rows[0]
    assert math.isinf(row.intensity) and row.bound == "compute"


@pytest.mark.parametrize(
    "kwargs",
    [{"memory_efficiency": 0.0}, {"default_compute_efficiency": 1.5},
     {"compute_efficiency": {"Conv": -1.0}}, {"launch_overhead_s": -1.0}],
)  # fmt: skip
def test_invalid_options_are_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(HardwareError):
        RooflineOptions(**kwargs)  # type: ignore[arg-type]


def test_h100_ridge_point() -> None:
    # 989.4 TFLOP/s / 3.35 TB/s = 295.3 FLOP/byte: a bf16 GEMM needs more than that.
    result = roofline([matmul(8192, "bfloat16")], get_hardware("h100"))
    assert result.ridge_point == pytest.approx(989.4e12 / 3.35e12)
    assert result.rows[0].bound == "compute"  # 8192^3*2 / (3*8192^2*2) = 2731 FLOP/byte


def test_presets_are_named_and_off_by_default() -> None:
    assert get_preset("none") == RooflineOptions()
    eager = get_preset("eager-gpu")
    # Measured on an H200: bf16 GEMM 787.5 / 989.4 = 0.80, copy 4.26 / 4.8 = 0.89 (docs).
    assert (eager.default_compute_efficiency, eager.memory_efficiency) == (0.8, 0.9)
    assert eager.launch_overhead_s == pytest.approx(10e-6)
    assert get_preset("graph-gpu").cache_bytes == 0  # the cache rule did not validate
    with pytest.raises(HardwareError, match="eager-gpu"):
        get_preset("eager")


def test_eager_preset_on_a_tiny_op() -> None:
    # A 4096-element bf16 Add moves 3 * 2 * 4096 = 24,576 bytes: 24,576 / (0.9 * 4.8e12)
    # = 5.7 ns of memory time, so the 10 us launch overhead is the whole estimate, as measured
    # (9.7 us on the H200).
    x, y = TensorSpec((4096,), "bfloat16", "x"), TensorSpec((4096,), "bfloat16", "y")
    node = Node("Add", (x, x), (y,))
    cost = Cost(flops=4096, bytes_read=2 * 2 * 4096, bytes_written=2 * 4096)
    result = roofline([(node, cost)], get_hardware("h200"), options=get_preset("eager-gpu"))
    assert result.total_time_s == pytest.approx(10e-6 + 3 * 2 * 4096 / (0.9 * 4.8e12))


# --- refinements behind the cpu-eager preset (docs/roofline-validation.md) -----------------


def spec(shape: tuple[int, ...], name: str, kind: str = "activation") -> TensorSpec:
    return TensorSpec(shape, "float32", name, kind)  # type: ignore[arg-type]


def traffic(node: Node, flops: int) -> Cost:
    """A cost with the node's real traffic: every input read, every output written (fp32)."""
    read = sum(t.nbytes for t in node.inputs)
    return Cost(flops=flops, bytes_read=read, bytes_written=sum(t.nbytes for t in node.outputs))


def conv(c_in: int, c_out: int, k: int, size: int, group: int = 1, stride: int = 1) -> Node:
    out = size // stride
    return Node(
        "Conv",
        (spec((1, c_in, size, size), "x"), spec((c_out, c_in // group, k, k), "w", "parameter")),
        (spec((1, c_out, out, out), "y"),),
        {"group": group, "strides": (stride, stride)},
    )


def test_views_take_no_time_and_consumers_read_the_viewed_storage() -> None:
    weight = spec((4, 8), "w", "parameter")  # 4 * 8 * 4 = 128 bytes of storage
    expand = Node("Expand", (weight,), (spec((16, 4, 8), "w", "parameter"),))  # 2048 logical
    x, y = spec((16, 2, 4), "x"), spec((16, 2, 8), "y")
    matmul = Node("MatMul", (x, expand.outputs[0]), (y,))
    flops = 2 * 16 * 2 * 4 * 8  # 2 * batch * M * K * N
    pairs = [(expand, traffic(expand, 0)), (matmul, traffic(matmul, flops))]
    plain = roofline(pairs, TOY)
    viewed = roofline(pairs, TOY, options=RooflineOptions(view_ops=frozenset({"Expand"})))
    assert plain.rows[0].time_s == pytest.approx((128 + 2048) / 10e9)  # a copy, unrefined
    assert viewed.rows[0].time_s == 0.0 and viewed.rows[0].bound == "none"
    # The MatMul reads x (512 bytes) and the weight's 128 bytes of storage, writes y (1024).
    assert plain.rows[1].memory_time_s == pytest.approx((512 + 2048 + 1024) / 10e9)
    assert viewed.rows[1].memory_time_s == pytest.approx((512 + 128 + 1024) / 10e9)


def test_gemm_efficiency_follows_the_smallest_gemm_dimension() -> None:
    node = Node("Gemm", (spec((8, 256), "a"), spec((256, 512), "b", "parameter")),
                (spec((8, 512), "c"),))  # fmt: skip
    cost = traffic(node, 2 * 8 * 256 * 512)  # M = 8 is the smallest dimension
    curve = ((4.0, 0.2), (16.0, 0.6))  # log2: 2 -> 4, so M = 8 sits halfway: 0.4
    row = roofline([(node, cost)], TOY, options=RooflineOptions(gemm_efficiency=curve)).rows[0]
    assert row.compute_time_s == pytest.approx(2 * 8 * 256 * 512 / (100e9 * 0.4))


def test_conv_factor_and_depthwise_bandwidth() -> None:
    options = RooflineOptions(
        gemm_efficiency=((1.0, 1.0), (1024.0, 1.0)),
        conv_factor={"pointwise": 0.5, "spatial": 0.8},
        depthwise_bandwidth=2e9,
    )
    pointwise, spatial, depthwise = conv(16, 32, 1, 8), conv(16, 32, 3, 8), conv(16, 16, 3, 8, 16)
    flops = {"pw": 2 * 64 * 32 * 16, "sp": 2 * 64 * 32 * 16 * 9, "dw": 2 * 64 * 16 * 9}
    rows = roofline(
        [(pointwise, traffic(pointwise, flops["pw"])), (spatial, traffic(spatial, flops["sp"])),
         (depthwise, traffic(depthwise, flops["dw"]))], TOY, options=options,
    ).rows  # fmt: skip
    assert rows[0].compute_time_s == pytest.approx(flops["pw"] / (100e9 * 0.5))
    assert rows[1].compute_time_s == pytest.approx(flops["sp"] / (100e9 * 0.8))
    dw_bytes = 4 * (16 * 64 + 16 * 9 + 16 * 64)  # input, weights, output
    assert rows[2].memory_time_s == pytest.approx(dw_bytes / 2e9)  # not a GEMM: bytes / rate
    assert rows[2].compute_time_s == pytest.approx(flops["dw"] / 100e9)


def test_strided_convs_use_their_own_factor() -> None:
    options = RooflineOptions(
        gemm_efficiency=((1.0, 1.0), (1024.0, 1.0)),
        conv_factor={"pointwise": 0.5, "spatial": 0.8, "strided": 0.25},
    )
    strided, spatial = conv(16, 32, 3, 8, stride=2), conv(16, 32, 3, 8)
    flops = 2 * 16 * 32 * 16 * 9  # 4x4 outputs after stride 2: 16 positions
    rows = roofline(
        [(strided, traffic(strided, flops)), (spatial, traffic(spatial, 4 * flops))], TOY,
        options=options,
    ).rows  # fmt: skip
    assert rows[0].compute_time_s == pytest.approx(flops / (100e9 * 0.25))
    assert rows[1].compute_time_s == pytest.approx(4 * flops / (100e9 * 0.8))


def test_cold_weights_stream_once_per_pass_at_the_model_working_set() -> None:
    pointwise, depthwise = conv(16, 32, 1, 8), conv(32, 32, 3, 8, 32)
    dw_weight = spec((32, 1, 3, 3), "w_dw", "parameter")  # its own tensor: 1,152 bytes
    depthwise = replace(depthwise, inputs=(depthwise.inputs[0], dw_weight))
    pairs = [(pointwise, traffic(pointwise, 2 * 64 * 32 * 16)),
             (depthwise, traffic(depthwise, 2 * 64 * 32 * 9)), add(1024)]  # fmt: skip
    curve = ((1024.0, 40e9), (4096.0, 20e9))
    warm = roofline(pairs, TOY, options=RooflineOptions(bandwidth_curve=curve))
    cold = roofline(pairs, TOY, options=RooflineOptions(bandwidth_curve=curve, cold_weights=True))
    weight_bytes = 32 * 16 * 4  # the pointwise conv's weight: 2,048 bytes
    model_bytes = weight_bytes + 32 * 9 * 4  # every weight of the pass: 3,200 bytes
    rate = 40e9 + (math.log2(model_bytes) - 10) / 2 * (20e9 - 40e9)  # log2-interpolated
    assert cold.rows[0].weights_s == pytest.approx(weight_bytes / rate)
    assert cold.rows[0].time_s == pytest.approx(warm.rows[0].time_s + weight_bytes / rate)
    assert cold.rows[1].time_s == warm.rows[1].time_s  # depthwise: bytes-bound already
    assert cold.rows[2].time_s == warm.rows[2].time_s  # no weights
    assert get_preset("cpu-eager").cold_weights and not get_preset("eager-gpu").cold_weights


def test_bandwidth_curve_is_read_at_the_working_set() -> None:
    x = TensorSpec((2**19,), name="x")
    node = Node("Relu", (x,), (TensorSpec((2**19,), name="y"),))
    cost = Cost(flops=2**19, bytes_read=4 * 2**19, bytes_written=4 * 2**19)  # 4 MiB in + out
    curve = ((2.0**20, 50e9), (2.0**24, 20e9))  # 1 MiB, 16 MiB; 4 MiB is halfway in log2
    row = roofline([(node, cost)], TOY, options=RooflineOptions(bandwidth_curve=curve)).rows[0]
    assert row.memory_time_s == pytest.approx(2**22 / 35e9)


def test_per_op_overhead_and_kernel_efficiency() -> None:
    options = RooflineOptions(
        launch_overhead_s=2e-6, op_overhead_s={"MatMul": 7e-6}, kernel_efficiency={"Add": 0.5}
    )
    plain = roofline([matmul(64), add(1024)], TOY)
    refined = roofline([matmul(64), add(1024)], TOY, options=options)
    assert refined.rows[0].time_s == pytest.approx(plain.rows[0].time_s + 7e-6)
    assert refined.rows[1].time_s == pytest.approx(plain.rows[1].time_s / 0.5 + 2e-6)
    assert refined.overhead_time_s == pytest.approx(7e-6 + 2e-6)


def test_cpu_eager_reads_the_calibration_from_the_profile() -> None:
    cal = Calibration(
        threads=1,
        overhead_s={"elementwise": 3e-6, "linear": 6e-6},
        gemm_efficiency=((1.0, 0.1), (64.0, 0.7)),
        bandwidth=((2.0**20, 40e9),),
        kernel_efficiency={"Add": 0.8},
        peak=200e9,  # the calibration's own GEMM rate: twice the profile's 100 GFLOP/s
    )
    profile = replace(TOY, measured=cal.to_measured())
    result = roofline([matmul(64), add(1024)], profile, options=get_preset("cpu-eager"))
    assert result.rows[0].compute_time_s == pytest.approx(2 * 64**3 / (200e9 * 0.7))
    assert result.rows[0].overhead_s == pytest.approx(6e-6)  # Gemm/MatMul: the linear family
    add_memory = 3 * 4 * 1024 / 40e9  # below the curve's first point: its rate
    assert result.rows[1].time_s == pytest.approx(add_memory / 0.8 + 3e-6)
    with pytest.raises(HardwareError, match="calibrate_local"):
        roofline([matmul(64)], TOY, options=get_preset("cpu-eager"))
    explicit = with_calibration(RooflineOptions(calibrated=True, launch_overhead_s=1e-6), profile)
    assert explicit.launch_overhead_s == 1e-6  # explicit settings win over the profile


def test_overlapping_overhead_takes_the_larger_of_kernel_and_overhead() -> None:
    # A 128^3 MatMul is 41.9 us of compute on TOY; a 10 us host overhead hides behind it,
    # a 60 us one leaves 60 - 41.9 = 18.1 us visible.
    kernel = 2 * 128**3 / 100e9
    for overhead, expected in ((10e-6, kernel), (60e-6, 60e-6)):
        options = RooflineOptions(launch_overhead_s=overhead, overlap_overhead=True)
        row = roofline([matmul(128)], TOY, options=options).rows[0]
        assert row.time_s == pytest.approx(expected)
        assert row.overhead_s == pytest.approx(expected - kernel)


def test_gpu_preset_takes_only_overheads_from_the_profile() -> None:
    cal = Calibration(threads=0, overhead_s={"elementwise": 20e-6, "linear": 30e-6})
    profile = replace(TOY, measured=cal.to_measured())
    rows = roofline([matmul(128), add(1024)], profile, options=get_preset("eager-gpu-calibrated"))
    assert rows.rows[0].time_s == pytest.approx(max(2 * 128**3 / (0.8 * 100e9), 30e-6))
    assert rows.rows[1].time_s == pytest.approx(20e-6)  # 12 KiB of traffic: overhead-bound
