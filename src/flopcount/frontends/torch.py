"""PyTorch frontend: lower an ``nn.Module`` into flopcount's IR from shapes alone.

`lower` runs the model once on *fake* tensors (``FakeTensorMode``: tensors with shapes and
dtypes but no storage), so no weight is materialised and no arithmetic runs: a 70B-parameter
model built on the meta device analyses in seconds. Parameters and buffers, real or meta, are
replaced by fake copies for the run (``torch.func.functional_call``); the model is left as it
was: parameters, buffers, hooks, every module's ``training`` flag and the grad mode.

Every aten operator the run executes becomes IR nodes (table in `torch_aten`), with the module
path as ``scope``. ``training=True`` also runs a backward pass from the outputs and records the
operators autograd really executes (``phase="backward"``). Assumptions go to ``Graph.notes``.
"""

from __future__ import annotations

import inspect
import itertools
import warnings
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import Any

import torch
from torch._subclasses.fake_tensor import FakeTensorMode

from flopcount.errors import FrontendError
from flopcount.frontends.torch_capture import FunctionInterceptor, Recorder, ScopeTracker
from flopcount.frontends.torch_specs import (
    TensorTable,
    build_inputs,
    dtype_name,
    iter_tensors,
    shape_of,
)
from flopcount.ir import Graph, Node, TensorSpec

__all__ = ["lower"]

_POLICIES = ("warn", "error", "ignore")
_SEED = 0  # inputs made up for a real-execution fallback come from this fixed seed


@dataclass
class _Capture:
    nodes: list[Node]
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    notes: list[str] = field(default_factory=list)


def _named_inputs(
    model: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> list[tuple[str, torch.Tensor]]:
    """Every input tensor, named after ``forward``'s parameters (``input_ids``, ``x.0``)."""
    try:
        params = list(inspect.signature(model.forward).parameters.values())
    except (TypeError, ValueError):
        params = []
    positional = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    named = []
    for index, value in enumerate(args):
        named.append((positional[index] if index < len(positional) else f"arg{index}", value))
    named.extend(kwargs.items())
    found = []
    for name, value in named:
        tensors = list(iter_tensors(value))
        if len(tensors) == 1 and isinstance(value, torch.Tensor):
            found.append((name, tensors[0]))
        else:
            found.extend((f"{name}.{i}", t) for i, t in enumerate(tensors))
    return found


def _fake_tensor(shape: tuple[int, ...], dtype: torch.dtype, template: Any) -> torch.Tensor:
    """An input made under FakeTensorMode: no storage; requires grad if the template did."""
    tensor = torch.empty(shape, dtype=dtype, device="cpu")
    if template is not None and template.requires_grad and tensor.is_floating_point():
        tensor.requires_grad_(True)
    return tensor


def _stand_in(tensor: torch.Tensor, fake: bool, shared: bool) -> torch.Tensor:
    """A fake copy (no storage; made under FakeTensorMode), or for a real run the tensor
    itself detached (``shared``: never written) or cloned (buffers the model may update)."""
    if fake:
        return torch.empty_strided(tensor.shape, tensor.stride(), dtype=tensor.dtype, device="cpu")
    return tensor.detach() if shared else tensor.clone()


class _RealInputs:
    """Inputs for a real-execution fallback: given CPU tensors as they are; shapes and meta
    tensors filled from a fixed seed (floats ~ N(0, 1), integers and booleans zero)."""

    def __init__(self) -> None:
        self._generator = torch.Generator().manual_seed(_SEED)

    def __call__(self, shape: tuple[int, ...], dtype: torch.dtype, template: Any) -> torch.Tensor:
        if isinstance(template, torch.Tensor) and template.device.type == "cpu":
            return template.clone() if template.is_inference() else template
        if dtype.is_floating_point:
            return torch.randn(shape, dtype=dtype, generator=self._generator)
        return torch.zeros(shape, dtype=dtype)


class _Run:
    """One model + example inputs; `capture` runs it on fake (or real) tensors and records."""

    def __init__(
        self, model: torch.nn.Module, args: tuple[Any, ...], kwargs: dict[str, Any], training: bool
    ) -> None:
        self.model = model
        self.args = args
        self.kwargs = kwargs
        self.training = training
        self.shape_dtype = torch.float32
        self.had_shapes = False

    def _state(self, table: TensorTable, fake: bool) -> dict[str, torch.Tensor]:
        """Stand-ins for every parameter and buffer, keyed by their (first) names."""
        state: dict[str, torch.Tensor] = {}
        for name, param in self.model.named_parameters():
            copy = _stand_in(param, fake, shared=True)
            if self.training and copy.is_floating_point():
                copy.requires_grad_(True)  # frozen parameters too: every weight gets a gradient
            table.mark(copy, "parameter", name)
            state[name] = copy
        for name, buffer in self.model.named_buffers():
            state[name] = _stand_in(buffer, fake, shared=False)  # a real run may update it
            table.mark(state[name], "buffer", name)
        return state

    def capture(self, fake: bool) -> _Capture:
        """Run the model once on fake (or real) stand-ins and record its operators."""
        with torch.inference_mode(False):  # even when called in inference mode: normal tensors
            return self._capture(fake)

    def _capture(self, fake: bool) -> _Capture:
        table = TensorTable()
        mode = FakeTensorMode(allow_non_fake_inputs=True) if fake else nullcontext()
        make = _fake_tensor if fake else _RealInputs()
        with mode:
            state = self._state(table, fake)
            (args, kwargs), self.had_shapes = build_inputs(
                (tuple(self.args), self.kwargs), make, self.shape_dtype
            )
        inputs = []
        for name, tensor in _named_inputs(self.model, args, kwargs):
            table.mark(tensor, "input", name)
            inputs.append(table.spec(tensor))
        scopes = ScopeTracker(self.model, table)
        recorder = Recorder(table, scopes)
        interceptor = FunctionInterceptor(recorder)
        grad = torch.enable_grad() if self.training else torch.no_grad()
        rng = nullcontext() if fake else torch.random.fork_rng(devices=[])
        with grad, rng, mode, scopes, interceptor, recorder:
            out = torch.func.functional_call(self.model, state, args, kwargs)
            notes = self._backward(out, recorder) if self.training else []
        outputs = [table.spec(t) for t in iter_tensors(out)]
        if interceptor.attention_calls:
            notes.append(
                "scaled_dot_product_attention: each call is one ScaledDotProductAttention node "
                "whatever kernel PyTorch would pick; its backward is counted from the math "
                "kernel's operators"
            )
        return _Capture(recorder.nodes, inputs, outputs, notes)

    def _backward(self, out: Any, recorder: Recorder) -> list[str]:
        """Backward from every floating-point output, seeded with ones (d sum(outputs))."""
        roots = [t for t in iter_tensors(out) if t.requires_grad and t.is_floating_point()]
        if not roots:
            return ["training: no output requires grad, so no backward pass was counted"]
        with recorder.paused():
            seeds = [torch.ones_like(t) for t in roots]
        recorder.phase = "backward"
        torch.autograd.backward(roots, seeds)
        return [
            "training: forward + backward (gradients of every floating-point parameter, frozen "
            "ones included, from output gradients of ones); no loss function and no "
            "optimizer step counted"
        ]


@contextmanager
def _analysis_state(model: torch.nn.Module, training: bool) -> Iterator[None]:
    """train()/eval() as asked and MHA fast path off for the run; everything restored."""
    flags = [(module, module.training) for module in model.modules()]
    fastpath = torch.backends.mha.get_fastpath_enabled()
    try:
        model.train(training)
        torch.backends.mha.set_fastpath_enabled(False)  # count the standard ops, not fused kernels
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
        for module, flag in flags:
            module.training = flag


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:300]


def _wants_indices(exc: BaseException) -> bool:
    """Did a float input reach an op that needs integer indices (an embedding)?"""
    text = str(exc)
    return any(word in text for word in ("Long", "Int", "indices", "index"))


def _devices(model: torch.nn.Module) -> set[str]:
    tensors = itertools.chain(model.parameters(), model.buffers())
    return {t.device.type for t in tensors}


def _recover(run: _Run, exc: Exception, policy: str) -> _Capture:
    """After a failed fake run: integer token ids, then real execution, then a clear error."""
    name = type(run.model).__name__
    if run.had_shapes and _wants_indices(exc):
        run.shape_dtype = torch.int64
        try:
            capture = run.capture(fake=True)
        except Exception:  # the first failure is the one to report
            run.shape_dtype = torch.float32
        else:
            return capture
    devices = _devices(run.model)
    if policy == "error" or devices - {"cpu"}:
        hint = ("its parameters are on " + "/".join(sorted(devices - {"cpu"}))
                + ", so it cannot fall back to real execution: load real weights on the CPU, "
                "or remove the value-dependent code (e.g. `if x.sum() > 0`)") \
            if devices - {"cpu"} else "on_fake_failure='error' forbids real execution"  # fmt: skip
        raise FrontendError(f"{name} cannot run on fake tensors ({_reason(exc)}); {hint}") from exc
    message = (
        f"{name} could not run on fake tensors ({_reason(exc)}); it was analysed by running it "
        "for real on the CPU once (made-up input values decide any value-dependent branch)"
    )
    if policy == "warn":
        warnings.warn(message, UserWarning, stacklevel=3)
    try:
        capture = run.capture(fake=False)
    except Exception as real:
        raise FrontendError(
            f"{name} failed on fake tensors ({_reason(exc)}) and on real ones ({_reason(real)}); "
            "check the example inputs' shapes and dtypes"
        ) from real
    capture.notes.append(message)
    return capture


def _specs(named: Iterator[tuple[str, torch.Tensor]], kind: Any) -> dict[str, TensorSpec]:
    return {n: TensorSpec(shape_of(t), dtype_name(t.dtype), n, kind) for n, t in named}


def lower(
    model: torch.nn.Module,
    *example_inputs: Any,
    example_kwargs: dict[str, Any] | None = None,
    training: bool = False,
    on_fake_failure: str = "warn",
) -> Graph:
    """Lower ``model`` called as ``model(*example_inputs, **example_kwargs)`` into a `Graph`.

    ``example_inputs`` are tensors (real, meta), shapes (``(1, 3, 224, 224)``: float32),
    ``(shape, dtype)`` pairs, `TensorSpec`s, or containers of these. ``training=True`` counts
    the forward and the backward pass in train() mode; otherwise the forward pass in eval()
    mode. ``on_fake_failure`` says what happens when the model cannot run on fake tensors
    (value-dependent Python control flow): ``"warn"`` (fall back to one real execution with a
    warning, CPU parameters only), ``"ignore"`` (fall back silently, still noted) or
    ``"error"`` (raise `FrontendError`).
    """
    if not isinstance(model, torch.nn.Module):
        raise FrontendError(f"lower() needs a torch.nn.Module, got {type(model).__name__}")
    if on_fake_failure not in _POLICIES:
        raise FrontendError(f"on_fake_failure={on_fake_failure!r}: use one of {_POLICIES}")
    run = _Run(model, example_inputs, dict(example_kwargs or {}), training)
    with _analysis_state(model, training):
        try:
            capture = run.capture(fake=True)
        except FrontendError:
            raise
        except Exception as exc:
            capture = _recover(run, exc, on_fake_failure)
    mode = "training: train() mode" if training else "inference: eval() mode, no_grad"
    notes = [f"{mode} for the analysis; the model's own flags were restored afterwards"]
    if run.had_shapes:
        notes.append(f"inputs given as shapes are {dtype_name(run.shape_dtype)}")
    return Graph(
        nodes=capture.nodes,
        inputs=capture.inputs,
        outputs=capture.outputs,
        parameters=_specs(model.named_parameters(), "parameter"),
        buffers=_specs(model.named_buffers(), "buffer"),
        notes=notes + capture.notes,
        framework="torch",
        name=type(model).__name__,
    )
