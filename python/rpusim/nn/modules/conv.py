"""``aihwkit.nn.modules.conv`` (re-exported from ``rpusim.nn``)."""

from rpusim.configs.base import RPUConfigBase
from rpusim.nn.base import AnalogLayerBase
from rpusim.nn.conv import AnalogConv1d, AnalogConv2d, AnalogConv3d, _AnalogConvNd
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
