"""The contraction formulas on the textbook examples, arithmetic shown."""

from flopcount.conv import ConvGeometry
from flopcount.costs import Cost, conv_cost, matmul_cost


def test_matmul_25x16_at_16x9() -> None:
    cost = matmul_cost(25, 16, 9)
    assert cost.macs == 25 * 16 * 9 == 3600  # M*K*N
    assert cost.flops == 2 * 3600 == 7200
    assert cost.flops_exact == 25 * 9 * (2 * 16 - 1) == 6975  # M*N dots, K mults + K-1 adds


def test_conv_bias_counts_one_add_per_output() -> None:
    geo = ConvGeometry.from_shapes((1, 3, 8, 8), (4, 3, 3, 3), padding=1)
    k = 3 * 3 * 3  # kernel volume * C_in
    outputs = 1 * 4 * 8 * 8  # N * C_out * H_out * W_out
    assert conv_cost(geo).macs == outputs * k
    assert conv_cost(geo, bias=True).flops == 2 * outputs * k + outputs
    assert conv_cost(geo, bias=True).flops_exact == outputs * 2 * k
    assert conv_cost(geo).flops_exact == outputs * (2 * k - 1)


def test_conv_transpose_counts_input_positions() -> None:
    # nn.ConvTranspose2d(64, 32, 4, stride=2, padding=1) on (1, 64, 32, 32)
    geo = ConvGeometry.from_shapes(
        (1, 64, 32, 32), (64, 32, 4, 4), stride=2, padding=1, transposed=True
    )
    assert geo.out_spatial == ((32 - 1) * 2 - 2 + 3 + 1,) * 2 == (64, 64)
    assert geo.macs == 64 * 32 * 32 * 32 * 4 * 4 == 33_554_432  # C_in*H*W*C_out*k*k


def test_cost_adds_fieldwise() -> None:
    total = sum([Cost(macs=1, flops=2), Cost(macs=3, params=5)], Cost())
    assert total == Cost(macs=4, flops=2, params=5)


def test_cost_addition_covers_every_field() -> None:
    from dataclasses import fields

    names = [f.name for f in fields(Cost)]
    a = Cost(**{n: 10 ** (i + 1) for i, n in enumerate(names)})  # 10, 100, 1000, ...
    b = Cost(**{n: i + 1 for i, n in enumerate(names)})  # 1, 2, 3, ...
    total = a + b
    for i, name in enumerate(names):
        assert getattr(total, name) == 10 ** (i + 1) + (i + 1), name
