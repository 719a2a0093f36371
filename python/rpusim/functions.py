"""``AnalogFunction``: the autograd function of an analog tile.

Forward runs the tile's forward pass; backward runs its backward pass (only when the input needs
a gradient) and records the (x, grad_output) pair on the tile's ``AnalogContext`` for the pulsed
update in ``AnalogSGD.step``.
"""

from __future__ import annotations

from typing import Any, Optional

from torch import Tensor
from torch.autograd import Function

from rpusim.optim.context import AnalogContext
from rpusim.tiles import as_float32_2d


class AnalogFunction(Function):
    """``y = tile.forward(x)``; ``dx = tile.backward(dy)`` with no gradient through outputs the
    forward ADC saturated (the reference's rule); (x, dy) recorded for the update (all of dy:
    the reference masks only the backward pass)."""

    @staticmethod
    def forward(ctx: Any, analog_ctx: AnalogContext, x: Tensor) -> Tensor:  # type: ignore[override]
        out, saturated = analog_ctx.analog_tile.forward_saturated(x)
        ctx.analog_ctx = analog_ctx
        ctx.saturated = saturated
        ctx.save_for_backward(x)
        return out

    @staticmethod
    def backward(ctx: Any, grad_output: Tensor) -> tuple[None, Optional[Tensor]]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        analog_ctx: AnalogContext = ctx.analog_ctx
        tile = analog_ctx.analog_tile
        grad_input = None
        if ctx.needs_input_grad[1]:
            grad_input = tile.backward(grad_output, ctx.saturated)
        x_flat, _ = as_float32_2d("x", x, tile.in_size)
        d_flat, _ = as_float32_2d("grad_output", grad_output, tile.out_size)
        analog_ctx.record(x_flat, d_flat)
        return None, grad_input
