"""``aihwkit.simulator.configs.devices``: device models and compounds."""

from rpusim._missing import missing_getattr
from rpusim.configs import *  # noqa: F403
from rpusim.configs import OneSidedUnitCell as OneSidedUnitCell
from rpusim.configs.compounds import DigitalRankUpdateCell as DigitalRankUpdateCell
from rpusim.configs.compounds import UnitCell as UnitCell
from rpusim.configs.devices import PulsedDevice as PulsedDevice

# The reference's names for these classes.
DifferenceUnitCell = OneSidedUnitCell

__getattr__ = missing_getattr(__name__)
