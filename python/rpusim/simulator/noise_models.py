"""``aihwkit.simulator.noise_models``: inference noise models, conductance converters and drift compensations (re-exported from ``rpusim.inference``)."""

from rpusim.inference import *  # noqa: F403
from rpusim.nn.base import drift_analog_weights, program_analog_weights
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
