"""``aihwkit.simulator.parameters.runtime`` (re-exported from ``rpusim.configs``)."""

from rpusim.configs import *  # noqa: F403
from rpusim.configs.runtime import RuntimeParameter
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
