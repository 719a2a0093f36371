"""``aihwkit.simulator.parameters.inference``."""

from rpusim._missing import missing_getattr
from rpusim.configs import *  # noqa: F403
from rpusim.configs.runtime import RuntimeParameter as RuntimeParameter

__getattr__ = missing_getattr(__name__)
