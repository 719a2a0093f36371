"""``aihwkit.simulator.presets.configs``: RPU-config presets (re-exported)."""

from rpusim.configs import *  # noqa: F403
from rpusim.configs.compounds import DigitalRankUpdateCell, UnitCell
from rpusim.configs.devices import PulsedDevice
from rpusim.presets import *  # noqa: F403
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
