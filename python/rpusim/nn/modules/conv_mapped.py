"""``aihwkit.nn.modules.conv_mapped``."""

from rpusim._missing import missing_getattr
from rpusim.configs.base import RPUConfigBase as RPUConfigBase
from rpusim.nn.base import AnalogLayerBase as AnalogLayerBase
from rpusim.nn.conv_mapped import AnalogConv1dMapped as AnalogConv1dMapped
from rpusim.nn.conv_mapped import AnalogConv2dMapped as AnalogConv2dMapped
from rpusim.nn.conv_mapped import AnalogConv3dMapped as AnalogConv3dMapped
from rpusim.nn.conv_mapped import _AnalogConvNdMapped as _AnalogConvNdMapped
from rpusim.tiles import AnalogTile as AnalogTile

# The reference's names for these classes.
TileModule = AnalogTile

__getattr__ = missing_getattr(__name__)
