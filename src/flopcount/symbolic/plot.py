"""``--symbolic ... --sweep NAME=LO..HI --plot FILE``: cost against one dimension, log axes."""

from __future__ import annotations

from pathlib import Path

from flopcount.errors import FlopcountError, MissingDependencyError
from flopcount.symbolic.report import SymbolicReport

__all__ = ["plot_sweep_chart"]


def plot_sweep_chart(
    report: SymbolicReport,
    columns: list[str],
    table: list[list[int]],
    path: Path,
    figsize: tuple[float, float],
    dpi: int,
) -> Path:
    """Write the sweep as a log-log chart: one line per op family, the total dashed."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise MissingDependencyError("matplotlib", "plot") from None
    if path.suffix.lower() not in (".png", ".svg"):
        raise FlopcountError(f"--plot {path}: write a .png or .svg file")
    fig, ax = plt.subplots(figsize=figsize, dpi=dpi)
    xs = [row[0] for row in table]
    for index, name in enumerate(columns[1:], 1):
        ys = [row[index] for row in table]
        if any(ys):
            style = "--" if name == "total" else "-"
            ax.plot(xs, ys, style, marker="o", markersize=3, label=name)
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel(columns[0])
    ax.set_ylabel(f"{report.unit} ({report.convention} convention)")
    ax.set_title(f"{report.model}: {report.unit} against {columns[0]} by op family")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path
