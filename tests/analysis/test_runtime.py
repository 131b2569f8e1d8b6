"""The garbage collector is paused during an analysis and restored after, whatever happened."""

from __future__ import annotations

import gc

import pytest

import flopcount
from flopcount._runtime import collector_paused, without_collector
from flopcount.errors import ModelLoadError


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_state_restored(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        (gc.enable if enabled else gc.disable)()
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() is enabled
    finally:
        (gc.enable if was else gc.disable)()


def test_collector_restored_after_an_error() -> None:
    @without_collector
    def fails() -> None:
        assert not gc.isenabled()
        raise ValueError("boom")

    assert gc.isenabled()
    with pytest.raises(ValueError, match="boom"):
        fails()
    assert gc.isenabled()


def test_analyze_leaves_the_collector_on() -> None:
    assert gc.isenabled()
    flopcount.analyze("zoo:matmul")
    assert gc.isenabled()
    with pytest.raises(ModelLoadError):
        flopcount.analyze("zoo:no-such-model")
    assert gc.isenabled()
