"""``aihwkit.nn.modules.conv_mapped`` (re-exported from ``rpusim.nn``)."""

from rpusim.configs.base import RPUConfigBase
from rpusim.nn.base import AnalogLayerBase
from rpusim.nn.conv_mapped import (
    AnalogConv1dMapped,
    AnalogConv2dMapped,
    AnalogConv3dMapped,
    _AnalogConvNdMapped,
)
from rpusim.tiles import AnalogTile as TileModule
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
