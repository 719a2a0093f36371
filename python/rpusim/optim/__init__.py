"""Optimizers for models with analog layers."""

from rpusim.optim.analog_sgd import AnalogSGD
from rpusim.optim.context import AnalogContext

__all__ = ["AnalogContext", "AnalogSGD"]
