"""Configuration dataclasses, with the reference simulator's names and defaults."""

from rpusim.configs.devices import (
    ConstantStepDevice,
    FloatingPointDevice,
    IdealDevice,
    PulsedDevice,
)
from rpusim.configs.enums import (
    AnalogMVType,
    BoundManagementType,
    NoiseManagementType,
    PulseType,
    WeightNoiseType,
)
from rpusim.configs.io import IOParameters, PresetIOParameters
from rpusim.configs.rpu_configs import FloatingPointRPUConfig, RPUConfig, SingleRPUConfig
from rpusim.configs.update import PresetUpdateParameters, UpdateParameters

__all__ = [
    "AnalogMVType",
    "BoundManagementType",
    "ConstantStepDevice",
    "FloatingPointDevice",
    "FloatingPointRPUConfig",
    "IOParameters",
    "IdealDevice",
    "NoiseManagementType",
    "PresetIOParameters",
    "PresetUpdateParameters",
    "PulseType",
    "PulsedDevice",
    "RPUConfig",
    "SingleRPUConfig",
    "UpdateParameters",
    "WeightNoiseType",
]
