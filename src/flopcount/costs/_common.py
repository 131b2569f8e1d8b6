"""Helpers every cost formula shares: errors with context, arity and rank checks, shape maths.

Conventions these helpers fix once for all formulas (``docs/conventions.md`` explains them):

- An *absent optional input* is an index past the end of ``node.inputs`` or a spec with zero
  elements (ONNX spells a skipped optional input as the empty name; frontends lower it to a
  zero-element spec when a later input is present).
- *Accumulations*: ``flops`` counts one add per accumulated term (the accumulator starts at
  zero, as ``2 * macs`` does); ``flops_exact`` skips the first add of every accumulation.
- Arithmetic of an op whose inputs are all integer or boolean tensors (shape computations,
  index maths) is integer work: it goes to ``int_ops``, never to ``flops``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from flopcount.costs.cost import Cost
from flopcount.errors import CostError
from flopcount.ir import Node, TensorSpec

__all__ = [
    "FLOAT_DTYPES",
    "accumulations",
    "arithmetic",
    "broadcast",
    "cost_error",
    "flops",
    "int_attr",
    "normalize_axis",
    "optional_input",
    "require_inputs",
    "require_rank",
    "result_numel",
]

FLOAT_DTYPES = frozenset(
    {"float64", "float32", "float16", "bfloat16", "float8", "float8_e4m3fn", "float8_e5m2",
     "complex64", "complex128"}
)  # fmt: skip


def cost_error(node: Node, problem: str, fix: str = "") -> CostError:
    """A `CostError` naming the node's op, name, scope and tensor shapes, the problem and a fix.

    Every formula raises through this one helper so that messages look alike::

        cannot cost Conv 'conv1' in scope 'stem': ... (inputs (1, 3, 8, 8), (4, 3) -> outputs
        none); <fix>
    """
    label = f"{node.op} {node.name!r}" if node.name else node.op
    where = f" in scope {node.scope!r}" if node.scope else ""
    ins = ", ".join(str(t.shape) for t in node.inputs) or "none"
    outs = ", ".join(str(t.shape) for t in node.outputs) or "none"
    advice = fix or "check the frontend's lowering of this op against the ONNX operator spec"
    return CostError(
        f"cannot cost {label}{where}: {problem} (inputs {ins} -> outputs {outs}); {advice}"
    )


def require_inputs(node: Node, minimum: int, maximum: int | None = None) -> None:
    """Raise `CostError` unless ``minimum <= len(node.inputs) <= maximum``."""
    count = len(node.inputs)
    top = minimum if maximum is None else maximum
    if not minimum <= count <= top:
        wanted = str(minimum) if top == minimum else f"{minimum} to {top}"
        raise cost_error(node, f"expected {wanted} inputs, got {count}")


def require_rank(node: Node, index: int, minimum: int, maximum: int | None = None) -> TensorSpec:
    """Input ``index`` after checking ``minimum <= rank <= maximum`` (``None``: no upper bound)."""
    spec = node.inputs[index]
    if spec.rank < minimum or (maximum is not None and spec.rank > maximum):
        bound = f"at least {minimum}" if maximum is None else f"{minimum} to {maximum}"
        if maximum == minimum:
            bound = str(minimum)
        raise cost_error(node, f"input {index} has rank {spec.rank}, expected rank {bound}")
    return spec


def optional_input(node: Node, index: int) -> TensorSpec | None:
    """Input ``index`` or ``None`` when absent (past the end, or a zero-element placeholder)."""
    if index >= len(node.inputs) or node.inputs[index].numel == 0:
        return None
    return node.inputs[index]


def int_attr(node: Node, key: str, default: int) -> int:
    """An integer attribute (bools accepted as 0/1); anything else raises `CostError`."""
    value = node.attr(key, default)
    if isinstance(value, bool):
        return int(value)
    if not isinstance(value, int):
        raise cost_error(node, f"attribute {key}={value!r} must be an integer")
    return value


def normalize_axis(node: Node, axis: int, rank: int) -> int:
    """``axis`` in ``[0, rank)`` (negative axes count from the end), else `CostError`."""
    if not -rank <= axis < rank:
        raise cost_error(node, f"axis {axis} is out of range for rank {rank}")
    return axis % rank


def broadcast(node: Node, shapes: Sequence[tuple[int, ...]]) -> tuple[int, ...]:
    """NumPy broadcasting of ``shapes`` (ONNX multidirectional broadcasting), else `CostError`."""
    rank = max((len(s) for s in shapes), default=0)
    result = []
    for axis in range(-rank, 0):
        sizes = {s[axis] for s in shapes if len(s) >= -axis} - {1}
        if len(sizes) > 1:
            raise cost_error(node, f"shapes {list(shapes)} do not broadcast on axis {axis}")
        result.append(sizes.pop() if sizes else 1)
    return tuple(result)


def result_numel(node: Node) -> int:
    """Elements of the (first) output: its spec if the frontend gave one, else the broadcast of
    the inputs (elementwise semantics)."""
    if node.outputs:
        return node.outputs[0].numel
    if not node.inputs:
        raise cost_error(node, "no inputs and no outputs to size the result")
    return math.prod(broadcast(node, [t.shape for t in node.inputs]))


def flops(count: int, exact: int | None = None) -> Cost:
    """``count`` floating-point operations (``exact`` of them really performed, if different)."""
    return Cost(flops=count, flops_exact=count if exact is None else exact)


def accumulations(rows: int, length: int) -> Cost:
    """``rows`` accumulations (sums, running max...) of ``length`` terms each.

    ``flops`` = rows * length (one op per term into a zero-initialised accumulator, the
    convention of ``2 * macs``); ``flops_exact`` = rows * (length - 1) (the first term only
    initialises). Example: summing 4 rows of 8 is 32 FLOPs, 28 exact.
    """
    return flops(rows * length, rows * max(length - 1, 0))


def arithmetic(node: Node, cost: Cost) -> Cost:
    """``cost`` as floating-point work, or moved to ``int_ops`` when no input is floating-point.

    ``Add`` of two int64 shape tensors is integer work; ``Pow(float, int)`` or
    ``Where(bool, float, float)`` is floating-point because one operand is.
    """
    if any(t.dtype in FLOAT_DTYPES for t in node.inputs):
        return cost
    return Cost(macs=cost.macs, int_ops=cost.flops)
