"""``aihwkit.simulator.presets.inference``: the inference and hardware-aware training presets."""

from rpusim._missing import missing_getattr
from rpusim.configs import *  # noqa: F403
from rpusim.inference import BaseDriftCompensation as BaseDriftCompensation
from rpusim.inference import BaseNoiseModel as BaseNoiseModel
from rpusim.inference import GlobalDriftCompensation as GlobalDriftCompensation
from rpusim.inference import PCMLikeNoiseModel as PCMLikeNoiseModel
from rpusim.presets import StandardHWATrainingPreset as StandardHWATrainingPreset

__getattr__ = missing_getattr(__name__)
