"""Self-contained HTML report: breakdown chart, roofline plot, sortable node table.

One file, no CDN, no external fonts or scripts: inline CSS, inline SVG charts and a few lines of
inline JavaScript for sorting, so it works offline and can be attached to a ticket.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass

from flopcount.report.format import format_bytes, format_count, format_shapes, format_si
from flopcount.report.report import Report

__all__ = ["RooflinePoint", "render_html", "roofline_points"]

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#1d2330;max-width:1200px}
h1{font-size:20px}h2{font-size:16px;margin-top:28px}.muted{color:#667}
table{border-collapse:collapse;width:100%;font-size:12.5px}
th,td{padding:3px 8px;border-bottom:1px solid #e3e6ee;text-align:left;white-space:nowrap}
th{cursor:pointer;background:#f4f6fa;position:sticky;top:0}td.n{text-align:right}
.unsupported{color:#b3261e}.bar{fill:#3b6fd8}.mem{fill:#e08a1e}.cmp{fill:#3b6fd8}
svg text{font:11px system-ui,sans-serif;fill:#333}.roof{stroke:#b3261e;stroke-width:2;fill:none}
"""

_SORT_JS = """
document.querySelectorAll('table.sortable th').forEach(function(th, col){
  th.addEventListener('click', function(){
    var body = th.closest('table').tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var asc = th.dataset.asc !== '1'; th.dataset.asc = asc ? '1' : '0';
    rows.sort(function(a, b){
      var x = a.cells[col].dataset.v || a.cells[col].textContent;
      var y = b.cells[col].dataset.v || b.cells[col].textContent;
      var nx = parseFloat(x), ny = parseFloat(y);
      var c = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y);
      return asc ? c : -c;
    });
    rows.forEach(function(r){ body.appendChild(r); });
  });
});
"""


@dataclass(frozen=True, slots=True)
class RooflinePoint:
    """One node on the roofline plot: intensity (FLOPs/byte) and attainable FLOP/s."""

    label: str
    intensity: float
    flops_per_s: float
    bound: str


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _breakdown_svg(report: Report, depth: int) -> str:
    aggs = [a for a in report.scope_tree(depth) if "." not in a.key and a.count > 0]
    aggs = sorted(aggs, key=lambda a: -a.count)[:20]
    if not aggs:
        return "<p class='muted'>No costed work to chart.</p>"
    width, bar_h, label_w = 900, 18, 260
    top = max(a.count for a in aggs)
    parts = [
        f"<svg id='breakdown' width='{width}' height='{len(aggs) * (bar_h + 4) + 10}' "
        "role='img' aria-label='cost per module'>"
    ]
    for i, a in enumerate(aggs):
        y = i * (bar_h + 4) + 4
        w = max(1.0, (width - label_w - 120) * a.count / top)
        parts.append(
            f"<text x='{label_w - 6}' y='{y + 13}' text-anchor='end'>"
            f"{_esc(a.key or '(top)')}</text>"
            f"<rect class='bar' x='{label_w}' y='{y}' width='{w:.1f}' height='{bar_h}'>"
            f"<title>{_esc(a.key)}: {_esc(format_count(a.count, report.unit))}</title></rect>"
            f"<text x='{label_w + w + 6:.1f}' y='{y + 13}'>"
            f"{_esc(format_count(a.count, report.unit))}</text>"
        )
    return "".join(parts) + "</svg>"


def _roofline_svg(points: Sequence[RooflinePoint], peak: float, bandwidth: float) -> str:
    """Log-log roofline (Williams et al., CACM 2009): min(peak, bandwidth * intensity)."""
    pts = [p for p in points if p.intensity > 0 and p.flops_per_s > 0]
    w, h, m = 700, 420, 60
    ridge = peak / bandwidth
    x_lo = min([ridge / 100, *(p.intensity for p in pts)]) / 2
    x_hi = max([ridge * 100, *(p.intensity for p in pts)]) * 2
    y_hi = peak * 3
    y_lo = min([bandwidth * x_lo, *(p.flops_per_s for p in pts)]) / 2

    def sx(v: float) -> float:
        return m + (w - 2 * m) * (math.log10(v) - math.log10(x_lo)) / math.log10(x_hi / x_lo)

    def sy(v: float) -> float:
        return h - m - (h - 2 * m) * (math.log10(v) - math.log10(y_lo)) / math.log10(y_hi / y_lo)

    out = [
        f"<svg id='roofline' width='{w}' height='{h}' role='img' aria-label='roofline'>",
        f"<rect x='{m}' y='{m}' width='{w - 2 * m}' height='{h - 2 * m}' fill='none' "
        "stroke='#ccd'/>",
        f"<polyline class='roof' points='{sx(x_lo):.1f},{sy(bandwidth * x_lo):.1f} "
        f"{sx(ridge):.1f},{sy(peak):.1f} {sx(x_hi):.1f},{sy(peak):.1f}'/>",
    ]
    for p in pts:
        cls = "mem" if p.bound == "memory" else "cmp"
        out.append(
            f"<circle class='{cls}' cx='{sx(p.intensity):.1f}' cy='{sy(p.flops_per_s):.1f}'"
            f" r='3.5' opacity='0.7'><title>{_esc(p.label)}: "
            f"{p.intensity:.3g} FLOPs/byte, {_esc(format_si(p.flops_per_s, 'FLOP/s'))}"
            "</title></circle>"
        )
    out.append(
        f"<text x='{w / 2}' y='{h - 20}' text-anchor='middle'>arithmetic intensity "
        "(FLOPs / byte, log)</text>"
        f"<text x='16' y='{h / 2}' transform='rotate(-90 16 {h / 2})' "
        "text-anchor='middle'>attainable FLOP/s (log)</text>"
        f"<text x='{sx(ridge):.1f}' y='{sy(peak) - 6:.1f}'>peak "
        f"{_esc(format_si(peak, 'FLOP/s'))}; ridge {ridge:.3g} FLOPs/byte</text>"
    )
    return "".join(out) + "</svg>"


def _node_table(report: Report, limit: int | None) -> str:
    head = [
        "#",
        "scope",
        "op",
        "phase",
        "inputs",
        "outputs",
        "status",
        "MACs",
        "FLOPs",
        f"{report.convention} ({report.unit})",
        "bytes",
    ]
    rows = report.rows[:limit] if limit else report.rows
    body = []
    for r in rows:
        count = report.conv.count(r.node, r.cost)
        cls = " class='unsupported'" if r.status == "unsupported" else ""
        cells = [
            (r.index, r.index),
            (r.scope or "(top)", None),
            (r.op, None),
            (r.phase, None),
            (format_shapes([t.shape for t in r.node.inputs]), None),
            (format_shapes([t.shape for t in r.node.outputs]), None),
            (r.status, None),
            (format_count(r.cost.macs, "MACs"), r.cost.macs),
            (format_count(r.cost.flops, "FLOPs"), r.cost.flops),
            (format_count(count, report.unit), count),
            (format_bytes(r.cost.bytes_total), r.cost.bytes_total),
        ]
        tds = "".join(
            f"<td class='n' data-v='{v}'>{_esc(t)}</td>" if v is not None else f"<td>{_esc(t)}</td>"
            for t, v in cells
        )
        body.append(f"<tr{cls}>{tds}</tr>")
    ths = "".join(f"<th>{_esc(h)}</th>" for h in head)
    return (
        f"<table class='sortable' id='nodes'><thead><tr>{ths}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def roofline_points(report: Report) -> list[RooflinePoint]:
    """Each costed node with a roofline estimate as a point: its intensity and FLOP/s."""
    if report.roofline is None:
        return []
    points = []
    for row, estimate in zip(report.rows, report.roofline.rows):
        if row.cost.flops and estimate.time_s > 0:
            label = f"{row.scope or '(top)'} {row.op}"
            rate = row.cost.flops / estimate.time_s
            points.append(RooflinePoint(label, estimate.intensity, rate, estimate.bound))
    return points


def render_html(report: Report, depth: int = 1, limit: int | None = None) -> str:
    """The whole report as one offline HTML document (roofline plot with ``--hardware``)."""
    from flopcount.report.render import _summary  # one summary text for every format

    summary = "".join(f"<li>{_esc(line.strip())}</li>" for line in _summary(report))
    roof_html = ""
    if report.roofline is not None and report.hardware is not None:
        roof = (report.hardware.peak_for(report.roofline.dtype), report.hardware.memory_bandwidth)
        svg = _roofline_svg(roofline_points(report), *roof)
        roof_html = f"<h2>Roofline ({_esc(report.hardware.name)})</h2>{svg}"
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>flopcount: {_esc(report.model)}</title><style>{_CSS}</style></head><body>"
        f"<h1>flopcount: {_esc(report.model)}</h1>"
        "<p class='muted'>FLOPs = operations (work); FLOP/s = operations per second (speed); "
        f"1 MAC = 2 FLOPs. Convention: {_esc(report.convention)} ({_esc(report.unit)}).</p>"
        f"<ul>{summary}</ul><h2>Cost per module</h2>{_breakdown_svg(report, depth)}"
        f"{roof_html}<h2>Nodes</h2>{_node_table(report, limit)}"
        f"<script>{_SORT_JS}</script></body></html>\n"
    )
