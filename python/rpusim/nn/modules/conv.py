"""``aihwkit.nn.modules.conv``."""

from rpusim._missing import missing_getattr
from rpusim.configs.base import RPUConfigBase as RPUConfigBase
from rpusim.nn.base import AnalogLayerBase as AnalogLayerBase
from rpusim.nn.conv import AnalogConv1d as AnalogConv1d
from rpusim.nn.conv import AnalogConv2d as AnalogConv2d
from rpusim.nn.conv import AnalogConv3d as AnalogConv3d
from rpusim.nn.conv import _AnalogConvNd as _AnalogConvNd

__getattr__ = missing_getattr(__name__)
