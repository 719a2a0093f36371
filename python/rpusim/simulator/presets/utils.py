"""``aihwkit.simulator.presets.utils``: preset periphery and update parameters (re-exported)."""

from rpusim.configs import (
    BoundManagementType,
    IOParameters,
    NoiseManagementType,
    PresetIOParameters,
    PresetUpdateParameters,
    PulseType,
    UpdateParameters,
    WeightNoiseType,
)
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
