"""Analog recurrent networks: cells (one time step), layers (a cell over a sequence) and the
stacked ``AnalogRNN``, with the reference's names and call shapes."""

from rpusim.nn.rnn.cells import (
    AnalogGRUCell,
    AnalogLSTMCell,
    AnalogLSTMCellCombinedWeight,
    AnalogVanillaRNNCell,
    LSTMState,
)
from rpusim.nn.rnn.layers import AnalogBidirRNNLayer, AnalogReverseRNNLayer, AnalogRNNLayer
from rpusim.nn.rnn.rnn import AnalogRNN, ModularRNN

__all__ = [
    "AnalogBidirRNNLayer",
    "AnalogGRUCell",
    "AnalogLSTMCell",
    "AnalogLSTMCellCombinedWeight",
    "AnalogRNN",
    "AnalogRNNLayer",
    "AnalogReverseRNNLayer",
    "AnalogVanillaRNNCell",
    "LSTMState",
    "ModularRNN",
]
