"""Process-level settings for one analysis.

`collector_paused`: lowering a large model allocates hundreds of thousands of small objects
(tensor specs, nodes, shape tuples; a symbolic analysis keeps several lowered graphs alive at
once) and frees almost none until the analysis ends. CPython's cyclic garbage collector runs a
pass each time allocations outnumber deallocations by its threshold (700 by default, with
full passes over every tracked object at growing intervals: CPython's ``Modules/gcmodule.c``
and the `gc` module documentation), so it repeatedly scans a heap that holds no garbage:
measured on zoo:llama2-70b (``benchmarks/symbolic.py``), about 20 % of a symbolic analysis.
Reference counting still frees every object at once; cycles made meanwhile are collected
when the collector is back on.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

__all__ = ["collector_paused", "without_collector"]

P = ParamSpec("P")
R = TypeVar("R")


@contextmanager
def collector_paused() -> Iterator[None]:
    """Disable the cyclic garbage collector inside the block; restore its state after."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def without_collector(function: Callable[P, R]) -> Callable[P, R]:
    """``function`` run under `collector_paused`."""

    @functools.wraps(function)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        with collector_paused():
            return function(*args, **kwargs)

    return wrapper
