"""``aihwkit.simulator.configs.configs``: the RPU config classes."""

from rpusim._missing import missing_getattr
from rpusim.configs import *  # noqa: F403
from rpusim.configs.base import RPUConfigBase as RPUConfigBase
from rpusim.configs.runtime import RuntimeParameter as RuntimeParameter
from rpusim.inference import BaseDriftCompensation as BaseDriftCompensation
from rpusim.inference import BaseNoiseModel as BaseNoiseModel
from rpusim.inference import GlobalDriftCompensation as GlobalDriftCompensation
from rpusim.inference import PCMLikeNoiseModel as PCMLikeNoiseModel
from rpusim.inference.tile import InferenceTile as InferenceTile
from rpusim.tile_array import AnalogTileArray as AnalogTileArray
from rpusim.tiles import AnalogTile as AnalogTile

# The reference's names for these classes.
TileModuleArray = AnalogTileArray

__getattr__ = missing_getattr(__name__)
