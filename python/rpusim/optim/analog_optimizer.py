"""``aihwkit.optim.analog_optimizer``: only ``AnalogSGD``."""

from rpusim._missing import missing_getattr
from rpusim.optim.analog_sgd import AnalogSGD as AnalogSGD
from rpusim.optim.context import AnalogContext as AnalogContext

__getattr__ = missing_getattr(__name__)
