"""Report data (`Report`) and its pure renderers."""

from flopcount.report.render import FORMATS, SCHEMA, View, render, to_dict
from flopcount.report.report import Aggregate, NodeRow, Report, UnsupportedOp

__all__ = [
    "FORMATS",
    "SCHEMA",
    "Aggregate",
    "NodeRow",
    "Report",
    "UnsupportedOp",
    "View",
    "render",
    "to_dict",
]
