"""Analog neural-network modules."""

from rpusim.nn.base import AnalogLayerBase
from rpusim.nn.container import AnalogSequential, analog_tiles, to_backend
from rpusim.nn.conv import AnalogConv1d, AnalogConv2d, AnalogConv3d
from rpusim.nn.conversion import convert_to_analog, convert_to_digital
from rpusim.nn.linear import AnalogLinear

__all__ = [
    "AnalogConv1d",
    "AnalogConv2d",
    "AnalogConv3d",
    "AnalogLayerBase",
    "AnalogLinear",
    "AnalogSequential",
    "analog_tiles",
    "convert_to_analog",
    "convert_to_digital",
    "to_backend",
]
