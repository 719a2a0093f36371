"""``aihwkit.simulator.configs.helpers``: ``build_config`` (re-exported)."""

from rpusim.configs import *  # noqa: F403
from rpusim.configs.devices import PulsedDevice
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
