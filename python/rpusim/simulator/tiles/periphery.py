"""``aihwkit.simulator.tiles.periphery``: the tile periphery (re-exported)."""

from rpusim.functions import AnalogFunction
from rpusim.inference.tile import InferenceTile
from rpusim.optim.context import AnalogContext
from rpusim.tile_array import AnalogTileArray
from rpusim.tiles import AnalogTile

# The reference's base class of every tile module and its tile array.
TileModule = AnalogTile
TileModuleArray = AnalogTileArray
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
