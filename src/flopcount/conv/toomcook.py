"""Winograd / Toom-Cook transform matrices F(m, r), built exactly from interpolation points.

For a 1-D correlation of m outputs with an r-tap filter, ``y = A^T [(G g) * (B^T d)]`` with
n = m + r - 1 points: n - 1 finite points a_j plus the point at infinity (Lavin & Gray,
"Fast Algorithms for Convolutional Neural Networks", arXiv:1509.09308, section 4, and the
construction of Lavin's ``wincnn``; Barabasz, Anderson, Soodhalter & Gregg, "Error Analysis
and Improving the Accuracy of Winograd Convolution for Deep Neural Networks", ACM TOMS 46(4),
2020, section 3):

- ``A^T[i, j] = a_j ** i`` (evaluation of the output polynomial), ``A^T[i, n-1] = [i == m-1]``;
- ``G[j, k] = a_j ** k / f_j`` with ``f_j = prod_{l != j} (a_j - a_l)`` (Lagrange weights),
  ``G[n-1, k] = [k == r-1]``;
- ``B^T`` is then the unique matrix that makes the identity hold. ``A^T[i, j] G[j, k]``
  depends only on s = i + k, so the identity reads ``V B^T = I`` with
  ``V[s, j] = a_j ** s / f_j`` (and ``V[s, n-1] = [s == n-1]``): ``B^T = V^{-1}``.

Everything is computed in exact rational arithmetic (`fractions.Fraction`), then rounded once
to float64; the 2-D transforms are Kronecker products of the 1-D ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction

import numpy as np

__all__ = ["winograd_matrices"]


def _inverse(matrix: list[list[Fraction]]) -> list[list[Fraction]]:
    """Exact inverse by Gauss-Jordan elimination (the matrix is small and invertible)."""
    n = len(matrix)
    rows = [row[:] + [Fraction(int(i == j)) for j in range(n)] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = next(r for r in range(col, n) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        lead = rows[col][col]
        rows[col] = [v / lead for v in rows[col]]
        for r in range(n):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col]
                rows[r] = [v - factor * p for v, p in zip(rows[r], rows[col])]
    return [row[n:] for row in rows]


def _product(values: list[Fraction]) -> Fraction:
    result = Fraction(1)
    for v in values:
        result *= v
    return result


def winograd_matrices(
    m: int, r: int, points: Sequence[Fraction]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A^T (m, n), G (n, r), B^T (n, n)) of F(m, r) on ``points`` (n - 1 distinct finite
    points; infinity is added), as float64 arrays. See the module docstring."""
    n = m + r - 1
    a = [Fraction(p) for p in points]
    if len(a) != n - 1 or len(set(a)) != n - 1:
        raise ValueError(f"F({m}, {r}) needs {n - 1} distinct finite points, got {points}")
    f = [_product([aj - al for al in a if al != aj]) for aj in a]  # Lagrange denominators
    at = [[aj**i for aj in a] + [Fraction(int(i == m - 1))] for i in range(m)]
    g = [[aj**k / fj for k in range(r)] for aj, fj in zip(a, f)]
    g.append([Fraction(int(k == r - 1)) for k in range(r)])
    v = [[aj**s / fj for aj, fj in zip(a, f)] + [Fraction(int(s == n - 1))] for s in range(n)]
    bt = _inverse(v)
    return tuple(np.array(mat, dtype=np.float64) for mat in (at, g, bt))  # type: ignore[return-value]
