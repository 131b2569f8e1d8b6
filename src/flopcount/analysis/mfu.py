"""Model FLOPs utilisation (MFU) and hardware FLOPs utilisation (HFU).

Chowdhery et al., "PaLM: Scaling Language Modeling with Pathways", 2022, Appendix B: MFU is
the observed throughput divided by the theoretical maximum throughput of the system at its
peak FLOP/s, where the model's FLOPs per step are those of the forward and backward passes
*without* rematerialisation (so MFU does not reward recomputing). HFU counts the FLOPs the
hardware really executed, recomputed activations included:

    MFU = model_flops_per_step / step_time / (n_devices * peak(dtype))
    HFU = (model_flops_per_step + recompute_flops_per_step) / step_time / (n_devices * peak)

The step time comes from ``step_time_s``, or from a token rate as
``tokens_per_step / tokens_per_s`` (PaLM's form: tokens/s x FLOPs/token over peak).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flopcount.analysis.hardware import Hardware
from flopcount.errors import HardwareError

__all__ = ["MfuResult", "mfu"]

_CONSISTENT = 0.01  # step time and token rate may disagree by 1% (rounded logs)


@dataclass(frozen=True)
class MfuResult:
    """Utilisations as fractions of peak (0.462 = 46.2 %) and the rates behind them."""

    mfu: float
    hfu: float | None
    achieved_flops_per_s: float
    peak_flops_per_s: float
    step_time_s: float
    notes: tuple[str, ...] = ()


def _check_positive(**values: float | int | None) -> None:
    for name, value in values.items():
        if value is not None and (not math.isfinite(value) or value <= 0):
            raise HardwareError(f"mfu: {name} must be a positive number, got {value!r}")


def _step_time(
    step_time_s: float | None, tokens_per_s: float | None, tokens_per_step: int | None
) -> float:
    """The step time given directly, or implied by the token rate; both must agree."""
    implied: float | None = None
    if tokens_per_s is not None:
        if tokens_per_step is None:
            raise HardwareError("mfu: tokens_per_s needs tokens_per_step (tokens in one step)")
        implied = tokens_per_step / tokens_per_s
    if step_time_s is None:
        if implied is None:
            raise HardwareError(
                "mfu: give the step time (step_time_s) or a token rate "
                "(tokens_per_s with tokens_per_step)"
            )
        return implied
    if implied is not None and abs(step_time_s - implied) > _CONSISTENT * step_time_s:
        raise HardwareError(
            f"mfu: step_time_s={step_time_s} disagrees with tokens_per_step / tokens_per_s "
            f"= {implied:.6g} s; give one of them"
        )
    return step_time_s


def mfu(
    model_flops_per_step: int,
    *,
    hardware: Hardware,
    dtype: str,
    step_time_s: float | None = None,
    tokens_per_s: float | None = None,
    tokens_per_step: int | None = None,
    n_devices: int = 1,
    recompute_flops_per_step: int | None = None,
) -> MfuResult:
    """MFU (and HFU when ``recompute_flops_per_step`` is given) of a training or inference run.

    ``model_flops_per_step`` are the model's FLOPs for one step on all devices together
    (forward + backward for training, e.g. ``6 * N * tokens_per_step``), without recompute.
    Inconsistent or missing inputs raise `HardwareError` (a ``ValueError``).
    """
    _check_positive(
        model_flops_per_step=model_flops_per_step, step_time_s=step_time_s,
        tokens_per_s=tokens_per_s, tokens_per_step=tokens_per_step, n_devices=n_devices,
    )  # fmt: skip
    if recompute_flops_per_step is not None and recompute_flops_per_step < 0:
        raise HardwareError("mfu: recompute_flops_per_step must be >= 0")
    if isinstance(n_devices, bool) or int(n_devices) != n_devices:
        raise HardwareError(f"mfu: n_devices must be a whole number, got {n_devices!r}")
    step = _step_time(step_time_s, tokens_per_s, tokens_per_step)
    peak = hardware.peak_for(dtype) * n_devices
    achieved = model_flops_per_step / step
    hfu = None
    if recompute_flops_per_step is not None:
        hfu = (model_flops_per_step + recompute_flops_per_step) / step / peak
    notes = []
    if achieved > peak:
        notes.append(
            f"MFU above 100% ({achieved / peak:.0%}): the FLOP count, the step time, the "
            f"device count or the dtype ({dtype} on {hardware.name}) is off"
        )
    return MfuResult(achieved / peak, hfu, achieved, peak, step, tuple(notes))
