"""``aihwkit.simulator.configs``: every config class, device, compound, enum and ``build_config`` (re-exported from ``rpusim.configs``)."""

from rpusim.configs import *  # noqa: F403
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
