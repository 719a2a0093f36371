"""``aihwkit.nn.modules.linear_mapped`` (re-exported from ``rpusim.nn``)."""

from rpusim.configs.base import RPUConfigBase
from rpusim.nn.linear import AnalogLinear
from rpusim.nn.linear_mapped import AnalogLinearMapped
from rpusim.tile_array import AnalogTileArray as TileModuleArray
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
