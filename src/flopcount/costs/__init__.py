"""Cost formulas: the `Cost` value type and one registry of pure per-op formulas.

Importing this package registers every formula (the op modules below register on import).
"""

from flopcount.costs.contraction import conv_cost, matmul_cost
from flopcount.costs.cost import ZERO, Cost
from flopcount.costs.registry import REGISTRY, CostFormula, OpStatus, Registry, free, register

__all__ = [
    "REGISTRY",
    "ZERO",
    "Cost",
    "CostFormula",
    "OpStatus",
    "Registry",
    "conv_cost",
    "free",
    "matmul_cost",
    "register",
]
