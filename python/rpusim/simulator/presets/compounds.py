"""``aihwkit.simulator.presets.compounds``: unit-cell presets."""

from rpusim._missing import missing_getattr
from rpusim.configs import IOParameters as IOParameters
from rpusim.configs import OneSidedUnitCell as OneSidedUnitCell
from rpusim.configs import PresetIOParameters as PresetIOParameters
from rpusim.configs import PresetUpdateParameters as PresetUpdateParameters
from rpusim.configs import UpdateParameters as UpdateParameters
from rpusim.presets import PCMPresetDevice as PCMPresetDevice
from rpusim.presets import PCMPresetUnitCell as PCMPresetUnitCell

__getattr__ = missing_getattr(__name__)
