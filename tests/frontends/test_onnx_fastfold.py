"""The fast path's pure-Python folders against `onnx_fold`'s NumPy ones, on random inputs:
equal values (dtype, shape, numbers), ``None`` exactly where NumPy's give ``None``, or a
refusal (`NotFastError`), never a different answer."""

from __future__ import annotations

import random
from typing import Any

import numpy as np

from flopcount.frontends.onnx_fastfold import fast_fold
from flopcount.frontends.onnx_fold import fold
from flopcount.frontends.onnx_small import NotFastError, Small

BINARY = ["Add", "Sub", "Mul", "Div", "Mod", "Pow", "Equal", "Less", "Greater", "Max", "Min"]


def _array(rng: random.Random, shape: tuple[int, ...], dtype: str) -> np.ndarray:
    count = int(np.prod(shape))
    if dtype == "float32":
        values: list[Any] = [rng.uniform(-5, 5) for _ in range(count)]
    elif dtype == "bool":
        values = [rng.random() < 0.5 for _ in range(count)]
    else:
        values = [rng.randint(-9, 9) for _ in range(count)]
    return np.array(values, dtype=dtype).reshape(shape)


def _shape(rng: random.Random, rank: int) -> tuple[int, ...]:
    return tuple(rng.randint(1, 4) for _ in range(rank))


def _compare(op: str, arrays: list[np.ndarray], attrs: dict[str, Any]) -> str:
    """ "same", "declined", or a description of the difference."""
    expected = fold(op, arrays, attrs)
    smalls = [Small(str(a.dtype), a.shape, tuple(a.ravel().tolist())) for a in arrays]
    try:
        got = fast_fold(op, smalls, attrs)
    except NotFastError:
        return "declined"
    if expected is None or got is None:
        return "same" if expected is got else f"{op}: {expected} vs {got}"
    mine = (got.dtype, got.shape, got.tolist())
    theirs = (str(expected.dtype), expected.shape, expected.tolist())
    return "same" if mine == theirs else f"{op} {attrs}: {theirs} (NumPy) vs {mine}"


def _binary_case(rng: random.Random) -> tuple[str, list[np.ndarray], dict[str, Any]]:
    op, dtype = rng.choice(BINARY), rng.choice(["int64", "int32", "float32"])
    first = _shape(rng, rng.randint(0, 3))
    second = first[rng.randint(0, len(first)) :] if rng.random() < 0.7 else _shape(rng, 2)
    attrs = {"fmod": rng.randint(0, 1)} if op == "Mod" else {}
    return op, [_array(rng, first, dtype), _array(rng, second, dtype)], attrs


def _movement_case(rng: random.Random) -> tuple[str, list[np.ndarray], dict[str, Any]]:
    op = rng.choice(["Gather", "Slice", "Transpose", "Concat", "Unsqueeze", "Expand", "Cast"])
    x = _array(rng, _shape(rng, rng.randint(1, 3)), rng.choice(["int64", "float32"]))
    rank, size = x.ndim, x.shape[0]
    if op == "Gather":
        picks = [rng.randint(-size, size - 1) for _ in range(rng.randint(0, 3))]
        return op, [x, np.array(picks, dtype=np.int64)], {"axis": 0}
    if op == "Slice":
        bounds = [np.array([rng.randint(-6, 6)]) for _ in range(2)]
        steps = np.array([rng.choice([-2, -1, 1, 2, 3])])
        return op, [x, *bounds, np.array([rng.randrange(rank)]), steps], {}
    if op == "Transpose":
        perm = list(range(rank))
        rng.shuffle(perm)
        return op, [x], {"perm": perm}
    if op == "Concat":
        axis = rng.randrange(rank)
        other = list(x.shape)
        other[axis] = rng.randint(1, 3)
        return op, [x, _array(rng, tuple(other), str(x.dtype))], {"axis": axis - rank}
    if op == "Unsqueeze":
        return op, [x, np.array([rng.randint(-rank - 1, rank)])], {}
    if op == "Expand":
        return op, [x, np.array([rng.randint(1, 3)] + [1] * rank)], {}
    return op, [x], {"to": rng.choice([1, 6, 7, 9, 11])}


def test_pure_folders_match_numpy_on_random_inputs() -> None:
    rng = random.Random(20261128)
    outcomes = [_compare(*_binary_case(rng)) for _ in range(400)]
    outcomes += [_compare(*_movement_case(rng)) for _ in range(400)]
    differences = [o for o in outcomes if o not in ("same", "declined")]
    assert differences == []
    assert outcomes.count("same") >= 600  # most random cases fold exactly (697 when written)
