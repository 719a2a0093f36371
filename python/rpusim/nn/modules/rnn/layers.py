"""``aihwkit.nn.modules.rnn.layers``: re-exports ``rpusim.nn.rnn.layers``."""

from rpusim._missing import missing_getattr
from rpusim.nn.rnn.layers import *  # noqa: F403

__getattr__ = missing_getattr(__name__)
