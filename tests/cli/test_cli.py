"""The CLI: one line and exit 2 on bad input, exit 3 under --strict, reports on stdout."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from flopcount.cli import main, parse_shape

HERE = Path(__file__).parent


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_parse_shape() -> None:
    assert parse_shape("1x3x224x224") == (None, (1, 3, 224, 224))
    assert parse_shape("input_ids=1x128") == ("input_ids", (1, 128))
    assert parse_shape("1,128") == (None, (1, 128))


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["missing.onnx"], "no such file: missing.onnx"),
        (["not_a_module_xyz:make"], "cannot import module 'not_a_module_xyz'"),
        (["graph_models:nothing"], "has no attribute 'nothing'"),
        (["graph_models:tiny", "--input-shape", "1xx3"], "malformed --input-shape '1xx3'"),
        (["graph_models:tiny", "--dim", "seq"], "malformed --dim 'seq'"),
        (["nonsense"], "not a model spec"),
        ([], "no MODEL given"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("flopcount: error: ")
    assert message in err
    assert "Traceback" not in err


def test_debug_shows_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "missing.onnx", "--debug")
    assert code == 2 and "Traceback" in err


def test_report_and_strict(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "graph_models:tiny", "--convention", "macs")
    assert code == 0
    assert f"Total: {2 * 8 * 4} MACs (macs convention)" in out  # M*K*N = 64
    assert "MysteryOp x1 in tail" in out
    code, out, err = run(capsys, "graph_models:tiny", "--strict")
    assert code == 3 and "MysteryOp x1" in err and "Total:" in out
    target = tmp_path / "r.json"
    code, out, _ = run(capsys, "graph_models:tiny", "--format", "json", "-o", str(target))
    assert code == 0 and out == ""
    assert json.loads(target.read_text())["total"]["macs"] == 64


def test_python_dash_m_matches_console_script() -> None:
    env_path = f"{HERE}"
    cmd = [sys.executable, "-m", "flopcount", "graph_models:tiny", "--format", "csv", "--by", "op"]
    via_m = subprocess.run(
        cmd, capture_output=True, text=True, env={"PYTHONPATH": env_path}, check=False
    )
    assert via_m.returncode == 0, via_m.stderr
    script = Path(sys.executable).with_name("flopcount")
    via_script = subprocess.run(
        [str(script), *cmd[3:]],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": env_path},
        check=False,
    )
    assert via_script.stdout == via_m.stdout and "MatMul" in via_m.stdout


def test_unknown_hardware_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "graph_models:tiny", "--hardware", "h1000")
    assert code == 2 and err.count("\n") == 1 and "'h1000'" in err


def test_hardware_adds_roofline(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "graph_models:tiny", "--hardware", "a100", "--by", "node")
    assert code == 0
    assert "Roofline on NVIDIA A100 SXM 80GB (fp32)" in out
    assert "memory" in out  # a 2x8 @ 8x4 product is far below the ridge point
