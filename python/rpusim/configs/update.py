"""Pulsed-update parameters (``UpdateParameters``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rpusim.configs.encode import encode_fields
from rpusim.configs.enums import PulseType


@dataclass
class UpdateParameters:
    """How ``W -= lr·d·xᵀ`` becomes stochastic pulse trains.

    Per (x, d) vector pair with xm = max|x|, dm = um_grad_scale·max|d| and
    k = lr·xm·dm/dw_min: update BL management uses BL = min(⌈k⌉, desired_bl) slots; update
    management balances the probabilities so that the largest x and d entries fire with
    probability √(k/BL); x_j fires in each slot with probability B|x_j|, d_i with A|d_i|, and every
    coincidence is one pulse on device ij (up when x_j and d_i have opposite signs). The expected
    number of pulses is lr·|d_i||x_j|/dw_min.

    The deterministic types plan BL, A, B the same way but draw nothing: ``MEAN_COUNT`` rounds the
    expected firings n_x = round(BL·q(B|x_j|, res)) (at most BL), likewise n_d, and gives
    round(n_d·n_x/BL) pulses; ``DETERMINISTIC_IMPLICIT`` quantises p_x = B|x_j| to
    ``x_res_implicit`` and p_d = A|d_i| to ``d_res_implicit`` (each clipped to [0, 1]) and gives
    round(BL·p_d·p_x) pulses (rounding half to even). ``STOCHASTIC`` draws the trains of
    ``STOCHASTIC_COMPRESSED`` (aihwkit only stores the firing x_j of a slot in two lists by sign:
    each device sees the same pulses).
    """

    desired_bl: int = 31
    """Pulse-train length (the maximum length with update_bl_management), 1…1024."""
    fixed_bl: bool = True
    """Keep BL = desired_bl (when update_bl_management is off)."""
    pulse_type: PulseType = PulseType.STOCHASTIC_COMPRESSED
    """``STOCHASTIC_COMPRESSED``, ``STOCHASTIC``, ``MEAN_COUNT``, ``DETERMINISTIC_IMPLICIT``
    (pulses), ``NONE`` (exact float update) or ``NONE_WITH_DEVICE``."""
    res: float = 0.0
    """Quantisation of the pulse probabilities (≤ 0 off, ≤ 1 step, > 1 number of steps)."""
    x_res_implicit: float = 0.0
    """Step of the x quantisation of ``DETERMINISTIC_IMPLICIT`` on [0, 1] (0: none)."""
    d_res_implicit: float = 0.0
    """Step of the d quantisation of ``DETERMINISTIC_IMPLICIT`` on [0, 1] (0: none)."""
    d_sparsity: bool = False
    """Record gradient sparsity (no effect on the update)."""
    sto_round: bool = False
    """Stochastic rounding of the probability quantisation."""
    update_bl_management: bool = True
    """Dynamic train length per vector pair."""
    update_management: bool = True
    """Balance the x and d probabilities (always on with update_bl_management)."""
    um_grad_scale: float = 1.0
    """Biases the balance towards clipping d."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return encode_fields(self, prefix)


@dataclass
class PresetUpdateParameters(UpdateParameters):
    """The update used by the device presets (same values as the defaults)."""
