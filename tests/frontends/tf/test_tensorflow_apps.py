"""keras.applications MobileNetV2 and ResNet50 (weights=None): tfprof parity with the profiler.

The frozen .pb is analysed by flopcount's own decoder and shape rules (no TF shapes); the
``tfprof`` convention must equal the profiler's total and every per-op-type figure exactly,
and the unfrozen Keras model must give the same ``flops`` as its frozen graph.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flopcount.costs import Cost
from flopcount.costs.tfprof import tfprof_flops
from flopcount.frontends.tensorflow import lower
from flopcount.ir import Graph

pytestmark = pytest.mark.slow

APPS = ["MobileNetV2", "ResNet50"]


@pytest.fixture(scope="module", params=APPS)
def app(
    request: pytest.FixtureRequest, keras: Any, freeze: Callable[..., Any]
) -> tuple[Any, Any, Path]:
    """(Keras model, frozen tf.Graph, frozen .pb path) at batch 1, 224x224x3."""
    model = getattr(keras.applications, request.param)(weights=None)
    graph, path = freeze(model, (1, 224, 224, 3), request.param)
    return model, graph, path


def test_tfprof_equals_the_profiler(
    app: tuple[Any, Any, Path], profile: Callable[..., Any], by_tf_type: Callable[..., Any]
) -> None:
    _, graph, path = app
    expected_total, expected_by_type = profile(graph)
    ir = lower(path)
    assert sum(tfprof_flops(n) for n in ir.nodes) == expected_total
    assert by_tf_type(ir) == expected_by_type


def test_unfrozen_keras_equals_frozen(
    app: tuple[Any, Any, Path], measure: Callable[[Graph], Cost]
) -> None:
    model, _, path = app
    frozen, unfrozen = lower(path), lower(model)
    assert measure(unfrozen) == measure(frozen)
    params = sum(p.numel for p in unfrozen.parameters.values())
    buffers = sum(b.numel for b in unfrozen.buffers.values())
    trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
    assert params == trainable  # Keras's trainable weights are flopcount's parameters
    assert params + buffers == model.count_params()  # the moving statistics are buffers
    assert sum(p.numel for p in frozen.parameters.values()) == model.count_params()
