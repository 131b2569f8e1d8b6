"""Capture machinery of the PyTorch frontend: scopes, the aten recorder, the function interceptor.

- `ScopeTracker` keeps the module stack with *global* forward hooks (registered for the
  capture only, so no module's own hook dicts change) and remembers, by autograd sequence
  number, which module scope created each autograd node: a backward op then gets the scope
  of the module whose forward produced it (``torch._C._current_autograd_node``).
- `Recorder` is a ``TorchDispatchMode`` stacked above ``FakeTensorMode``: it sees every aten
  op after autograd and lowers it with the table in `torch_aten`.
- `FunctionInterceptor` is a ``TorchFunctionMode``: it turns each
  ``F.scaled_dot_product_attention`` call into one ScaledDotProductAttention node whatever
  kernel would run (its own ops are not recorded; the math kernel runs so that a training
  analysis records the same backward everywhere), and each training-mode dropout into one
  Dropout node.
"""

from __future__ import annotations

import types
from bisect import bisect_right
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch.nn import functional
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.nn.modules.module import register_module_forward_hook, register_module_forward_pre_hook
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

from flopcount.frontends.torch_aten import LOWERINGS, lower_attention, lower_dropout
from flopcount.frontends.torch_aten_backward import decomposition
from flopcount.frontends.torch_call import OpCall, Phase, bind
from flopcount.frontends.torch_meta import meta_shortcut
from flopcount.frontends.torch_specs import TensorTable
from flopcount.ir import Node

__all__ = ["FunctionInterceptor", "Recorder", "ScopeTracker"]

_ATEN_SDPA = torch.ops.aten.scaled_dot_product_attention.default
_ATEN_DROPOUT = torch.ops.aten.native_dropout.default
_DROPOUTS = (
    functional.dropout, functional.dropout1d, functional.dropout2d, functional.dropout3d,
    functional.alpha_dropout, functional.feature_alpha_dropout,
)  # fmt: skip
# Python functions that call scaled_dot_product_attention inside: run with the interceptor on.
_REENTERED = (functional.multi_head_attention_forward,)


class ScopeTracker:
    """The dotted module path of the running forward, and of each autograd node's creator."""

    def __init__(self, model: torch.nn.Module, table: TensorTable) -> None:
        self._names = {id(module): name for name, module in model.named_modules()}
        self._table = table
        self._stack = [""]
        self._starts: list[int] = []  # autograd sequence number where a scope starts
        self._scopes: list[str] = []
        self._handles: list[Any] = []

    def __enter__(self) -> ScopeTracker:
        self._handles = [
            register_module_forward_pre_hook(self._enter),
            register_module_forward_hook(self._leave, always_call=True),
        ]
        return self

    def __exit__(self, *exc: object) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []

    @property
    def current(self) -> str:
        return self._stack[-1]

    def _mark(self) -> None:
        start = torch._C._autograd._get_sequence_nr()  # the next node's number
        if self._starts and self._starts[-1] == start:
            self._scopes[-1] = self.current
        else:
            self._starts.append(start)
            self._scopes.append(self.current)

    def _enter(self, module: torch.nn.Module, args: Any) -> None:
        self._stack.append(self._names.get(id(module), self.current))
        self._mark()

    def _leave(self, module: torch.nn.Module, args: Any, output: Any) -> None:
        if len(self._stack) > 1:
            self._stack.pop()
            self._mark()

    def backward_scope(self) -> str:
        """Scope of the module whose forward created the autograd node now running."""
        node = torch._C._current_autograd_node()
        if node is None:
            return ""
        variable = getattr(node, "variable", None)  # AccumulateGrad: the parameter's module
        if isinstance(variable, torch.Tensor):
            kind, name = self._table.lookup(variable)
            return name.rpartition(".")[0] if kind == "parameter" else ""
        index = bisect_right(self._starts, node._sequence_nr()) - 1
        return self._scopes[index] if index >= 0 else ""


class Recorder(TorchDispatchMode):
    """Records one IR node list per aten op (forward, then backward after ``phase`` flips)."""

    @classmethod
    def _should_skip_dynamo(cls) -> bool:
        """Keep ``__torch_dispatch__`` unwrapped by ``torch._disable_dynamo``.

        Nothing is compiled under this mode, and the wrapper's first call imports
        ``torch._dynamo`` (seconds: more than analysing a ResNet-50). See
        ``TorchDispatchMode.__init_subclass__`` in ``torch/utils/_python_dispatch.py``.
        """
        return False

    def __init__(self, table: TensorTable, scopes: ScopeTracker) -> None:
        super().__init__()
        self.table = table
        self.scopes = scopes
        self.nodes: list[Node] = []
        self.phase: Phase = "forward"
        self._paused = 0

    @contextmanager
    def paused(self) -> Iterator[None]:
        """Run ops without recording them (an intercepted call's own kernel)."""
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1

    def call(self, func: Any, args: dict[str, Any], out: Any) -> OpCall:
        scope = self.scopes.current if self.phase == "forward" else self.scopes.backward_scope()
        return OpCall(func, args, out, self.table, scope, self.phase)

    def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        shortcut = meta_shortcut(func, args, kwargs)
        if self._paused:
            return shortcut() if shortcut is not None else func(*args, **kwargs)
        decompose = decomposition(func)
        if decompose is not None:
            with self:  # record the decomposition's ops one by one
                return decompose(*args, **kwargs)
        out = shortcut() if shortcut is not None else func(*args, **kwargs)
        if func.namespace != "prim":
            self._record(func, args, kwargs, out)
        return out

    def _record(self, func: Any, args: Any, kwargs: dict[str, Any], out: Any) -> None:
        if func.is_view:
            base = next((a for a in args if isinstance(a, torch.Tensor)), None)
            views = out if isinstance(out, (tuple, list)) else (out,)
            for view in views:
                if base is not None and isinstance(view, torch.Tensor):
                    self.table.alias(view, base)
        call = self.call(func, bind(func, args, kwargs), out)
        lowering = LOWERINGS.get(call.op_name) if func.namespace == "aten" else None
        self.nodes.extend(lowering(call) if lowering is not None else [call.unsupported()])


def _meta_attention(args: Any, kwargs: dict[str, Any]) -> torch.Tensor | None:
    """SDPA's output (..., Tq, dv) made directly on the meta device when no gradient is being
    recorded; None to run the math kernel (training needs its autograd graph, and its checks
    run on real or fake tensors). Shapes follow Q's batch dims, V's last dim."""
    query, key, value = (list(args) + [kwargs.get(n) for n in ("query", "key", "value")])[:3]
    tensors = (query, key, value)
    if torch.is_grad_enabled() or not all(isinstance(t, torch.Tensor) for t in tensors):
        return None
    if (
        any(t.device.type != "meta" or t.dim() < 2 for t in tensors)
        or len({t.dtype for t in tensors}) != 1
    ):
        return None
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        return None  # let the kernel raise its own error
    return torch.empty((*query.shape[:-1], value.shape[-1]), dtype=query.dtype, device="meta")


def _never(*args: Any, **kwargs: Any) -> bool:
    return False


_UNCHECKED: dict[Callable[..., Any], Callable[..., Any]] = {}


def _unchecked(func: Callable[..., Any]) -> Callable[..., Any]:
    """A copy of a ``torch.nn.functional`` Python function whose ``has_torch_function*``
    checks answer False, so it can run with the interceptor active: its inner
    ``scaled_dot_product_attention`` call is then intercepted instead of dispatching to a
    backend kernel. The copy shares the code object; only its globals lookup differs."""
    copy = _UNCHECKED.get(func)
    if copy is None:
        namespace = dict(func.__globals__)  # type: ignore[attr-defined]
        for name in ("has_torch_function", "has_torch_function_unary",
                     "has_torch_function_variadic"):  # fmt: skip
            namespace[name] = _never
        code = func.__code__  # type: ignore[attr-defined]
        copy = types.FunctionType(code, namespace, func.__name__, func.__defaults__,  # type: ignore[attr-defined]
                                  func.__closure__)  # type: ignore[attr-defined]  # fmt: skip
        copy.__kwdefaults__ = func.__kwdefaults__  # type: ignore[attr-defined]
        _UNCHECKED[func] = copy
    return copy


class FunctionInterceptor(TorchFunctionMode):
    """Turns attention and training dropout calls into single IR nodes (see module docstring)."""

    def __init__(self, recorder: Recorder) -> None:
        super().__init__()
        self.recorder = recorder
        self.attention_calls = 0

    def __torch_function__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
        kwargs = kwargs or {}
        if func is functional.scaled_dot_product_attention:
            return self._attention(func, args, kwargs)
        if func in _DROPOUTS:
            return self._dropout(func, args, kwargs)
        if func in _REENTERED:
            with self:
                return _unchecked(func)(*args, **kwargs)
        return func(*args, **kwargs)

    def _attention(self, func: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        with self.recorder.paused():
            out = _meta_attention(args, kwargs)
            if out is None:
                with sdpa_kernel([SDPBackend.MATH]):
                    out = func(*args, **kwargs)
        call = self.recorder.call(_ATEN_SDPA, bind(_ATEN_SDPA, args, kwargs), out)
        self.recorder.nodes.extend(lower_attention(call))
        self.attention_calls += 1
        return out

    def _dropout(self, func: Any, args: Any, kwargs: dict[str, Any]) -> Any:
        """F.dropout(input, p=0.5, training=True, inplace=False) and its 1d/2d/3d/alpha kin."""
        p = args[1] if len(args) > 1 else kwargs.get("p", 0.5)
        training = args[2] if len(args) > 2 else kwargs.get("training", True)
        if not training or not p:
            return func(*args, **kwargs)
        with self.recorder.paused():
            out = func(*args, **kwargs)
        x = args[0] if args else kwargs["input"]
        call = self.recorder.call(_ATEN_DROPOUT, {"input": x, "p": p, "train": True}, out)
        self.recorder.nodes.extend(lower_dropout(call))
        return out
