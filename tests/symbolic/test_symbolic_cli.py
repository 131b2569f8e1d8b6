"""``flopcount MODEL --symbolic ...``: table, JSON that sympy parses back, --at, --sweep, --plot."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import sympy
from symbolic_models import mlp

import flopcount
from flopcount.cli import main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert main(list(argv)) == 0
    out, _ = capsys.readouterr()
    return out


def test_table_with_at_and_sweep(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    chart = tmp_path / "sweep.png"
    out = run(
        capsys,
        "zoo:gpt2",
        "--symbolic",
        "seq",
        "--at",
        "seq=1024",
        "--sweep",
        "seq=128..1024",
        "--plot",
        str(chart),
    )
    # GPT-2 small MACs: 12 layers * 2 * 768 T**2 + (12 * 12 * 768**2 + 768 * 50257) T
    assert "MACs                   18432*seq**2 + 123532032*seq" in out
    assert "Crossover: attention FLOPs exceed matmul FLOPs from seq >= " in out
    concrete = flopcount.analyze("zoo:gpt2", seq=1024)
    assert f"MACs: {concrete.total.macs:,} " in out  # --at evaluates exactly
    sweep = out.split("Sweep of seq")[1].splitlines()
    assert [line.split()[0] for line in sweep[2:6]] == ["128", "256", "512", "1024"]  # 2**k
    assert chart.stat().st_size > 10_000 and chart.read_bytes()[:4] == b"\x89PNG"


def test_json_expressions_parse_back_with_sympy(capsys: pytest.CaptureFixture[str]) -> None:
    doc = json.loads(
        run(capsys, "zoo:bert-base", "--symbolic", "seq", "--format", "json", "--at", "seq=200")
    )
    assert doc["schema"] == "flopcount.symbolic/1" and doc["symbols"] == ["seq"]
    concrete = flopcount.analyze("zoo:bert-base", seq=77)
    for name in ("macs", "flops", "flops_exact", "bytes_read", "bytes_written"):
        expr = sympy.sympify(doc["total"][name])
        assert expr.subs("seq", 77) == getattr(concrete.total, name), name
    assert doc["at"]["point"] == {"seq": 200}
    assert doc["at"]["macs"] == flopcount.analyze("zoo:bert-base", seq=200).total.macs
    assert doc["not_symbolic"] == [] and doc["excluded"]["flops"] == 0
    assert {f["key"] for f in doc["by_family"]} >= {"attention", "matmul", "normalization"}
    peak = sympy.sympify(doc["peak_activation_bytes"])
    assert concrete.memory is not None
    assert peak.subs("seq", 77) == concrete.memory.peak_activation_bytes


def test_module_binding_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    out = run(
        capsys,
        "symbolic_models:mlp",
        "--symbolic",
        "B,T",
        "--dim",
        "T=0:1",
        "--dim",
        "B=0:0",
        "--input-shape",
        "2x16x8",
        "--format",
        "json",
        "--sweep",
        "T=2..64",
        "--at",
        "B=4",
    )
    doc = json.loads(out)
    # Linear(8, 32) then Linear(32, 8) per token: (8*32 + 32*8) MACs * B * T
    assert sympy.sympify(doc["total"]["macs"]) == sympy.sympify("512*B*T")
    assert doc["sweep"]["columns"][0] == "T"
    rows = doc["sweep"]["rows"]
    assert [r[0] for r in rows] == [2, 4, 8, 16, 32, 64]
    total = doc["sweep"]["columns"].index("total")
    assert rows[0][total] == flopcount.analyze(mlp(), (4, 2, 8)).total.flops  # B=4 from --at
