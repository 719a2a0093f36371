"""Optimizers for models with analog layers."""

from rpusim.optim.analog_sgd import AnalogSGD
from rpusim.optim.context import AnalogContext

__all__ = ["AnalogContext", "AnalogSGD"]

# The reference's names rpusim does not provide raise MissingFeatureError (branch api).
from rpusim._missing import missing_getattr as _missing_getattr  # noqa: E402

__getattr__ = _missing_getattr(__name__)
