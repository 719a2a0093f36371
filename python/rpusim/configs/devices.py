"""Device models (one resistive element per cross-point)."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

from rpusim.configs.encode import encode_fields
from rpusim.exceptions import ConfigError


@dataclass
class SimpleDriftParameter:
    """Power-law drift of a pulsed device's weight, applied by explicit
    ``AnalogTile.drift_weights(delta_t)`` calls: w(t) = w₀·(t/t₀)^(−ν), t the time since the
    device was last written (at least t₀), w₀ its weight then. A device written between two
    calls (pulsed, set, reset: its weight changed by more than ``reset_tol``) restarts its
    clock; with write noise the hidden persistent weight drifts and the visible one is redrawn
    around it. Weights stay within the device's bounds."""

    nu: float = 0.0
    """Drift exponent ν (0: off)."""
    t_0: float = 1.0
    """Time between a write and the first read: the unit of ``delta_t``."""
    reset_tol: float = 1e-7
    """A weight change larger than this since the previous call restarts the device's clock."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        # The core knows one parameter set: the extras of DriftParameter at their defaults.
        return {**encode_fields(DriftParameter(), prefix), **encode_fields(self, prefix)}


@dataclass
class DriftParameter(SimpleDriftParameter):
    """Power-law drift with device-to-device and cycle-to-cycle spread of ν and a dependence of
    ν on the conductance (Oh et al. 2019), as the reference's ``DriftParameter``:
    ν = ν_ij + ν·nu_std·ξ − nu_k·ln((w − w_offset)/wg_ratio + g_offset) + nu_k·log_g0, with
    ν_ij = ν(1 + nu_dtod·ξ') drawn once per device; the weight follows
    w₀·(t/t₀)^(−ν) + a·((t/t₀)^(−ν) − 1), a = g_offset·wg_ratio + w_offset, then
    w += w_noise_std·ξ''. (The conductance in the log is kept ≥ 1e-7; the reference gives NaN
    below zero.)"""

    nu_dtod: float = 0.0
    """Device-to-device spread of ν (relative)."""
    nu_std: float = 0.0
    """Cycle-to-cycle spread of ν (relative), fresh at every call."""
    wg_ratio: float = 1.0
    """(w_max − w_min)/(g_max − g_min): weight per unit of conductance."""
    g_offset: float = 0.0
    """g_min, in conductance units."""
    w_offset: float = 0.0
    """The weight g_min maps to."""
    nu_k: float = 0.0
    """Dependence of ν on the conductance: ν(g) = ν₀ − nu_k·ln(g/G₀)."""
    log_g0: float = 0.0
    """ln G₀."""
    w_noise_std: float = 0.0
    """Weight noise added after each drift call (fresh every call)."""


@dataclass
class FloatingPointDevice:
    """Floating-point weights: exact update, no bounds (for ``FloatingPointRPUConfig``)."""

    diffusion: float = 0.0
    """Random-walk std per mini-batch: w += diffusion·ξ after every optimizer step (0: off)."""
    lifetime: float = 0.0
    """Decay time constant in mini-batches: w *= 1 − 1/lifetime after every step (0: off)."""
    drift: SimpleDriftParameter = field(default_factory=SimpleDriftParameter)
    """Power-law drift between writes (ν = 0: off; no bounds), by ``drift_weights`` calls."""

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
    """Probability that a device is stuck (drawn once at construction): its bounds collapse to one
    value drawn uniformly from its range within ±corrupt_devices_range, and pulses do nothing."""
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
    drift: SimpleDriftParameter = field(default_factory=DriftParameter)
    """Power-law drift between writes (ν = 0: off), applied by ``drift_weights`` calls."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return {"type": type(self).__name__, **encode_fields(self, prefix)}


@dataclass
class ConstantStepDevice(PulsedDevice):
    """Constant step: up w += Δ⁺(1 + σξ), down w −= Δ⁻(1 + σξ), σ = dw_min_std, clipped to
    [b_min, b_max] after every pulse."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        # Presets subclass this with other defaults: the core knows the model's name.
        return {"type": "ConstantStepDevice", **encode_fields(self, prefix)}


def _pulsed_fields(device: PulsedDevice, prefix: str) -> dict[str, Any]:
    """The common pulsed-device fields of ``device`` (its own extras left out)."""
    names = {f.name for f in dataclasses.fields(PulsedDevice)}
    extras = tuple(f.name for f in dataclasses.fields(device) if f.name not in names)
    return encode_fields(device, prefix, skip=extras)


def _model_core(device: PulsedDevice, model: type, prefix: str) -> dict[str, Any]:
    """The core's form of a weight-dependent model: ``{"type", "pulsed": {...}, <extras>}`` with
    the extra fields that ``model`` (the class the core knows) adds to ``PulsedDevice``."""
    own = {f.name for f in dataclasses.fields(model)} - {
        f.name for f in dataclasses.fields(PulsedDevice)
    }
    extras = encode_fields(device, prefix)
    return {
        "type": model.__name__,
        "pulsed": _pulsed_fields(device, prefix),
        **{k: v for k, v in extras.items() if k in own},
    }


@dataclass
class LinearStepDevice(PulsedDevice):
    """Linear step: the step changes linearly with the weight (reference §4.2).

    Per device, slopes s⁺ = −|γ⁺ + γ⁺_dtod ξ|·Δ⁺/w_ref⁺ and s⁻ = −|γ⁻ + γ⁻_dtod ξ|·Δ⁻/w_ref⁻
    with w_ref the mean bounds (``mean_bound_reference``) or the device's own bounds. Up:
    w += (Δ⁺ + s⁺w)(1 + σξ), down: w −= (Δ⁻ + s⁻w)(1 + σξ) (``mult_noise``; else the noise term
    is Δσξ), then clipped to [b_min, b_max]. γ = 0 is a constant step; γ = 1 with device bounds
    is soft bounds.
    """

    gamma_up: float = 0.0
    """Slope γ⁺ of the up step (relative to Δ⁺/w_ref⁺)."""
    gamma_down: float = 0.0
    """Slope γ⁻ of the down step."""
    gamma_up_dtod: float = 0.05
    """Device-to-device spread of γ⁺ (absolute)."""
    gamma_down_dtod: float = 0.05
    """Device-to-device spread of γ⁻ (absolute)."""
    allow_increasing: bool = False
    """Let a step change sign past the reference (else it stops at 0)."""
    mean_bound_reference: bool = True
    """Slopes relative to the mean bounds w_max/w_min (else each device's own bounds)."""
    mult_noise: bool = True
    """Cycle-to-cycle noise multiplies the whole step (else Δ·σξ is added)."""
    write_noise_std: float = 0.0
    """Write noise, in units of dw_min: the pulses act on a hidden persistent weight and the
    weight that forward and backward see is persistent + write_noise_std·dw_min·ξ, redrawn
    whenever the device is written (pulsed, set, decayed, reset)."""
    apply_write_noise_on_set: bool = True
    """Apply the write noise when weights are set."""
    reverse_up: bool = False
    """Up steps grow with the weight instead of shrinking: the up slope is referenced to
    w_min − reverse_offset instead of w_max (needs ``mult_noise``)."""
    reverse_down: bool = False
    """Down steps grow as the weight falls: the down slope is referenced to
    w_max + reverse_offset instead of w_min (needs ``mult_noise``)."""
    reverse_offset: float = 0.01
    """Keeps the reversed step from reaching 0 at the far bound."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return _model_core(self, LinearStepDevice, prefix)


@dataclass
class SoftBoundsDevice(PulsedDevice):
    """Soft bounds: up w += Δ⁺(1 − w/b_max)(1 + σξ), down w −= Δ⁻(1 − w/b_min)(1 + σξ); the step
    shrinks linearly to 0 at each device's bound. The symmetry point (equal up and down steps)
    is w* = (Δ⁺ − Δ⁻)/(Δ⁺/b_max − Δ⁻/b_min): plain SGD pulls weights toward it.
    A :class:`LinearStepDevice` with γ = 1, no γ variation and per-device references."""

    mult_noise: bool = True
    """Cycle-to-cycle noise multiplies the whole step (else Δ·σξ is added)."""
    apply_write_noise_on_set: bool = True
    """Apply the write noise when weights are set."""
    write_noise_std: float = 0.0
    """Write noise, in units of dw_min: the pulses act on a hidden persistent weight and the
    weight that forward and backward see is persistent + write_noise_std·dw_min·ξ, redrawn
    whenever the device is written (pulsed, set, decayed, reset)."""
    reverse_up: bool = False
    """Up steps grow with the weight instead of shrinking: the up slope is referenced to
    w_min − reverse_offset instead of w_max (needs ``mult_noise``)."""
    reverse_down: bool = False
    """Down steps grow as the weight falls: the down slope is referenced to
    w_max + reverse_offset instead of w_min (needs ``mult_noise``)."""
    reverse_offset: float = 0.01
    """Keeps the reversed step from reaching 0 at the far bound."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        extras = encode_fields(self, prefix)
        return {
            "type": "LinearStepDevice",
            "pulsed": _pulsed_fields(self, prefix),
            "gamma_up": 1.0,
            "gamma_down": 1.0,
            "gamma_up_dtod": 0.0,
            "gamma_down_dtod": 0.0,
            "allow_increasing": False,
            "mean_bound_reference": False,
            **{
                k: extras[k]
                for k in (
                    "mult_noise",
                    "write_noise_std",
                    "apply_write_noise_on_set",
                    "reverse_up",
                    "reverse_down",
                )
            },
            "reverse_offset": extras["reverse_offset"],
        }


@dataclass
class SoftBoundsPmaxDevice(SoftBoundsDevice):
    """Soft bounds given by the number of pulses ``p_max`` that takes the weight from
    ``range_min`` to ``range_max`` along an exponential response of rate ``alpha``:
    B = (range_max − range_min)/(1 − e^(−α·p_max)), w_min = range_min, w_max = range_min + B,
    dw_min = B·α, up_down = 1 + 2·range_min/B (these override the pulsed-device fields)."""

    p_max: int = 1000
    """Pulses from range_min to range_max."""
    alpha: float = 0.0005
    """Rate of the exponential response per pulse."""
    range_min: float = -1.0
    """Lowest weight."""
    range_max: float = 1.0
    """Weight reached after p_max up pulses from range_min."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        for name, ok in (
            ("p_max", isinstance(self.p_max, int) and self.p_max > 0),
            ("alpha", isinstance(self.alpha, (int, float)) and self.alpha > 0),
            ("range_max", self.range_max > self.range_min),
        ):
            if not ok:
                raise ConfigError(
                    f"{prefix}.{name}: invalid value (p_max > 0, alpha > 0, range_max > range_min)"
                )
        span = (self.range_max - self.range_min) / (1.0 - math.exp(-self.alpha * self.p_max))
        core = super().to_core(prefix)
        core["pulsed"].update(
            w_min=float(self.range_min),
            w_max=float(self.range_min + span),
            dw_min=float(span * self.alpha),
            up_down=float(1.0 + 2.0 * self.range_min / span),
        )
        return core


@dataclass
class ExpStepDevice(PulsedDevice):
    """Exponential step (a fit of ReRAM and PCM responses). With z = 2a·w/(b_max − b_min) + b:
    up w += Δ⁺·max(0, 1 − A_up·e^(γ_up z))(1 + σξ), down w −= Δ⁻·max(0, 1 − A_down·e^(−γ_down
    z))(1 + σξ), clipped to [b_min, b_max]. With ``dw_min_std_add`` or ``dw_min_std_slope`` the
    noise is additive instead, with std σ·(|Δw| + dw_min_std_add + dw_min_std_slope·|w|)."""

    A_up: float = 0.00081  # noqa: N815 - the reference's name
    """Prefactor of the up step's exponential."""
    A_down: float = 0.36833  # noqa: N815
    """Prefactor of the down step's exponential."""
    gamma_up: float = 12.44625
    """Exponent of the up step."""
    gamma_down: float = 12.78785
    """Exponent of the down step."""
    a: float = 0.244
    """Scale of the weight in z."""
    b: float = 0.2425
    """Offset of z."""
    dw_min_std_add: float = 0.0
    """Additive noise term (switches to additive noise when > 0)."""
    dw_min_std_slope: float = 0.0
    """Noise term proportional to |w| (switches to additive noise when > 0)."""
    write_noise_std: float = 0.0
    """Write noise, in units of dw_min: the pulses act on a hidden persistent weight and the
    weight that forward and backward see is persistent + write_noise_std·dw_min·ξ, redrawn
    whenever the device is written (pulsed, set, decayed, reset)."""
    apply_write_noise_on_set: bool = True
    """Apply the write noise when weights are set."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return _model_core(self, ExpStepDevice, prefix)


@dataclass
class PowStepDevice(PulsedDevice):
    """Power step: with ω = (b_max − w)/(b_max − b_min), up w += Δ⁺·ω^γ⁺(1 + σξ), down
    w −= Δ⁻·(1 − ω)^γ⁻(1 + σξ), clipped to [b_min, b_max]. Per device γ^± = γ(1 ± β + γ_dtod ξ)
    (one ξ for both directions, γ kept ≥ 0), β = pow_up_down + pow_up_down_dtod·ξ'. γ = 1 is
    close to soft bounds."""

    pow_gamma: float = 1.0
    """Exponent γ."""
    pow_gamma_dtod: float = 0.1
    """Device-to-device spread of γ (relative)."""
    pow_up_down: float = 0.0
    """Up/down asymmetry β of the exponent."""
    pow_up_down_dtod: float = 0.0
    """Device-to-device spread of β (absolute)."""
    write_noise_std: float = 0.0
    """Write noise, in units of dw_min: the pulses act on a hidden persistent weight and the
    weight that forward and backward see is persistent + write_noise_std·dw_min·ξ, redrawn
    whenever the device is written (pulsed, set, decayed, reset)."""
    apply_write_noise_on_set: bool = True
    """Apply the write noise when weights are set."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return _model_core(self, PowStepDevice, prefix)


@dataclass
class PiecewiseStepDevice(PulsedDevice):
    """Piecewise step: the step is Δ^± times a curve interpolated linearly between nodes spread
    evenly over each device's [b_min, b_max]: up w += Δ⁺·f⁺(w)(1 + σξ), down
    w −= Δ⁻·f⁻(w)(1 + σξ). Both node lists need the same length (1 to 63), values ≥ 0."""

    piecewise_up: list[float] = field(default_factory=lambda: [1.0])
    """Nodes of the up-step curve (from b_min to b_max)."""
    piecewise_down: list[float] = field(default_factory=lambda: [1.0])
    """Nodes of the down-step curve."""
    write_noise_std: float = 0.0
    """Write noise, in units of dw_min: the pulses act on a hidden persistent weight and the
    weight that forward and backward see is persistent + write_noise_std·dw_min·ξ, redrawn
    whenever the device is written (pulsed, set, decayed, reset)."""
    apply_write_noise_on_set: bool = True
    """Apply the write noise when weights are set."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        nodes = {}
        for name in ("piecewise_up", "piecewise_down"):
            values = getattr(self, name)
            if not isinstance(values, (list, tuple)) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
                for v in values
            ):
                raise ConfigError(f"{prefix}.{name}: expected a list of numbers, got {values!r}")
            nodes[name] = [float(v) for v in values]
        extras = encode_fields(self, prefix, skip=("piecewise_up", "piecewise_down"))
        return {
            "type": "PiecewiseStepDevice",
            "pulsed": _pulsed_fields(self, prefix),
            **nodes,
            "write_noise_std": extras["write_noise_std"],
            "apply_write_noise_on_set": extras["apply_write_noise_on_set"],
        }


@dataclass
class SoftBoundsReferenceDevice(PulsedDevice):
    """Soft bounds on the conductance g, read against a reference (reference §4.2): up
    g += Δ⁺(1 − g/b_max + σξ), down g −= Δ⁻(1 − g/b_min + σξ) (additive noise by default), and the
    weight the periphery sees is w = g − ref_ij, ref_ij = reference_mean + reference_std·ξ, plus the
    device's symmetry point g* = (Δ⁺ − Δ⁻)/(Δ⁺/b_max − Δ⁻/b_min) with
    ``subtract_symmetry_point`` (so that plain SGD's attractor is w = 0, as Tiki-Taka's fast array
    wants). The slope variation moves each device's soft bound: b_max/|1 + slope_up_dtod·ξ|,
    b_min/|1 + slope_down_dtod·ξ'|. Resets and decay go to the symmetry point when it is
    subtracted."""

    mult_noise: bool = False
    """Cycle-to-cycle noise multiplies the whole step (else Δ·σξ is added)."""
    write_noise_std: float = 0.0
    """Write noise, in units of dw_min (see :class:`LinearStepDevice`)."""
    apply_write_noise_on_set: bool = True
    """Apply the write noise when weights are set."""
    slope_up_dtod: float = 0.0
    """Device-to-device spread of the up slope (relative)."""
    slope_down_dtod: float = 0.0
    """Device-to-device spread of the down slope (relative)."""
    reference_mean: float = 0.0
    """Mean reference conductance."""
    reference_std: float = 0.0
    """Device-to-device spread of the reference."""
    subtract_symmetry_point: bool = False
    """Add each device's symmetry point to its reference (the visible weight is 0 there)."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return _model_core(self, SoftBoundsReferenceDevice, prefix)


@dataclass
class PowStepReferenceDevice(PulsedDevice):
    """Power step on the conductance g = w + ref_ij (reference §4.2): with
    ω = (b_max − g)/(b_max − b_min), up g += Δ⁺·ω^γ⁺(1 + σξ), down g −= Δ⁻·(1 − ω)^γ⁻(1 + σξ). The
    exponents are drawn as the steps are: γ^± = pow_gamma·(gain ± r + bias^±) with
    gain = 1 + pow_gamma_dtod·ξ, r = pow_up_down_dtod·ξ', bias from pow_up_down. With
    ``subtract_symmetry_point`` the reference includes the device's symmetry point: the root of
    equal up and down steps (found by bisection), or with ``n_estimation_steps`` > 0 the
    reference's estimate, that many alternating up/down steps from 0."""

    pow_gamma: float = 1.0
    """Exponent γ."""
    pow_gamma_dtod: float = 0.1
    """Device-to-device spread of γ (relative)."""
    pow_up_down: float = 0.0
    """Up/down asymmetry of the exponent."""
    pow_up_down_dtod: float = 0.0
    """Device-to-device spread of the asymmetry."""
    subtract_symmetry_point: bool = False
    """Add each device's symmetry point to its reference."""
    n_estimation_steps: int = -1
    """Steps of the symmetry-point estimate (≤ 0: the exact root)."""
    reference_mean: float = 0.0
    """Mean reference conductance."""
    reference_std: float = 0.0
    """Device-to-device spread of the reference."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return _model_core(self, PowStepReferenceDevice, prefix)
