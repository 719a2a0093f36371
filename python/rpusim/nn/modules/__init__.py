"""``aihwkit.nn.modules``: the analog layers."""

from rpusim._missing import missing_getattr
from rpusim.nn import *  # noqa: F403

__getattr__ = missing_getattr(__name__)
