"""Names a package imports on first use (PEP 562 module ``__getattr__``).

``flopcount`` and ``flopcount.conv`` define their heavy public names (the analysis, the NumPy
convolution engine) lazily, so that importing a light submodule (``flopcount.costs``, the
ONNX frontend) does not import NumPy. `resolve` is their shared ``__getattr__`` body.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["resolve"]


def resolve(package: str, name: str, table: dict[str, str], namespace: dict[str, Any]) -> Any:
    """Attribute ``name`` of ``package``: imported from module ``table[name]`` (and cached in
    the package's ``namespace``), else the submodule ``package.name``, else `AttributeError`."""
    module = table.get(name)
    if module is None:  # a submodule, as attribute access found it when the package imported it
        try:
            return importlib.import_module(f"{package}.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.{name}":
                raise  # the submodule exists but lacks a dependency
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    namespace[name] = value
    return value
