"""Zoo models: symbolic totals evaluated at 5+ sizes equal independent concrete analyses.

The evaluation points differ from the sample points the formulas were built from (the samples
are listed in ``report.points``), so each comparison is an out-of-sample check.
"""

from __future__ import annotations

import pytest

import flopcount
from flopcount.symbolic import Poly, SymbolicReport, analyze_symbolic

FIELDS = ("macs", "flops", "flops_exact", "bytes_read", "bytes_written")


def check_against_concrete(
    report: SymbolicReport, spec: str, option: str, values: tuple[int, ...]
) -> None:
    assert not report.not_symbolic, [r.why for r in report.not_symbolic]
    sampled = {p[option] for p in report.points}
    assert len(values) >= 5 and not sampled & set(values)  # out-of-sample points only
    for value in values:
        concrete = flopcount.analyze(spec, **{option: value})
        for name in FIELDS:
            assert report.evaluate(report.total.get(name), **{option: value}) == getattr(
                concrete.total, name
            ), (name, value)
        assert report.evaluate(report.params, **{option: value}) == concrete.params
        assert concrete.memory is not None
        assert report.peak_at(**{option: value}) == concrete.memory.peak_activation_bytes


def test_gpt2_seq() -> None:
    report = analyze_symbolic("zoo:gpt2", symbols="seq")
    check_against_concrete(report, "zoo:gpt2", "seq", (16, 23, 40, 64, 1024))
    # 12 layers x SDPA (Q K^T and P V: 2 * heads * T * T * 64 MACs = 1536 T**2) = 18432 T**2;
    # 12 layers x 12 d**2 T (d = 768) + LM head d * 50257 T = 123532032 T
    assert report.total.macs == Poly.symbol("seq") * Poly.symbol("seq") * Poly.const(
        12 * 2 * 768
    ) + Poly.symbol("seq").scale(12 * 12 * 768 * 768 + 768 * 50257)


def test_bert_base_seq() -> None:
    report = analyze_symbolic("zoo:bert-base", symbols="seq")
    check_against_concrete(report, "zoo:bert-base", "seq", (16, 21, 37, 64, 512))


@pytest.mark.slow
def test_llama2_7b_seq() -> None:
    report = analyze_symbolic("zoo:llama2-7b", symbols="seq")
    check_against_concrete(report, "zoo:llama2-7b", "seq", (16, 24, 33, 48, 64))


def test_vit_b_16_image_size() -> None:
    report = analyze_symbolic("zoo:vit_b_16", symbols="image_size")
    assert all(p["image_size"] % 16 == 0 for p in report.points)  # the zoo's multiple_of
    check_against_concrete(report, "zoo:vit_b_16", "image_size", (32, 48, 96, 112, 240))


def test_gpt2_batch_and_seq() -> None:
    report = analyze_symbolic("zoo:gpt2", symbols="batch,seq")
    b, t = Poly.symbol("batch"), Poly.symbol("seq")
    # every term is linear in batch: B * (a T + b T**2)
    assert report.total.macs == b * t * t * Poly.const(18432) + b * t * Poly.const(123532032)
    for batch, seq in ((2, 16), (3, 40)):
        concrete = flopcount.analyze("zoo:gpt2", batch=batch, seq=seq)
        assert report.evaluate(report.total.flops, batch=batch, seq=seq) == concrete.total.flops


def test_one_build_serves_every_sample_point(monkeypatch: pytest.MonkeyPatch) -> None:
    from flopcount import zoo

    built: list[str] = []
    original = zoo.ZooEntry.build

    def counting(self: zoo.ZooEntry, **sizes: int | None) -> object:
        built.append(self.name)
        return original(self, **sizes)

    monkeypatch.setattr(zoo.ZooEntry, "build", counting)
    report = analyze_symbolic("zoo:gpt2", symbols="seq")
    assert len(report.points) >= 3 and built == ["gpt2"]  # size-independent: built once
    built.clear()
    report = analyze_symbolic("zoo:vit_b_16", symbols="image_size")
    # ViT's position table depends on the image size: one build per sample point
    assert built == ["vit_b_16"] * len(report.points)
