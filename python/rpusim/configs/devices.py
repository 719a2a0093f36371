"""Device models (one resistive element per cross-point)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rpusim.configs.encode import encode_fields


@dataclass
class FloatingPointDevice:
    """Floating-point weights: exact update, no bounds (for ``FloatingPointRPUConfig``)."""

    diffusion: float = 0.0
    """Random-walk std per mini-batch: w += diffusion·ξ after every optimizer step (0: off)."""
    lifetime: float = 0.0
    """Decay time constant in mini-batches: w *= 1 − 1/lifetime after every step (0: off)."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return {"type": "FloatingPointDevice", **encode_fields(self, prefix)}


@dataclass
class IdealDevice:
    """Ideal device: exact floating-point update ``W -= lr·d·xᵀ``, no bounds, no noise."""

    construction_seed: int = 0
    """Seed of the device-to-device draws if ≠ 0 (none for this device)."""
    diffusion: float = 0.0
    """Random-walk std per mini-batch: w += diffusion·ξ after every optimizer step (0: off)."""
    lifetime: float = 0.0
    """Decay time constant in mini-batches: w *= 1 − 1/lifetime after every step (0: off)."""
    reset_std: float = 0.01
    """Spread of a reset."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return {"type": "IdealDevice", **encode_fields(self, prefix)}


@dataclass
class PulsedDevice:
    """Parameters common to all pulsed devices.

    Drawn once per device ij at construction (ξ standard normal):
    b_max = w_max(1 + w_max_dtod·ξ), b_min = w_min(1 + w_min_dtod·ξ),
    γ = 1 + dw_min_dtod·ξ, r = up_down_dtod·ξ,
    Δ⁺ = dw_min(γ + r + min(up_down, 0)), Δ⁻ = dw_min(γ − r − max(up_down, 0)).
    """

    construction_seed: int = 0
    """Seed of the device-to-device draws if ≠ 0 (else the tile's seed)."""
    corrupt_devices_prob: float = 0.0
    """Probability of a stuck device (not supported yet: must be 0)."""
    corrupt_devices_range: float = 0.1
    """Range of the stuck values."""
    diffusion: float = 0.0
    """Random-walk std per mini-batch: w += ρ·ξ, ρ = |diffusion(1 + diffusion_dtod·ξ')| (0: off)."""
    diffusion_dtod: float = 0.0
    """Device-to-device spread of the diffusion (relative)."""
    dw_min: float = 0.001
    """Mean weight change of one pulse (> 0)."""
    dw_min_dtod: float = 0.3
    """Device-to-device spread of the step size (relative)."""
    dw_min_dtod_log_normal: bool = False
    """Log-normal instead of normal device-to-device gain."""
    dw_min_std: float = 0.3
    """Cycle-to-cycle spread of each step (relative): Δ(1 + dw_min_std·ξ)."""
    enforce_consistency: bool = True
    """Force positive steps and bounds that contain 0."""
    lifetime: float = 0.0
    """Decay time constant in mini-batches: w ← b + (w − b)(1 − δ) after every optimizer step,
    δ = 1/(lifetime(1 + lifetime_dtod·ξ)), b the reset bias (0: off)."""
    lifetime_dtod: float = 0.0
    """Device-to-device spread of the lifetime (relative)."""
    perfect_bias: bool = False
    """Analog bias column without variation (not supported: the bias is digital)."""
    reset: float = 0.0
    """Reset target b (also the value decay relaxes to)."""
    reset_dtod: float = 0.0
    """Device-to-device spread of the reset target (absolute): b = reset + reset_dtod·ξ."""
    reset_std: float = 0.01
    """Cycle-to-cycle spread of a reset."""
    up_down: float = 0.0
    """Systematic up/down asymmetry (> 0 shrinks the down step)."""
    up_down_dtod: float = 0.01
    """Device-to-device spread of the asymmetry (relative to dw_min)."""
    w_max: float = 0.6
    """Mean upper bound."""
    w_max_dtod: float = 0.3
    """Device-to-device spread of the upper bound (relative)."""
    w_min: float = -0.6
    """Mean lower bound."""
    w_min_dtod: float = 0.3
    """Device-to-device spread of the lower bound (relative)."""
    count_pulses: bool = False
    """Count pulses (GPU only in the reference; no effect here)."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return {"type": type(self).__name__, **encode_fields(self, prefix)}


@dataclass
class ConstantStepDevice(PulsedDevice):
    """Constant step: up w += Δ⁺(1 + σξ), down w −= Δ⁻(1 + σξ), σ = dw_min_std, clipped to
    [b_min, b_max] after every pulse."""
