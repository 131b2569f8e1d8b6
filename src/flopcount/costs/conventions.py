"""Named conventions: which number a report puts first, and in which unit.

A convention is a view of one analysis, not a different analysis: every node's full `Cost` is
always computed, and the convention picks the headline count. ``docs/conventions.md`` defines
what each one counts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from flopcount.costs.cost import Cost
from flopcount.errors import RegistryError
from flopcount.ir import Node

__all__ = ["CONVENTIONS", "Convention", "get_convention"]


@dataclass(frozen=True, slots=True)
class Convention:
    """``count(node, cost)`` is the node's headline number, measured in ``unit``."""

    name: str
    unit: str
    count: Callable[[Node, Cost], int]
    summary: str


def _flops(node: Node, cost: Cost) -> int:
    return cost.flops


def _macs(node: Node, cost: Cost) -> int:
    return cost.macs


def _exact(node: Node, cost: Cost) -> int:
    return cost.flops_exact


def _tfprof(node: Node, cost: Cost) -> int:
    from flopcount.costs.tfprof import tfprof_flops  # only TF-lowered nodes carry tf_op

    return tfprof_flops(node)


CONVENTIONS: dict[str, Convention] = {
    c.name: c
    for c in (
        Convention("flops", "FLOPs", _flops, "every floating-point operation; 1 MAC = 2 FLOPs"),
        Convention("macs", "MACs", _macs, "multiply-accumulates of contraction ops only"),
        Convention("exact", "FLOPs", _exact, "multiplies + adds the algorithm performs"),
        Convention("tfprof", "FLOPs", _tfprof, "tf.profiler's float_operation count, op by op"),
    )
}


def get_convention(name: str) -> Convention:
    """The convention called ``name``; `RegistryError` naming the choices otherwise."""
    try:
        return CONVENTIONS[name]
    except KeyError:
        raise RegistryError(
            f"unknown convention {name!r}; choose one of {', '.join(CONVENTIONS)}"
        ) from None
