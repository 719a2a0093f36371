"""``aihwkit.nn.modules.base``."""

from rpusim._missing import missing_getattr
from rpusim.configs.base import RPUConfigBase as RPUConfigBase
from rpusim.inference.tile import InferenceTile as InferenceTile
from rpusim.nn.base import AnalogLayerBase as AnalogLayerBase
from rpusim.tiles import AnalogTile as AnalogTile

# The reference's names for these classes.
TileModule = AnalogTile

__getattr__ = missing_getattr(__name__)
