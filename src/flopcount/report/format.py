"""Human formatting of counts, bytes and shapes; every printed number carries its unit."""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["format_bytes", "format_count", "format_shapes", "format_si", "format_time"]

_SI = ((10**15, "P"), (10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "K"))


def format_si(value: float, unit: str = "", digits: int = 3) -> str:
    """``4_089_184_256, "MACs"`` -> ``"4.09 GMACs"``: SI prefix, ``digits`` significant digits."""
    magnitude = abs(value)
    for scale, prefix in _SI:
        if magnitude >= scale:
            return f"{value / scale:.{digits}g} {prefix}{unit}".rstrip()
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.{digits}g} {unit}".rstrip()
    return f"{int(value)} {unit}".rstrip()


def format_count(value: int, unit: str) -> str:
    """A count with its unit, e.g. ``"8.21 GFLOPs"``, ``"25.6 M params"``."""
    if unit == "params":
        return format_si(value, "", 3) + " params" if value else "0 params"
    return format_si(value, unit)


def format_bytes(value: float) -> str:
    """Bytes in binary units (KiB, MiB, GiB), e.g. ``"97.5 MiB"``."""
    for scale, prefix in ((2**40, "Ti"), (2**30, "Gi"), (2**20, "Mi"), (2**10, "Ki")):
        if abs(value) >= scale:
            return f"{value / scale:.3g} {prefix}B"
    return f"{int(value)} B"


def format_shapes(shapes: Sequence[Sequence[int]]) -> str:
    """``[(1, 3, 224, 224), (64, 3, 7, 7)]`` -> ``"1x3x224x224, 64x3x7x7"``."""
    return ", ".join("x".join(str(d) for d in s) if len(s) else "scalar" for s in shapes)


def format_time(seconds: float) -> str:
    """``0.00123`` -> ``"1.23 ms"``; seconds, ms, µs or ns with 3 significant digits."""
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "µs")):
        if abs(seconds) >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns" if seconds else "0 s"
