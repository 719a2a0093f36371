"""Configuration of inference tiles (reference §7): ``InferenceRPUConfig`` and the parameters of
hardware-aware training (weight modifier, clipping, remapping)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from enum import Enum
from typing import Any, Optional

from rpusim.configs.devices import FloatingPointDevice
from rpusim.configs.encode import _encode_value
from rpusim.configs.enums import WeightClipType, WeightModifierType, WeightRemapType
from rpusim.configs.io import IOParameters
from rpusim.configs.mapping import MappingParameter
from rpusim.configs.pre_post import PrePostProcessingParameter, check_pre_post
from rpusim.configs.runtime import RuntimeParameter
from rpusim.exceptions import ConfigError
from rpusim.inference.compensation import BaseDriftCompensation, GlobalDriftCompensation
from rpusim.inference.noise import BaseNoiseModel, PCMLikeNoiseModel


def _check_fields(obj: Any, prefix: str, limits: dict[str, tuple[float, float]]) -> None:
    """Type checks against the defaults (as for the core's configs; enum names given as strings
    become the enum), plus ranges ``limits[name] = (low, high)``."""
    defaults = type(obj)()
    for f in fields(obj):
        value, default = getattr(obj, f.name), getattr(defaults, f.name)
        name = f"{prefix}.{f.name}"
        if isinstance(default, list):
            continue  # checked by the owner
        encoded = _encode_value(name, value, default)
        if isinstance(default, Enum):
            setattr(obj, f.name, type(default)(encoded))
        elif isinstance(default, float):
            low, high = limits.get(f.name, (-math.inf, math.inf))
            if not low <= encoded <= high:
                raise ConfigError(f"{name}: must be in [{low}, {high}], got {value!r}")


@dataclass
class WeightModifierParameter:
    """Noise on the weights that forward and backward see during hardware-aware training.

    A new draw is made once per mini-batch (after each optimizer step) from the stored weights,
    which the update keeps changing in floating point; the noise never enters the stored
    weights. Off in eval mode unless ``enable_during_test``. ω below is max|W| of the tile
    (``rel_to_actual_wmax``) or ``assumed_wmax``.

    Types (``type``): ``DISCRETIZE`` w' = ω·res·round(w/(ω·res)) (stochastic rounding with
    ``sto_round``); ``MULT_NORMAL`` w' = w(1 + std_dev·ω·ξ); ``ADD_NORMAL`` w' = w +
    std_dev·ω·ξ; ``DISCRETIZE_ADD_NORMAL`` both; ``DOREFA`` w' = res·round(tanh(w)·
    |dorefa_clip/tanh(ω)|/res); ``POLY`` w' = w + ω·std_dev·(Σ_k c_k (|w|/ω)^k)·ξ;
    ``PROG_NOISE`` as POLY with std_dev/g_max and the sign of w kept (noise mirrored at zero);
    ``PCM_NOISE`` programming noise, drift-exponent variation and 1/f read noise of PCM at
    ``pcm_t_inference`` on conductances scaled to ``g_max``; ``DROP_CONNECT`` only the drop.
    ``pdrop`` > 0 sets each weight to 0 with that probability after any type (no rescaling).
    """

    type: WeightModifierType = WeightModifierType.NONE
    """Which modifier."""
    std_dev: float = 0.0
    """Noise strength (relative to ω)."""
    per_batch_sample: bool = False
    """A new draw per sample of the batch (not supported: one draw per mini-batch)."""
    res: float = 0.0
    """Quantisation step as a fraction of ω (DISCRETIZE), or of the DoReFa range."""
    sto_round: bool = False
    """Stochastic rounding in DISCRETIZE/DOREFA."""
    dorefa_clip: float = 0.6
    """Range of the DoReFa weights."""
    pdrop: float = 0.0
    """Drop-connect probability (any type)."""
    enable_during_test: bool = False
    """Keep the modified weights in eval mode."""
    rel_to_actual_wmax: bool = True
    """ω = max|W| of the tile; else ω = assumed_wmax."""
    assumed_wmax: float = 1.0
    """ω when not rel_to_actual_wmax."""
    copy_last_column: bool = False
    """Leave the last column unmodified (an analog bias column; not supported)."""
    coeffs: list[float] = field(default_factory=lambda: [0.0105392, 0.0768, -0.046925])
    """Polynomial coefficients c_k of POLY / PROG_NOISE."""
    g_max: float = 25.0
    """Conductance (µS) ω maps to in PROG_NOISE / PCM_NOISE."""
    pcm_zero_thres: float = 0.0
    """PCM_NOISE: |g| ≤ pcm_zero_thres·std_dev·0.26348 counts as a device at zero (no noise)."""
    pcm_t_inference: float = 0.0
    """PCM_NOISE: inference time (s) of the drift-variation and read-noise term."""
    pcm_prob_at_reset: float = 0.0
    """PCM_NOISE: probability that a device is stuck at zero."""
    pcm_prob_at_gmax: float = 0.0
    """PCM_NOISE: probability that a device is stuck at ±g_max (added or subtracted)."""
    pcm_prob_at_random: float = 0.0
    """PCM_NOISE: probability that a device sits at a uniform random conductance."""
    pcm_t0: float = 20.0
    """PCM_NOISE: drift reference time t₀ (s)."""

    def check(self, prefix: str = "modifier") -> None:
        probability = (0.0, 1.0)
        _check_fields(
            self,
            prefix,
            {
                "std_dev": (0.0, math.inf),
                "res": (0.0, math.inf),
                "dorefa_clip": (0.0, math.inf),
                "pdrop": probability,
                "assumed_wmax": (0.0, math.inf),
                "g_max": (1e-30, math.inf),
                "pcm_zero_thres": (0.0, math.inf),
                "pcm_t_inference": (0.0, math.inf),
                "pcm_prob_at_reset": probability,
                "pcm_prob_at_gmax": probability,
                "pcm_prob_at_random": probability,
                "pcm_t0": (1e-30, math.inf),
            },
        )
        if not isinstance(self.coeffs, (list, tuple)) or not all(
            isinstance(c, (int, float)) and not isinstance(c, bool) and math.isfinite(c)
            for c in self.coeffs
        ):
            raise ConfigError(
                f"{prefix}.coeffs: expected a list of finite numbers, got {self.coeffs!r}"
            )
        if self.per_batch_sample:
            raise ConfigError(
                f"{prefix}.per_batch_sample: not supported (one draw per mini-batch, as the "
                f"reference's default tile)"
            )
        if self.copy_last_column:
            raise ConfigError(f"{prefix}.copy_last_column: not supported (biases are digital here)")

    def is_active(self) -> bool:
        """Whether forward/backward see modified weights at all."""
        if self.type in (WeightModifierType.NONE, WeightModifierType.COPY):
            return self.pdrop > 0
        return True


@dataclass
class WeightClipParameter:
    """Clipping of the stored weights after each optimizer step: ``FIXED_VALUE`` at
    ±fixed_value; ``LAYER_GAUSSIAN`` at ±sigma·std(W) (sample std, mean removed);
    ``AVERAGE_CHANNEL_MAX`` at ± the mean over outputs of max_j |W_ij|. A ``fixed_value`` > 0
    also caps the other types' clip value."""

    fixed_value: float = -1.0
    """Clip value of FIXED_VALUE (≤ 0: none)."""
    sigma: float = 2.5
    """Multiple of the weights' std for LAYER_GAUSSIAN."""
    type: WeightClipType = WeightClipType.NONE
    """Which clipping."""

    def check(self, prefix: str = "clip") -> None:
        _check_fields(self, prefix, {"sigma": (0.0, math.inf)})


@dataclass
class WeightRemapParameter:
    """Rescaling of the stored weights after each optimizer step so that they span
    ±remapped_wmax, the factor moving into the tile's digital output scales (the product stays):
    ``LAYERWISE_SYMMETRIC`` one factor per tile, ``CHANNELWISE_SYMMETRIC`` one per output.
    With ``max_scale_range`` > 0 (channelwise) an output scale may exceed the smallest one
    (at least ``max_scale_ref``) by at most that factor."""

    remapped_wmax: float = 1.0
    """Target max |w| of the stored weights."""
    max_scale_range: float = 0.0
    """Largest ratio of an output scale to the smallest (0: no limit)."""
    max_scale_ref: float = 0.0
    """Lower limit of the smallest scale in the range check."""
    type: WeightRemapType = WeightRemapType.NONE
    """Which remapping."""

    def check(self, prefix: str = "remap") -> None:
        _check_fields(
            self,
            prefix,
            {
                "remapped_wmax": (1e-30, math.inf),
                "max_scale_range": (0.0, math.inf),
                "max_scale_ref": (0.0, math.inf),
            },
        )
        if self.max_scale_range > 0 and self.remapped_wmax != 1.0:
            raise ConfigError(f"{prefix}.max_scale_range: needs remapped_wmax = 1")


@dataclass
class InferenceRPUConfig:
    """A tile for inference and hardware-aware training (reference §7).

    The forward pass goes through the analog periphery ``forward``; the backward pass is exact
    and the update is an exact floating-point SGD step on the stored weights (through
    ``AnalogSGD``). During training, ``modifier`` puts noise on the weights seen by forward and
    backward; after each step the stored weights are clipped (``clip``) and remapped
    (``remap``). ``program_analog_weights()`` / ``drift_analog_weights(t)`` of a model then
    apply ``noise_model``, and ``drift_compensation`` rescales the eval-mode output.
    """

    forward: IOParameters = field(default_factory=IOParameters)
    """Periphery of the forward pass (backward is exact)."""
    noise_model: BaseNoiseModel = field(default_factory=PCMLikeNoiseModel)
    """Programming noise, drift and read noise of ``program``/``drift_analog_weights``."""
    drift_compensation: Optional[BaseDriftCompensation] = field(
        default_factory=GlobalDriftCompensation
    )
    """Output-scale correction after drift (None: off)."""
    clip: WeightClipParameter = field(default_factory=WeightClipParameter)
    """Clipping of the stored weights after each step."""
    remap: WeightRemapParameter = field(default_factory=WeightRemapParameter)
    """Remapping of the stored weights after each step."""
    modifier: WeightModifierParameter = field(default_factory=WeightModifierParameter)
    """Hardware-aware training noise."""
    mapping: MappingParameter = field(default_factory=MappingParameter)
    """How layers are split over tiles."""
    runtime: RuntimeParameter = field(default_factory=RuntimeParameter, compare=False)
    """Simulation settings (data type); see ``RuntimeParameter``."""
    pre_post: PrePostProcessingParameter = field(default_factory=PrePostProcessingParameter)
    """Digital input processing: the learned input range (``pre_post.input_range``)."""

    def check(self) -> None:
        """Raises ConfigError for any invalid value."""
        if not isinstance(self.forward, IOParameters):
            raise ConfigError(f"forward: expected IOParameters, got {self.forward!r}")
        if not isinstance(self.noise_model, BaseNoiseModel):
            raise ConfigError(
                f"noise_model: expected a noise model (PCMLikeNoiseModel, ...), "
                f"got {type(self.noise_model).__name__}"
            )
        if self.drift_compensation is not None and not isinstance(
            self.drift_compensation, BaseDriftCompensation
        ):
            raise ConfigError(
                f"drift_compensation: expected a drift compensation or None, "
                f"got {type(self.drift_compensation).__name__}"
            )
        for name, cls in (
            ("clip", WeightClipParameter),
            ("remap", WeightRemapParameter),
            ("modifier", WeightModifierParameter),
        ):
            value = getattr(self, name)
            if not isinstance(value, cls):
                raise ConfigError(f"{name}: expected {cls.__name__}, got {value!r}")
            value.check(name)
        self.mapping.check()
        check_pre_post(self)

    def to_core(self) -> dict[str, Any]:
        """The Rust tile's form: a floating-point device read through ``forward``, exact backward
        and update."""
        self.check()
        return {
            "device": FloatingPointDevice().to_core("device"),
            "forward": self.forward.to_core("forward"),
            "backward": {"is_perfect": True},
            "update": {"pulse_type": "NONE"},
        }

    def to_json(self) -> str:
        from rpusim.configs.encode import to_json

        return to_json(self.to_core())

    def validate(self) -> None:
        """Raises ConfigError if any value is invalid."""
        from rpusim import _core

        _core.validate_config(self.to_json())
