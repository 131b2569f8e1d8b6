"""Sample points: the concrete sizes at which the model is lowered and analysed.

The values avoid degenerate sizes (1, and numbers small enough to equal a model constant by
accident), span about an order of magnitude (control flow that branches on a size between
the smallest and the largest sample is detected; outside that range it cannot be), and differ
in their residues modulo powers of two (strided sizes take several roundings). Each symbol
runs through its own sequence, so several symbols vary independently.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flopcount.symbolic.bindings import SymbolicError

__all__ = ["MAX_POINTS", "default_values", "make_points"]

# Spread over an order of magnitude (a branch on a size between the smallest and the largest
# sample changes the graph, which is detected) with mixed residues mod 2..32.
GENERIC = (83, 130, 517, 98, 261, 1031, 147, 390, 771, 211, 643, 1290)
IMAGE = (131, 224, 389, 160, 301, 517, 197, 270, 453, 243, 355, 581)
BATCH = (3, 8, 5, 13, 6, 17, 7, 11, 9, 19, 10, 21)
MAX_POINTS = len(GENERIC)


def _sequence(symbol: str) -> tuple[int, ...]:
    name = symbol.lower()
    if "batch" in name or name in ("b", "n"):
        return BATCH
    if "image" in name or name in ("h", "w", "height", "width", "resolution"):
        return IMAGE
    return GENERIC


def _constrained(values: Sequence[int], maximum: int | None, step: int | None) -> list[int]:
    """``values`` moved to multiples of ``step`` and under ``maximum``, still distinct."""
    out: list[int] = []
    for value in values:
        if step:
            value = max(2, round(value / step)) * step
        if maximum is not None and value > maximum:
            value = maximum - (step or 1) * len(out)
        while value in out:
            value += step or 1
        if value < 2 or (maximum is not None and value > maximum):
            raise SymbolicError(
                f"cannot choose {len(values)} distinct sample values in [2, {maximum}] "
                f"(multiples of {step or 1}); pass samples= explicitly"
            )
        out.append(value)
    return out


def default_values(symbol: str, limits: Mapping[str, tuple[int | None, int | None]]) -> list[int]:
    """The sample values of ``symbol``, respecting a zoo model's maximum and multiple-of."""
    maximum, step = limits.get(symbol, (None, None))
    return _constrained(_sequence(symbol), maximum, step)


def make_points(
    symbols: Sequence[str], values: Mapping[str, Sequence[int]], count: int
) -> list[dict[str, int]]:
    """The first ``count`` points; ``values[symbol]`` must hold at least ``count`` values."""
    for symbol in symbols:
        given = values[symbol]
        if len(given) < count:
            raise SymbolicError(
                f"symbol {symbol!r} needs {count} sample values, got {len(given)} "
                f"({list(given)}); give more or leave samples to the default"
            )
        if len(set(given[:count])) < count or min(given[:count]) < 1:
            raise SymbolicError(f"sample values of {symbol!r} must be distinct positive: {given}")
    return [{s: int(values[s][i]) for s in symbols} for i in range(count)]
