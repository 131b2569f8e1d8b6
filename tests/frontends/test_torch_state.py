"""PyTorch frontend: analysing leaves the model untouched; fake-tensor failures are handled."""

from __future__ import annotations

import warnings

import pytest

torch = pytest.importorskip("torch")
nn = torch.nn
F = torch.nn.functional

from test_torch_support import Encoder, TinyCnn, ops  # noqa: E402

from flopcount.errors import FrontendError  # noqa: E402
from flopcount.frontends.torch import lower  # noqa: E402


def _hook(*args: object) -> None:
    return None


def _snapshot(model: nn.Module) -> dict:
    return {
        "params": {n: (p.detach().clone(), p.requires_grad, p.device, p.data_ptr(), p.grad)
                   for n, p in model.named_parameters()},
        "buffers": {n: (b.clone(), b.data_ptr()) for n, b in model.named_buffers()},
        "training": {n: m.training for n, m in model.named_modules()},
        "hooks": {n: (dict(m._forward_hooks), dict(m._forward_pre_hooks),
                      dict(m._backward_hooks), dict(m._backward_pre_hooks))
                  for n, m in model.named_modules()},
        "global_hooks": (dict(nn.modules.module._global_forward_hooks),
                         dict(nn.modules.module._global_forward_pre_hooks)),
        "grad_enabled": torch.is_grad_enabled(),
        "fastpath": torch.backends.mha.get_fastpath_enabled(),
        "rng": torch.get_rng_state(),
    }  # fmt: skip


def _assert_same(before: dict, after: dict) -> None:
    for name, (value, requires_grad, device, ptr, grad) in before["params"].items():
        now = after["params"][name]
        assert torch.equal(value, now[0]), name
        assert (requires_grad, device, ptr, grad) == now[1:], name
    for name, (value, ptr) in before["buffers"].items():
        assert torch.equal(value, after["buffers"][name][0]) and ptr == after["buffers"][name][1]
    for key in ("training", "hooks", "global_hooks", "grad_enabled", "fastpath"):
        assert before[key] == after[key], key
    assert torch.equal(before["rng"], after["rng"])


def _decorated_model() -> nn.Module:
    model = nn.Sequential(TinyCnn(), nn.Linear(4, 2))
    model[0].conv.weight.requires_grad_(False)  # a frozen layer
    model[0].bn.eval()  # mixed modes: the flags must come back as they were
    model[0].register_forward_hook(_hook)
    model[1].register_forward_pre_hook(_hook)
    model[1].register_full_backward_hook(_hook)
    return model


@pytest.mark.parametrize("training", [False, True])
def test_model_is_untouched(training: bool) -> None:
    model, x = _decorated_model(), torch.randn(2, 3, 8, 8)
    before = _snapshot(model)
    graph = lower(model, x, training=training)
    assert len(graph.nodes) > 10
    _assert_same(before, _snapshot(model))


def test_grad_mode_is_restored_inside_no_grad() -> None:
    with torch.no_grad():
        lower(Encoder(), (1, 3, 16), training=True)
        assert not torch.is_grad_enabled()


def test_inference_mode_callers_get_the_same_graph() -> None:
    model = Encoder()
    reference = lower(model, (1, 3, 16), training=True)
    with torch.inference_mode():
        graph = lower(model, (1, 3, 16), training=True)
        assert torch.is_inference_mode_enabled()
    assert graph.nodes == reference.nodes


class DataDependent(nn.Module):
    """Python control flow on a tensor value: impossible on fake tensors."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(4, 4)
        self.bn = nn.BatchNorm1d(4)  # running statistics a real training run would update

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.sum() > 0:
            return self.bn(self.fc(x))
        return self.bn(self.fc(-x))


def test_data_dependent_model_falls_back_to_real_execution_with_a_warning() -> None:
    model = DataDependent()
    before = _snapshot(model)
    with pytest.warns(UserWarning, match="could not run on fake tensors"):
        graph = lower(model, (2, 4), training=True)
    assert any("for real on the CPU" in note for note in graph.notes)
    assert "Gemm" in ops(graph, "forward")
    assert "MatMul" in ops(graph)  # the backward's dW = dY^T @ X
    _assert_same(before, _snapshot(model))


def test_fallback_policies() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        graph = lower(DataDependent(), (2, 4), on_fake_failure="ignore")
    assert any("for real" in note for note in graph.notes)
    with pytest.raises(FrontendError, match="on_fake_failure='error'"):
        lower(DataDependent(), (2, 4), on_fake_failure="error")


def test_meta_model_that_needs_values_is_a_clear_error() -> None:
    with torch.device("meta"):
        model = DataDependent()
    with pytest.raises(FrontendError, match=r"DataDependent cannot run on fake tensors.*meta"):
        lower(model, (2, 4))


def test_a_model_broken_on_any_tensor_is_a_frontend_error() -> None:
    broken = r"failed on fake tensors .* and on real ones"
    with pytest.raises(FrontendError, match=broken), pytest.warns(UserWarning):
        lower(nn.Linear(4, 2), (2, 5))  # 5 input features for a 4-feature layer
