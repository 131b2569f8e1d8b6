"""Costs as exact formulas in named dimensions: ``flopcount MODEL --symbolic seq``.

>>> import flopcount
>>> report = flopcount.analyze_symbolic("zoo:gpt2", symbols="seq")  # doctest: +SKIP
>>> report.sympy(report.total.macs)  # doctest: +SKIP
589824*seq**2 + 123532032*seq

sympy (the ``symbolic`` extra) is imported only to print or solve expressions.
``docs/symbolic.md`` describes the method, the expression syntax and the limits.
"""

from flopcount.symbolic.analyze import analyze_symbolic, parse_symbols
from flopcount.symbolic.bindings import AxisRef, SymbolicError
from flopcount.symbolic.costs import SymCost, SymRow
from flopcount.symbolic.expr import Poly
from flopcount.symbolic.report import SymAggregate, SymbolicReport

__all__ = [
    "AxisRef",
    "Poly",
    "SymAggregate",
    "SymCost",
    "SymRow",
    "SymbolicError",
    "SymbolicReport",
    "analyze_symbolic",
    "parse_symbols",
]
