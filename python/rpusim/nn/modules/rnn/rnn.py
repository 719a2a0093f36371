"""``aihwkit.nn.modules.rnn.rnn``: re-exports ``rpusim.nn.rnn.rnn``."""

from rpusim._missing import missing_getattr
from rpusim.nn.rnn.rnn import *  # noqa: F403

__getattr__ = missing_getattr(__name__)
