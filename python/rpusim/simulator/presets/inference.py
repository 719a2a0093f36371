"""``aihwkit.simulator.presets.inference``: inference presets (re-exported; the hardware-aware training presets need the torch inference tile)."""

from rpusim.configs import *  # noqa: F403
from rpusim.inference import BaseDriftCompensation, BaseNoiseModel, GlobalDriftCompensation, PCMLikeNoiseModel
from rpusim.presets import PresetIOParameters
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
