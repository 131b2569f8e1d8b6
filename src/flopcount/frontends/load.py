"""Turn whatever the user holds into a `Graph`: a framework object, a file, or a model spec.

Model specs (CLI ``MODEL`` and `flopcount.analyze` strings):

- ``zoo:NAME``: a built-in architecture (`flopcount.zoo`), built without weights;
- ``torchvision:NAME`` / ``timm:NAME``: built without weights when those packages are installed;
- ``package.module:callable``: a callable returning an ``nn.Module`` (or ``(module, inputs)``,
  or a ready `Graph`), like uvicorn's ``app`` syntax;
- a file: ``.onnx`` (ONNX), ``.pb``/``.pbtxt`` (frozen GraphDef), ``.keras``/``.h5`` (Keras), or a
  SavedModel directory.

Frameworks are imported only when the model needs them.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flopcount.errors import MissingDependencyError, ModelLoadError
from flopcount.ir import Graph

__all__ = ["LoadOptions", "lower"]

_MODULE_SPEC = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")
_TF_SUFFIXES = {".pb", ".pbtxt", ".keras", ".h5", ".hdf5"}


@dataclass
class LoadOptions:
    """Everything a frontend may need besides the model itself."""

    input_shapes: list[tuple[int, ...]] = field(default_factory=list)
    named_shapes: dict[str, tuple[int, ...]] = field(default_factory=dict)
    dims: dict[str, int] = field(default_factory=dict)
    batch: int | None = None
    seq: int | None = None
    image_size: int | None = None
    training: bool = False
    outputs: list[str] | None = None
    signature: str = "serving_default"
    # Zoo models built so far, by name, for lowerings that share one build: the symbolic
    # sampler lowers one model at several sizes, and a zoo architecture that does not depend
    # on the sizes (`ZooEntry.size_independent`) is built once. ``None``: build every time.
    built: dict[str, Any] | None = None

    @classmethod
    def build(
        cls,
        input_shapes: Mapping[str, Sequence[int]] | Sequence[Sequence[int]] | None = None,
        dims: Mapping[str, int] | None = None,
        outputs: Sequence[str] | None = None,
        **fixed: Any,
    ) -> LoadOptions:
        """Options from `flopcount.analyze`'s keywords: ``input_shapes`` by name (a mapping) or
        by position (a sequence); ``fixed`` holds training, batch, seq, image_size, signature."""
        options = cls(dims=dict(dims or {}), outputs=list(outputs) if outputs else None, **fixed)
        if isinstance(input_shapes, Mapping):
            options.named_shapes = {k: tuple(v) for k, v in input_shapes.items()}
        elif input_shapes is not None:
            options.input_shapes = [tuple(s) for s in input_shapes]
        return options


def _require(module: str, extra: str) -> Any:
    try:
        return importlib.import_module(module)
    except ImportError:
        raise MissingDependencyError(module, extra) from None


def _lower_torch(model: Any, inputs: tuple[Any, ...], opts: LoadOptions) -> Graph:
    _require("torch", "torch")
    from flopcount.frontends.torch import lower as torch_lower

    if not inputs:
        inputs = tuple(opts.input_shapes)
    if not inputs:
        raise ModelLoadError(
            f"{type(model).__name__} needs example inputs: pass tensors or shapes to analyze(), "
            "or --input-shape 1x3x224x224 on the command line"
        )
    return torch_lower(model, *inputs, training=opts.training)


def _lower_onnx(model: Any, opts: LoadOptions) -> Graph:
    _require("onnx", "onnx")
    from flopcount.frontends.onnx import lower as onnx_lower

    shapes: Any = opts.named_shapes or opts.input_shapes or None
    return onnx_lower(model, input_shapes=shapes, dims=opts.dims or None)


def _lower_tf(model: Any, opts: LoadOptions) -> Graph:
    from flopcount.frontends.tensorflow import lower as tf_lower

    return tf_lower(
        model,
        input_shapes=opts.named_shapes or None,
        outputs=opts.outputs,
        signature=opts.signature,
    )


def _zoo(name: str, opts: LoadOptions) -> Graph:
    _require("torch", "torch")
    from flopcount import zoo

    entry = zoo.get(name)
    sizes = {"batch": opts.batch, "seq": opts.seq, "image_size": opts.image_size}
    cache = opts.built if entry.size_independent else None
    model = None if cache is None else cache.get(name)
    if model is None:
        model = entry.build(**sizes)
        if cache is not None:
            cache[name] = model
    inputs = entry.example_inputs(**sizes)
    graph = _lower_torch(model, tuple(opts.input_shapes) or inputs, opts)
    graph.name = f"zoo:{name}"
    return graph


def _hub(package: str, name: str, opts: LoadOptions) -> Graph:
    """torchvision / timm models, built on the meta device (no weights)."""
    torch = _require("torch", "torch")
    hub = _require(package, "torch")
    with torch.device("meta"):
        if package == "timm":
            model = hub.create_model(name, pretrained=False)
        else:
            model = hub.models.get_model(name, weights=None)
    size = opts.image_size or 224
    shapes = opts.input_shapes or [(opts.batch or 1, 3, size, size)]
    graph = _lower_torch(model, tuple(shapes), opts)
    graph.name = f"{package}:{name}"
    return graph


def _module_spec(spec: str, opts: LoadOptions) -> Graph:
    module_name, attr = spec.split(":", 1)
    try:
        target: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise ModelLoadError(f"cannot import module {module_name!r} from {spec!r}: {exc}") from None
    for part in attr.split("."):
        if not hasattr(target, part):
            raise ModelLoadError(f"module {module_name!r} has no attribute {attr!r} ({spec!r})")
        target = getattr(target, part)
    made = target() if callable(target) and not _is_torch_module(target) else target
    if isinstance(made, Graph):
        return made
    inputs: tuple[Any, ...] = ()
    if isinstance(made, tuple) and len(made) == 2:
        made, raw = made
        inputs = tuple(raw) if isinstance(raw, (tuple, list)) else (raw,)
    graph = _lower_torch(made, inputs, opts)
    graph.name = spec
    return graph


def _is_torch_module(obj: Any) -> bool:
    return any(c.__module__.startswith("torch.nn") for c in type(obj).__mro__)


def _lower_path(path: Path, opts: LoadOptions) -> Graph:
    if path.is_dir():
        if (path / "saved_model.pb").exists() or (path / "saved_model.pbtxt").exists():
            graph = _lower_tf(str(path), opts)
        else:
            raise ModelLoadError(
                f"{path} is a directory but not a SavedModel (no saved_model.pb inside)"
            )
    elif path.suffix == ".onnx":
        graph = _lower_onnx(str(path), opts)
    elif path.suffix in _TF_SUFFIXES:
        graph = _lower_tf(str(path), opts)
    else:
        raise ModelLoadError(
            f"{path}: unknown model file type {path.suffix!r}; flopcount reads .onnx, .pb, "
            ".pbtxt, .keras, .h5 files and SavedModel directories"
        )
    graph.name = graph.name or path.name
    return graph


def _torchvision(name: str, opts: LoadOptions) -> Graph:
    return _hub("torchvision", name, opts)


def _timm(name: str, opts: LoadOptions) -> Graph:
    return _hub("timm", name, opts)


_SPEC_PREFIXES: dict[str, Callable[[str, LoadOptions], Graph]] = {
    "zoo": _zoo,
    "torchvision": _torchvision,
    "timm": _timm,
}


def _lower_string(spec: str, opts: LoadOptions) -> Graph:
    prefix, _, rest = spec.partition(":")
    if prefix in _SPEC_PREFIXES and rest:
        return _SPEC_PREFIXES[prefix](rest, opts)
    path = Path(spec)
    if path.exists():
        return _lower_path(path, opts)
    if _MODULE_SPEC.match(spec):
        return _module_spec(spec, opts)
    if path.suffix or os.sep in spec:
        raise ModelLoadError(f"no such file: {spec}")
    raise ModelLoadError(
        f"{spec!r}: no such file, and not a model spec (zoo:NAME, torchvision:NAME, timm:NAME, "
        "package.module:callable); run `flopcount --list-zoo` for the built-in models"
    )


def lower(model: Any, *example_inputs: Any, options: LoadOptions | None = None) -> Graph:
    """Lower ``model`` (object, path or spec string) to a `Graph` with the right frontend."""
    opts = options or LoadOptions()
    if isinstance(model, Graph):
        return model
    if isinstance(model, (str, os.PathLike)):
        return _lower_string(os.fspath(model), opts)
    root = type(model).__module__.split(".")[0]
    if _is_torch_module(model) or root == "torch":
        return _lower_torch(model, example_inputs, opts)
    if root == "onnx":
        return _lower_onnx(model, opts)
    if root in ("tensorflow", "keras", "tf_keras") or any(
        c.__module__.split(".")[0] in ("keras", "tensorflow") for c in type(model).__mro__
    ):
        return _lower_tf(model, opts)
    raise ModelLoadError(
        f"cannot analyse a {type(model).__module__}.{type(model).__name__}: pass a "
        "torch.nn.Module, an onnx.ModelProto, a TensorFlow/Keras model, a model file path or a "
        "spec like zoo:resnet50"
    )
