"""``aihwkit.simulator.configs.utils``: enums and parameter classes (re-exported)."""

from rpusim.configs import *  # noqa: F403
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
