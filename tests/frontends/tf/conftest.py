"""Shared fixtures of the TensorFlow frontend tests: TF imported once, models built once.

TensorFlow takes seconds to import and Keras models to build and freeze, so every model here
is session-scoped and the helpers (freeze, profile) are fixtures returning functions.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from flopcount.costs import REGISTRY, Cost
from flopcount.costs.tfprof import tfprof_flops
from flopcount.ir import Graph

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


@pytest.fixture(scope="session")
def tf() -> Any:
    import tensorflow

    return tensorflow


@pytest.fixture(scope="session")
def keras(tf: Any) -> Any:
    import keras

    return keras


@pytest.fixture(scope="session")
def freeze(tf: Any, tmp_path_factory: pytest.TempPathFactory) -> Callable[..., tuple[Any, Path]]:
    """freeze(model, shape) -> (frozen tf.Graph, path of its .pb): the TF2 freezing recipe."""
    from tensorflow.python.framework.convert_to_constants import (
        convert_variables_to_constants_v2,
    )

    folder = tmp_path_factory.mktemp("frozen")

    def run(model: Any, shape: tuple[int, ...], name: str) -> tuple[Any, Path]:
        spec = tf.TensorSpec(shape, tf.float32, name="x")
        function = tf.function(lambda x: model(x, training=False)).get_concrete_function(spec)
        frozen = convert_variables_to_constants_v2(function)
        path = folder / f"{name}.pb"
        path.write_bytes(frozen.graph.as_graph_def().SerializeToString())
        return frozen.graph, path

    return run


@pytest.fixture(scope="session")
def profile(tf: Any) -> Callable[[Any], tuple[int, dict[str, int]]]:
    """profile(graph) -> (total float_ops, float_ops by op type) from TF's own profiler."""
    from tensorflow.python.profiler import option_builder

    def run(graph: Any) -> tuple[int, dict[str, int]]:
        builder = option_builder.ProfileOptionBuilder
        options = builder(builder.float_operation()).with_empty_output().build()
        total = tf.compat.v1.profiler.profile(graph, options=options).total_float_ops
        by_type: dict[str, int] = {}
        stack = list(tf.compat.v1.profiler.profile(graph, cmd="op", options=options).children)
        while stack:  # the op view nests each type under the previous one
            node = stack.pop()
            by_type[node.name] = int(node.float_ops)
            stack.extend(node.children)
        return int(total), {k: v for k, v in by_type.items() if v}

    return run


def tfprof_by_type(graph: Graph) -> dict[str, int]:
    """Sum of `tfprof_flops` per original TF op type (non-zero types only)."""
    found: dict[str, int] = {}
    for node in graph.nodes:
        found[node.attrs["tf_op"]] = found.get(node.attrs["tf_op"], 0) + tfprof_flops(node)
    return {k: v for k, v in found.items() if v}


def total(graph: Graph) -> Cost:
    """Sum of the registry's costs; fails on an unsupported op (unknown is never zero)."""
    costs = []
    for node in graph.nodes:
        cost = REGISTRY.cost(node)
        assert cost is not None, f"unsupported op {node.op} ({node.attrs.get('tf_op')})"
        costs.append(cost)
    return sum(costs, Cost())


@pytest.fixture(scope="session")
def measure() -> Callable[[Graph], Cost]:
    return total


@pytest.fixture(scope="session")
def by_tf_type() -> Callable[[Graph], dict[str, int]]:
    return tfprof_by_type


@pytest.fixture(scope="session")
def small_cnn(keras: Any) -> Any:
    """Conv-BN-ReLU-pool, depthwise conv, global pool, flatten, dense + softmax (32x32x3)."""
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((32, 32, 3), name="image"),
            layers.Conv2D(8, 3, padding="same", name="conv"),
            layers.BatchNormalization(name="bn"),
            layers.ReLU(name="relu"),
            layers.MaxPooling2D(name="pool"),
            layers.DepthwiseConv2D(3, name="dw"),
            layers.GlobalAveragePooling2D(name="gap"),
            layers.Flatten(name="flatten"),
            layers.Dense(10, activation="softmax", name="fc"),
        ],
        name="small_cnn",
    )
