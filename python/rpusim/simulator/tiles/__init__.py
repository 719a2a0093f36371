"""``aihwkit.simulator.tiles``: ``AnalogTile`` (pulsed and floating-point configs),
``InferenceTile``, ``AnalogTileArray``; ``TileModule`` is ``AnalogTile``."""

from rpusim._missing import missing_getattr
from rpusim.functions import AnalogFunction as AnalogFunction
from rpusim.inference.tile import InferenceTile as InferenceTile
from rpusim.inference.torch_tile import TorchInferenceTile as TorchInferenceTile
from rpusim.optim.context import AnalogContext as AnalogContext
from rpusim.tile_array import AnalogTileArray as AnalogTileArray
from rpusim.tiles import AnalogTile as AnalogTile

# The reference's names for these classes.
TileModule = AnalogTile
TileModuleArray = AnalogTileArray

__getattr__ = missing_getattr(__name__)
