"""Cross-framework consistency: the same CNN and transformer block in Keras and PyTorch.

flopcount's counts of the Keras model (TensorFlow frontend) and of the PyTorch model
(PyTorch frontend) must give the same MACs and parameters, and both the hand arithmetic.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from flopcount.costs import Cost
from flopcount.frontends import tensorflow as tf_frontend
from flopcount.frontends import torch as torch_frontend
from flopcount.ir import Graph

# CNN on a 16x16x3 image: conv3x3 "same" -> 16x16x16, pool -> 8x8, conv3x3 stride 2 "valid"
# -> floor((8 - 3) / 2) + 1 = 3x3x32, global pool, dense 32 -> 10.
CNN_MACS = 16 * 16 * 16 * (3 * 3 * 3) + 3 * 3 * 32 * (3 * 3 * 16) + 32 * 10
CNN_PARAMS = (3 * 3 * 3 * 16 + 16) + 2 * 16 + (3 * 3 * 16 * 32 + 32) + (32 * 10 + 10)
# Transformer block, batch 2, 16 tokens, width 32, 4 heads of 8, MLP 64:
B, T, E, HEADS, MLP = 2, 16, 32, 4, 64
BLOCK_MACS = (
    4 * B * T * E * E  # q, k, v, output projections
    + 2 * B * HEADS * T * T * (E // HEADS)  # scores Q K^T and weights @ V
    + 2 * B * T * E * MLP  # two MLP layers
)
BLOCK_PARAMS = 4 * (E * E + E) + 2 * (2 * E) + (E * MLP + MLP) + (MLP * E + E)


def params(graph: Graph) -> int:
    return sum(p.numel for p in graph.parameters.values())


def keras_cnn(keras: Any) -> Any:
    layers = keras.layers
    return keras.Sequential(
        [
            keras.Input((16, 16, 3), name="image"),
            layers.Conv2D(16, 3, padding="same"),
            layers.BatchNormalization(),
            layers.ReLU(),
            layers.MaxPooling2D(2),
            layers.Conv2D(32, 3, strides=2),
            layers.ReLU(),
            layers.GlobalAveragePooling2D(),
            layers.Dense(10),
        ]
    )


def torch_cnn() -> Any:
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, 3, stride=2), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        nn.Linear(32, 10),
    )  # fmt: skip


def keras_block(keras: Any) -> Any:
    layers = keras.layers
    x = keras.Input((T, E), name="tokens")
    attended = layers.MultiHeadAttention(num_heads=HEADS, key_dim=E // HEADS)(x, x)
    h = layers.LayerNormalization()(x + attended)
    mlp = layers.Dense(E)(layers.Dense(MLP, activation="gelu")(h))
    return keras.Model(x, layers.LayerNormalization()(h + mlp))


class TorchBlock(nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.q, self.k, self.v, self.o = (nn.Linear(E, E) for _ in range(4))
        self.ln1, self.ln2 = nn.LayerNorm(E), nn.LayerNorm(E)
        self.mlp = nn.Sequential(nn.Linear(E, MLP), nn.GELU(), nn.Linear(MLP, E))

    def forward(self, x: Any) -> Any:
        def heads(t: Any) -> Any:  # (B, T, E) -> (B, heads, T, E / heads)
            return t.view(B, T, HEADS, E // HEADS).transpose(1, 2)

        attended = nn.functional.scaled_dot_product_attention(
            heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
        )
        h = self.ln1(x + self.o(attended.transpose(1, 2).reshape(B, T, E)))
        return self.ln2(h + self.mlp(h))


def test_cnn_keras_and_pytorch_agree(keras: Any, measure: Callable[[Graph], Cost]) -> None:
    from_keras = tf_frontend.lower(keras_cnn(keras))
    from_torch = torch_frontend.lower(torch_cnn(), (1, 3, 16, 16))
    assert measure(from_keras).macs == measure(from_torch).macs == CNN_MACS
    assert params(from_keras) == params(from_torch) == CNN_PARAMS


def test_transformer_block_keras_and_pytorch_agree(
    keras: Any, measure: Callable[[Graph], Cost]
) -> None:
    from_keras = tf_frontend.lower(keras_block(keras), input_shapes={"tokens": (B, T, E)})
    from_torch = torch_frontend.lower(TorchBlock(), (B, T, E))
    assert measure(from_keras).macs == measure(from_torch).macs == BLOCK_MACS
    assert params(from_keras) == params(from_torch) == BLOCK_PARAMS
