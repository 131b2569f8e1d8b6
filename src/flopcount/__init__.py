"""flopcount: exact FLOPs, MACs, parameters and memory traffic, from shapes alone.

>>> import flopcount
>>> report = flopcount.analyze("zoo:resnet50", convention="macs")  # doctest: +SKIP
>>> print(flopcount.render(report))  # doctest: +SKIP

FLOPs is work (a count of floating-point operations); FLOP/s is speed. One MAC = 2 FLOPs.
"""

from typing import Any

from flopcount import errors
from flopcount.api import analyze
from flopcount.costs import Cost
from flopcount.errors import FlopcountError
from flopcount.report import Report, View, render

__version__ = "0.1.0"

__all__ = [
    "Cost",
    "FlopcountError",
    "Report",
    "View",
    "__version__",
    "analyze",
    "analyze_symbolic",
    "errors",
    "render",
]


def __getattr__(name: str) -> Any:
    """``flopcount.analyze_symbolic`` is imported on first use (`flopcount.symbolic`)."""
    if name == "analyze_symbolic":
        from flopcount.symbolic import analyze_symbolic

        return analyze_symbolic
    raise AttributeError(f"module 'flopcount' has no attribute {name!r}")
