"""The learned input range of ``pre_post.input_range`` (see ``InputRangeParameter``): the clip of
the layer input to ±r with r's gradient, its initialisation from data, and the scaling of the
tile's input by 1/r and output by r."""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor
from torch.autograd import Function

from rpusim.configs.pre_post import InputRangeParameter


class InputRangeClip(Function):
    """``clamp(x, ±r)`` forward. Backward: x's gradient unchanged (``straight_through``, as the
    reference's Rust-style inference tile) or zero outside the range (as ``torch.clamp``); r's
    gradient the formula of ``InputRangeParameter``. ``stash`` (a dict) may carry
    ``output_percentage``, the fraction of unclipped tile outputs, filled after the tile ran."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: Tensor,
        input_range: Tensor,
        params: InputRangeParameter,
        straight_through: bool,
        stash: Optional[dict[str, float]],
    ) -> Tensor:
        ctx.save_for_backward(x, input_range)
        ctx.params = params
        ctx.straight_through = straight_through
        ctx.stash = stash
        bound = float(input_range.detach().abs().reshape(-1)[0])
        return x.clamp(-bound, bound)

    @staticmethod
    def backward(
        ctx: Any, grad: Tensor
    ) -> tuple[Optional[Tensor], Optional[Tensor], None, None, None]:  # type: ignore[override]
        x, input_range = ctx.saved_tensors
        params: InputRangeParameter = ctx.params
        r = input_range.detach()
        grad_x = None
        if ctx.needs_input_grad[0]:
            grad_x = grad if ctx.straight_through else grad * ((x >= -r) & (x <= r)).to(grad.dtype)
        grad_r = None
        if ctx.needs_input_grad[1]:
            grad_r = input_range_gradient(x, grad, r, params, ctx.stash)
        return grad_x, grad_r, None, None, None


def input_range_gradient(
    x: Tensor,
    grad: Tensor,
    r: Tensor,
    params: InputRangeParameter,
    stash: Optional[dict[str, float]] = None,
) -> Tensor:
    """r's gradient for inputs ``x`` whose clipped values got the gradient ``grad``."""
    upper = (x >= r).to(grad.dtype)
    lower = (x <= -r).to(grad.dtype)
    g = (upper * grad).clamp(max=0.0).sum() - (lower * grad).clamp(min=0.0).sum()
    g = torch.zeros_like(r) + g
    if params.gradient_relative:
        g = g * r * params.gradient_scale
    if params.manage_output_clipping and stash is not None and "output_percentage" in stash:
        kept = stash["output_percentage"]
        if kept < params.output_min_percentage:
            g = g - (1.0 - kept) * r
    if params.decay > 0:
        unclipped = float((x.abs() < r).to(torch.float32).mean())
        if unclipped > params.input_min_percentage:
            g = g + params.decay * r
    return g


class ScaleKeepGradient(Function):
    """``t·factor`` forward, the gradient passed unscaled (the reference's Rust-style tiles
    divide the input by r and multiply the output by r outside autograd)."""

    @staticmethod
    def forward(ctx: Any, t: Tensor, factor: Tensor) -> Tensor:  # type: ignore[override]
        return t * factor

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None]:  # type: ignore[override]
        return grad, None


@torch.no_grad()
def init_from_data(
    input_range: Tensor, update_index: Tensor, x: Tensor, params: InputRangeParameter
) -> None:
    """One step of the data initialisation: while fewer than ``init_from_data`` batches were
    seen, r ← (r·k + init_std_alpha·std(x))/(k + 1), k the number of batches used so far
    (batches with std 0 are not counted); r is kept positive."""
    k = float(update_index.reshape(-1)[0])
    if k >= params.init_from_data:
        return
    std = float(x.detach().to(torch.float32).std()) if x.numel() > 1 else 0.0
    if std > 0.0:
        input_range.copy_((input_range * k + params.init_std_alpha * std) / (k + 1))
        update_index.add_(1.0)
    input_range.abs_()


def _input_range_config(layer: Any) -> Optional[InputRangeParameter]:
    pre_post = getattr(getattr(layer, "rpu_config", None), "pre_post", None)
    params = getattr(pre_post, "input_range", None)
    if isinstance(params, InputRangeParameter) and params.enable:
        return params
    return None


def init_input_range(layer: Any) -> None:
    """Gives ``layer`` its ``input_range`` (``nn.Parameter [1]`` when learned, else a buffer)
    and the buffer ``input_range_update_idx`` when its config enables the input range; sets
    ``input_range`` to None otherwise."""
    from rpusim.configs.pre_post import check_pre_post
    from rpusim.exceptions import ConfigError
    from rpusim.tile_array import AnalogTileArray

    params = _input_range_config(layer)
    if params is None:
        layer.register_parameter("input_range", None)
        return
    check_pre_post(layer.rpu_config)
    if isinstance(layer.analog_tile, AnalogTileArray):
        raise ConfigError(
            "pre_post.input_range: the input range needs a layer on one tile (a layer "
            "split over several tiles by mapping.max_input_size/max_output_size is not "
            "supported; the reference learns one range per tile)"
        )
    value = torch.full((1,), float(params.init_value))
    layer._parameters.pop("input_range", None)
    layer._buffers.pop("input_range", None)
    if params.learn_input_range:
        layer.input_range = torch.nn.Parameter(value)
    else:
        layer.register_buffer("input_range", value)
    layer.register_buffer("input_range_update_idx", torch.zeros(1))


def analog_forward(layer: Any, x: Tensor) -> Tensor:
    """The output of ``layer.analog_tile`` for ``x [..., in]`` (mapping scales included, no
    learned output scale or bias).

    Without input range: the tile through ``AnalogFunction`` (a torch tile through its
    differentiable forward). With it: x is clipped to ±r (``InputRangeClip``), divided by r,
    read by the tile and multiplied by r. For a torch tile the scaling is part of the graph
    (r's gradient includes the path through the periphery, as the reference's torch tile);
    for the Rust inference tile the scaling passes gradients unscaled and the tile records
    (x/r, ∂L/∂y) for the update, as the reference's inference tile."""
    from rpusim.functions import AnalogFunction
    from rpusim.inference.torch_tile import TorchInferenceTile

    tile = layer.analog_tile
    torch_tile = isinstance(tile, TorchInferenceTile)
    observer = getattr(layer, "_input_observer", None)
    if observer is not None:  # input-range calibration watches what the tile is given
        observer(x)

    def with_bias_input(tile_input: Tensor) -> Tensor:
        # An analog bias is the tile's last column, driven by a constant 1 after the input
        # scaling (as in the reference, whose output scaling by r then also scales the bias).
        if not getattr(layer, "analog_bias", False):
            return tile_input
        return torch.cat([tile_input, torch.ones_like(tile_input[..., :1])], -1)

    input_range = getattr(layer, "input_range", None)
    if input_range is None:
        if torch_tile:
            return tile.forward_autograd(with_bias_input(x), layer.analog_ctx)  # type: ignore[no-any-return]
        return AnalogFunction.apply(layer.analog_ctx, with_bias_input(x))  # type: ignore[no-any-return]
    params = _input_range_config(layer)
    assert params is not None
    if layer.training:
        init_from_data(input_range.data, layer.input_range_update_idx, x, params)
    stash: dict[str, float] = {}
    clipped = InputRangeClip.apply(x, input_range, params, not torch_tile, stash)
    if torch_tile:
        r = input_range.to(x.dtype)
        scaled = with_bias_input(clipped / r)
        return tile.forward_autograd(scaled, layer.analog_ctx) * r  # type: ignore[no-any-return]
    r = input_range.detach().to(x.dtype)
    scaled = with_bias_input(ScaleKeepGradient.apply(clipped, 1.0 / r))
    out = AnalogFunction.apply(layer.analog_ctx, scaled)
    if params.manage_output_clipping and layer.training:
        stash["output_percentage"] = _unclipped_output_fraction(tile, out)
    return ScaleKeepGradient.apply(out, r)  # type: ignore[no-any-return]


@torch.no_grad()
def _unclipped_output_fraction(tile: Any, out: Tensor) -> float:
    """The fraction of tile outputs below 0.999·out_scale·out_bound in magnitude (outputs
    before the mapping scales; the reference's test of output clipping)."""
    forward = tile.rpu_config.forward
    raw = out.detach()
    if tile.mapping_scales is not None:
        raw = raw / tile.mapping_scales
    bound = forward.out_scale * forward.out_bound * 0.999
    return float((raw.abs() < bound).to(torch.float32).mean())
