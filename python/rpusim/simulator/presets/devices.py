"""``aihwkit.simulator.presets.devices``: device presets (re-exported)."""

from rpusim.configs import ConstantStepDevice, ExpStepDevice, LinearStepDevice, SoftBoundsReferenceDevice
from rpusim.presets.devices import *  # noqa: F403
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
