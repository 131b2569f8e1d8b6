"""The one registry of op cost formulas.

Every op is exactly one of: *costed* (a formula is registered), *free* (pure data movement or
metadata: reshape, transpose, view...; cost zero on purpose) or *unsupported* (neither; reported
in every report, never silently zero). Registering an op twice is an error, so two formulas can
never disagree about one op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal, TypeVar

from flopcount.costs.cost import ZERO, Cost
from flopcount.errors import RegistryError
from flopcount.ir import Node

__all__ = ["REGISTRY", "CostFormula", "OpStatus", "Registry", "free", "register"]

CostFormula = Callable[[Node], Cost]
OpStatus = Literal["costed", "free", "unsupported"]
F = TypeVar("F", bound=CostFormula)


def _key(op: str, domain: str = "") -> str:
    return f"{domain}::{op}" if domain and domain != "ai.onnx" else op


class Registry:
    """Maps op names (optionally ``domain::op``) to a cost formula or to *free*."""

    def __init__(self) -> None:
        self._formulas: dict[str, CostFormula] = {}
        self._free: set[str] = set()

    def _claim(self, key: str) -> None:
        if key in self._formulas or key in self._free:
            raise RegistryError(f"op {key!r} is registered twice; each op has one formula")

    def register(self, *ops: str, domain: str = "") -> Callable[[F], F]:
        """Decorator: ``formula`` costs every op in ``ops`` (a family shares one formula)."""

        def decorate(formula: F) -> F:
            for op in ops:
                key = _key(op, domain)
                self._claim(key)
                self._formulas[key] = formula
            return formula

        return decorate

    def free(self, ops: Iterable[str], domain: str = "") -> None:
        """Declare ``ops`` free: they move or relabel data and perform no arithmetic."""
        for op in ops:
            key = _key(op, domain)
            self._claim(key)
            self._free.add(key)

    def _resolve(self, op: str, domain: str) -> str | None:
        for key in (_key(op, domain), op):
            if key in self._formulas or key in self._free:
                return key
        return None

    def status(self, op: str, domain: str = "") -> OpStatus:
        key = self._resolve(op, domain)
        if key is None:
            return "unsupported"
        return "free" if key in self._free else "costed"

    def cost(self, node: Node) -> Cost | None:
        """The node's arithmetic cost; `ZERO` for a free op; ``None`` when unsupported."""
        key = self._resolve(node.op, node.domain)
        if key is None:
            return None
        if key in self._free:
            return ZERO
        return self._formulas[key](node)

    def known_ops(self) -> dict[str, OpStatus]:
        """Every registered op with its status, sorted by name."""
        known: dict[str, OpStatus] = {op: "costed" for op in self._formulas}
        known.update({op: "free" for op in self._free})
        return dict(sorted(known.items()))


REGISTRY = Registry()
register = REGISTRY.register
free = REGISTRY.free
