"""``aihwkit.nn.modules``: the analog layers (re-exported from ``rpusim.nn``)."""

from rpusim.nn import *  # noqa: F403
from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
