"""``aihwkit.nn.modules.linear_mapped``."""

from rpusim._missing import missing_getattr
from rpusim.configs.base import RPUConfigBase as RPUConfigBase
from rpusim.nn.linear import AnalogLinear as AnalogLinear
from rpusim.nn.linear_mapped import AnalogLinearMapped as AnalogLinearMapped
from rpusim.tile_array import AnalogTileArray as AnalogTileArray

# The reference's names for these classes.
TileModuleArray = AnalogTileArray

__getattr__ = missing_getattr(__name__)
