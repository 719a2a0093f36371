"""Analog neural-network modules."""

from rpusim.nn.base import AnalogLayerBase
from rpusim.nn.container import AnalogSequential, analog_tiles, to_backend
from rpusim.nn.linear import AnalogLinear

__all__ = ["AnalogLayerBase", "AnalogLinear", "AnalogSequential", "analog_tiles", "to_backend"]
