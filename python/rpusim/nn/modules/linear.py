"""``aihwkit.nn.modules.linear``."""

from rpusim._missing import missing_getattr
from rpusim.configs.base import RPUConfigBase as RPUConfigBase
from rpusim.nn.base import AnalogLayerBase as AnalogLayerBase
from rpusim.nn.linear import AnalogLinear as AnalogLinear

__getattr__ = missing_getattr(__name__)
