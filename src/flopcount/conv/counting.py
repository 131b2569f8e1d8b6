"""Exact operation counts by running the direct algorithm on counting scalars.

`count_ops` does not evaluate a formula: it runs the oracle's own loops
(`flopcount.conv.direct.direct_loops`) on object arrays of `Counted` scalars, whose ``*`` and
``+`` compute the real product and sum *and* add one to a tally. The tally is therefore every
scalar multiply and add the direct algorithm performs, padding zeros included. The tests
check it against the closed form ``flopcount.costs.conv_cost(geo, bias).flops_exact``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flopcount.conv.direct import direct_loops, serial_dot
from flopcount.conv.geometry import ConvGeometry, IntOrTuple, Layout, PaddingArg
from flopcount.conv.layouts import pad_input, w_to_channels_first, x_to_channels_first

__all__ = ["Counted", "OpCount", "Tally", "count_ops", "run_counted"]


@dataclass
class Tally:
    """Mutable counters shared by every `Counted` scalar of one run."""

    mults: int = 0
    adds: int = 0


class Counted:
    """A float that counts: ``a * b`` and ``a + b`` compute the value and add one to the tally."""

    __slots__ = ("tally", "value")

    def __init__(self, value: float, tally: Tally) -> None:
        self.value = float(value)
        self.tally = tally

    def __mul__(self, other: Counted) -> Counted:
        self.tally.mults += 1
        return Counted(self.value * other.value, self.tally)

    def __add__(self, other: Counted) -> Counted:
        self.tally.adds += 1
        return Counted(self.value + other.value, self.tally)

    def __repr__(self) -> str:
        return f"Counted({self.value!r})"


@dataclass(frozen=True, slots=True)
class OpCount:
    """Scalar multiplies and adds one algorithm performed."""

    mults: int
    adds: int

    @property
    def total(self) -> int:
        """Every floating-point operation: multiplies plus adds."""
        return self.mults + self.adds


def _counted(values: np.ndarray, tally: Tally) -> np.ndarray:
    """An object array of `Counted` scalars holding ``values`` (same shape)."""
    out = np.empty(values.shape, dtype=object)
    for index, v in np.ndenumerate(values):
        out[index] = Counted(v, tally)
    return out


def run_counted(
    x: np.ndarray, w: np.ndarray, b: np.ndarray | None, geo: ConvGeometry, layout: Layout
) -> tuple[np.ndarray, OpCount]:
    """Run the direct loops on counting scalars: (out as float64, the operations they did).

    x: (N, C_in, *in) or (N, *in, C_in); w: the layout's weight shape; b: (C_out,) or None.
    Returns out (N, C_out, *out) in channels_first order, and the `OpCount`.
    """
    tally = Tally()
    xc = _counted(np.asarray(x_to_channels_first(x, layout)), tally)
    xpad = pad_input(xc, geo, "channels_first", fill=Counted(0.0, tally))
    wc = _counted(np.asarray(w_to_channels_first(w, layout)), tally)
    bc = None if b is None else _counted(np.asarray(b), tally)
    out = direct_loops(xpad, wc, bc, geo, serial_dot)
    values = np.vectorize(_value, otypes=[np.float64])(out)
    return values, OpCount(mults=tally.mults, adds=tally.adds)


def _value(c: Counted) -> float:
    return c.value


def count_ops(
    x_shape: tuple[int, ...],
    w_shape: tuple[int, ...],
    bias: bool = False,
    *,
    stride: IntOrTuple = 1,
    padding: PaddingArg = 0,
    dilation: IntOrTuple = 1,
    groups: int = 1,
    layout: Layout = "channels_first",
) -> OpCount:
    """Count every scalar multiply and add of the direct convolution by running it.

    For SMALL shapes only: it performs the convolution one Python scalar at a time (about a
    microsecond per operation). Shapes: x (N, C_in, *in) or (N, *in, C_in); w (C_out,
    C_in/groups, *kernel) or (*kernel, C_in/groups, C_out). Inputs are filled with arbitrary
    values; the count does not depend on them.
    """
    geo = ConvGeometry.from_shapes(
        x_shape, w_shape, stride=stride, padding=padding, dilation=dilation,
        groups=groups, layout=layout,
    )  # fmt: skip
    rng = np.random.default_rng(0)
    x = rng.standard_normal(x_shape)
    w = rng.standard_normal(w_shape)
    b = rng.standard_normal(geo.out_channels) if bias else None
    return run_counted(x, w, b, geo, layout)[1]
