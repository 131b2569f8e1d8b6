"""--plot writes a decodable image of the documented size; `hw list` / `hw measure` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib.image
import pytest

from flopcount.analysis import analyze_graph
from flopcount.analysis.hardware import list_hardware
from flopcount.cli import main
from flopcount.errors import FlopcountError
from flopcount.ir import Graph
from flopcount.report.plot import FIGSIZE_IN, PLOT_DPI, plot_report


def test_png_decodes_with_expected_size(tiny_graph: Graph, tmp_path: Path) -> None:
    path = plot_report(analyze_graph(tiny_graph, hardware="h100"), tmp_path / "r.png")
    pixels = matplotlib.image.imread(path)
    # figure size in inches times dots per inch: 12 x 5 in at 100 dpi = 1200 x 500 pixels
    assert pixels.shape[:2] == (FIGSIZE_IN[1] * PLOT_DPI, FIGSIZE_IN[0] * PLOT_DPI) == (500, 1200)


def test_svg_and_bad_suffix(tiny_graph: Graph, tmp_path: Path) -> None:
    svg = plot_report(analyze_graph(tiny_graph), tmp_path / "r.svg").read_text()
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    with pytest.raises(FlopcountError, match=r"write a \.png or \.svg"):
        plot_report(analyze_graph(tiny_graph), tmp_path / "r.gif")


def test_hw_list_names_every_device(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["hw", "list"]) == 0
    out = capsys.readouterr().out
    for hw in list_hardware():
        assert hw.name in out and hw.source in out
    assert "Dense peaks" in out


def test_hw_measure_saves_a_profile_usable_as_hardware(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_graph: Graph
) -> None:
    profile = tmp_path / "me.json"
    assert main(["hw", "measure", "--quick", "-o", str(profile)]) == 0
    captured = capsys.readouterr()
    assert "[  0%] measuring" in captured.err and "[100%]" in captured.err  # progress shown
    assert json.loads(profile.read_text())["peak_tflops"]["fp32"] > 0  # TFLOP/s in profiles
    report = analyze_graph(tiny_graph, hardware=str(profile))
    assert report.roofline is not None and report.roofline.total_time_s > 0


def test_hw_measure_calibrate_feeds_the_cpu_eager_preset(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, tiny_graph: Graph
) -> None:
    profile = tmp_path / "cal.json"
    assert main(["hw", "measure", "--quick", "--calibrate", "-o", str(profile)]) == 0
    assert "--roofline-preset cpu-eager" in capsys.readouterr().out
    measured = json.loads(profile.read_text())["measured"]
    assert any(key.startswith("cal_") for key in measured)
    plain = analyze_graph(tiny_graph, hardware=str(profile))
    eager = analyze_graph(tiny_graph, hardware=str(profile), roofline_preset="cpu-eager")
    assert plain.roofline is not None and eager.roofline is not None
    assert eager.roofline.total_time_s != plain.roofline.total_time_s  # the calibration is used
