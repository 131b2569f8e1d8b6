"""Pure renderers: `Report` -> text. Only the CLI prints.

Formats: ``table`` (terminal), ``json`` (versioned schema, exact integers; see
``docs/formats.md``), ``csv`` (exact integers), ``md`` (Markdown, human-formatted numbers).
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from flopcount.errors import FlopcountError
from flopcount.report.format import (
    format_bytes,
    format_count,
    format_shapes,
    format_si,
    format_time,
)
from flopcount.report.report import Aggregate, NodeRow, Report

__all__ = ["FORMATS", "SCHEMA", "View", "render", "to_dict"]

SCHEMA = "flopcount.report/1"
INCOMPLETE = " +?"  # marks a count that leaves out unsupported ops
By = Literal["scope", "op", "node"]


@dataclass(frozen=True, slots=True)
class View:
    """What a tabular rendering shows: grouping, scope depth and row limit."""

    by: By = "scope"
    depth: int | None = 2
    limit: int | None = None


# -- tabular data shared by table, md and csv ------------------------------------------------


def _columns(report: Report, view: View) -> list[str]:
    extra = [] if report.convention in ("flops", "macs") else [f"{report.convention} {report.unit}"]
    if view.by == "node":
        timing = ["time", "bound"] if report.roofline else []
        head = ["#", "scope", "op", "phase", "inputs", "outputs", "status", "MACs", "FLOPs"]
        return [*head, *extra, *timing]
    key = "module" if view.by == "scope" else "op"
    timing = ["time"] if report.roofline else []
    return [key, "nodes", "params", "MACs", "FLOPs", *extra, "bytes", *timing, "share"]


def _aggregate_cells(report: Report, agg: Aggregate, human: bool) -> list[Any]:
    share = agg.count / report.total_count if report.total_count else 0.0
    cells: list[Any] = [agg.key or "(top level)", agg.nodes]
    counts = [agg.cost.macs, agg.cost.flops]
    units = ["MACs", "FLOPs"]
    if report.convention not in ("flops", "macs"):
        counts.append(agg.count)
        units.append(report.unit)
    timing = [] if agg.time_s is None else [agg.time_s]
    if not human:
        return [*cells, agg.params, *counts, agg.cost.bytes_total, *timing, round(share, 6)]
    partial = INCOMPLETE if agg.unsupported else ""  # the group holds ops we could not count
    return [
        *cells,
        format_si(agg.params) if agg.params else "-",
        *(format_count(c, u) + partial for c, u in zip(counts, units)),
        format_bytes(agg.cost.bytes_total),
        *(format_time(t) for t in timing),
        f"{share:.1%}",
    ]


def _node_cells(report: Report, row: NodeRow, human: bool) -> list[Any]:
    node = row.node
    count = report.conv.count(node, row.cost)
    cells: list[Any] = [
        row.index,
        node.scope or "(top level)",
        node.op,
        node.phase,
        format_shapes([t.shape for t in node.inputs]),
        format_shapes([t.shape for t in node.outputs]),
        row.status,
    ]
    values = [row.cost.macs, row.cost.flops]
    if report.convention not in ("flops", "macs"):
        values.append(count)
    timing: list[Any] = []
    if report.roofline:
        estimate = report.roofline.rows[row.index]
        timing = [format_time(estimate.time_s) if human else estimate.time_s, estimate.bound]
    if not human:
        return cells + values + timing
    if row.status == "unsupported":
        return cells + ["?"] * len(values) + timing
    units = ["MACs", "FLOPs", report.unit]
    return cells + [format_count(v, u) for v, u in zip(values, units)] + timing


def _table_rows(report: Report, view: View, human: bool) -> list[list[Any]]:
    if view.by == "node":
        rows = report.rows[: view.limit] if view.limit else report.rows
        return [_node_cells(report, r, human) for r in rows]
    aggs = report.by_op() if view.by == "op" else report.scope_tree(view.depth or 1_000)
    if view.limit:
        aggs = aggs[: view.limit]
    return [_aggregate_cells(report, a, human) for a in aggs]


# -- summary lines ---------------------------------------------------------------------------


def _summary(report: Report) -> list[str]:
    total = report.total
    lines = [
        f"Total: {format_count(report.total_count, report.unit)} ({report.convention} convention)"
        f"  |  {format_count(total.macs, 'MACs')}  |  {format_count(total.flops, 'FLOPs')}"
        f"  |  {format_count(report.params, 'params')}",
    ]
    if report.has_backward:
        fwd, bwd = report.forward, report.backward
        lines.append(
            f"Forward: {format_count(fwd.flops, 'FLOPs')} ({format_count(fwd.macs, 'MACs')})  |  "
            f"Backward: {format_count(bwd.flops, 'FLOPs')} ({format_count(bwd.macs, 'MACs')})"
        )
    if report.causal_exact is not None:
        lines.append(
            "Causal attention counted dense; with only the unmasked products: "
            f"{format_count(report.causal_exact.macs, 'MACs')}, "
            f"{format_count(report.causal_exact.flops, 'FLOPs')}"
        )
    lines.append(
        f"Memory traffic: {format_bytes(total.bytes_read)} read, "
        f"{format_bytes(total.bytes_written)} written; buffers: {report.buffers:,} elements"
    )
    lines += _memory_lines(report) + _roofline_lines(report)
    counts = report.status_counts()
    lines.append(
        f"Coverage: {report.coverage:.1%} of {len(report.rows)} nodes "
        f"({counts['costed']} costed, {counts['free']} free, {counts['unsupported']} unsupported)"
    )
    if report.unsupported:
        lines.append(
            f"Unsupported ops (not counted; their work is unknown, not zero; rows marked "
            f"{INCOMPLETE.strip()} hold them):"
        )
        for u in report.unsupported:
            where = ", ".join(s or "(top level)" for s in u.scopes[:3])
            more = f" and {len(u.scopes) - 3} more" if len(u.scopes) > 3 else ""
            lines.append(f"  {u.op} x{u.count} in {where}{more}")
            lines += [f"    because: {reason}" for reason in u.reasons[:2]]
    else:
        lines.append("Unsupported ops: none")
    lines += [f"Note: {note}" for note in report.notes]
    return lines


def _memory_lines(report: Report) -> list[str]:
    mem = report.memory
    if mem is None:
        return []
    by_dtype = ", ".join(f"{format_bytes(b)} {d}" for d, b in mem.param_bytes_by_dtype.items())
    lines = [
        f"Parameter memory: {format_bytes(mem.param_bytes)} ({by_dtype or 'none'}); "
        f"peak live activations: {format_bytes(mem.peak_activation_bytes)}"
    ]
    if mem.training:
        estimated = " (upper-bound estimate)" if mem.saved_for_backward_estimated else ""
        saved = format_bytes(mem.saved_for_backward_bytes)
        lines.append(f"Activations kept for backward: {saved}{estimated}")
    return lines


def _roofline_lines(report: Report) -> list[str]:
    result, hw = report.roofline, report.hardware
    if result is None or hw is None:
        return []
    return [
        f"Roofline on {hw.name} ({result.dtype}): {format_time(result.total_time_s)} estimated "
        f"({format_time(result.compute_bound_time_s)} compute-bound, "
        f"{format_time(result.memory_bound_time_s)} memory-bound); ridge point "
        f"{result.ridge_point:.3g} FLOPs/byte at {format_si(hw.peak_for(result.dtype), 'FLOP/s')}"
        f" and {format_si(hw.memory_bandwidth, 'B/s')}"
    ]


def _header(report: Report) -> str:
    what = f"{report.model} ({report.framework})" if report.framework else report.model
    units = "FLOPs = operations, MACs = multiply-accumulates (1 MAC = 2 FLOPs)"
    return f"flopcount: {what}; units: {units}"


# -- renderers -------------------------------------------------------------------------------


def render_table(report: Report, view: View = View()) -> str:
    """A fixed-width terminal table followed by totals, unsupported ops, coverage and notes."""
    header = _columns(report, view)
    body = [[str(c) for c in row] for row in _table_rows(report, view, human=True)]
    widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
    numeric = {
        i
        for i, h in enumerate(header)
        if h not in ("module", "op", "scope", "inputs", "outputs", "status", "phase")
    }

    def line(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    out = [_header(report), "", line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in body]
    return "\n".join([*out, "", *_summary(report)]) + "\n"


def render_markdown(report: Report, view: View = View()) -> str:
    """A Markdown table (human-formatted numbers) with the summary as a list."""
    header = _columns(report, view)
    rows = _table_rows(report, view, human=True)
    out = [
        f"## {_header(report)}",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    out += ["| " + " | ".join(str(c).replace("|", "\\|") for c in r) + " |" for r in rows]
    return "\n".join([*out, "", *(f"- {s.strip()}" for s in _summary(report))]) + "\n"


def render_csv(report: Report, view: View = View()) -> str:
    """CSV with exact integers (no units in cells; the header names the unit)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(_columns(report, view))
    writer.writerows(_table_rows(report, view, human=False))
    return buffer.getvalue()


def _spec_list(specs: Any) -> list[dict[str, Any]]:
    return [{"shape": list(t.shape), "dtype": t.dtype, "kind": t.kind} for t in specs]


def to_dict(report: Report, view: View = View(depth=None)) -> dict[str, Any]:
    """The JSON document (schema ``flopcount.report/1``, documented in ``docs/formats.md``)."""

    def agg(a: Aggregate) -> dict[str, Any]:
        return {
            "key": a.key,
            "nodes": a.nodes,
            "count": a.count,
            "unsupported": a.unsupported,
            **a.cost.as_dict(),
        }

    total = report.total.as_dict() | {"count": report.total_count}
    return {
        "schema": SCHEMA,
        "model": report.model,
        "framework": report.framework,
        "convention": report.convention,
        "unit": report.unit,
        "total": total,
        "forward": report.forward.as_dict(),
        "backward": report.backward.as_dict() if report.has_backward else None,
        "causal_exact": report.causal_exact.as_dict() if report.causal_exact else None,
        "params": report.params,
        "buffers": report.buffers,
        "by_op": [agg(a) for a in report.by_op()],
        "scopes": [agg(a) for a in report.scope_tree(view.depth or 1_000)],
        "nodes": [
            {
                "index": r.index,
                "scope": r.scope,
                "op": r.op,
                "domain": r.node.domain,
                "name": r.node.name,
                "phase": r.phase,
                "status": r.status,
                "inputs": _spec_list(r.node.inputs),
                "outputs": _spec_list(r.node.outputs),
                "count": report.conv.count(r.node, r.cost),
                **r.cost.as_dict(),
            }
            for r in report.rows
        ],
        "unsupported": [
            {"op": u.op, "count": u.count, "scopes": list(u.scopes), "reasons": list(u.reasons)}
            for u in report.unsupported
        ],
        "coverage": {
            "ratio": report.coverage,
            "nodes": len(report.rows),
            **report.status_counts(),
        },
        "memory": _memory_dict(report),
        "roofline": _roofline_dict(report),
        "notes": report.notes,
    }


def _memory_dict(report: Report) -> dict[str, Any] | None:
    mem = report.memory
    if mem is None:
        return None
    return {
        "param_bytes": mem.param_bytes,
        "param_bytes_by_dtype": mem.param_bytes_by_dtype,
        "buffer_bytes": mem.buffer_bytes,
        "activation_bytes": mem.activation_bytes,
        "peak_activation_bytes": mem.peak_activation_bytes,
        "peak_at_node": mem.peak_at_node,
        "saved_for_backward_bytes": mem.saved_for_backward_bytes if mem.training else None,
    }


def _roofline_dict(report: Report) -> dict[str, Any] | None:
    result = report.roofline
    if result is None:
        return None
    return {
        "hardware": result.hardware,
        "dtype": result.dtype,
        "total_time_s": result.total_time_s,
        "compute_bound_time_s": result.compute_bound_time_s,
        "memory_bound_time_s": result.memory_bound_time_s,
        "ridge_point_flops_per_byte": result.ridge_point,
        "nodes": [
            {"index": r.index, "time_s": r.time_s, "bound": r.bound, "intensity": r.intensity}
            for r in result.rows
        ],
    }


def render_json(report: Report, view: View = View(depth=None)) -> str:
    return json.dumps(to_dict(report, view), indent=1) + "\n"


def render_html(report: Report, view: View = View()) -> str:
    """One self-contained HTML file (`flopcount.report.html`)."""
    from flopcount.report.html import render_html as html

    return html(report, depth=1, limit=view.limit)


FORMATS: dict[str, Callable[[Report, View], str]] = {
    "table": render_table,
    "json": render_json,
    "csv": render_csv,
    "md": render_markdown,
    "html": render_html,
}


def render(report: Report, fmt: str = "table", view: View | None = None) -> str:
    """Render ``report`` in ``fmt`` (one of `FORMATS`)."""
    try:
        renderer = FORMATS[fmt]
    except KeyError:
        raise FlopcountError(
            f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}"
        ) from None
    return renderer(report, view or View())
