"""``--plot FILE.png|svg``: the breakdown and roofline charts with matplotlib (optional extra)."""

from __future__ import annotations

import os
from pathlib import Path

from flopcount.errors import FlopcountError, MissingDependencyError
from flopcount.report.html import roofline_points
from flopcount.report.report import Report

__all__ = ["FIGSIZE_IN", "PLOT_DPI", "plot_report"]

PLOT_DPI = 100
FIGSIZE_IN = (12.0, 5.0)  # inches: 1200 x 500 pixels at PLOT_DPI


def plot_report(report: Report, path: str | os.PathLike[str], depth: int = 1) -> Path:
    """Write a figure with the per-module breakdown and, with ``--hardware``, the roofline."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("matplotlib", "plot") from None
    target = Path(path)
    if target.suffix.lower() not in (".png", ".svg"):
        raise FlopcountError(f"--plot {target}: write a .png or .svg file")
    fig, (bars, roof) = plt.subplots(1, 2, figsize=FIGSIZE_IN, dpi=PLOT_DPI)
    aggs = sorted((a for a in report.by_scope(depth) if a.count > 0), key=lambda a: a.count)[-15:]
    bars.barh([a.key or "(top)" for a in aggs], [a.count for a in aggs], color="#3b6fd8")
    bars.set_xlabel(f"{report.unit} ({report.convention} convention)")
    bars.set_title(f"{report.model}: cost per module")
    points = roofline_points(report)
    if report.roofline is not None and report.hardware is not None and points:
        peak = report.hardware.peak_for(report.roofline.dtype)
        bandwidth = report.hardware.memory_bandwidth
        xs = [p.intensity for p in points]
        lo, hi = min([*xs, peak / bandwidth]) / 4, max([*xs, peak / bandwidth]) * 4
        roof.loglog([lo, peak / bandwidth, hi], [bandwidth * lo, peak, peak], color="#b3261e")
        colours = ["#e08a1e" if p.bound == "memory" else "#3b6fd8" for p in points]
        roof.scatter(xs, [p.flops_per_s for p in points], s=12, c=colours, alpha=0.7)
        roof.set_xlabel("arithmetic intensity (FLOPs / byte)")
        roof.set_ylabel("attainable FLOP/s")
        roof.set_title(f"roofline on {report.hardware.name} ({report.roofline.dtype})")
    else:
        roof.axis("off")
        roof.text(0.5, 0.5, "roofline: pass --hardware NAME", ha="center", va="center")
    fig.tight_layout()
    fig.savefig(target, dpi=PLOT_DPI)
    plt.close(fig)
    return target
