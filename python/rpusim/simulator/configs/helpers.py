"""``aihwkit.simulator.configs.helpers``: ``build_config``."""

from rpusim._missing import missing_getattr
from rpusim.configs import *  # noqa: F403
from rpusim.configs.devices import PulsedDevice as PulsedDevice

__getattr__ = missing_getattr(__name__)
