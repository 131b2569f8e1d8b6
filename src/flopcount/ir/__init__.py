"""Framework-free IR: `TensorSpec`, `Node`, `Graph`; op names as ONNX spells them."""

from flopcount.ir.graph import DTYPE_BYTES, Graph, Node, TensorKind, TensorSpec, dtype_bytes

__all__ = ["DTYPE_BYTES", "Graph", "Node", "TensorKind", "TensorSpec", "dtype_bytes"]
