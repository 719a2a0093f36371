"""``aihwkit.nn.modules.rnn``: the analog recurrent layers."""

from rpusim._missing import missing_getattr
from rpusim.nn.rnn import *  # noqa: F403

__getattr__ = missing_getattr(__name__)
