"""``aihwkit.simulator.presets.devices``: device presets."""

from rpusim._missing import missing_getattr
from rpusim.configs import ConstantStepDevice as ConstantStepDevice
from rpusim.configs import ExpStepDevice as ExpStepDevice
from rpusim.configs import LinearStepDevice as LinearStepDevice
from rpusim.configs import SoftBoundsReferenceDevice as SoftBoundsReferenceDevice
from rpusim.presets.devices import *  # noqa: F403

__getattr__ = missing_getattr(__name__)
