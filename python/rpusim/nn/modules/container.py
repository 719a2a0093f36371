"""``aihwkit.nn.modules.container``."""

from rpusim._missing import missing_getattr
from rpusim.nn.base import AnalogLayerBase as AnalogLayerBase
from rpusim.nn.container import AnalogContainerBase as AnalogContainerBase
from rpusim.nn.container import AnalogSequential as AnalogSequential
from rpusim.nn.container import AnalogWrapper as AnalogWrapper

__getattr__ = missing_getattr(__name__)
