"""flopcount: exact FLOPs, MACs, parameters and memory traffic, from shapes alone.

>>> import flopcount
>>> report = flopcount.analyze("zoo:resnet50", convention="macs")  # doctest: +SKIP
>>> print(flopcount.render(report))  # doctest: +SKIP

FLOPs is work (a count of floating-point operations); FLOP/s is speed. One MAC = 2 FLOPs.
"""

from flopcount import errors
from flopcount.api import analyze
from flopcount.costs import Cost
from flopcount.errors import FlopcountError
from flopcount.report import Report, View, render

__version__ = "0.1.0"

__all__ = ["Cost", "FlopcountError", "Report", "View", "__version__", "analyze", "errors", "render"]
