"""Cost formula of Einsum: the operands contracted pairwise, left to right, as written.

For two operands the naive loop visits every point of the joint index space once and does one
multiply-accumulate there, so MACs = product of the sizes of all distinct letters
(``bij,bjk->bik``: B * I * J * K, the batched matmul). With more operands the formula contracts
left to right (``torch.einsum``'s order without opt_einsum): each step costs its joint index
space in MACs and keeps only the letters a later operand or the output still needs. No
contraction-order optimisation and no pre-reduction of single-operand letters is assumed.

One operand does no multiplications: ``ij->ji`` and ``ii->i`` (transpose, diagonal) are free,
``ii->`` (trace) and ``ij->j`` are reductions of ``space - outputs`` adds (exact). Ellipses
``...`` broadcast like NumPy; the implicit output (no ``->``) is the ellipsis dims then the
letters used once, alphabetically (``numpy.einsum`` docs).
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from flopcount.costs._common import accumulations, arithmetic, cost_error, flops
from flopcount.costs.cost import ZERO, Cost
from flopcount.costs.registry import register
from flopcount.ir import Node

__all__ = ["einsum", "einsum_labels"]

Labels = tuple[str, ...]
ELLIPSIS = "..."


def _split_term(node: Node, term: str, rank: int | None) -> Labels:
    """One term's labels. In an operand (``rank`` given) ellipsis dims become ``...0``,
    ``...1``... numbered from the right, so they align like NumPy broadcasting; in the output
    (``rank`` None) the ellipsis stays one ``...`` label for the caller to expand."""
    head, dots, tail = term.partition(ELLIPSIS)
    letters = head + tail
    if not all(ch.isalpha() for ch in letters) or ELLIPSIS in tail:
        raise cost_error(node, f"einsum term {term!r} must hold letters and at most one '...'")
    if rank is None:
        return (*head, *((ELLIPSIS,) if dots else ()), *tail)
    n_ell = rank - len(letters)
    if n_ell < 0 or (n_ell and not dots):
        raise cost_error(node, f"einsum term {term!r} does not match an operand of rank {rank}")
    return (*head, *(f"...{n_ell - 1 - i}" for i in range(n_ell)), *tail)


def _bind_sizes(node: Node, operands: list[Labels]) -> dict[str, int]:
    """Size of every label; size-1 dims broadcast, other disagreements raise `CostError`."""
    sizes: dict[str, int] = {}
    for labels, spec in zip(operands, node.inputs):
        for label, size in zip(labels, spec.shape):
            known = sizes.get(label, size)
            if known != size and 1 not in (known, size):
                raise cost_error(node, f"einsum label {label!r} is both {known} and {size}")
            sizes[label] = max(known, size) if 1 in (known, size) else size
    return sizes


def _from_right(label: str) -> int:
    """Position of an ellipsis label counted from the right (``...0`` is the last dim)."""
    return int(label[len(ELLIPSIS) :])


def einsum_labels(node: Node) -> tuple[list[Labels], Labels, dict[str, int]]:
    """(operand labels, output labels, label sizes) of the node's ``equation``."""
    equation = str(node.attr("equation", "")).replace(" ", "")
    lhs, arrow, rhs = equation.partition("->")
    terms = lhs.split(",")
    if not equation or len(terms) != len(node.inputs):
        raise cost_error(
            node,
            f"equation {equation!r} names {len(terms)} operands but the "
            f"node has {len(node.inputs)} inputs",
        )
    operands = [_split_term(node, t, spec.rank) for t, spec in zip(terms, node.inputs)]
    sizes = _bind_sizes(node, operands)
    dims = sorted((lab for lab in sizes if lab.startswith(ELLIPSIS)), key=_from_right, reverse=True)
    if arrow:
        out = _split_term(node, rhs, None)
        if ELLIPSIS in out:
            at = out.index(ELLIPSIS)
            out = (*out[:at], *dims, *out[at + 1 :])
    else:
        used = [lab for ops in operands for lab in ops if not lab.startswith(ELLIPSIS)]
        out = (*dims, *sorted(lab for lab in set(used) if used.count(lab) == 1))
    if any(lab not in sizes for lab in out) or len(set(out)) != len(out):
        raise cost_error(node, f"output of {equation!r} repeats a label or uses an unknown one")
    return operands, out, sizes


def _space(labels: Iterable[str], sizes: dict[str, int]) -> int:
    return math.prod(sizes[lab] for lab in set(labels))


@register("Einsum")
def einsum(node: Node) -> Cost:
    """MACs of the pairwise left-to-right contraction; see the module docstring.

    Example: ``bhqd,bhkd->bhqk`` with (2, 4, 8, 16) and (2, 4, 10, 16) is one step over
    b, h, q, k, d: 2 * 4 * 8 * 10 * 16 = 10,240 MACs.
    """
    if not node.inputs:
        raise cost_error(node, "Einsum needs at least one input")
    operands, out, sizes = einsum_labels(node)
    if len(operands) == 1:
        space, kept = _space(operands[0], sizes), _space(out, sizes)
        return ZERO if space == kept else arithmetic(node, accumulations(kept, space // kept))
    total, current = ZERO, set(operands[0])
    for step in range(1, len(operands)):
        joint = current | set(operands[step])
        later = set(out).union(*operands[step + 1 :])
        current = joint & later
        space, kept = _space(joint, sizes), _space(current, sizes)
        total += Cost(macs=space) + flops(2 * space, 2 * space - kept)
    return arithmetic(node, total)
