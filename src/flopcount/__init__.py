"""flopcount: exact FLOPs, MACs, parameters and memory traffic, from shapes alone.

>>> import flopcount
>>> report = flopcount.analyze("zoo:resnet50", convention="macs")  # doctest: +SKIP
>>> print(flopcount.render(report))  # doctest: +SKIP

FLOPs is work (a count of floating-point operations); FLOP/s is speed. One MAC = 2 FLOPs.
"""

from typing import TYPE_CHECKING, Any

from flopcount import _lazy, errors
from flopcount.errors import FlopcountError

if TYPE_CHECKING:
    from flopcount.api import analyze
    from flopcount.costs import Cost
    from flopcount.report import Report, View, render  # type: ignore[no-redef]
    from flopcount.symbolic import analyze_symbolic

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


# Imported on first use (PEP 562), so that importing a submodule (``flopcount.costs``, a
# frontend) does not import the analysis, the report and their dependencies. Name -> module.
_LAZY = {
    "analyze": "flopcount.api", "Cost": "flopcount.costs", "Report": "flopcount.report",
    "View": "flopcount.report", "render": "flopcount.report",
    "analyze_symbolic": "flopcount.symbolic",
}  # fmt: skip


def __getattr__(name: str) -> Any:
    """Import the public names of `_LAZY` on first use."""
    return _lazy.resolve(__name__, name, _LAZY, globals())
