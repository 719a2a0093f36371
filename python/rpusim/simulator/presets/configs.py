"""``aihwkit.simulator.presets.configs``: RPU-config presets."""

from rpusim._missing import missing_getattr
from rpusim.configs import *  # noqa: F403
from rpusim.configs.compounds import DigitalRankUpdateCell as DigitalRankUpdateCell
from rpusim.configs.compounds import UnitCell as UnitCell
from rpusim.configs.devices import PulsedDevice as PulsedDevice
from rpusim.presets import *  # noqa: F403

__getattr__ = missing_getattr(__name__)
