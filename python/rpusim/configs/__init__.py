"""Configuration dataclasses, with the reference simulator's names and defaults."""

from rpusim.configs.devices import (
    ConstantStepDevice,
    ExpStepDevice,
    FloatingPointDevice,
    IdealDevice,
    LinearStepDevice,
    PiecewiseStepDevice,
    PowStepDevice,
    PulsedDevice,
    SoftBoundsDevice,
    SoftBoundsPmaxDevice,
    SoftBoundsReferenceDevice,
)
from rpusim.configs.enums import (
    AnalogMVType,
    BoundManagementType,
    NoiseManagementType,
    PulseType,
    WeightNoiseType,
)
from rpusim.configs.io import IOParameters, PresetIOParameters
from rpusim.configs.mapping import MappingParameter
from rpusim.configs.rpu_configs import FloatingPointRPUConfig, RPUConfig, SingleRPUConfig
from rpusim.configs.update import PresetUpdateParameters, UpdateParameters

__all__ = [
    "AnalogMVType",
    "BoundManagementType",
    "ConstantStepDevice",
    "ExpStepDevice",
    "FloatingPointDevice",
    "FloatingPointRPUConfig",
    "IOParameters",
    "IdealDevice",
    "LinearStepDevice",
    "MappingParameter",
    "NoiseManagementType",
    "PiecewiseStepDevice",
    "PowStepDevice",
    "PresetIOParameters",
    "PresetUpdateParameters",
    "PulseType",
    "PulsedDevice",
    "RPUConfig",
    "SingleRPUConfig",
    "SoftBoundsDevice",
    "SoftBoundsPmaxDevice",
    "SoftBoundsReferenceDevice",
    "UpdateParameters",
    "WeightNoiseType",
]
