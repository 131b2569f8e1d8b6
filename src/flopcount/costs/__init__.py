"""Cost formulas: the `Cost` value type and one registry of pure per-op formulas.

Importing this package registers every formula: the op modules below register on import, one
family each (contractions, Einsum, attention, elementwise, normalisation, softmax, pooling,
reductions, free ops; the rest of ai.onnx, recurrent, sampling, signal, quantized and
com.microsoft ops). ``docs/conventions.md`` defines what each field counts.
"""

from flopcount.costs import (  # noqa: F401  (imported to register their formulas)
    attention,
    einsum,
    elementwise,
    free_ops,
    msft_ops,
    normalization,
    onnx_ops,
    onnx_recurrent,
    onnx_sampling,
    onnx_signal,
    ops_contraction,
    pooling,
    quantized,
    reduction,
    softmax,
)
from flopcount.costs._common import cost_error
from flopcount.costs.attention import attention_causal_exact, causal_pairs
from flopcount.costs.contraction import conv_cost, dot_cost, matmul_cost
from flopcount.costs.cost import ZERO, Cost
from flopcount.costs.registry import REGISTRY, CostFormula, OpStatus, Registry, free, register

__all__ = [
    "REGISTRY",
    "ZERO",
    "Cost",
    "CostFormula",
    "OpStatus",
    "Registry",
    "attention_causal_exact",
    "causal_pairs",
    "conv_cost",
    "cost_error",
    "dot_cost",
    "free",
    "matmul_cost",
    "register",
]
