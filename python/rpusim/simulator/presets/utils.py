"""``aihwkit.simulator.presets.utils``: preset periphery and update parameters."""

from rpusim._missing import missing_getattr
from rpusim.configs import BoundManagementType as BoundManagementType
from rpusim.configs import IOParameters as IOParameters
from rpusim.configs import NoiseManagementType as NoiseManagementType
from rpusim.configs import PresetIOParameters as PresetIOParameters
from rpusim.configs import PresetUpdateParameters as PresetUpdateParameters
from rpusim.configs import PulseType as PulseType
from rpusim.configs import UpdateParameters as UpdateParameters
from rpusim.configs import WeightNoiseType as WeightNoiseType

__getattr__ = missing_getattr(__name__)
