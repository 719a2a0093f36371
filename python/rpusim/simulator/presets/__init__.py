"""``aihwkit.simulator.presets``: device and RPU-config presets."""

from rpusim._missing import missing_getattr
from rpusim.configs import PresetIOParameters as PresetIOParameters
from rpusim.configs import PresetUpdateParameters as PresetUpdateParameters
from rpusim.presets import *  # noqa: F403

__getattr__ = missing_getattr(__name__)
