"""Recurrent layers: a cell unrolled over the time axis (forward, reversed, or both directions).

Every time step calls the same cell, so its analog layers record one (x, d) pair set per step;
``AnalogSGD.step`` then updates each tile once with the pairs of all steps (see
``AnalogContext``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from rpusim.exceptions import ShapeError
from rpusim.nn.rnn.cells import check_cell


def check_sequence(x: Any, input_size: int) -> Tensor:
    """A sequence ``[seq, batch, input_size]`` with at least one time step."""
    if not isinstance(x, Tensor):
        raise TypeError(f"input: expected a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 3 or x.shape[2] != input_size:
        raise ShapeError(
            f"input: expected shape [seq, batch, {input_size}] (time first, no batch_first), "
            f"got {list(x.shape)}"
        )
    if x.shape[0] == 0:
        raise ShapeError("input: the sequence has no time steps (shape[0] == 0)")
    return x


def _unroll(cell: nn.Module, steps: list[Tensor], state: Any) -> tuple[list[Tensor], Any]:
    outputs = []
    for x_t in steps:
        out, state = cell(x_t, state)
        outputs.append(out)
    return outputs, state


class AnalogRNNLayer(nn.Module):
    """A cell applied along the sequence, first step first.

    Args:
        cell: the cell class (e.g. ``AnalogLSTMCell``).
        cell_args: its positional arguments (input_size, hidden_size, bias, rpu_config, ...).
        cell_kwargs: its keyword arguments (e.g. ``backend``).

    Shape:
        - input ``[seq, batch, input_size]`` and the cell's state.
        - returns ``(output [seq, batch, hidden_size], final state)``.
    """

    cell: Any

    def __init__(self, cell: type, *cell_args: Any, **cell_kwargs: Any) -> None:
        super().__init__()
        self.cell = check_cell(cell)(*cell_args, **cell_kwargs)

    def get_zero_state(self, batch_size: int) -> Any:
        """The cell's zero state."""
        return self.cell.get_zero_state(batch_size)

    def forward(self, input_: Tensor, state: Any) -> tuple[Tensor, Any]:
        x = check_sequence(input_, self.cell.input_size)
        outputs, state = _unroll(self.cell, list(x.unbind(0)), state)
        return torch.stack(outputs), state


class AnalogReverseRNNLayer(AnalogRNNLayer):
    """A cell applied along the sequence, last step first; the outputs are returned in the
    input's time order (as the backward direction of ``torch.nn.LSTM(bidirectional=True)``)."""

    def forward(self, input_: Tensor, state: Any) -> tuple[Tensor, Any]:
        x = check_sequence(input_, self.cell.input_size)
        outputs, state = _unroll(self.cell, list(x.unbind(0))[::-1], state)
        return torch.stack(outputs[::-1]), state


class AnalogBidirRNNLayer(nn.Module):
    """Two independent cells, one per direction, outputs concatenated along the features.

    Args:
        cell, cell_args, cell_kwargs: as ``AnalogRNNLayer`` (each direction gets its own cell).

    Shape:
        - input ``[seq, batch, input_size]`` and states ``[forward state, backward state]``.
        - returns ``(output [seq, batch, 2 hidden_size], [forward state, backward state])``.

    Attributes:
        directions: ``ModuleList([AnalogRNNLayer, AnalogReverseRNNLayer])``.
    """

    def __init__(self, cell: type, *cell_args: Any, **cell_kwargs: Any) -> None:
        super().__init__()
        self.directions = nn.ModuleList(
            [
                AnalogRNNLayer(cell, *cell_args, **cell_kwargs),
                AnalogReverseRNNLayer(cell, *cell_args, **cell_kwargs),
            ]
        )

    def get_zero_state(self, batch_size: int) -> list[Any]:
        """``[forward zero state, backward zero state]``."""
        directions: list[Any] = list(self.directions)
        return [direction.get_zero_state(batch_size) for direction in directions]

    def forward(self, input_: Tensor, states: Any) -> tuple[Tensor, list[Any]]:
        if not isinstance(states, (list, tuple)) or len(states) != 2:
            got = type(states).__name__
            if isinstance(states, (list, tuple)):
                got += f" of length {len(states)}"
            raise ShapeError(
                f"states: a bidirectional layer expects [forward state, backward state], got {got}"
            )
        outputs, out_states = [], []
        for direction, state in zip(self.directions, states):
            out, out_state = direction(input_, state)
            outputs.append(out)
            out_states.append(out_state)
        return torch.cat(outputs, -1), out_states
