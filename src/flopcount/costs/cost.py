"""The `Cost` value type: a small frozen record of work and traffic that adds with ``+``.

Every field carries its unit in its name, and "flop" never silently means MAC:

- ``macs``: multiply-accumulates of contraction ops (conv, matmul, gemm, attention, einsum).
- ``flops``: every floating-point operation: 2 per MAC, plus bias, elementwise, normalisation,
  reduction, softmax and activation work (``docs/conventions.md`` lists the constants).
- ``flops_exact``: the multiplies and adds an algorithm really performs where that differs from
  ``flops`` (a K-long dot product is K multiplies and K - 1 adds, not 2K).
- ``int_ops``: integer arithmetic of quantized ops, kept apart from FLOPs.
- ``params``: parameter elements a node reads (the analysis counts shared weights once).
- ``bytes_read`` / ``bytes_written``: memory traffic at the tensors' dtypes.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

__all__ = ["ZERO", "Cost"]


@dataclass(frozen=True, slots=True)
class Cost:
    """Work and traffic of one node, or the sum over many (``sum(costs, ZERO)``)."""

    macs: int = 0
    flops: int = 0
    flops_exact: int = 0
    int_ops: int = 0
    params: int = 0
    bytes_read: int = 0
    bytes_written: int = 0

    def __add__(self, other: Cost) -> Cost:
        if not isinstance(other, Cost):
            return NotImplemented
        return Cost(
            self.macs + other.macs,
            self.flops + other.flops,
            self.flops_exact + other.flops_exact,
            self.int_ops + other.int_ops,
            self.params + other.params,
            self.bytes_read + other.bytes_read,
            self.bytes_written + other.bytes_written,
        )

    def __radd__(self, other: Any) -> Cost:
        if other == 0:  # lets the built-in sum() start from 0
            return self
        return self.__add__(other)

    def scaled(self, factor: int) -> Cost:
        """This cost repeated ``factor`` times (a loop body, a batch of identical calls)."""
        return Cost(*(getattr(self, f.name) * factor for f in fields(Cost)))

    def replace(self, **changes: int) -> Cost:
        """A copy with some fields changed."""
        values = {f.name: getattr(self, f.name) for f in fields(Cost)}
        values.update(changes)
        return Cost(**values)

    @property
    def bytes_total(self) -> int:
        """Bytes read plus bytes written."""
        return self.bytes_read + self.bytes_written

    @property
    def arithmetic_intensity(self) -> float:
        """FLOPs per byte of traffic (0.0 when the node moves no bytes)."""
        return self.flops / self.bytes_total if self.bytes_total else 0.0

    def as_dict(self) -> dict[str, int]:
        """The fields as a plain dict of exact integers (for JSON and CSV)."""
        return {f.name: getattr(self, f.name) for f in fields(Cost)}


ZERO = Cost()
