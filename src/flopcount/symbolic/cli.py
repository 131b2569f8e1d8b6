"""``flopcount MODEL --symbolic NAMES [--dim NAME=INPUT:AXIS] [--at NAME=V] [--sweep NAME=LO..HI]``.

Called by `flopcount.cli` when ``--symbolic`` is given; returns the text to print.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

from flopcount.errors import UnsupportedOpError
from flopcount.symbolic.bindings import SymbolicError
from flopcount.symbolic.render import SymbolicView, render_symbolic
from flopcount.symbolic.report import SymbolicReport

__all__ = ["parse_at", "parse_sweep", "run_symbolic"]

_SWEEP = re.compile(r"^(?P<name>[A-Za-z_]\w*)=(?P<low>\d+)\.\.(?P<high>\d+)$")


def parse_at(texts: list[str]) -> dict[str, int]:
    """``["seq=4096", "batch=8"]`` -> ``{"seq": 4096, "batch": 8}``."""
    out = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not value.isdigit():
            raise SymbolicError(f"malformed --at {text!r}: write NAME=VALUE, e.g. --at seq=4096")
        out[name] = int(value)
    return out


def parse_sweep(text: str) -> tuple[str, int, int]:
    """``"seq=128..32768"`` -> ``("seq", 128, 32768)``."""
    match = _SWEEP.match(text)
    if not match:
        raise SymbolicError(
            f"malformed --sweep {text!r}: write NAME=LOW..HIGH, e.g. seq=128..32768"
        )
    return match["name"], int(match["low"]), int(match["high"])


def _dims(texts: list[str]) -> tuple[dict[str, int], dict[str, list[str]]]:
    """``--dim`` values: ``NAME=VALUE`` fixes an ONNX dim; ``NAME=INPUT:AXIS`` binds a symbol."""
    fixed: dict[str, int] = {}
    bound: dict[str, list[str]] = {}
    for text in texts:
        name, sep, value = text.partition("=")
        if not sep or not name or not value:
            raise SymbolicError(
                f"malformed --dim {text!r}: write NAME=VALUE or, for a symbol, NAME=INPUT:AXIS"
            )
        if value.isdigit():
            fixed[name] = int(value)
        else:
            bound.setdefault(name, []).append(value)
    return fixed, bound


def plot_sweep(report: SymbolicReport, view: SymbolicView, path: Path) -> None:
    """A log-log chart of the sweep: one line per op family and the total."""
    from flopcount.report.plot import FIGSIZE_IN, PLOT_DPI
    from flopcount.symbolic.plot import plot_sweep_chart

    if view.sweep is None:
        raise SymbolicError("--plot with --symbolic draws the sweep: give --sweep NAME=LO..HI")
    columns, table = report.sweep(*view.sweep, at=view.at)
    plot_sweep_chart(report, columns, table, path, FIGSIZE_IN, PLOT_DPI)


def run_symbolic(args: argparse.Namespace, shapes: Any) -> tuple[str, UnsupportedOpError | None]:
    """The text of a ``--symbolic`` run and the ``--strict`` failure to raise after it."""
    from flopcount.symbolic.analyze import analyze_symbolic, parse_symbols

    names, _ = parse_symbols(args.symbolic)
    fixed, bound = _dims(args.dim)
    symbols = {name: bound.get(name) for name in names}
    extra = sorted(set(bound) - set(names))
    if extra:
        raise SymbolicError(f"--dim binds {extra}, which --symbolic {args.symbolic} does not name")
    view = SymbolicView(
        by=args.by,
        depth=args.depth,
        limit=args.limit,
        at=parse_at(args.at),
        sweep=parse_sweep(args.sweep) if args.sweep else None,
    )
    report = analyze_symbolic(
        args.model,
        symbols=symbols,
        convention=args.convention,
        training=args.training,
        input_shapes=shapes,
        dims=fixed,
        outputs=args.outputs.split(",") if args.outputs else None,
        signature=args.signature,
        batch=args.batch,
        seq=args.seq,
        image_size=args.image_size,
    )
    if view.sweep:  # --at fixes the symbols a sweep does not vary (default 1)
        report.check_point({**dict.fromkeys(report.symbols, 1), **view.at})
    elif view.at:
        report.check_point(view.at)  # without a sweep, every symbol needs a value
    if args.plot:
        plot_sweep(report, view, args.plot)
    text = render_symbolic(report, args.format, view)
    if args.strict and report.unsupported:
        ops = ", ".join(sorted({r.op for r in report.unsupported}))
        return text, UnsupportedOpError(f"--strict: unsupported ops: {ops}")
    return text, None
