"""Every meta shortcut makes the outputs the real meta kernel makes (shape, dtype, strides)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest
import torch

from flopcount.frontends.torch_meta import ANY_DTYPE, SHORTCUTS, meta_shortcut

aten = torch.ops.aten


def meta(*shape: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.empty(shape, dtype=dtype, device="meta")


CASES: list[tuple[Any, Callable[[], tuple[tuple[Any, ...], dict[str, Any]]]]] = [
    (
        aten.native_batch_norm.default,
        lambda: ((meta(2, 3, 4, 5), meta(3), meta(3), meta(3), meta(3), False, 0.1, 1e-5), {}),
    ),
    (
        aten.native_batch_norm.default,
        lambda: (
            (meta(2, 3, 4, dtype=torch.bfloat16), None, None, None, None, True, 0.1, 1e-5),
            {},
        ),
    ),
    (aten.native_layer_norm.default, lambda: ((meta(2, 7, 8), [8], meta(8), meta(8), 1e-5), {})),
    (
        aten.native_layer_norm.default,
        lambda: ((meta(2, 7, 8, dtype=torch.float16), [7, 8], None, None, 1e-5), {}),
    ),
    (aten.mean.dim, lambda: ((meta(2, 3, 4, 5), [-1, -2], True), {})),
    (aten.mean.dim, lambda: ((meta(2, 3, 4, 5), [1]), {})),
    (aten.cat.default, lambda: (([meta(1, 1, 8), meta(1, 196, 8)], 1), {})),
    (aten.cat.default, lambda: (([meta(0), meta(4, 2)],), {})),
    (aten.addmm.default, lambda: ((meta(5), meta(3, 4), meta(4, 5)), {})),
    (aten.add.Tensor, lambda: ((meta(2, 1, 5), meta(3, 1)), {"alpha": 2})),
    (aten.mul.Tensor, lambda: ((meta(2, 3, dtype=torch.float16), meta(3)), {})),
    (aten.div.Tensor, lambda: ((meta(4, 4), 2.0), {})),
    (aten.mul.Scalar, lambda: ((meta(4, 4, dtype=torch.bfloat16), 0.5), {})),
    (aten.pow.Tensor_Scalar, lambda: ((meta(3, 3), 2), {})),
    (aten.pow.Scalar, lambda: ((10000.0, meta(8)), {})),
    (aten.relu.default, lambda: ((meta(2, 3, 4, 4).to(memory_format=torch.channels_last),), {})),
    (aten.gelu.default, lambda: ((meta(2, 5),), {"approximate": "tanh"})),
    (aten.rsqrt.default, lambda: ((meta(2, 5, dtype=torch.float64),), {})),
    (aten.tril.default, lambda: ((meta(4, 4, dtype=torch.bool),), {})),
    (
        aten.where.self,
        lambda: ((meta(1, 1, 4, 4, dtype=torch.bool), meta(2, 3, 4, 4), meta()), {}),
    ),
    (aten.arange.start_step, lambda: ((0, 128, 2), {"device": "meta"})),
    (aten.arange.start_step, lambda: ((0.0, 1.0, 0.3), {"device": "meta"})),
    (aten.arange.default, lambda: ((10,), {"device": "meta", "dtype": torch.float16})),
]


def _flat(out: Any) -> list[torch.Tensor]:
    return list(out) if isinstance(out, (tuple, list)) else [out]


@pytest.mark.parametrize(("func", "make"), CASES, ids=[str(f) for f, _ in CASES])
def test_shortcut_matches_the_meta_kernel(func: Any, make: Any) -> None:
    args, kwargs = make()
    shortcut = meta_shortcut(func, args, kwargs)
    assert shortcut is not None
    ours, theirs = _flat(shortcut()), _flat(func(*args, **kwargs))
    assert len(ours) == len(theirs)
    for mine, real in zip(ours, theirs):
        assert (mine.shape, mine.dtype, mine.device) == (real.shape, real.dtype, real.device)
        if mine.is_contiguous() != real.is_contiguous():
            assert mine.stride() == real.stride()


def test_every_shortcut_has_a_case() -> None:
    covered = {func for func, _ in CASES}
    missing = set(SHORTCUTS) | set(ANY_DTYPE)
    for func in covered:
        missing.discard(func)
    table = SHORTCUTS | ANY_DTYPE
    elementwise_like = {f for f in missing if table[f].__name__ in ("_like", "_broadcast")}
    assert missing == elementwise_like  # same code path as the covered relu/gelu/add cases


def test_no_shortcut_off_meta_or_for_integer_operands() -> None:
    assert meta_shortcut(aten.relu.default, (torch.ones(2),), {}) is None
    assert meta_shortcut(aten.add.Tensor, (meta(2, dtype=torch.int64), meta(2)), {}) is None
    assert meta_shortcut(aten.arange.default, (10,), {"device": "cpu"}) is None


def test_zoo_analysis_never_imports_dynamo() -> None:
    code = (
        "import sys, flopcount\n"
        "for name in ('resnet50', 'vit_b_16', 'gpt2', 'llama2-7b'):\n"
        "    flopcount.analyze('zoo:' + name, seq=16 if 'llama' in name else None)\n"
        "print('torch._dynamo' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"  # importing it costs more than these analyses


@pytest.mark.parametrize(
    ("func", "args"),
    [
        (aten.addmm.default, (meta(2), meta(2, 5), meta(4, 2))),  # inner dims 5 vs 4
        (aten.cat.default, ([meta(2, 3), meta(2, 4)], 0)),  # dim 1 differs
        (aten.native_layer_norm.default, (meta(2, 7), [8], None, None, 1e-5)),
        (
            aten.native_batch_norm.default,
            (meta(2, 3, 4), meta(4), None, None, None, True, 0.1, 1e-5),
        ),
        (aten.add.Tensor, (meta(2, 3), meta(4))),
    ],
)
def test_invalid_arguments_fail_as_the_kernel_does(func: Any, args: tuple[Any, ...]) -> None:
    shortcut = meta_shortcut(func, args, {})
    assert shortcut is not None
    with pytest.raises(RuntimeError):
        shortcut()


def test_a_broadcast_view_operand_gives_a_dense_result() -> None:
    view = meta(1, 8).expand(4, 8)  # stride (0, 1): overlapping memory
    for func, args in ((aten.relu.default, (view,)), (aten.add.Tensor, (view, meta(4, 8)))):
        shortcut = meta_shortcut(func, args, {})
        assert shortcut is not None
        out = shortcut()
        assert out.is_contiguous() and 0 not in out.stride()
        assert out.shape == func(*args).shape
