"""``aihwkit.simulator.presets``: device and RPU-config presets (re-exported from ``rpusim.presets``)."""

from rpusim.presets import *  # noqa: F403
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
