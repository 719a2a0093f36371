"""``aihwkit.simulator.configs.devices``: device models and compounds (re-exported)."""

from rpusim.configs import *  # noqa: F403

from rpusim.configs.compounds import DigitalRankUpdateCell, UnitCell
from rpusim.configs.devices import PulsedDevice

# The reference's deprecated name of the one-sided cell.
DifferenceUnitCell = OneSidedUnitCell  # noqa: F405
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
