"""``aihwkit.simulator.configs``: configs, devices, compounds, enums, ``build_config``."""

from rpusim._missing import missing_getattr
from rpusim.configs import *  # noqa: F403
from rpusim.configs import OneSidedUnitCell as OneSidedUnitCell

# The reference's names for these classes.
DifferenceUnitCell = OneSidedUnitCell

__getattr__ = missing_getattr(__name__)
