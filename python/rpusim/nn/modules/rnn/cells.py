"""``aihwkit.nn.modules.rnn.cells``: re-exports ``rpusim.nn.rnn.cells``."""

from rpusim._missing import missing_getattr
from rpusim.nn.rnn.cells import *  # noqa: F403

__getattr__ = missing_getattr(__name__)
