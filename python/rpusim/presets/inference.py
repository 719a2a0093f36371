"""Inference presets (reference §5.2/§7): ``StandardHWATrainingPreset``, the benchmark setting
of hardware-aware training of Rasch et al. 2023."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from rpusim.configs.enums import (
    BoundManagementType,
    NoiseManagementType,
    WeightClipType,
    WeightNoiseType,
    WeightRemapType,
)
from rpusim.configs.inference import (
    InferenceRPUConfig,
    WeightClipParameter,
    WeightRemapParameter,
)
from rpusim.configs.io import IOParameters, PresetIOParameters
from rpusim.configs.mapping import MappingParameter
from rpusim.configs.pre_post import InputRangeParameter, PrePostProcessingParameter
from rpusim.inference.compensation import BaseDriftCompensation, GlobalDriftCompensation
from rpusim.inference.noise import BaseNoiseModel, PCMLikeNoiseModel


@dataclass
class StandardIOParameters(IOParameters):
    """The periphery of :class:`StandardHWATrainingPreset` as a forward/backward preset of its
    own (the reference's): 8-bit DAC and ADC, out_bound 10, out_noise 0.04, but noise and bound
    management on (ABS_MAX, ITERATIVE) and no IR drop or read noise."""

    inp_res: float = 1.0 / (2**8 - 2)
    out_res: float = 1.0 / (2**8 - 2)
    out_bound: float = 10.0
    out_noise: float = 0.04


def _hwa_forward() -> IOParameters:
    return PresetIOParameters(
        inp_res=254.0,
        out_res=254.0,
        bound_management=BoundManagementType.NONE,
        noise_management=NoiseManagementType.CONSTANT,
        nm_thres=1.0,
        w_noise=0.0175,
        w_noise_type=WeightNoiseType.PCM_READ,
        ir_drop=1.0,
        out_noise=0.04,
        out_bound=10.0,
    )


def _hwa_mapping() -> MappingParameter:
    return MappingParameter(
        weight_scaling_omega=1.0,
        weight_scaling_columnwise=True,
        max_input_size=512,
        max_output_size=0,
        digital_bias=True,
        learn_out_scaling=True,
        out_scaling_columnwise=True,
    )


def _hwa_pre_post() -> PrePostProcessingParameter:
    return PrePostProcessingParameter(
        input_range=InputRangeParameter(
            enable=True,
            init_value=3.0,
            init_from_data=100,
            init_std_alpha=3.0,
            decay=0.001,
            input_min_percentage=0.95,
            output_min_percentage=0.95,
            manage_output_clipping=False,
            gradient_scale=1.0,
            gradient_relative=True,
        )
    )


@dataclass
class StandardHWATrainingPreset(InferenceRPUConfig):
    """The standard analog-inference setting for comparing hardware-aware training methods:
    8-bit DAC and ADC (254 steps), out_bound 10, out_noise 0.04, constant noise management
    (nm_thres 1), no bound management, PCM read noise (w_noise 0.0175, ``PCM_READ``), IR drop
    1.0; column-wise weight scaling (ω = 1) and learned column-wise output scales, tiles of at
    most 512 inputs, digital bias; channel-wise remapping, clipping at ±1; the learned input
    range; PCM noise model and global drift compensation.

    """

    mapping: MappingParameter = field(default_factory=_hwa_mapping)
    forward: IOParameters = field(default_factory=_hwa_forward)
    remap: WeightRemapParameter = field(
        default_factory=lambda: WeightRemapParameter(
            remapped_wmax=1.0, type=WeightRemapType.CHANNELWISE_SYMMETRIC
        )
    )
    noise_model: BaseNoiseModel = field(default_factory=PCMLikeNoiseModel)
    drift_compensation: Optional[BaseDriftCompensation] = field(
        default_factory=GlobalDriftCompensation
    )
    pre_post: PrePostProcessingParameter = field(default_factory=_hwa_pre_post)
    clip: WeightClipParameter = field(
        default_factory=lambda: WeightClipParameter(
            type=WeightClipType.FIXED_VALUE, fixed_value=1.0
        )
    )
