"""`analyze_symbolic`: costs as exact formulas in named dimensions (``docs/symbolic.md``).

The model is lowered at a few sample points (``m + 2`` for ``m`` symbols, more only while a
dimension cannot be fitted, up to `MAX_POINTS`); the graphs must be the same program; each
dimension's expression is reconstructed from its sample values; the ordinary cost formulas run
once per distinct node on `SymInt` shapes; and every result is checked against the concrete
analyses at every point.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from flopcount._runtime import without_collector
from flopcount.costs.conventions import get_convention
from flopcount.frontends.load import LoadOptions
from flopcount.ir import Graph
from flopcount.symbolic.bindings import AxisRef, Source, SymbolicError, make_source, parse_axis
from flopcount.symbolic.costs import node_rows, peak_candidates
from flopcount.symbolic.lift import Lifted, check_structure, lift
from flopcount.symbolic.report import SymbolicReport
from flopcount.symbolic.samples import MAX_POINTS, default_values, make_points
from flopcount.symbolic.symint import as_poly
from flopcount.symbolic.validity import validity

__all__ = ["analyze_symbolic", "parse_symbols"]

Symbols = str | Sequence[str] | Mapping[str, str | AxisRef | Sequence[str | AxisRef] | None]


def parse_symbols(symbols: Symbols) -> tuple[list[str], dict[str, list[AxisRef]]]:
    """Names and axis bindings from ``"seq,batch"``, ``["seq"]`` or ``{"seq": "ids:1"}``."""
    if isinstance(symbols, str):
        symbols = [s.strip() for s in symbols.split(",") if s.strip()]
    if not isinstance(symbols, Mapping):
        return list(symbols), {}
    bindings: dict[str, list[AxisRef]] = {}
    for name, refs in symbols.items():
        items = [] if refs is None else [refs] if isinstance(refs, (str, AxisRef)) else refs
        bindings[name] = [r if isinstance(r, AxisRef) else parse_axis(name, r) for r in items]
    return list(symbols), {k: v for k, v in bindings.items() if v}


def _reference(points: Sequence[Mapping[str, int]]) -> int:
    """The point with the largest sizes: its values make the fewest accidental coincidences."""
    return max(range(len(points)), key=lambda i: sorted(points[i].values(), reverse=True))


def _sample(
    source: Source, samples: Mapping[str, Sequence[int]] | None
) -> tuple[list[dict[str, int]], list[Graph], Lifted]:
    """Lower at growing sets of points until every dimension is fitted (or points run out)."""
    values = {
        s: list((samples or {}).get(s) or default_values(s, source.limits)) for s in source.symbols
    }
    limit = min(MAX_POINTS, *(len(v) for v in values.values()))
    count = min(len(source.symbols) + 2, limit)
    points = make_points(source.symbols, values, count)
    graphs = [source.graph(p) for p in points]
    while True:
        check_structure(graphs, points)
        ref = _reference(points)
        lifted = lift(graphs, points, ref)
        if not (lifted.bad or lifted.param_bad) or not lifted.ambiguous or count >= limit:
            return points, graphs, lifted
        count = min(count + 2, limit)
        more = make_points(source.symbols, values, count)[len(points) :]
        points += more
        graphs += [source.graph(p) for p in more]


@without_collector
def analyze_symbolic(
    model: Any,
    *example_inputs: Any,
    symbols: Symbols,
    samples: Mapping[str, Sequence[int]] | None = None,
    convention: str = "flops",
    training: bool = False,
    input_shapes: Mapping[str, Sequence[int]] | Sequence[Sequence[int]] | None = None,
    dims: Mapping[str, int] | None = None,
    outputs: Sequence[str] | None = None,
    signature: str = "serving_default",
    batch: int | None = None,
    seq: int | None = None,
    image_size: int | None = None,
    name: str | None = None,
) -> SymbolicReport:
    """Analyse ``model`` with costs as exact expressions in the dimensions ``symbols``.

    ``symbols``: ``"seq"``, ``"batch,seq"``, a list of names, or a mapping name -> binding
    (``{"seq": "input_ids:1"}``, an input name or position and an axis; a list binds several
    axes). Names without a binding are build options of ``zoo:``/``torchvision:``/``timm:``
    specs (``batch``, ``seq``, ``image_size``) or ONNX ``dim_param``s. ``samples`` overrides
    the sample values per symbol. The other arguments are those of `flopcount.analyze` and
    fix everything that is not a symbol. Raises `SymbolicError` for unknown names, bad
    bindings, or a model whose control flow depends on a symbol.
    """
    conv = get_convention(convention)
    names, bindings = parse_symbols(symbols)
    fixed = {"batch": batch, "seq": seq, "image_size": image_size}
    clash = [s for s in names if fixed.get(s) is not None or s in (dims or {})]
    if clash:
        raise SymbolicError(f"{clash} given both as a symbol and as a fixed value; pick one")
    options = LoadOptions.build(
        input_shapes,
        dims,
        outputs,
        training=training,
        batch=batch,
        seq=seq,
        image_size=image_size,
        signature=signature,
    )
    source = make_source(model, example_inputs, options, names, bindings)
    points, graphs, lifted = _sample(source, samples)
    ref = _reference(points)
    rows = node_rows(lifted.graph, graphs, points, lifted.bad, conv)
    numels = {n: as_poly(s.numel) for n, s in lifted.graph.parameters.items()}
    peak, why = peak_candidates(lifted.graph, graphs, points, ref)
    upper = {s: max(256, 2 * max(p[s] for p in points)) for s in names}
    valid, limits = validity(rows, points[ref], upper, conv)
    notes = list(lifted.graph.notes)
    notes += [f"parameter {n}: {r}; its size is left out" for n, r in lifted.param_bad.items()]
    notes += [
        f"{model} takes {s} <= {maximum}; formulas beyond that extrapolate the architecture"
        for s, (maximum, _) in source.limits.items()
        if s in names and maximum is not None
    ]
    graph = graphs[ref]
    return SymbolicReport(
        model=name or graph.name or type(model).__name__,
        framework=graph.framework,
        convention=convention,
        symbols=tuple(names),
        points=points,
        reference=points[ref],
        rows=rows,
        param_numels={n: p for n, p in numels.items() if n not in lifted.param_bad},
        peak_activation_bytes=peak,
        peak_why=why,
        valid=valid,
        valid_why=limits,
        notes=notes,
    )
