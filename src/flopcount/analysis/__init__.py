"""Analysis passes over the IR: costing, aggregation, memory, roofline, hardware."""

from flopcount.analysis.core import analyze_graph, node_cost
from flopcount.costs.conventions import CONVENTIONS, Convention, get_convention

__all__ = ["CONVENTIONS", "Convention", "analyze_graph", "get_convention", "node_cost"]
