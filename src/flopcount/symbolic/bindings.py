"""Bindings: how each symbol sets a concrete size, and lowering the model at a sample point.

Three kinds of model, three kinds of binding (``docs/symbolic.md``):

- model specs ``zoo:NAME``, ``torchvision:NAME``, ``timm:NAME``: a symbol is one of the build
  options ``batch``, ``seq``, ``image_size`` (those the model takes);
- ONNX models: a symbol is a ``dim_param`` of the graph inputs, set through ``dims``; or an
  alias ``NAME=INPUT:AXIS`` of the ``dim_param`` at that input axis;
- anything else (a ``torch.nn.Module`` with example inputs, TensorFlow with ``input_shapes``):
  ``NAME=INPUT:AXIS`` binds the symbol to an input axis (INPUT: an input name, or its
  position); a symbol may bind several axes of equal size (``input_ids:1`` and
  ``attention_mask:1``).
"""

from __future__ import annotations

import inspect
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from flopcount.errors import SymbolicError
from flopcount.frontends.load import LoadOptions, lower
from flopcount.ir import Graph, TensorSpec

__all__ = ["AxisRef", "Source", "SymbolicError", "make_source", "parse_axis"]

_NAME = re.compile(r"^[A-Za-z_]\w*$")
_AXIS = re.compile(r"^(?P<target>[^:]+):(?P<axis>-?\d+)$")
_SPEC_OPTIONS = {"torchvision": ("batch", "image_size"), "timm": ("batch", "image_size")}


@dataclass(frozen=True)
class AxisRef:
    """Axis ``axis`` of the input named (or at position) ``target``."""

    target: str | int
    axis: int

    def __str__(self) -> str:
        return f"{self.target}:{self.axis}"


def parse_axis(symbol: str, text: str) -> AxisRef:
    """``"input_ids:1"`` or ``"0:1"`` -> `AxisRef`; anything else is a `SymbolicError`."""
    match = _AXIS.match(text.strip())
    if not match:
        raise SymbolicError(
            f"malformed binding {symbol}={text!r}: write NAME=INPUT:AXIS, e.g. seq=input_ids:1 "
            "(INPUT is an input name or its position)"
        )
    target = match["target"]
    return AxisRef(int(target) if target.isdigit() else target, int(match["axis"]))


@dataclass
class Source:
    """Lowers one model at sample points: ``graph({"seq": 61})``."""

    model: Any
    example_inputs: tuple[Any, ...]
    options: LoadOptions
    symbols: tuple[str, ...]
    kind: str  # "spec" (build options), "onnx" (dims) or "inputs" (input axes)
    axes: dict[str, tuple[AxisRef, ...]] = field(default_factory=dict)
    onnx_alias: dict[str, tuple[str, ...]] = field(default_factory=dict)  # symbol -> dim_params
    limits: dict[str, tuple[int | None, int | None]] = field(default_factory=dict)  # max, step

    def graph(self, point: Mapping[str, int]) -> Graph:
        """The model lowered with every symbol set to its value at ``point``."""
        options = replace(self.options)
        inputs = self.example_inputs
        if self.kind == "spec":
            for symbol, value in point.items():
                setattr(options, symbol, value)
        elif self.kind == "onnx":
            options.dims = {**options.dims}
            for symbol, value in point.items():
                for dim_param in self.onnx_alias.get(symbol, (symbol,)):
                    options.dims[dim_param] = value
        else:
            inputs, options = self._resize(point, options)
        return lower(self.model, *inputs, options=options)

    def _resize(
        self, point: Mapping[str, int], options: LoadOptions
    ) -> tuple[tuple[Any, ...], LoadOptions]:
        """Example inputs and input shapes with the bound axes set to the point's values."""
        inputs = list(self.example_inputs)
        positional = list(options.input_shapes)
        named = dict(options.named_shapes)
        names = _input_names(self.model)
        for symbol, refs in self.axes.items():
            for ref in refs:
                if isinstance(ref.target, str) and ref.target in named:
                    named[ref.target] = _set(named[ref.target], ref.axis, point[symbol])
                    continue
                index = ref.target if isinstance(ref.target, int) else names.index(ref.target)
                if inputs:
                    inputs[index] = _resized_input(inputs[index], ref.axis, point[symbol])
                else:
                    positional[index] = _set(positional[index], ref.axis, point[symbol])
        return tuple(inputs), replace(options, input_shapes=positional, named_shapes=named)


def _set(shape: Sequence[int], axis: int, value: int) -> tuple[int, ...]:
    out = list(shape)
    out[axis] = value
    return tuple(out)


def _resized_input(value: Any, axis: int, size: int) -> Any:
    """An example input (tensor, shape, ``(shape, dtype)``, `TensorSpec`) with one axis resized."""
    if isinstance(value, TensorSpec):
        return replace(value, shape=_set(value.shape, axis, size))
    if hasattr(value, "shape") and hasattr(value, "dtype"):  # a tensor: a meta stand-in
        import torch

        return torch.empty(_set(tuple(value.shape), axis, size), dtype=value.dtype, device="meta")
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], (tuple, list)):
        return (_set(value[0], axis, size), value[1])
    return _set(value, axis, size)


def _input_names(model: Any) -> list[str]:
    """Parameter names of ``model.forward`` (a torch module), else ``[]``."""
    forward = getattr(model, "forward", None)
    if forward is None:
        return []
    try:
        return list(inspect.signature(forward).parameters)
    except (TypeError, ValueError):
        return []


def _base_shapes(source: Source) -> dict[str | int, tuple[int, ...]]:
    """Every bindable input's shape, by position and (where known) by name."""
    shapes: dict[str | int, tuple[int, ...]] = {}
    names = _input_names(source.model)
    raw = source.example_inputs or tuple(source.options.input_shapes)
    for index, value in enumerate(raw):
        shape = _shape_of(value)
        if shape is not None:
            shapes[index] = shape
            if index < len(names):
                shapes[names[index]] = shape
    shapes.update(source.options.named_shapes)
    return shapes


def _shape_of(value: Any) -> tuple[int, ...] | None:
    if hasattr(value, "shape"):
        return tuple(int(d) for d in value.shape)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], (tuple, list)):
        return tuple(value[0])
    if isinstance(value, (tuple, list)) and all(isinstance(d, int) for d in value):
        return tuple(value)
    return None


def _check_axes(source: Source) -> None:
    """Every axis binding names an existing input axis; one symbol's axes agree in size."""
    shapes = _base_shapes(source)
    names = _input_names(source.model)
    owner: dict[tuple[str | int, int], str] = {}
    for symbol, refs in source.axes.items():
        sizes: dict[str, int] = {}
        for ref in refs:
            shape = shapes.get(ref.target)
            if shape is None:
                known = ", ".join(str(k) for k in shapes) or "none"
                raise SymbolicError(
                    f"symbol {symbol!r} is bound to input {ref.target!r}, which is not an input "
                    f"with a known shape (inputs: {known}); give example inputs or --input-shape"
                )
            if not -len(shape) <= ref.axis < len(shape):
                raise SymbolicError(
                    f"symbol {symbol!r}: input {ref.target!r} has shape {shape}, no axis {ref.axis}"
                )
            target = names.index(ref.target) if ref.target in names else ref.target
            key = (target, ref.axis % len(shape))
            if owner.setdefault(key, symbol) != symbol:
                raise SymbolicError(
                    f"input axis {ref} is bound to two symbols, {owner[key]!r} and {symbol!r}"
                )
            sizes[str(ref)] = shape[ref.axis]
        if len(set(sizes.values())) > 1:
            listed = ", ".join(f"{k} (size {v})" for k, v in sizes.items())
            raise SymbolicError(
                f"symbol {symbol!r} is bound to incompatible axes: {listed}; one symbol is one "
                "size, so bind axes of equal size or use two symbols"
            )


def _onnx_dim_params(model: Any) -> tuple[Any, dict[str, set[str]]]:
    """The loaded ModelProto and its inputs' dim_params (``{dim_param: {input:axis, ...}}``)."""
    from flopcount.frontends.onnx_load import load_model

    proto = load_model(model)
    initializers = {t.name for t in proto.graph.initializer}
    found: dict[str, set[str]] = {}
    for vi in proto.graph.input:
        if vi.name in initializers or not vi.type.HasField("tensor_type"):
            continue
        for axis, dim in enumerate(vi.type.tensor_type.shape.dim):
            if dim.dim_param:
                found.setdefault(dim.dim_param, set()).add(f"{vi.name}:{axis}")
    return proto, found


def _onnx_source(source: Source, bindings: Mapping[str, Sequence[AxisRef]]) -> Source:
    proto, params = _onnx_dim_params(source.model)
    source.model = proto  # load once, lower many times
    by_axis = {axis: name for name, axes in params.items() for axis in axes}
    for symbol in source.symbols:
        refs = bindings.get(symbol, ())
        if not refs:
            if symbol not in params:
                raise SymbolicError(
                    f"unknown dimension {symbol!r}: the ONNX model's symbolic input dimensions "
                    f"(dim_param) are {', '.join(sorted(params)) or 'none'}; or bind the symbol "
                    "to an input axis with NAME=INPUT:AXIS"
                )
            continue
        for ref in refs:
            if str(ref) not in by_axis:
                raise SymbolicError(
                    f"symbol {symbol!r}: input axis {ref} of the ONNX model is not a symbolic "
                    f"dimension (dim_param); symbolic axes: {', '.join(sorted(by_axis)) or 'none'}"
                )
        source.onnx_alias[symbol] = tuple(dict.fromkeys(by_axis[str(ref)] for ref in refs))
    taken: dict[str, str] = {}
    for symbol, dim_params in source.onnx_alias.items():
        for dim_param in dim_params:
            if taken.setdefault(dim_param, symbol) != symbol:
                raise SymbolicError(
                    f"dim_param {dim_param!r} is bound to two symbols, {taken[dim_param]!r} and "
                    f"{symbol!r}"
                )
    return source


def _spec_source(source: Source, spec: str) -> Source:
    prefix, _, name = spec.partition(":")
    if prefix == "zoo":
        from flopcount import zoo

        entry = zoo.get(name)
        takes: tuple[str, ...] = entry.options
        for option in takes:
            source.limits[option] = (entry.max_values.get(option), entry.multiple_of.get(option))
    else:
        takes = _SPEC_OPTIONS[prefix]
    for symbol in source.symbols:
        if symbol not in takes:
            raise SymbolicError(
                f"unknown dimension {symbol!r} for {spec}: it takes {', '.join(takes) or 'none'}"
            )
    return source


def _is_onnx(model: Any) -> bool:
    if isinstance(model, (str, os.PathLike)):
        return os.fspath(model).endswith(".onnx")
    return type(model).__module__.split(".")[0] == "onnx"


def make_source(
    model: Any,
    example_inputs: tuple[Any, ...],
    options: LoadOptions,
    symbols: Sequence[str],
    bindings: Mapping[str, Sequence[AxisRef]],
) -> Source:
    """A `Source` after checking every symbol name and binding (`SymbolicError` otherwise)."""
    for symbol in [*symbols, *bindings]:
        if not _NAME.match(symbol):
            raise SymbolicError(f"symbol {symbol!r} is not a name (letters, digits, _)")
    unknown = sorted(set(bindings) - set(symbols))
    if unknown:
        raise SymbolicError(f"bindings for {unknown} name no symbol of {list(symbols)}")
    if not symbols:
        raise SymbolicError("no symbols given: name at least one dimension, e.g. seq")
    source = Source(model, tuple(example_inputs), options, tuple(symbols), "inputs")
    spec = os.fspath(model) if isinstance(model, (str, os.PathLike)) else ""
    if _is_onnx(model):
        source.kind = "onnx"
        return _onnx_source(source, bindings)
    if spec.partition(":")[0] in ("zoo", *_SPEC_OPTIONS) and not bindings:
        source.kind = "spec"
        source.options = replace(options, built={})  # one zoo build for every sample point
        return _spec_source(source, spec)
    for symbol in symbols:
        if not bindings.get(symbol):
            raise SymbolicError(
                f"unknown dimension {symbol!r}: bind it to an input axis, e.g. "
                f"--dim {symbol}=input_ids:1 (API: symbols={{{symbol!r}: 'input_ids:1'}})"
            )
    source.axes = {s: tuple(bindings[s]) for s in symbols}
    _check_axes(source)
    return source
