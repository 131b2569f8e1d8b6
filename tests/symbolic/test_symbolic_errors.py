"""Bad input: unknown names, incompatible bindings, control flow on a symbol; one-line CLI."""

from __future__ import annotations

import pytest
import torch
from symbolic_models import Block, Branchy

from flopcount.cli import main
from flopcount.symbolic import SymbolicError, analyze_symbolic


def test_unknown_zoo_dimension() -> None:
    with pytest.raises(
        SymbolicError, match="unknown dimension 'image_size' for zoo:gpt2: it takes batch, seq"
    ):
        analyze_symbolic("zoo:gpt2", symbols="image_size")


def test_module_symbol_without_binding() -> None:
    with pytest.raises(SymbolicError, match=r"unknown dimension 'seq': bind it .*--dim seq="):
        analyze_symbolic(Block(), (1, 16, 32), symbols="seq")


def test_symbol_bound_to_incompatible_axes() -> None:
    ids, mask = torch.zeros(1, 16, dtype=torch.long), torch.zeros(1, 20)
    with pytest.raises(
        SymbolicError, match=r"incompatible axes: ids:1 \(size 16\), mask:1 \(size 20\)"
    ):
        analyze_symbolic(TwoInputs(), ids, mask, symbols={"seq": ["ids:1", "mask:1"]})


def test_one_axis_bound_to_two_symbols_and_a_missing_axis() -> None:
    with pytest.raises(SymbolicError, match="bound to two symbols"):
        analyze_symbolic(Block(), (1, 16, 32), symbols={"a": "0:1", "b": "x:1"})
    with pytest.raises(SymbolicError, match=r"has shape .*no axis 5"):
        analyze_symbolic(Block(), (1, 16, 32), symbols={"a": "x:5"})


def test_control_flow_on_a_symbol() -> None:
    # samples span 83..517 tokens, so the `T > 100` branch is taken at some and not others
    with pytest.raises(SymbolicError, match=r"control flow depends on symbol T"):
        analyze_symbolic(Branchy(), (1, 16, 8), symbols={"T": "x:1"})


def test_symbol_also_given_a_fixed_value() -> None:
    with pytest.raises(SymbolicError, match="both as a symbol and as a fixed value"):
        analyze_symbolic("zoo:gpt2", symbols="seq", seq=128)


def test_evaluating_outside_the_valid_range() -> None:
    conv = torch.nn.Conv2d(3, 8, 16, stride=16)
    report = analyze_symbolic(conv, (1, 3, 64, 64), symbols={"H": ["0:2", "0:3"]})
    assert report.valid["H"] == (16, None)
    with pytest.raises(SymbolicError, match=r"H=8 is outside .*H >= 16"):
        report.evaluate(report.total.macs, H=8)
    with pytest.raises(SymbolicError, match="unknown dimension"):
        report.evaluate(report.total.macs, H=32, W=32)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["zoo:gpt2", "--symbolic", "image_size"], "unknown dimension 'image_size'"),
        (
            [
                "symbolic_models:branchy",
                "--symbolic",
                "T",
                "--dim",
                "T=0:1",
                "--input-shape",
                "1x16x8",
            ],
            "control flow depends on symbol T",
        ),
        (["zoo:gpt2", "--symbolic", "seq", "--at", "batch=3"], "unknown dimension(s) ['batch']"),
        (["zoo:gpt2", "--at", "seq=3"], "--at and --sweep evaluate symbolic formulas"),
        (["zoo:gpt2", "--symbolic", "seq", "--sweep", "seq=1-5"], "malformed --sweep"),
        (["zoo:gpt2", "--symbolic", "seq", "--dim", "seq=ids"], "malformed binding seq='ids'"),
    ],
)
def test_cli_bad_input_is_one_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], message: str
) -> None:
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("flopcount: error: ") and message in err


class TwoInputs(torch.nn.Module):
    def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return ids.float() * mask[:, : ids.shape[1]]
