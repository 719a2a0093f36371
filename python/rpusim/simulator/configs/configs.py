"""``aihwkit.simulator.configs.configs``: the RPU config classes (re-exported)."""

from rpusim.configs import *  # noqa: F403

from rpusim.configs.base import RPUConfigBase
from rpusim.configs.runtime import RuntimeParameter
from rpusim.inference import (
    BaseDriftCompensation,
    BaseNoiseModel,
    GlobalDriftCompensation,
    PCMLikeNoiseModel,
)
from rpusim.inference.tile import InferenceTile
from rpusim.tile_array import AnalogTileArray as TileModuleArray
from rpusim.tiles import AnalogTile
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
