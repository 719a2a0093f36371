"""``aihwkit.simulator.parameters.mapping``."""

from rpusim._missing import missing_getattr
from rpusim.configs import *  # noqa: F403
from rpusim.configs.base import RPUConfigBase as RPUConfigBase
from rpusim.configs.runtime import RuntimeParameter as RuntimeParameter

__getattr__ = missing_getattr(__name__)
