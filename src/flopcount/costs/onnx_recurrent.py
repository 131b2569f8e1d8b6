"""Cost formulas of the recurrent ai.onnx ops: RNN, GRU, LSTM, LinearAttention and the stateful
CausalConvWithState.

RNN, GRU and LSTM follow the equations of their ONNX operator specs. One time step of one
direction, with b = batch, H = hidden_size, I = input_size and g gates (RNN 1, GRU 3, LSTM 4)::

    pre = X_t W^T + H_{t-1} R^T (+ Wb + Rb)   b*g*H dots of length I and of length H (MACs),
                                              1 add joining them, 2 bias adds when B is given
    gates = activations(pre)                  per-element constants of docs/conventions.md

GRU then forms r * (H_{t-1} R_h^T + Rb_h) (or (r * H_{t-1}) R_h^T): b*H multiplies, and
H_t = (1 - z) * h + z * H_{t-1}: 4 per element. LSTM forms C_t = f * C_{t-1} + i * c (3 per
element) and H_t = o * h(C_t) (an activation and a multiply), plus 2 per gate element for
peepholes P (i, f, o) and 2 compares per pre-activation with ``clip``. Every step of the
padded sequence length is counted (``sequence_lens`` values are runtime data), including the
recurrent product with a zero initial state.
"""

from __future__ import annotations

from flopcount.costs._common import (
    arithmetic,
    cost_error,
    flops,
    int_attr,
    optional_input,
    require_inputs,
    require_rank,
)
from flopcount.costs.contraction import dot_cost
from flopcount.costs.cost import Cost
from flopcount.costs.elementwise import ELEMENTWISE_CONSTANTS, SWISH
from flopcount.costs.registry import register
from flopcount.ir import Node

__all__ = ["activation_flops", "recurrent_step"]

GATES = {"RNN": 1, "GRU": 3, "LSTM": 4}
DEFAULT_ACTIVATIONS = {
    "RNN": ["Tanh"],
    "GRU": ["Sigmoid", "Tanh"],
    "LSTM": ["Sigmoid", "Tanh", "Tanh"],
}
# Activations the RNN specs allow beyond the elementwise ops: Affine alpha * x + beta (2),
# ScaledTanh alpha * tanh(beta * x) (3).
EXTRA_ACTIVATIONS = {"Affine": 2, "ScaledTanh": 3}


def activation_flops(node: Node, name: str) -> int:
    """FLOPs per element of an RNN activation named in the ONNX spec's list."""
    for table in (ELEMENTWISE_CONSTANTS, EXTRA_ACTIVATIONS):
        for key, value in table.items():
            if key.lower() == name.lower():
                return value
    raise cost_error(node, f"unknown RNN activation {name!r}", "use an ONNX RNN activation")


def _dims(node: Node) -> tuple[int, int, int, int, int]:
    """(steps, batch, input_size, hidden, directions) from X and W (ONNX RNN layouts)."""
    require_inputs(node, 3, 8)
    x = require_rank(node, 0, 3, 3).shape
    w = require_rank(node, 1, 3, 3).shape
    steps, batch = (x[1], x[0]) if int_attr(node, "layout", 0) else (x[0], x[1])
    hidden = int_attr(node, "hidden_size", w[1] // GATES[node.op])
    return steps, batch, x[2], hidden, w[0]


def recurrent_step(node: Node, batch: int, inputs: int, hidden: int) -> Cost:
    """One time step of one direction of an RNN / GRU / LSTM node (module docstring)."""
    gates = GATES[node.op]
    pre = batch * gates * hidden  # pre-activation elements
    names = node.attr("activations", DEFAULT_ACTIVATIONS[node.op])
    acts = [activation_flops(node, name) for name in names]
    projections = dot_cost(pre, inputs) + dot_cost(pre, hidden) + flops(pre)
    extra = 2 * pre * int(optional_input(node, 3) is not None)
    extra += 2 * pre * int(node.attr("clip") is not None)
    cell = batch * hidden
    if node.op == "RNN":
        extra += cell * acts[0]
    elif node.op == "GRU":
        extra += cell * (2 * acts[0] + acts[1] + 1 + 4)
    else:
        extra += cell * (3 * acts[0] + acts[1] + 3 + acts[2] + 1)
        extra += 6 * cell * int(optional_input(node, 7) is not None)
    return projections + flops(extra)


@register("RNN", "GRU", "LSTM")
def recurrent(node: Node) -> Cost:
    """steps * directions * `recurrent_step`. Example: LSTM, 5 steps, batch 2, I = 3, H = 4:
    5 * 2 * 4 * 4 * (3 + 4) = 1,120 MACs."""
    steps, batch, inputs, hidden, directions = _dims(node)
    return arithmetic(node, recurrent_step(node, batch, inputs, hidden).scaled(steps * directions))


def _heads(node: Node, key: str, width: int) -> tuple[int, int]:
    heads = int_attr(node, key, 0)
    if heads < 1 or width % heads:
        raise cost_error(node, f"{key}={heads} must divide the packed width {width}")
    return heads, width // heads


@register("LinearAttention")
def linear_attention(node: Node) -> Cost:
    """query (B, T, Hq*dk), key (B, T, Hkv*dk), value (B, T, Hkv*dv) (ONNX LinearAttention-27),
    counted as the recurrence it specifies, per token: each KV head's state S (dk, dv) gets
    k (x) v (dk*dv MACs); "gated" first scales S by exp(g) (an exp per decay element, dk*dv
    multiplies); "delta" forms S^T k (dk*dv MACs), v - S^T k and beta * (.) (2 dv); each
    query head reads scale * q^T S (dk*dv MACs + dv multiplies)."""
    require_inputs(node, 3, 6)
    q, _, v = (require_rank(node, i, 3, 3).shape for i in range(3))
    hq, dk = _heads(node, "q_num_heads", q[2])
    hkv, dv = _heads(node, "kv_num_heads", v[2])
    tokens = q[0] * q[1]
    rule = str(node.attr("update_rule", "gated_delta"))
    state = dk * dv
    per_kv = Cost(macs=state, flops=2 * state, flops_exact=2 * state)  # S += k (x) u
    if "delta" in rule:
        per_kv = per_kv + dot_cost(dv, dk) + flops(2 * dv)
    decay = optional_input(node, 4)
    if "gated" in rule:
        exps = decay.numel // (tokens * hkv) if decay is not None and tokens else 0
        per_kv = per_kv + flops(state + exps)
    per_q = dot_cost(dv, dk) + flops(dv)
    return arithmetic(node, (per_kv.scaled(hkv) + per_q.scaled(hq)).scaled(tokens))


@register("CausalConvWithState")
def causal_conv_with_state(node: Node) -> Cost:
    """input (B, C, L), weight (C, 1, k), optional bias (C,), past_state (B, C, k - 1): a
    depthwise causal convolution, B*C*L dots of k taps (over past and current positions),
    a bias add per output, and SiLU (5 per element, conventions.md) when
    ``activation`` is "silu" or "swish"."""
    x = require_rank(node, 0, 3, 3).shape
    w = require_rank(node, 1, 3, 3).shape
    outputs = x[0] * x[1] * x[2]
    cost = dot_cost(outputs, w[-1], bias=optional_input(node, 2) is not None)
    act = str(node.attr("activation", "none")).lower()
    return arithmetic(node, cost + flops(outputs * SWISH * int(act in ("silu", "swish"))))
