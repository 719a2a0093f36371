"""``AnalogRNN``: stacked (optionally bidirectional) recurrent layers of analog cells, with
dropout between the layers, in the reference's call shape."""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable, Optional

from torch import Tensor, nn

from rpusim.exceptions import ConfigError, ShapeError
from rpusim.nn.base import AnalogLayerBase
from rpusim.nn.linear import AnalogLinear
from rpusim.nn.rnn.cells import check_cell, check_size, check_tile_module_class
from rpusim.nn.rnn.layers import AnalogBidirRNNLayer, AnalogRNNLayer, check_sequence


class ModularRNN(nn.Module):
    """``num_layers`` recurrent layers in series, dropout on the output of each but the last.

    Args:
        num_layers: number of layers.
        layer: the layer class (``AnalogRNNLayer`` or ``AnalogBidirRNNLayer``).
        dropout: dropout probability between layers.
        first_layer_args: the first layer's arguments (cell, input_size, hidden_size, ...).
        other_layer_args: the other layers' arguments (input size = directions × hidden).
        layer_kwargs: keyword arguments of every layer's cells (e.g. ``backend``).
    """

    def __init__(
        self,
        num_layers: int,
        layer: type,
        dropout: float,
        first_layer_args: Any,
        other_layer_args: Any,
        **layer_kwargs: Any,
    ) -> None:
        super().__init__()
        self.num_layers = num_layers
        self.layers = nn.ModuleList(
            [layer(*first_layer_args, **layer_kwargs)]
            + [layer(*other_layer_args, **layer_kwargs) for _ in range(num_layers - 1)]
        )
        if num_layers == 1 and dropout > 0:
            warnings.warn(
                f"dropout={dropout} acts between recurrent layers only and does nothing with "
                f"num_layers=1",
                stacklevel=3,
            )
        self.dropout_layer = nn.Dropout(dropout) if dropout > 0 else None

    def get_zero_state(self, batch_size: int) -> list[Any]:
        """One zero state per layer."""
        layers: list[Any] = list(self.layers)
        return [layer.get_zero_state(batch_size) for layer in layers]

    def forward(self, input_: Tensor, states: Any) -> tuple[Tensor, list[Any]]:
        if not isinstance(states, (list, tuple)) or len(states) != self.num_layers:
            got = type(states).__name__
            if isinstance(states, (list, tuple)):
                got += f" of length {len(states)}"
            raise ShapeError(
                f"states: expected a list of {self.num_layers} layer states "
                f"(num_layers={self.num_layers}), got {got}"
            )
        output = input_
        out_states = []
        for k, layer in enumerate(self.layers):
            output, state = layer(output, states[k])
            if self.dropout_layer is not None and k < self.num_layers - 1:
                output = self.dropout_layer(output)
            out_states.append(state)
        return output, out_states


class AnalogRNN(AnalogLayerBase, nn.Module):
    """A stacked recurrent network of analog cells (the reference's ``AnalogRNN``).

    Args:
        cell: the cell class: ``AnalogVanillaRNNCell``, ``AnalogLSTMCell``,
            ``AnalogLSTMCellCombinedWeight``, ``AnalogGRUCell`` (or a compatible module class).
        input_size: features of the input.
        hidden_size: features of each direction's hidden state.
        bias: whether the cells' linear maps have (digital) biases.
        rpu_config: the tiles' configuration; None gives digital ``torch.nn.Linear`` maps (an
            ``InferenceRPUConfig`` for ``AnalogGRUCell``), as the reference.
        tile_module_class: accepted for compatibility; only None.
        xavier: Xavier-uniform weights and zero biases instead of ``torch.nn.LSTM``'s
            ``U(-1/√hidden, 1/√hidden)`` for weights and biases.
        num_layers: layers in series.
        bidir: each layer runs a second cell over the reversed sequence; outputs concatenated.
        dropout: dropout on the output of every layer but the last (training mode only).
        backend: the tiles' backend (keyword only; default ``$RPUSIM_BACKEND`` or cpu).

    Shape:
        - input ``[seq, batch, input_size]`` (time first; there is no ``batch_first``).
        - states (optional, zeros if None): a list of ``num_layers`` entries, each the cell's
          state (``[batch, hidden]``, or ``LSTMState(hx, cx)``), or with ``bidir`` a list
          ``[forward state, backward state]``.
        - returns ``(output [seq, batch, directions × hidden_size], final states)`` with the
          final states in the same nesting.

    Attributes:
        rnn: the ``ModularRNN``; ``rnn.layers[k].cell`` (or ``rnn.layers[k].directions[d].cell``)
            holds the analog layers.

    Examples:
        >>> rnn = AnalogRNN(AnalogLSTMCell, 10, 20, num_layers=2, rpu_config=SingleRPUConfig())
        >>> out, states = rnn(torch.randn(5, 3, 10))
        >>> out.shape, states[1].hx.shape
        (torch.Size([5, 3, 20]), torch.Size([3, 20]))
    """

    def __init__(
        self,
        cell: type,
        input_size: int,
        hidden_size: int,
        bias: bool = True,
        rpu_config: Any = None,
        tile_module_class: Any = None,
        xavier: bool = False,
        num_layers: int = 1,
        bidir: bool = False,
        dropout: float = 0.0,
        *,
        backend: Optional[str] = None,
    ) -> None:
        super().__init__()
        cell = check_cell(cell)
        check_size("input_size", input_size)
        check_size("hidden_size", hidden_size)
        check_size("num_layers", num_layers)
        check_tile_module_class(tile_module_class)
        if (
            isinstance(dropout, bool)
            or not isinstance(dropout, (int, float))
            or not 0.0 <= dropout <= 1.0
        ):
            raise ConfigError(f"dropout: expected a probability in [0, 1], got {dropout!r}")
        layer: type = AnalogBidirRNNLayer if bidir else AnalogRNNLayer
        directions = 2 if bidir else 1
        common = (bias, rpu_config, tile_module_class)
        kwargs = {} if backend is None else {"backend": backend}
        self.rnn = ModularRNN(
            num_layers,
            layer,
            float(dropout),
            first_layer_args=(cell, input_size, hidden_size, *common),
            other_layer_args=(cell, directions * hidden_size, hidden_size, *common),
            **kwargs,
        )
        self.input_size = input_size
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.bidir = bool(bidir)
        self.reset_parameters(xavier)

    def init_layers(
        self,
        weight_init_fn: Callable[[Tensor], Any],
        bias_init_fn: Optional[Callable[[Tensor], Any]] = None,
    ) -> None:
        """Re-initialises every linear map (analog or digital) with in-place tensor functions;
        ``weight_init_fn`` also initialises the biases when ``bias_init_fn`` is None."""
        bias_fn = weight_init_fn if bias_init_fn is None else bias_init_fn
        for module in self.modules():
            if isinstance(module, AnalogLinear):
                weight, bias = module.get_weights()
                weight_init_fn(weight)
                if bias is not None:
                    bias_fn(bias)
                module.set_weights(weight, bias)
            elif isinstance(module, nn.Linear):
                weight_init_fn(module.weight.data)
                if module.bias is not None:
                    bias_fn(module.bias.data)

    def reset_parameters(self, xavier: bool = False) -> None:
        """``torch.nn.LSTM``'s initialisation (``U(-1/√hidden, 1/√hidden)`` for every weight and
        bias), or Xavier-uniform weights and zero biases."""
        if xavier:
            self.init_layers(nn.init.xavier_uniform_, nn.init.zeros_)
        else:
            bound = 1.0 / math.sqrt(self.hidden_size)
            self.init_layers(lambda t: t.uniform_(-bound, bound))

    def get_zero_state(self, batch_size: int) -> list[Any]:
        """Zero states for every layer (and direction) for a batch of ``batch_size``."""
        return self.rnn.get_zero_state(batch_size)

    def forward(
        self, input: Tensor, states: Optional[list[Any]] = None
    ) -> tuple[Tensor, list[Any]]:
        x = check_sequence(input, self.input_size)
        if states is None:
            states = self.get_zero_state(x.shape[1])
        return self.rnn(x, states)

    def extra_repr(self) -> str:
        return (
            f"input_size={self.input_size}, hidden_size={self.hidden_size}, "
            f"num_layers={self.num_layers}, bidir={self.bidir}"
        )
