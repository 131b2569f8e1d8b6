"""The Winograd / Toom-Cook matrices built from points (flopcount.conv.toomcook)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np
import pytest

from flopcount.conv import winograd, winograd4
from flopcount.conv.toomcook import winograd_matrices

F = Fraction


def test_lavin_gray_f4_matrices() -> None:
    """Points 0, +-1, +-2 reproduce F(4, 3) as printed by Lavin & Gray (arXiv:1509.09308,
    section 4.2): B^T rows, G = [1/4, -1/6, ...] and A^T's powers of 2."""
    at, g, bt = winograd_matrices(4, 3, [F(0), F(1), F(-1), F(2), F(-2)])
    assert bt.tolist() == [
        [4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
        [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1],
    ]  # fmt: skip
    sixth, twelfth, quarter = 1 / 6, 1 / 12, 1 / 4
    np.testing.assert_allclose(
        g,
        [
            [quarter, 0, 0],
            [-sixth, -sixth, -sixth],
            [-sixth, sixth, -sixth],
            [1 / 24, twelfth, sixth],
            [1 / 24, -twelfth, sixth],
            [0, 0, 1],
        ],
        rtol=1e-15,
    )
    assert at.tolist() == [
        [1, 1, 1, 1, 1, 0],
        [0, 1, -1, 2, -2, 0],
        [0, 1, 1, 4, 4, 0],
        [0, 1, -1, 8, -8, 1],
    ]


@pytest.mark.parametrize(
    "m,points",
    [
        (2, [F(0), F(1), F(-1)]),
        (4, [F(0), F(1), F(-1), F(2), F(-2)]),
        (4, list(winograd4.POINTS)),
        (6, [F(0), F(1), F(-1), F(1, 2), F(-1, 2), F(2), F(-2)]),
    ],
)
def test_matrices_compute_a_correlation(m: int, points: list[Fraction]) -> None:
    """A^T [(G g) * (B^T d)] equals the valid correlation of d (m + 2 values) with g (3)."""
    at, g, bt = winograd_matrices(m, 3, points)
    rng = np.random.default_rng(m)
    for _ in range(5):
        d, filt = rng.standard_normal(m + 2), rng.standard_normal(3)
        expected = [d[i : i + 3] @ filt for i in range(m)]  # y_i = sum_k d[i + k] g[k]
        np.testing.assert_allclose(at @ ((g @ filt) * (bt @ d)), expected, atol=1e-12)


def test_f2_points_match_the_hand_written_f2() -> None:
    """Points 0, 1, -1 give F(2, 3) with the G that winograd.py hard-codes, up to the signs
    of the first row, which move between G and B^T (G[0] * B^T[0] is what counts)."""
    at, g, _ = winograd_matrices(2, 3, [F(0), F(1), F(-1)])
    scale = np.sign(g[:, :1] * winograd.G_MATRIX[:, :1] + g[:, 2:] * winograd.G_MATRIX[:, 2:])
    np.testing.assert_array_equal(g * scale, winograd.G_MATRIX)
    assert at.tolist() == [[1, 1, 1, 0], [0, 1, -1, 1]]  # A^T, section 4.1 up to its sign


def test_rejects_repeated_points() -> None:
    with pytest.raises(ValueError, match="distinct"):
        winograd_matrices(4, 3, [F(0), F(1), F(1), F(2), F(-2)])
