"""``aihwkit.nn.modules.container`` (re-exported from ``rpusim.nn``)."""

from rpusim.nn.base import AnalogLayerBase
from rpusim.nn.container import AnalogContainerBase, AnalogSequential, AnalogWrapper
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
