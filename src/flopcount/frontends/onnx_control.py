"""Control flow (If, Loop, Scan) and model-local functions of the ONNX frontend.

A body is lowered once, its nodes flattened into the graph with the scope
``<parent>.<attribute>.<inner scope>`` and ``attrs["repeat"]`` = how many times it runs (the
product of the enclosing trip counts); the analysis multiplies a node's cost by it:

- **Loop**: the trip count is the constant ``M`` input (or ``--dim '<loop>.trip_count=N'``).
  A body that can stop early (its condition output is computed) is counted ``M`` times, an
  upper bound, with a note. Without a static count the body counts once, flagged with
  ``attrs["trip_count_unknown"] = True`` and a note.
- **Scan**: the trip count is the scanned axis' length, known from shapes.
- **If**: a constant condition lowers the taken branch only. Otherwise both branches are costed
  and the larger (by FLOPs, then MACs) is kept in the graph; a note lists both totals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import onnx

from flopcount.errors import FlopcountError, FrontendError
from flopcount.frontends.onnx_values import Dim, Value, type_shape

if TYPE_CHECKING:
    from flopcount.frontends.onnx_graph import Env, Lowering

__all__ = ["CONTROL_FLOW", "Call", "inline_function"]


@dataclass(slots=True)
class Call:
    """One control-flow node being lowered: where it is and what it reads."""

    lowering: Lowering
    node: onnx.NodeProto
    ins: list[Value | None]
    env: Env
    attrs: dict[str, Any]
    prefix: str  # scope of the node's subgraphs
    repeat: int  # how many times the node itself runs

    @property
    def label(self) -> str:
        return self.node.name or self.prefix


ControlRule = Callable[[Call], list[Value]]


def _subgraph(node: onnx.NodeProto, name: str) -> onnx.GraphProto:
    for attr in node.attribute:
        if attr.name == name:
            return attr.g
    raise FrontendError(f"{node.op_type} node {node.name!r} has no {name!r} subgraph")


def _bind_inputs(lowering: Lowering, graph: onnx.GraphProto, env: Env, given: list[Value]) -> Env:
    """A child scope of ``env`` with the body's inputs bound to ``given`` (shapes, dtypes)."""
    scope = lowering.child(env)
    for proto, outer in zip(graph.input, given):
        dtype, shape, sequence = type_shape(proto.type, proto.name)
        scope[proto.name] = Value(
            name=proto.name, dtype=outer.dtype or dtype,
            shape=outer.shape if outer.shape is not None else lowering.symbols.shape(shape),
            sequence=sequence or outer.sequence, producer=f"input of subgraph {graph.name!r}",
        )  # fmt: skip
    lowering.add_initializers(graph, scope, set())
    return scope


def _result(name: str, inner: Value, shape: tuple[Dim, ...] | None, producer: str) -> Value:
    return Value(
        name=name, dtype=inner.dtype, shape=shape, sequence=inner.sequence, producer=producer
    )


def _lower_loop(call: Call) -> list[Value]:
    """Loop(M, cond, v_initial...) -> (v_final..., scan_outputs...)."""
    lowering, node, ins, attrs = call.lowering, call.node, call.ins, call.attrs
    body = _subgraph(node, "body")
    label = call.label
    trip = _trip_count(lowering, ins, label)
    if trip is None:
        attrs["trip_count_unknown"] = True
        lowering.notes.append(
            f"Loop {label!r}: trip count unknown from shapes; its body is counted once (bind "
            f"it with --dim '{label}.trip_count=N')"
        )
    elif body.output and body.input[1:2] and body.output[0].name != body.input[1].name:
        lowering.notes.append(
            f"Loop {label!r} may stop early (its condition is computed); counted all {trip} "
            "iterations, an upper bound"
        )
    attrs["trip_count"] = trip if trip is not None else 1
    counter = [Value("", "int64", ()), Value("", "bool", ())]
    carried = [v if v is not None else Value("") for v in ins[2:]]
    scope = _bind_inputs(lowering, body, call.env, counter + carried)
    lowering.lower_graph(body, scope, f"{call.prefix}.body", call.repeat * (trip or 1))
    producer = f"output of Loop node {label!r}"
    outs: list[Value] = []
    n_carried = len(carried)
    for i, name in enumerate(node.output):
        inner = scope[body.output[1 + i].name]
        if i < n_carried:
            outs.append(_result(name, inner, inner.shape, producer))
        else:
            lead: Dim = trip if trip is not None else f"{name}[0]"
            shape = None if inner.shape is None else (lead, *inner.shape)
            outs.append(_result(name, inner, shape, producer))
    return outs


def _trip_count(lowering: Lowering, ins: list[Value | None], label: str) -> int | None:
    bound = lowering.symbols.resolve(f"{label}.trip_count")
    if isinstance(bound, int):
        return bound
    m = ins[0] if ins else None
    if m is None or m.value is None or m.value.size != 1:
        return None
    return max(int(m.value.reshape(())), 0)


def _lower_scan(call: Call) -> list[Value]:
    """Scan(states..., scan_inputs...) (opset 9+) -> (final states..., scan_outputs...)."""
    lowering, node, attrs = call.lowering, call.node, call.attrs
    body = _subgraph(node, "body")
    label = call.label
    n_scan = int(attrs.get("num_scan_inputs", 1))
    given = [v if v is not None else Value("") for v in call.ins]
    states, scans = given[: len(given) - n_scan], given[len(given) - n_scan :]
    in_axes = attrs.get("scan_input_axes") or [0] * n_scan
    slices, trip = [], None
    for value, axis in zip(scans, in_axes):
        shape = value.concrete
        if shape is None:
            slices.append(Value(value.name, value.dtype, None))
            continue
        axis %= len(shape)
        trip = shape[axis] if trip is None else trip
        slices.append(Value(value.name, value.dtype, shape[:axis] + shape[axis + 1 :]))
    if trip is None:
        attrs["trip_count_unknown"] = True
        lowering.notes.append(f"Scan {label!r}: scan length unknown; body counted once")
    attrs["trip_count"] = trip if trip is not None else 1
    scope = _bind_inputs(lowering, body, call.env, states + slices)
    lowering.lower_graph(body, scope, f"{call.prefix}.body", call.repeat * (trip or 1))
    out_axes = attrs.get("scan_output_axes") or [0] * (len(node.output) - len(states))
    producer = f"output of Scan node {label!r}"
    outs = []
    for i, name in enumerate(node.output):
        inner = scope[body.output[i].name]
        stacked = inner.shape
        if i >= len(states) and stacked is not None:
            axis = out_axes[i - len(states)] % (len(stacked) + 1)
            lead: Dim = trip if trip is not None else f"{name}[{axis}]"
            stacked = (*stacked[:axis], lead, *stacked[axis:])
        outs.append(_result(name, inner, stacked, producer))
    return outs


def _branch_total(nodes: list[Any]) -> tuple[int, int]:
    """(FLOPs, MACs) of lowered nodes by the registered formulas (unsupported count 0)."""
    from flopcount.costs import REGISTRY

    flops = macs = 0
    for item in nodes:
        try:
            cost = REGISTRY.cost(item)
        except FlopcountError:
            cost = None
        if cost is not None:
            times = int(item.attrs.get("repeat", 1))
            flops, macs = flops + cost.flops * times, macs + cost.macs * times
    return flops, macs


def _lower_if(call: Call) -> list[Value]:
    """If(cond) -> the outputs of the branch counted (see the module docstring)."""
    lowering, node, ins, label = call.lowering, call.node, call.ins, call.label
    cond = ins[0].value if ins and ins[0] is not None else None
    names = ["then_branch", "else_branch"]
    if cond is not None and cond.size == 1:
        names = [names[0] if bool(cond.reshape(())) else names[1]]
    lowered: dict[str, tuple[list[Any], Env]] = {}
    errors: list[FlopcountError] = []
    saved = lowering.nodes
    for name in names:
        branch = _subgraph(node, name)
        lowering.nodes = []
        scope = _bind_inputs(lowering, branch, call.env, [])
        try:
            lowering.lower_graph(branch, scope, f"{call.prefix}.{name}", call.repeat)
            lowered[name] = (lowering.nodes, scope)
        except FlopcountError as exc:
            errors.append(exc)
    lowering.nodes = saved
    if not lowered:
        raise errors[0]
    totals = {name: _branch_total(nodes) for name, (nodes, _) in lowered.items()}
    chosen = max(totals, key=totals.__getitem__)
    if len(names) == 2:
        described = "; ".join(f"{n}: {f:,} FLOPs, {m:,} MACs" for n, (f, m) in totals.items())
        lowering.notes.append(
            f"If {label!r}: condition unknown from shapes ({described}); counted {chosen}"
            + (" (the other branch could not be lowered)" if errors else ", the larger")
        )
    call.attrs["branch"] = chosen
    nodes, scope = lowered[chosen]
    lowering.nodes.extend(nodes)
    branch = _subgraph(node, chosen)
    producer = f"output of If node {label!r}"
    return [
        _result(name, scope[out.name], scope[out.name].shape, producer)
        for name, out in zip(node.output, branch.output)
    ]


CONTROL_FLOW: dict[str, ControlRule] = {"Loop": _lower_loop, "Scan": _lower_scan, "If": _lower_if}


def inline_function(
    lowering: Lowering, node: onnx.NodeProto, env: Env, prefix: str, repeat: int
) -> None:
    """Lower a call of a model-local function by lowering its body in place of the call."""
    function = lowering.functions[(node.domain, node.op_type)]
    tag = node.name or f"{node.op_type}_{lowering.count}"
    rename = dict(zip(function.input, node.input))
    rename.update(zip(function.output, node.output))
    given = {a.name: a for a in node.attribute}
    defaults = {a.name: a for a in function.attribute_proto}
    body = onnx.GraphProto()
    for inner in function.node:
        copy = body.node.add()
        copy.CopyFrom(inner)
        copy.name = f"{tag}/{inner.name or inner.op_type}"
        copy.input[:] = [rename.get(n, f"{tag}/{n}") if n else "" for n in inner.input]
        copy.output[:] = [rename.get(n, f"{tag}/{n}") if n else "" for n in inner.output]
        attributes = []
        for attr in copy.attribute:
            if attr.ref_attr_name:
                source = given.get(attr.ref_attr_name) or defaults.get(attr.ref_attr_name)
                if source is None:
                    continue
                resolved = onnx.AttributeProto()
                resolved.CopyFrom(source)
                resolved.name = attr.name
                attributes.append(resolved)
            else:
                attributes.append(attr)
        del copy.attribute[:]
        copy.attribute.extend(attributes)
    saved, lowering.fixed_scope = lowering.fixed_scope, prefix  # the body runs in the call's scope
    try:
        lowering.lower_graph(body, env, prefix, repeat)
    finally:
        lowering.fixed_scope = saved
