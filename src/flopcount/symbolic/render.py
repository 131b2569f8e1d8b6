"""Renderers of a `SymbolicReport`: a text table and JSON (schema ``flopcount.symbolic/1``).

Expressions are printed as sympy's ``str()`` of the expanded expression: ``*``, ``**``, ``+``,
``-``, ``/`` between integers, and ``floor(...)``; ``sympy.sympify`` parses them back
(``docs/symbolic.md``). A peak made of several expressions prints as ``Max(a, b)``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flopcount.report.format import format_bytes, format_count
from flopcount.symbolic.bindings import SymbolicError
from flopcount.symbolic.costs import FIELDS
from flopcount.symbolic.expr import Poly
from flopcount.symbolic.report import SymAggregate, SymbolicReport

__all__ = ["SCHEMA", "SymbolicView", "expr_text", "render_symbolic"]

SCHEMA = "flopcount.symbolic/1"
_HEAD = ("macs", "flops", "flops_exact", "bytes_read", "bytes_written")
_LABEL = {
    "macs": "MACs",
    "flops": "FLOPs",
    "flops_exact": "exact FLOPs",
    "int_ops": "int ops",
    "bytes_read": "bytes read",
    "bytes_written": "bytes written",
}


@dataclass(frozen=True)
class SymbolicView:
    """What to show besides the totals: grouping, evaluation point, sweep."""

    by: str = "scope"
    depth: int = 2
    limit: int | None = None
    at: Mapping[str, int] = field(default_factory=dict)
    sweep: tuple[str, int, int] | None = None


def expr_text(poly: Poly) -> str:
    """The documented expression syntax: sympy ``str()`` of the expanded expression."""
    return str(poly.to_sympy())


def _peak_text(polys: Sequence[Poly]) -> str | None:
    if not polys:
        return None
    texts = [expr_text(p) for p in polys]
    return texts[0] if len(texts) == 1 else f"Max({', '.join(texts)})"


def _groups(report: SymbolicReport, view: SymbolicView) -> list[SymAggregate]:
    groups = report.by_op() if view.by == "op" else report.scope_tree(view.depth)
    return groups[: view.limit] if view.limit else groups


# -- JSON ------------------------------------------------------------------------------------


def _cost_dict(cost: Any) -> dict[str, str]:
    return {name: expr_text(cost.get(name)) for name in FIELDS}


def _excluded(report: SymbolicReport) -> dict[str, int]:
    return {name: len(report.excluded(name)) for name in FIELDS}


def to_dict(report: SymbolicReport, view: SymbolicView) -> dict[str, Any]:
    """The JSON document (``docs/formats.md``, schema ``flopcount.symbolic/1``)."""

    def aggregate(a: SymAggregate) -> dict[str, Any]:
        return {
            "key": a.key,
            "nodes": a.nodes,
            **_cost_dict(a.cost),
            "not_symbolic": a.not_symbolic,
            "unsupported": a.unsupported,
        }

    out: dict[str, Any] = {
        "schema": SCHEMA,
        "model": report.model,
        "framework": report.framework,
        "convention": report.convention,
        "unit": report.unit,
        "symbols": list(report.symbols),
        "points": report.points,
        "reference": report.reference,
        "total": _cost_dict(report.total),
        "peak_activation_bytes": _peak_text(report.peak_activation_bytes),
        "valid": {s: list(r) for s, r in report.valid.items()},
        "valid_why": report.valid_why,
        "leading_terms": {s: expr_text(p) for s, p in report.leading(report.total.count).items()},
        "crossovers": report.crossovers(view.at),
        "by_family": [aggregate(a) for a in report.by_family()],
        "by_op": [aggregate(a) for a in report.by_op()],
        "scopes": [aggregate(a) for a in report.scope_tree(view.depth)],
        "excluded": _excluded(report),
        "not_symbolic": [
            {
                "index": r.index,
                "op": r.op,
                "scope": r.scope,
                "fields": list(r.lost),
                "reason": r.why,
            }
            for r in report.not_symbolic
        ],
        "unsupported": [
            {"index": r.index, "op": r.op, "scope": r.scope, "reason": r.reason}
            for r in report.unsupported
        ],
        "notes": report.notes,
    }
    if _complete(report, view.at):
        out["at"] = _evaluated(report, view.at)
    if view.sweep:
        columns, table = report.sweep(*view.sweep, at=view.at)
        out["sweep"] = {"columns": columns, "rows": table}
    return out


def _complete(report: SymbolicReport, at: Mapping[str, int]) -> bool:
    """True when ``at`` sets every symbol (a partial ``--at`` only fixes a sweep's others)."""
    return bool(at) and set(report.symbols) <= set(at)


def _evaluated(report: SymbolicReport, at: Mapping[str, int]) -> dict[str, Any]:
    point = report.check_point(at)
    values: dict[str, Any] = {"point": point}
    values.update({name: int(report.total.get(name).evaluate(point)) for name in FIELDS})
    values["peak_activation_bytes"] = report.peak_at(**point)
    values["below_samples"] = report.below_samples(point)
    return values


# -- text ------------------------------------------------------------------------------------


def _table(rows: list[list[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]


def _header(report: SymbolicReport) -> list[str]:
    where = "; ".join(", ".join(f"{k}={v}" for k, v in p.items()) for p in report.points)
    names = ", ".join(report.symbols)
    return [
        f"flopcount: {report.model} ({report.framework}), costs as exact formulas in {names}",
        f"Sampled at: {where}; every formula reproduces the concrete analysis at each point.",
        f"Headline: {report.unit} ({report.convention} convention); 1 MAC = 2 FLOPs",
        f"Exact for: {_valid_text(report)}",
        *(f"  because {why}" for why in report.valid_why),
        "",
    ]


def _valid_text(report: SymbolicReport) -> str:
    parts = []
    for symbol in report.symbols:
        lo, hi = report.valid.get(symbol, (1, None))
        parts.append(f"{symbol} >= {lo}" if hi is None else f"{lo} <= {symbol} <= {hi}")
    return ", ".join(parts)


def _totals(report: SymbolicReport) -> list[str]:
    total = report.total
    rows = [["params", expr_text(report.params)]]
    rows += [[_LABEL[n], expr_text(total.get(n))] for n in _HEAD]
    if report.convention not in ("flops", "macs"):
        rows.append([f"{report.convention} {report.unit}", expr_text(total.count)])
    peak = _peak_text(report.peak_activation_bytes)
    rows.append(["peak activation bytes", peak or f"not symbolic ({report.peak_why})"])
    lines = ["Totals:", *("  " + line for line in _table(rows))]
    for name, rows_out in ((n, report.excluded(n)) for n in ("count", *_HEAD)):
        if rows_out:
            lines.append(
                f"  ! {_LABEL.get(name, report.unit)} totals leave out "
                f"{len(rows_out)} node(s) that are not symbolic (listed below)"
            )
    return lines


def _analysis(report: SymbolicReport, view: SymbolicView) -> list[str]:
    lines = ["", f"Leading terms ({report.unit}, as each symbol grows):"]
    lines += [f"  {s}: {expr_text(p)}" for s, p in report.leading(report.total.count).items()]
    for c in report.crossovers(view.at):
        fixed = ", ".join(f"{k}={v}" for k, v in c["at"].items())
        others = f" ({fixed})" if fixed else ""
        found = f"{c['symbol']} >= {c['from']}" if c["from"] is not None else c["why"]
        lines.append(
            f"Crossover: {c['above']} {report.unit} exceed {c['below']} "
            f"{report.unit} from {found}{others}"
        )
    return lines


def _grouped(report: SymbolicReport, view: SymbolicView) -> list[str]:
    key = "op" if view.by == "op" else "module"
    rows = [["family", "nodes", f"{report.unit}"]]
    rows += [[a.key, str(a.nodes), expr_text(a.cost.count)] for a in report.by_family()]
    lines = ["", "By op family:", *("  " + line for line in _table(rows)), ""]
    rows = [[key, "nodes", "params", f"{report.unit}"]]
    for a in _groups(report, view):
        mark = " +?" if a.not_symbolic or a.unsupported else ""
        rows.append(
            [
                a.key or "(top level)",
                str(a.nodes),
                expr_text(a.params),
                expr_text(a.cost.count) + mark,
            ]
        )
    title = "By op:" if view.by == "op" else f"By module (depth {view.depth}):"
    return [*lines, title, *("  " + line for line in _table(rows))]


def _at_lines(report: SymbolicReport, view: SymbolicView) -> list[str]:
    if not _complete(report, view.at):
        return []
    values = _evaluated(report, view.at)
    where = ", ".join(f"{k}={v}" for k, v in values["point"].items())
    lines = ["", f"At {where}:"]
    names = _HEAD if report.convention in ("flops", "macs") else ("count", *_HEAD)
    for name in names:
        label = f"{report.convention} {report.unit}" if name == "count" else _LABEL[name]
        value = values[name]
        unit = "MACs" if name == "macs" else "FLOPs"
        shown = format_bytes(value) if name.startswith("bytes") else format_count(value, unit)
        lines.append(f"  {label}: {value:,} ({shown})")
    if values["peak_activation_bytes"] is not None:
        peak = values["peak_activation_bytes"]
        lines.append(f"  peak activation bytes: {peak:,} ({format_bytes(peak)})")
    if values["below_samples"]:
        lines.append(
            f"  ! {', '.join(values['below_samples'])} below the sampled sizes: the "
            "graph there was not seen (size 1 often lowers differently); check with a "
            "concrete analysis"
        )
    return lines


def _sweep_lines(report: SymbolicReport, view: SymbolicView) -> list[str]:
    if not view.sweep:
        return []
    columns, table = report.sweep(*view.sweep, at=view.at)
    rows = [columns] + [
        [str(row[0]), *(format_count(v, report.unit) for v in row[1:])] for row in table
    ]
    fixed = ", ".join(f"{s}={view.at.get(s, 1)}" for s in report.symbols if s != columns[0])
    title = f"Sweep of {columns[0]} ({report.unit}{', ' + fixed if fixed else ''}):"
    return ["", title, *("  " + line for line in _table(rows))]


def _footer(report: SymbolicReport) -> list[str]:
    lines = [""]
    if report.not_symbolic:
        lines.append("Not symbolic (left out of the totals of the fields named):")
        for r in report.not_symbolic[:20]:
            lines.append(
                f"  #{r.index} {r.op} in {r.scope or '(top level)'} [{', '.join(r.lost)}]: {r.why}"
            )
        if len(report.not_symbolic) > 20:
            lines.append(f"  ... and {len(report.not_symbolic) - 20} more")
    else:
        lines.append("Not symbolic: none (every node's costs are exact formulas)")
    if report.unsupported:
        ops = sorted({r.op for r in report.unsupported})
        lines.append(f"Unsupported ops (work unknown, not zero): {', '.join(ops)}")
    lines += [f"Note: {note}" for note in report.notes]
    return lines


def render_symbolic(
    report: SymbolicReport, fmt: str = "table", view: SymbolicView | None = None
) -> str:
    """``report`` as text (``table``) or JSON (``json``)."""
    view = view or SymbolicView()
    if fmt == "json":
        return json.dumps(to_dict(report, view), indent=2) + "\n"
    if fmt != "table":
        raise SymbolicError(f"--format {fmt}: symbolic reports render as table or json")
    lines = _header(report) + _totals(report) + _analysis(report, view)
    lines += _grouped(report, view) + _at_lines(report, view) + _sweep_lines(report, view)
    return "\n".join(lines + _footer(report)) + "\n"
