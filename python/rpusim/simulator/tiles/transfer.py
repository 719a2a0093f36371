"""``aihwkit.simulator.tiles.transfer``: transfer tiles (AnalogTile with a TransferCompound
config)."""

from rpusim._missing import missing_getattr
from rpusim.configs import ChoppedTransferCompound as ChoppedTransferCompound
from rpusim.configs import DynamicTransferCompound as DynamicTransferCompound
from rpusim.configs import SingleRPUConfig as SingleRPUConfig
from rpusim.configs import UnitCellRPUConfig as UnitCellRPUConfig
from rpusim.functions import AnalogFunction as AnalogFunction
from rpusim.inference.tile import InferenceTile as InferenceTile
from rpusim.optim.context import AnalogContext as AnalogContext
from rpusim.tile_array import AnalogTileArray as AnalogTileArray
from rpusim.tiles import AnalogTile as AnalogTile

# The reference's names for these classes.
TileModule = AnalogTile
TileModuleArray = AnalogTileArray

__getattr__ = missing_getattr(__name__)
