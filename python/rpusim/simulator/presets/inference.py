"""``aihwkit.simulator.presets.inference``: inference presets (the hardware-aware training presets
need the torch inference tile)."""

from rpusim._missing import missing_getattr
from rpusim.configs import *  # noqa: F403
from rpusim.inference import BaseDriftCompensation as BaseDriftCompensation
from rpusim.inference import BaseNoiseModel as BaseNoiseModel
from rpusim.inference import GlobalDriftCompensation as GlobalDriftCompensation
from rpusim.inference import PCMLikeNoiseModel as PCMLikeNoiseModel

__getattr__ = missing_getattr(__name__)
