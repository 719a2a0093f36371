"""``aihwkit.nn.modules.base`` (re-exported from ``rpusim.nn``)."""

from rpusim.configs.base import RPUConfigBase
from rpusim.inference.tile import InferenceTile
from rpusim.nn.base import AnalogLayerBase
from rpusim.tiles import AnalogTile as TileModule
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
