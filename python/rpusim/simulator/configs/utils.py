"""``aihwkit.simulator.configs.utils``: enums and parameter classes."""

from rpusim._missing import missing_getattr
from rpusim.configs import *  # noqa: F403

__getattr__ = missing_getattr(__name__)
