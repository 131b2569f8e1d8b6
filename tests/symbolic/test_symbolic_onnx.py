"""ONNX exports with dynamic axes: symbols are the ``dim_param``s (or aliases of them).

Small GPT-2-, BERT-, Llama- and ViT-shaped models (``symbolic_models``) are exported with
``dynamic_axes``; the symbolic totals at 5 sizes must equal concrete analyses of the same file
with those sizes bound through ``dims``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path

import pytest
import torch
from symbolic_models import WIDTH, TinyGPT, TinyLlama, TinyViT

import flopcount
from flopcount.symbolic import Poly, SymbolicError, SymbolicReport, analyze_symbolic

FIELDS = ("macs", "flops", "flops_exact", "bytes_read", "bytes_written")


def export(model: torch.nn.Module, example: torch.Tensor, path: Path, axes: dict[int, str]) -> str:
    name = "images" if example.dim() == 4 else "ids"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model.eval(),
            (example,),
            str(path),
            input_names=[name],
            dynamic_axes={name: axes},
            dynamo=False,
        )
    return str(path)


@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    tmp = tmp_path_factory.mktemp("onnx")
    ids = torch.zeros(2, 16, dtype=torch.long)
    image = torch.zeros(1, 3, 64, 64)
    return {
        "gpt": export(TinyGPT(), ids, tmp / "gpt.onnx", {0: "batch", 1: "seq"}),
        "bert": export(TinyGPT(causal=False), ids, tmp / "bert.onnx", {0: "batch", 1: "seq"}),
        "llama": export(TinyLlama(), ids, tmp / "llama.onnx", {0: "batch", 1: "seq"}),
        "vit": export(TinyViT(), image, tmp / "vit.onnx", {0: "n", 2: "height", 3: "width"}),
    }


def check(
    report: SymbolicReport,
    path: str,
    points: list[Mapping[str, int]],
    dims: Mapping[str, str] | None = None,
    fixed: Mapping[str, int] | None = None,
) -> None:
    assert not report.not_symbolic, [r.why for r in report.not_symbolic]
    for point in points:
        bound = {d: point[s] for d, s in (dims or {s: s for s in point}).items()}
        concrete = flopcount.analyze(path, dims={**bound, **(fixed or {})})
        for name in FIELDS:
            assert report.evaluate(report.total.get(name), **point) == getattr(
                concrete.total, name
            ), (name, point)


def test_gpt_shaped_batch_and_seq(files: dict[str, str]) -> None:
    report = analyze_symbolic(files["gpt"], symbols="batch,seq")
    points = [{"batch": b, "seq": t} for b, t in ((1, 16), (2, 24), (3, 40), (2, 64), (5, 33))]
    check(report, files["gpt"], points)
    b, t, d = Poly.symbol("batch"), Poly.symbol("seq"), WIDTH
    attention = next(a for a in report.by_family() if a.key == "attention")
    # 2 layers x (Q K^T + P V) = 2 * 2 * B * T * T * d MACs
    assert attention.cost.macs == b * t * t * Poly.const(2 * 2 * d)


def test_bert_shaped_seq(files: dict[str, str]) -> None:
    report = analyze_symbolic(files["bert"], symbols="seq", dims={"batch": 2})
    check(report, files["bert"], [{"seq": t} for t in (16, 23, 40, 64, 77)], fixed={"batch": 2})


def test_llama_shaped_seq(files: dict[str, str]) -> None:
    report = analyze_symbolic(files["llama"], symbols="seq", dims={"batch": 1})
    check(report, files["llama"], [{"seq": t} for t in (16, 24, 33, 48, 64)], fixed={"batch": 1})


def test_vit_shaped_one_symbol_for_height_and_width(files: dict[str, str]) -> None:
    report = analyze_symbolic(
        files["vit"], symbols={"image": ["images:2", "images:3"]}, dims={"n": 2}
    )
    points = [{"image": s} for s in (32, 48, 64, 96, 224)]
    check(report, files["vit"], points, dims={"height": "image", "width": "image"}, fixed={"n": 2})
    assert report.valid["image"] == (16, None)  # the 16x16 patch conv needs 16 pixels


def test_unknown_dim_param_is_named(files: dict[str, str]) -> None:
    with pytest.raises(SymbolicError, match=r"unknown dimension 'tokens'.*batch, seq"):
        analyze_symbolic(files["gpt"], symbols="tokens")
    with pytest.raises(SymbolicError, match="not a symbolic dimension"):
        analyze_symbolic(files["vit"], symbols={"c": "images:1"})
