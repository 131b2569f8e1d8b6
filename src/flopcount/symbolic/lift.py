"""Lift the graphs lowered at the sample points into one graph with symbolic dimensions.

The graphs must be the same program: the same nodes (op, scope, domain, phase) in the same
order with the same tensor ranks and dtypes; otherwise the model's control flow depends on a
symbol and `check_structure` raises `SymbolicError`. Each tensor dimension (and each integer
attribute that changes between points) is then fitted (`flopcount.symbolic.fit`) and becomes
a `SymInt` holding the reference point's value and the fitted expression. A node with a
dimension or attribute that cannot be fitted keeps its reference values and is listed as not
symbolic with the reason.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from flopcount.ir import Graph, Node, TensorSpec
from flopcount.symbolic.bindings import SymbolicError
from flopcount.symbolic.fit import Fit, Fitter
from flopcount.symbolic.rules import is_window_op, window_output_sizes
from flopcount.symbolic.symint import SymInt, as_poly

__all__ = ["Lifted", "check_structure", "lift"]

Point = Mapping[str, int]
# Where a tensor sits, formatted only for an error: (role, input/output index or parameter
# name, node index or -1).
Where = tuple[str, int | str, int]


def _describe(where: Where) -> str:
    role, which, index = where
    if role in ("input", "output"):
        return f"{role} {which} of node #{index}"
    return f"{role} {which}".strip()


def _differing(points: Sequence[Point], a: int, b: int) -> str:
    names = [s for s in points[a] if points[a][s] != points[b][s]] or list(points[a])
    return ", ".join(names)


def _where(point: Point) -> str:
    return ", ".join(f"{k}={v}" for k, v in point.items())


def _node_label(node: Node) -> str:
    return f"{node.op} in scope {node.scope or '<top>'!r}"


def check_structure(graphs: Sequence[Graph], points: Sequence[Point]) -> None:
    """Raise `SymbolicError` unless every graph runs the same nodes in the same order."""
    first = graphs[0]
    for k, graph in enumerate(graphs[1:], 1):
        differ = _differing(points, 0, k)
        for index, (a, b) in enumerate(zip(first.nodes, graph.nodes)):
            same = (a.op, a.scope, a.domain, a.phase) == (b.op, b.scope, b.domain, b.phase)
            if not same or len(a.inputs) != len(b.inputs) or len(a.outputs) != len(b.outputs):
                raise SymbolicError(
                    f"control flow depends on symbol {differ}: node #{index} is "
                    f"{_node_label(a)} at {_where(points[0])} but {_node_label(b)} at "
                    f"{_where(points[k])}; analyse fixed sizes on each side of the branch"
                )
        if len(first.nodes) != len(graph.nodes):
            raise SymbolicError(
                f"control flow depends on symbol {differ}: the graph has {len(first.nodes)} "
                f"nodes at {_where(points[0])} but {len(graph.nodes)} at {_where(points[k])}; "
                "analyse fixed sizes on each side of the branch"
            )
        if set(first.parameters) != set(graph.parameters):
            raise SymbolicError(
                f"the model's parameters depend on symbol {differ}: they differ between "
                f"{_where(points[0])} and {_where(points[k])}"
            )


@dataclass
class Lifted:
    """The symbolic graph and what could not be lifted.

    ``bad[i]`` says why node ``i`` is not symbolic; ``ambiguous`` is True when more sample
    points might resolve it. ``param_bad`` names parameters whose size could not be fitted.
    """

    graph: Graph
    bad: dict[int, str] = field(default_factory=dict)
    ambiguous: bool = False
    param_bad: dict[str, str] = field(default_factory=dict)


class _Lifter:
    """Two passes over aligned specs: collect value vectors, then rebuild with `SymInt`s."""

    def __init__(self, graphs: Sequence[Graph], points: Sequence[Point], ref: int) -> None:
        self.graphs, self.points, self.ref = graphs, points, ref
        self.symbols = tuple(points[0])
        self.vectors: dict[tuple[int, ...], None] = {}
        self.fits: dict[tuple[int, ...], Fit] = {}
        self._shapes: dict[tuple[tuple[int, ...], ...], tuple[tuple[int, ...], str]] = {}
        self._lifted: dict[tuple[int, ...], tuple[TensorSpec, str]] = {}

    # pass 1 ----------------------------------------------------------------------------------
    def collect_specs(self, specs: Sequence[TensorSpec], where: Where) -> None:
        shapes = {s.shape for s in specs}
        if len(shapes) == 1:
            return
        if len({len(s) for s in shapes}) > 1 or len({s.dtype for s in specs}) > 1:
            found = ", ".join(f"{s.shape} {s.dtype}" for s in specs)
            raise SymbolicError(
                f"the rank or dtype of {_describe(where)} depends on the symbols ({found}); "
                "the model's structure changes with the sizes"
            )
        self.vectors.update(dict.fromkeys(zip(*(s.shape for s in specs))))

    def collect_attrs(self, nodes: Sequence[Node]) -> None:
        for value in _changed_attrs(nodes).values():
            if isinstance(value[0], int):
                self.vectors[tuple(value)] = None
            elif isinstance(value[0], (list, tuple)) and len({len(v) for v in value}) == 1:
                for axis in range(len(value[0])):
                    column = tuple(v[axis] for v in value)
                    if all(isinstance(x, int) for x in column):
                        self.vectors[column] = None

    def fit(self, columns: Sequence[Sequence[Node]]) -> None:
        """Fit every vector: forms 1-3, then the window rules, then polynomials of floors."""
        fitter = Fitter(self.symbols, self.points)
        self.fits = fitter.fit_all(self.vectors)
        for nodes in columns:
            self._window_rule(nodes)
        unresolved = [v for v, f in self.fits.items() if f.poly is None]
        if unresolved:
            floors = [a for f in self.fits.values() if f.poly is not None for a in f.poly.floors]
            self.fits.update(fitter.fit_with_floors(unresolved, floors))
        self._shapes.clear()  # lifted with the fits of the rules' time: lift again
        self._lifted.clear()

    def _window_rule(self, nodes: Sequence[Node]) -> None:
        """Output sizes of a conv / pool from its input's expressions (`rules`), if they agree
        with the observed sizes at every point (they then replace any data fit)."""
        node = nodes[self.ref]
        if not is_window_op(node) or not node.outputs or node.inputs[0].rank < 3:
            return
        if _changed_attrs(nodes) or all(n.inputs[0].shape == node.inputs[0].shape for n in nodes):
            return
        x, reason = self.spec([n.inputs[0] for n in nodes])
        sizes = None if reason else window_output_sizes(node, x.shape[2:])
        for axis, size in enumerate(sizes or ()):
            vector = tuple(n.outputs[0].shape[axis + 2] for n in nodes)
            poly = as_poly(size)
            if all(poly.evaluate(p) == v for p, v in zip(self.points, vector)):
                self.fits[vector] = Fit(poly)

    # pass 2 ----------------------------------------------------------------------------------
    def dim(self, vector: tuple[int, ...]) -> tuple[int, str]:
        """The lifted dimension and, if it could not be fitted, the reason."""
        value = vector[self.ref]
        if len(set(vector)) == 1:
            return value, ""
        found = self.fits[vector]
        if found.poly is None:
            return value, found.reason
        return SymInt(value, found.poly), ""

    def spec(self, specs: Sequence[TensorSpec]) -> tuple[TensorSpec, str]:
        """The lifted spec of one tensor seen at every point (the same aligned spec objects
        give the same lifted object, so the lifted graph shares specs as the graphs do)."""
        key = tuple(map(id, specs))  # the graphs hold every spec alive while lifting
        found = self._lifted.get(key)
        if found is None:
            found = self._lifted[key] = self._lift_spec(specs)
        return found

    def _lift_spec(self, specs: Sequence[TensorSpec]) -> tuple[TensorSpec, str]:
        ref = specs[self.ref]
        shapes = tuple(s.shape for s in specs)
        if shapes.count(ref.shape) == len(shapes):
            return ref, ""
        if shapes not in self._shapes:  # many tensors share a shape: lift each shape once
            lifted, reasons = [], []
            for axis, vector in enumerate(zip(*shapes)):
                dim, reason = self.dim(vector)
                lifted.append(dim)
                if reason:
                    reasons.append(f"dimension {axis}: {reason}")
            self._shapes[shapes] = tuple(lifted), "; ".join(reasons)
        dims, why = self._shapes[shapes]
        where = f"{ref.name or 'a tensor'} {why}" if why else ""
        return _spec(dims, ref), where

    def attrs(self, nodes: Sequence[Node]) -> tuple[Mapping[str, Any], str]:
        changed = _changed_attrs(nodes)
        ref = nodes[self.ref]
        if not changed:
            return ref.attrs, ""
        attrs, reasons = dict(ref.attrs), []
        for key, values in changed.items():
            lifted, reason = self._attr(values)
            attrs[key] = lifted
            if reason:
                reasons.append(f"attribute {key} ({reason})")
        return attrs, "; ".join(reasons)

    def _attr(self, values: list[Any]) -> tuple[Any, str]:
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return self.dim(tuple(values))
        lists = all(isinstance(v, (list, tuple)) for v in values)
        if lists and len({len(v) for v in values}) == 1:
            out, reasons = [], []
            for axis in range(len(values[0])):
                column = tuple(v[axis] for v in values)
                if not all(isinstance(x, int) for x in column):
                    return values[self.ref], f"takes the values {values}"
                dim, reason = self.dim(column)
                out.append(dim)
                reasons.append(reason)
            return type(values[self.ref])(out), "; ".join(r for r in reasons if r)
        return values[self.ref], f"takes the values {values} at the sample points"


def _spec(dims: tuple[int, ...], ref: TensorSpec) -> TensorSpec:
    """``ref`` with shape ``dims``, skipping `TensorSpec`'s validation: every dimension is a
    value (or a `SymInt` of a value) of an already validated spec, and checking thousands of
    them again would cost more than the rest of the lifting."""
    spec = object.__new__(TensorSpec)
    for name, value in (("shape", dims), ("dtype", ref.dtype), ("name", ref.name),
                        ("kind", ref.kind)):  # fmt: skip
        object.__setattr__(spec, name, value)
    return spec


def _changed_attrs(nodes: Sequence[Node]) -> dict[str, list[Any]]:
    """Attributes whose value differs between the sample points: key -> value per point."""
    first = nodes[0].attrs
    if all(n.attrs == first for n in nodes[1:]):
        return {}
    keys = dict.fromkeys(k for n in nodes for k in n.attrs)
    return {
        k: [n.attrs.get(k) for n in nodes]
        for k in keys
        if any(n.attrs.get(k) != first.get(k) for n in nodes[1:])
    }


def lift(graphs: Sequence[Graph], points: Sequence[Point], ref: int) -> Lifted:
    """The symbolic graph of ``graphs`` (one per point; reference values from ``graphs[ref]``)."""
    lifter = _Lifter(graphs, points, ref)
    columns = list(zip(*(g.nodes for g in graphs)))
    names = list(graphs[ref].parameters)
    for index, nodes in enumerate(columns):
        for j, specs in enumerate(zip(*(n.inputs for n in nodes))):
            lifter.collect_specs(specs, ("input", j, index))
        for j, specs in enumerate(zip(*(n.outputs for n in nodes))):
            lifter.collect_specs(specs, ("output", j, index))
        lifter.collect_attrs(nodes)
    for name in names:
        lifter.collect_specs([g.parameters[name] for g in graphs], ("parameter", name, -1))
    for attr in ("inputs", "outputs"):
        for specs in zip(*(getattr(g, attr) for g in graphs)):
            lifter.collect_specs(specs, (f"a graph {attr[:-1]}", "", -1))
    lifter.fit(columns)
    lifted = Lifted(Graph())
    nodes_out = []
    for index, nodes in enumerate(columns):
        ins = [lifter.spec(specs) for specs in zip(*(n.inputs for n in nodes))]
        outs = [lifter.spec(specs) for specs in zip(*(n.outputs for n in nodes))]
        attrs, attr_reason = lifter.attrs(nodes)
        reasons = [r for _, r in (*ins, *outs) if r] + ([attr_reason] if attr_reason else [])
        node = nodes[ref]
        if reasons:
            lifted.bad[index] = "; ".join(reasons)
        inputs, outputs = tuple(s for s, _ in ins), tuple(s for s, _ in outs)
        same = all(a is b for a, b in zip((*inputs, *outputs), (*node.inputs, *node.outputs)))
        if not same or attrs is not node.attrs:
            node = Node(node.op, inputs, outputs, attrs, node.scope, node.name, node.domain,
                        node.phase)  # fmt: skip
        nodes_out.append(node)
    lifted.ambiguous = any(f.ambiguous or f.poly is None for f in lifter.fits.values())
    parameters = {}
    for name in names:
        parameters[name], reason = lifter.spec([g.parameters[name] for g in graphs])
        if reason:
            lifted.param_bad[name] = reason
    base = graphs[ref]
    lifted.graph = replace(
        base,
        nodes=nodes_out,
        inputs=[lifter.spec(s)[0] for s in zip(*(g.inputs for g in graphs))],
        outputs=[lifter.spec(s)[0] for s in zip(*(g.outputs for g in graphs))],
        parameters=parameters,
        notes=list(base.notes),
    )
    return lifted
