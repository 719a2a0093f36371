"""``aihwkit.nn.modules.linear`` (re-exported from ``rpusim.nn``)."""

from rpusim.configs.base import RPUConfigBase
from rpusim.nn.base import AnalogLayerBase
from rpusim.nn.linear import AnalogLinear
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
