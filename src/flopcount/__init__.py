"""flopcount: exact FLOPs, MACs, parameters and memory traffic, from shapes alone."""

from flopcount import errors
from flopcount.costs import Cost
from flopcount.errors import FlopcountError

__version__ = "0.1.0"

__all__ = ["Cost", "FlopcountError", "__version__", "errors"]
