"""``AnalogContext``: the parameter that stands for an analog tile in an optimizer.

Its data is an empty tensor; it requires grad so that autograd calls the tile's backward even
when nothing before the layer needs a gradient. The backward records (x, d) pairs here, and
``AnalogSGD.step`` turns them into one pulsed update of the tile. ``prepare_for_ddp`` marks it
``distributed``: the step then first exchanges the pairs of all ranks (``rpusim.distributed``).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor
from torch.nn import Parameter


class AnalogContext(Parameter):
    """A placeholder parameter carrying an analog tile and its recorded (x, d) pairs."""

    analog_tile: Any
    analog_input: list[Tensor]
    analog_grad_output: list[Tensor]
    distributed: bool
    process_group: Any

    def __new__(cls, analog_tile: Any) -> AnalogContext:
        self = super().__new__(cls, torch.empty(0), requires_grad=True)
        self.analog_tile = analog_tile
        # The tile's get_analog_ctx() returns the context that stands for it (the latest).
        if hasattr(analog_tile, "__dict__"):
            analog_tile.__dict__["_analog_ctx"] = self
        self.analog_input = []
        self.analog_grad_output = []
        self.distributed = False
        self.process_group = None
        return self

    def record(self, x: Tensor, d: Tensor) -> None:
        """Appends one (x, d) batch (flattened to ``[batch, features]``)."""
        self.analog_input.append(x)
        self.analog_grad_output.append(d)

    def has_pairs(self) -> bool:
        return bool(self.analog_input)

    def take_pairs(self) -> tuple[Tensor, Tensor]:
        """All recorded pairs concatenated along the batch, and clears the lists."""
        x = torch.cat(self.analog_input) if len(self.analog_input) > 1 else self.analog_input[0]
        d = (
            torch.cat(self.analog_grad_output)
            if len(self.analog_grad_output) > 1
            else self.analog_grad_output[0]
        )
        self.reset()
        return x, d

    def reset(self) -> None:
        self.analog_input = []
        self.analog_grad_output = []

    def __deepcopy__(self, memo: dict[int, Any]) -> AnalogContext:
        import copy

        new = AnalogContext(copy.deepcopy(self.analog_tile, memo))
        # A copy of a prepared model stays prepared (the process group is shared, not copied).
        new.distributed = self.distributed
        new.process_group = self.process_group
        return new

    def __reduce_ex__(self, proto: Any) -> Any:
        return (AnalogContext, (self.analog_tile,))

    def __repr__(self, *args: Any, **kwargs: Any) -> str:  # type: ignore[override]
        return f"AnalogContext({self.analog_tile!r})"
