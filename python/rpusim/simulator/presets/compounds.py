"""``aihwkit.simulator.presets.compounds``: unit-cell presets (re-exported)."""

from rpusim.configs import IOParameters, OneSidedUnitCell, UpdateParameters
from rpusim.presets import PCMPresetDevice, PCMPresetUnitCell, PresetIOParameters, PresetUpdateParameters
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
