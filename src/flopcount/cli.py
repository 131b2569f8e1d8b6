"""The ``flopcount`` command: parse -> analyze -> render -> print. Nothing else lives here.

Exit codes: 0 success; 2 bad input (one line on stderr, traceback only with ``--debug``);
3 ``--strict`` and the model holds unsupported ops; 1 an internal error (a bug: please report).
"""

from __future__ import annotations

import argparse
import re
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from flopcount.costs.conventions import CONVENTIONS
from flopcount.errors import FlopcountError, UnsupportedOpError
from flopcount.report.render import FORMATS, View, render

__all__ = ["main", "parse_shape"]

EXIT_OK, EXIT_INTERNAL, EXIT_USAGE, EXIT_UNSUPPORTED = 0, 1, 2, 3  # documented in README
_SHAPE = re.compile(r"^\d+([x,]\d+)*$")


class UsageError(FlopcountError):
    """A malformed command-line argument."""


def parse_shape(text: str) -> tuple[str | None, tuple[int, ...]]:
    """``"1x3x224x224"`` -> ``(None, (1, 3, 224, 224))``; ``"ids=1x128"`` -> ``("ids", (1, 128))``.

    ``x`` or ``,`` separates dimensions; an optional ``NAME=`` binds the shape to a named input.
    """
    name, _, dims = text.rpartition("=")
    if not _SHAPE.match(dims):
        raise UsageError(
            f"malformed --input-shape {text!r}: write dims joined by 'x', e.g. 1x3x224x224 or "
            "input_ids=1x128"
        )
    return (name or None), tuple(int(d) for d in re.split("[x,]", dims))


def _parse_dim(text: str) -> tuple[str, int]:
    name, sep, value = text.partition("=")
    if not sep or not name or not value.isdigit():
        raise UsageError(f"malformed --dim {text!r}: write NAME=VALUE, e.g. --dim seq=128")
    return name, int(value)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="flopcount",
        description="Exact FLOPs, MACs, parameters and memory traffic of a model, from shapes "
        "alone. FLOPs = work; FLOP/s = speed; 1 MAC = 2 FLOPs.",
    )
    p.add_argument(
        "model",
        nargs="?",
        help="zoo:NAME, torchvision:NAME, timm:NAME, "
        "package.module:callable, or a .onnx/.pb/.pbtxt/.keras/.h5 file or SavedModel dir",
    )
    p.add_argument(
        "--input-shape",
        action="append",
        default=[],
        metavar="[NAME=]SHAPE",
        help="input shape, e.g. 1x3x224x224 or input_ids=1x128 (repeatable)",
    )
    p.add_argument(
        "--dim",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="bind a symbolic dimension (ONNX dim_param), e.g. --dim seq=128; with --symbolic, "
        "NAME=INPUT:AXIS binds a symbol to an input axis",
    )
    p.add_argument("--batch", type=_positive, help="batch size (zoo models)")
    p.add_argument("--seq", type=_positive, help="sequence length (zoo transformers)")
    p.add_argument("--image-size", type=_positive, help="image side (zoo vision models)")
    p.add_argument(
        "--convention",
        default="flops",
        choices=list(CONVENTIONS),
        help="headline count: flops (default), macs, exact, tfprof",
    )
    p.add_argument("--by", default="scope", choices=["scope", "op", "node"])
    p.add_argument("--depth", type=_positive, default=2, help="scope depth (default 2)")
    p.add_argument("--limit", type=_positive, help="show at most this many rows")
    p.add_argument("--format", default="table", choices=list(FORMATS))
    p.add_argument("--training", action="store_true", help="count forward and backward")
    p.add_argument("--outputs", help="TensorFlow: comma-separated output node names")
    p.add_argument("--signature", default="serving_default", help="SavedModel signature")
    p.add_argument("--strict", action="store_true", help="exit 3 if any op is unsupported")
    p.add_argument("-o", "--output", type=Path, help="write the report to FILE")
    p.add_argument(
        "--hardware",
        help="roofline latency on a device (`flopcount hw list`) or a "
        "profile from `flopcount hw measure`",
    )
    p.add_argument("--dtype", help="peak FLOP/s to use with --hardware: fp32, bf16, fp16, ...")
    p.add_argument("--roofline-preset", help="roofline refinements: none, eager-gpu, graph-gpu")
    p.add_argument("--plot", type=Path, help="write breakdown and roofline charts (.png/.svg)")
    # -- symbolic analysis (flopcount.symbolic, docs/symbolic.md) --
    p.add_argument(
        "--symbolic",
        metavar="NAMES",
        help="costs as exact formulas in these dimensions, e.g. seq or batch,seq; bind a "
        "non-zoo model's symbol with --dim NAME=INPUT:AXIS",
    )
    p.add_argument(
        "--at", action="append", default=[], metavar="NAME=VALUE", help="--symbolic: evaluate"
    )
    p.add_argument(
        "--sweep", metavar="NAME=LO..HI", help="--symbolic: cost per op family at powers of 2"
    )
    p.add_argument("--list-zoo", action="store_true", help="list the built-in models")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    return p


def _list_zoo() -> str:
    from flopcount import zoo

    return "".join(f"zoo:{n:<14} {zoo.get(n).description}\n" for n in zoo.names())


def _run(args: argparse.Namespace) -> tuple[str, UnsupportedOpError | None]:
    """The report text, and the --strict failure to signal after it is written."""
    if args.list_zoo:
        return _list_zoo(), None
    if not args.model:
        raise UsageError("no MODEL given; try `flopcount zoo:resnet50` or `flopcount --list-zoo`")
    from flopcount.api import analyze

    positional, named = [], {}
    for text in args.input_shape:
        name, shape = parse_shape(text)
        if name:
            named[name] = shape
        else:
            positional.append(shape)
    if positional and named:
        raise UsageError("give every --input-shape with a NAME= or none of them")
    if args.symbolic:
        from flopcount.symbolic.cli import run_symbolic

        return run_symbolic(args, named or positional or None)
    if args.at or args.sweep:
        raise UsageError("--at and --sweep evaluate symbolic formulas: add --symbolic NAMES")
    report = analyze(
        args.model,
        convention=args.convention,
        training=args.training,
        input_shapes=named or positional or None,
        dims=dict(map(_parse_dim, args.dim)),
        outputs=args.outputs.split(",") if args.outputs else None,
        signature=args.signature,
        batch=args.batch,
        seq=args.seq,
        image_size=args.image_size,
        hardware=args.hardware,
        dtype=args.dtype,
        roofline_preset=args.roofline_preset,
    )
    if args.plot:
        from flopcount.report.plot import plot_report

        plot_report(report, args.plot)
    text = render(report, args.format, View(by=args.by, depth=args.depth, limit=args.limit))
    if args.strict and report.unsupported:
        ops = ", ".join(f"{u.op} x{u.count}" for u in report.unsupported)
        return text, UnsupportedOpError(
            f"--strict: {len(report.unsupported)} unsupported op types: {ops}"
        )
    return text, None


def _dispatch(argv: list[str]) -> tuple[argparse.Namespace, Callable[[], tuple[str, Any]]]:
    """Pick the sub-command (``hw``, ``mfu``) or the default analysis."""
    from flopcount import cli_tools

    if argv[:1] == ["hw"]:
        args = cli_tools.hw_parser().parse_args(argv[1:])
        return args, lambda: (cli_tools.run_hw(args), None)
    if argv[:1] == ["mfu"]:
        args = cli_tools.mfu_parser().parse_args(argv[1:])
        return args, lambda: (cli_tools.run_mfu(args), None)
    args = build_parser().parse_args(argv)
    return args, lambda: _run(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (the console script passes it to ``sys.exit``)."""
    args, job = _dispatch(list(sys.argv[1:] if argv is None else argv))
    try:
        text, strict_failure = job()
        if getattr(args, "output", None) and not hasattr(args, "action"):
            args.output.write_text(text)
            print(f"flopcount: wrote {args.output}", file=sys.stderr)
        else:
            sys.stdout.write(text)
        if strict_failure:
            raise strict_failure
        return EXIT_OK
    except FlopcountError as exc:
        if args.debug:
            traceback.print_exc()
        code = EXIT_UNSUPPORTED if isinstance(exc, UnsupportedOpError) else EXIT_USAGE
        print(f"flopcount: error: {exc}", file=sys.stderr)
        return code
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # a bug: one line unless --debug
        if args.debug:
            traceback.print_exc()
        print(
            f"flopcount: internal error: {type(exc).__name__}: {exc} (rerun with --debug and "
            "report it)",
            file=sys.stderr,
        )
        return EXIT_INTERNAL
