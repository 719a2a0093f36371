"""``aihwkit.simulator.noise_models``: noise models, conductance converters, drift compensations."""

from rpusim._missing import missing_getattr
from rpusim.inference import *  # noqa: F403
from rpusim.nn.base import drift_analog_weights as drift_analog_weights
from rpusim.nn.base import program_analog_weights as program_analog_weights

__getattr__ = missing_getattr(__name__)
