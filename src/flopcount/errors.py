"""The one error tree of flopcount.

Every error a user can trigger is raised from this tree, with a message that names what was
wrong (the parameter, node, op, scope or shape) and what to do about it::

    FlopcountError
    ├── ConvError            invalid convolution geometry, shapes or dtypes (flopcount.conv)
    ├── ShapeError           a tensor shape is malformed, unknown or inconsistent
    ├── CostError            an op's cost formula received inputs it cannot cost
    ├── RegistryError        a cost formula registered twice, or an unknown convention
    ├── ModelLoadError       a model, file or module path could not be loaded
    ├── FrontendError        a frontend could not lower a model into the IR
    │   └── MissingDependencyError   an optional framework is not installed
    ├── UnsupportedOpError   --strict: the model contains ops that cannot be costed
    ├── HardwareError        an unknown device name or a malformed hardware profile
    └── SymbolicError        a symbolic analysis cannot be done as asked
"""

from __future__ import annotations

__all__ = [
    "ConvError",
    "CostError",
    "FlopcountError",
    "FrontendError",
    "HardwareError",
    "MissingDependencyError",
    "ModelLoadError",
    "RegistryError",
    "ShapeError",
    "SymbolicError",
    "UnsupportedOpError",
]


class FlopcountError(Exception):
    """Base class of every error flopcount raises on purpose."""


class ConvError(FlopcountError, ValueError):
    """Invalid convolution arguments: geometry, shapes, layout or dtypes."""


class ShapeError(FlopcountError, ValueError):
    """A shape is malformed, unresolved or inconsistent with an op."""


class CostError(FlopcountError, ValueError):
    """A cost formula got inputs it cannot cost (wrong arity, rank or attributes)."""


class RegistryError(FlopcountError, KeyError):
    """A duplicate registration, or a lookup of an unknown convention or op."""

    def __str__(self) -> str:  # KeyError quotes its message; keep it readable
        return str(self.args[0]) if self.args else ""


class ModelLoadError(FlopcountError):
    """A model argument (file, zoo name, module path) could not be loaded."""


class FrontendError(FlopcountError):
    """A frontend could not lower a model into flopcount's IR."""


class MissingDependencyError(FrontendError, ImportError):
    """An optional framework needed for this model is not installed."""

    def __init__(self, package: str, extra: str) -> None:
        super().__init__(
            f"this needs the optional dependency {package!r}, which is not installed; "
            f"install it with: pip install 'flopcount[{extra}]'"
        )
        self.package = package
        self.extra = extra


class UnsupportedOpError(FlopcountError):
    """Raised under --strict when a model holds ops that could not be costed."""


class HardwareError(FlopcountError, ValueError):
    """An unknown device name or a malformed hardware profile."""


class SymbolicError(FlopcountError, ValueError):
    """A symbolic analysis cannot be done as asked: an unknown dimension name, incompatible
    bindings, or a model whose structure (control flow) depends on a symbol."""
