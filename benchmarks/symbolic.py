"""Symbolic analysis speed: llama2-70b with ``seq`` symbolic against one concrete analysis, and
exact evaluation of a formula at 1,000 points.

    python benchmarks/symbolic.py             # 3 repeats of each, medians
    python benchmarks/symbolic.py --repeats 5

Targets (issue 7): the symbolic analysis of zoo:llama2-70b at most 3x a concrete one; a
formula evaluated at 1,000 points in under 1 s. Both analyses run in this process after a
warm-up (imports and first-call costs excluded from both), alternating, and the medians are
compared. The symbolic report is checked against a concrete analysis at seq = 4096 (out of
sample) before any number is printed.
"""

from __future__ import annotations

import argparse
import statistics
import time

import flopcount
from flopcount.symbolic import analyze_symbolic

MODEL = "zoo:llama2-70b"


def _timed(function, *args, **kwargs):  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    flopcount.analyze("zoo:gpt2", seq=16)  # warm-up: torch import, first-call caches
    analyze_symbolic("zoo:gpt2", symbols="seq")
    concrete_s, symbolic_s = [], []
    report = None
    for _ in range(args.repeats):
        seconds, _ = _timed(flopcount.analyze, MODEL)
        concrete_s.append(seconds)
        seconds, report = _timed(analyze_symbolic, MODEL, symbols="seq")
        symbolic_s.append(seconds)
    assert report is not None
    check = flopcount.analyze(MODEL, seq=4096)
    for name in ("macs", "flops", "flops_exact", "bytes_read", "bytes_written"):
        assert report.evaluate(report.total.get(name), seq=4096) == getattr(check.total, name)
    concrete, symbolic = statistics.median(concrete_s), statistics.median(symbolic_s)
    print(
        f"{MODEL}, seq symbolic ({len(report.points)} sample points: "
        f"{[p['seq'] for p in report.points]})"
    )
    print(
        f"  concrete analysis (seq=4096):  {concrete:.2f} s  (runs: "
        f"{', '.join(f'{s:.2f}' for s in concrete_s)})"
    )
    print(
        f"  symbolic analysis:             {symbolic:.2f} s  (runs: "
        f"{', '.join(f'{s:.2f}' for s in symbolic_s)})"
    )
    print(f"  ratio: {symbolic / concrete:.2f}x  (target <= 3x)")
    print(f"  FLOPs(seq) = {report.sympy(report.total.flops)}")

    evaluate = report.evaluator(report.total.flops)
    seconds, values = _timed(lambda: [evaluate(seq=n) for n in range(1, 1001)])
    assert values[-1] == report.evaluate(report.total.flops, seq=1000)  # exact, as evaluate
    print(
        f"  exact evaluation at 1,000 points (seq = 1..1000): {seconds * 1e3:.2f} ms (target < 1 s)"
    )
    sympy_expr = report.sympy(report.total.flops)
    import sympy

    (seq,) = sympy_expr.free_symbols
    lambdified = sympy.lambdify(seq, sympy_expr, "math")
    seconds, _ = _timed(lambda: [lambdified(n) for n in range(1, 1001)])
    print(f"  sympy.lambdify (floats) at the same 1,000 points: {seconds * 1e3:.2f} ms")


if __name__ == "__main__":
    main()
