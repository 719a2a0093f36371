"""The recurrent cells: one time step of a vanilla RNN, an LSTM (two weight matrices or one
combined), and a GRU, each weight matrix an ``AnalogLinear`` (so any rpu_config works).

Gate orders follow ``torch.nn.RNN/LSTM/GRU`` (LSTM: input, forget, cell, output; GRU: reset,
update, new), so torch weights copy over row block for row block.
"""

from __future__ import annotations

from typing import Any, NamedTuple, Optional, Union

import torch
from torch import Tensor, nn

from rpusim.configs.inference import InferenceRPUConfig
from rpusim.exceptions import ConfigError, ShapeError
from rpusim.nn.linear import AnalogLinear


class LSTMState(NamedTuple):
    """The state of an LSTM cell: hidden ``hx`` and cell ``cx``, each ``[batch, hidden]``."""

    hx: Tensor
    cx: Tensor


def check_size(name: str, value: Any) -> int:
    """A positive int (not a bool), else ConfigError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(f"{name}: expected a positive int, got {value!r}")
    return value


def make_linear(
    in_size: int,
    out_size: int,
    bias: bool,
    rpu_config: Any,
    tile_module_class: Any,
    backend: Optional[str],
) -> nn.Module:
    """An ``AnalogLinear`` with ``rpu_config``, or a plain ``torch.nn.Linear`` when it is None
    (the reference builds a digital cell then)."""
    check_tile_module_class(tile_module_class)
    if rpu_config is None:
        return nn.Linear(in_size, out_size, bias)
    return AnalogLinear(in_size, out_size, bias, rpu_config, backend)


def check_tile_module_class(tile_module_class: Any) -> None:
    """rpusim picks the tile class from the rpu_config; an explicit class is not supported."""
    if tile_module_class is not None:
        raise ConfigError(
            f"tile_module_class: not supported (rpusim chooses the tile from the rpu_config); "
            f"pass None, got {tile_module_class!r}"
        )


def check_step_input(cell: nn.Module, x: Any) -> Tensor:
    """The input of one time step: a tensor ``[batch, input_size]``."""
    if not isinstance(x, Tensor):
        raise TypeError(f"input: expected a torch.Tensor, got {type(x).__name__}")
    size = cell.input_size
    if x.dim() != 2 or x.shape[1] != size:
        raise ShapeError(
            f"input: {type(cell).__name__} expects one time step [batch, {size}], "
            f"got {list(x.shape)}"
        )
    return x


def check_hidden(cell: nn.Module, name: str, h: Any, batch: int) -> Tensor:
    """A hidden (or LSTM cell) state ``[batch, hidden_size]`` matching the input's batch."""
    if not isinstance(h, Tensor):
        raise ShapeError(
            f"{name}: {type(cell).__name__} expects a tensor [batch, {cell.hidden_size}], "
            f"got {type(h).__name__}"
        )
    if tuple(h.shape) != (batch, cell.hidden_size):
        raise ShapeError(
            f"{name}: {type(cell).__name__} expects shape [{batch}, {cell.hidden_size}] "
            f"(batch of the input, hidden_size), got {list(h.shape)}"
        )
    return h


def check_lstm_state(cell: nn.Module, state: Any, batch: int) -> tuple[Tensor, Tensor]:
    """An LSTM state: a pair ``(hx, cx)`` of ``[batch, hidden_size]`` tensors."""
    if not isinstance(state, (tuple, list)) or len(state) != 2:
        raise ShapeError(
            f"state: {type(cell).__name__} expects a pair (hx, cx) of "
            f"[batch, {cell.hidden_size}] tensors, got {type(state).__name__}"
            + (f" of length {len(state)}" if isinstance(state, (tuple, list)) else "")
        )
    return (
        check_hidden(cell, "state.hx", state[0], batch),
        check_hidden(cell, "state.cx", state[1], batch),
    )


def zeros_like_params(module: nn.Module, batch_size: int, size: int) -> Tensor:
    """Zeros ``[batch_size, size]`` in the dtype and on the device of the module's digital
    parameters (float32 when it has none)."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 0:
        raise ConfigError(f"batch_size: expected a non-negative int, got {batch_size!r}")
    for param in module.parameters():
        if param.is_floating_point() and param.numel() > 0:
            return torch.zeros(batch_size, size, dtype=param.dtype, device=param.device)
    return torch.zeros(batch_size, size)


class _CellBase(nn.Module):
    """Sizes and argument checks shared by the cells."""

    input_size: int
    hidden_size: int

    def _init_sizes(self, input_size: int, hidden_size: int) -> None:
        self.input_size = check_size("input_size", input_size)
        self.hidden_size = check_size("hidden_size", hidden_size)

    def extra_repr(self) -> str:
        return f"input_size={self.input_size}, hidden_size={self.hidden_size}"


class AnalogVanillaRNNCell(_CellBase):
    """One step of an Elman RNN: ``h' = tanh(W_ih x + b_ih + W_hh h + b_hh)``.

    Args:
        input_size: features of the input ``x``.
        hidden_size: features of the hidden state ``h``.
        bias: whether the two linear maps have (digital) biases.
        rpu_config: the tiles' configuration; None builds digital ``torch.nn.Linear`` maps.
        tile_module_class: accepted for compatibility; only None.
        backend: the tiles' backend (``"cpu"``/``"gpu"``; default ``$RPUSIM_BACKEND`` or cpu).

    Shape:
        - input ``[batch, input_size]``, state ``[batch, hidden_size]``.
        - returns ``(h', h')``: the output is the new state.

    Attributes:
        weight_ih: ``input_size → hidden_size`` layer; weight_hh: ``hidden_size → hidden_size``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        rpu_config: Any = None,
        tile_module_class: Any = None,
        *,
        backend: Optional[str] = None,
    ) -> None:
        super().__init__()
        self._init_sizes(input_size, hidden_size)
        args = (bias, rpu_config, tile_module_class, backend)
        self.weight_ih = make_linear(input_size, hidden_size, *args)
        self.weight_hh = make_linear(hidden_size, hidden_size, *args)

    def get_zero_state(self, batch_size: int) -> Tensor:
        """A zero hidden state ``[batch_size, hidden_size]``."""
        return zeros_like_params(self, batch_size, self.hidden_size)

    def forward(self, input_: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        x = check_step_input(self, input_)
        h = check_hidden(self, "state", state, x.shape[0])
        out = torch.tanh(self.weight_ih(x) + self.weight_hh(h))
        return out, out


def _lstm_step(gates: Tensor, c: Tensor) -> tuple[Tensor, LSTMState]:
    """The LSTM nonlinearity on the pre-activations ``[batch, 4 hidden]`` (i, f, g, o)."""
    in_gate, forget_gate, cell_gate, out_gate = gates.chunk(4, 1)
    c_new = torch.sigmoid(forget_gate) * c + torch.sigmoid(in_gate) * torch.tanh(cell_gate)
    h_new = torch.sigmoid(out_gate) * torch.tanh(c_new)
    return h_new, LSTMState(h_new, c_new)


class AnalogLSTMCell(_CellBase):
    """One LSTM step with two weight matrices (as ``torch.nn.LSTMCell``):
    ``[i f g o] = W_ih x + b_ih + W_hh h + b_hh``, ``c' = σ(f) c + σ(i) tanh(g)``,
    ``h' = σ(o) tanh(c')``.

    Args:
        input_size, hidden_size, bias, rpu_config, tile_module_class, backend: as
            ``AnalogVanillaRNNCell`` (None rpu_config: digital ``torch.nn.Linear``).

    Shape:
        - input ``[batch, input_size]``, state ``(hx, cx)`` each ``[batch, hidden_size]``.
        - returns ``(h', LSTMState(h', c'))``.

    Attributes:
        weight_ih: ``input_size → 4 hidden_size``; weight_hh: ``hidden_size → 4 hidden_size``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        rpu_config: Any = None,
        tile_module_class: Any = None,
        *,
        backend: Optional[str] = None,
    ) -> None:
        super().__init__()
        self._init_sizes(input_size, hidden_size)
        args = (bias, rpu_config, tile_module_class, backend)
        self.weight_ih = make_linear(input_size, 4 * hidden_size, *args)
        self.weight_hh = make_linear(hidden_size, 4 * hidden_size, *args)

    def get_zero_state(self, batch_size: int) -> LSTMState:
        """Zero ``LSTMState(hx, cx)``, each ``[batch_size, hidden_size]``."""
        zeros = zeros_like_params(self, batch_size, self.hidden_size)
        return LSTMState(zeros, zeros.clone())

    def forward(
        self, input_: Tensor, state: Union[LSTMState, tuple[Tensor, Tensor]]
    ) -> tuple[Tensor, LSTMState]:
        x = check_step_input(self, input_)
        h, c = check_lstm_state(self, state, x.shape[0])
        return _lstm_step(self.weight_ih(x) + self.weight_hh(h), c)


class AnalogLSTMCellCombinedWeight(_CellBase):
    """One LSTM step with a single weight matrix on the concatenation ``[x, h]``:
    ``[i f g o] = W [x; h] + b`` (one tile of ``4 hidden × (input + hidden)``, one bias).

    Args:
        input_size, hidden_size, bias, rpu_config, tile_module_class, backend: as
            ``AnalogLSTMCell``.

    Shape:
        as ``AnalogLSTMCell``.

    Attributes:
        weight: ``input_size + hidden_size → 4 hidden_size`` (columns: input first, then h).
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        rpu_config: Any = None,
        tile_module_class: Any = None,
        *,
        backend: Optional[str] = None,
    ) -> None:
        super().__init__()
        self._init_sizes(input_size, hidden_size)
        self.weight = make_linear(
            input_size + hidden_size, 4 * hidden_size, bias, rpu_config, tile_module_class, backend
        )

    def get_zero_state(self, batch_size: int) -> LSTMState:
        """Zero ``LSTMState(hx, cx)``, each ``[batch_size, hidden_size]``."""
        zeros = zeros_like_params(self, batch_size, self.hidden_size)
        return LSTMState(zeros, zeros.clone())

    def forward(
        self, input_: Tensor, state: Union[LSTMState, tuple[Tensor, Tensor]]
    ) -> tuple[Tensor, LSTMState]:
        x = check_step_input(self, input_)
        h, c = check_lstm_state(self, state, x.shape[0])
        return _lstm_step(self.weight(torch.cat((x, h.to(x.dtype)), 1)), c)


class AnalogGRUCell(_CellBase):
    """One GRU step (as ``torch.nn.GRUCell``): ``[r z n]_i = W_ih x + b_ih``,
    ``[r z n]_h = W_hh h + b_hh``, ``r = σ(r_i + r_h)``, ``z = σ(z_i + z_h)``,
    ``n = tanh(n_i + r n_h)``, ``h' = (1 - z) n + z h``.

    Args:
        input_size, hidden_size, bias, tile_module_class, backend: as ``AnalogVanillaRNNCell``.
        rpu_config: the tiles' configuration; None means ``InferenceRPUConfig()`` (as the
            reference: the GRU cell is always analog).

    Shape:
        - input ``[batch, input_size]``, state ``[batch, hidden_size]``; returns ``(h', h')``.

    Attributes:
        weight_ih: ``input_size → 3 hidden_size``; weight_hh: ``hidden_size → 3 hidden_size``.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        bias: bool,
        rpu_config: Any = None,
        tile_module_class: Any = None,
        *,
        backend: Optional[str] = None,
    ) -> None:
        super().__init__()
        self._init_sizes(input_size, hidden_size)
        if rpu_config is None:
            rpu_config = InferenceRPUConfig()
        args = (bias, rpu_config, tile_module_class, backend)
        self.weight_ih = make_linear(input_size, 3 * hidden_size, *args)
        self.weight_hh = make_linear(hidden_size, 3 * hidden_size, *args)

    def get_zero_state(self, batch_size: int) -> Tensor:
        """A zero hidden state ``[batch_size, hidden_size]``."""
        return zeros_like_params(self, batch_size, self.hidden_size)

    def forward(self, input_: Tensor, state: Tensor) -> tuple[Tensor, Tensor]:
        x = check_step_input(self, input_)
        h = check_hidden(self, "state", state, x.shape[0])
        reset_i, update_i, new_i = self.weight_ih(x).chunk(3, 1)
        reset_h, update_h, new_h = self.weight_hh(h).chunk(3, 1)
        reset_gate = torch.sigmoid(reset_i + reset_h)
        update_gate = torch.sigmoid(update_i + update_h)
        new_gate = torch.tanh(new_i + reset_gate * new_h)
        out = new_gate + update_gate * (h - new_gate)
        return out, out


# The cells the reference ships, for error messages.
KNOWN_CELLS = (AnalogVanillaRNNCell, AnalogLSTMCell, AnalogLSTMCellCombinedWeight, AnalogGRUCell)


def check_cell(cell: Any) -> type[nn.Module]:
    """A cell class: one of ``KNOWN_CELLS`` or any ``nn.Module`` subclass with the same call
    shape (``__init__(input_size, hidden_size, bias, rpu_config, tile_module_class)``,
    ``get_zero_state(batch_size)``, ``forward(x, state) -> (out, state)``)."""
    if (
        isinstance(cell, type)
        and issubclass(cell, nn.Module)
        and callable(getattr(cell, "get_zero_state", None))
    ):
        return cell
    names = ", ".join(c.__name__ for c in KNOWN_CELLS)
    shown = cell.__name__ if isinstance(cell, type) else repr(cell)
    raise ConfigError(
        f"cell: expected a cell class ({names}, or an nn.Module subclass with get_zero_state), "
        f"got {shown}"
    )
