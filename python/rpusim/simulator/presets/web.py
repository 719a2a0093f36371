"""``aihwkit.simulator.presets.web``: the AIHW Composer presets are not provided; the classes they build on are re-exported."""

from rpusim.configs import *  # noqa: F403
from rpusim.inference import BaseDriftCompensation, BaseNoiseModel, GlobalDriftCompensation, PCMLikeNoiseModel
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
