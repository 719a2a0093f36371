"""Post-training calibration of the input ranges (``pre_post.input_range``) of a model's
inference layers from data (``calibrate_input_ranges``, with the reference's name and call)."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from enum import Enum
from typing import Any, Optional

import torch
from torch import Tensor, nn

from rpusim.configs.enums import NoiseManagementType
from rpusim.exceptions import ConfigError, InputError


class InputRangeCalibrationType(Enum):
    """How ``calibrate_input_ranges`` sets r from the inputs a layer's tile sees."""

    NONE = "None"
    """No calibration."""
    MOVING_STD = "MovingStd"
    """Running mean (continuing the layer's count) of ``init_std_alpha``·std per batch (for the
    first ``max_samples`` batches)."""
    MOVING_QUANTILE = "MovingQuantile"
    """Running mean of the ``quantile`` of each batch's inputs (of |x| max for quantile 1)."""
    CACHE_QUANTILE = "CacheQuantile"
    """The ``quantile`` of up to ``max_samples`` cached input vectors (random subset)."""
    MAX = "Max"
    """The largest |x| seen."""


def _calibratable_layers(model: nn.Module) -> list[tuple[str, Any]]:
    """The layers on one tile whose config has ``pre_post`` and a ``forward``."""
    from rpusim.tile_array import AnalogTileArray
    from rpusim.tiles import AnalogTile

    return [
        (name, module)
        for name, module in model.named_modules()
        if isinstance(getattr(module, "analog_tile", None), AnalogTile)
        and not isinstance(module.analog_tile, AnalogTileArray)
        and hasattr(module, "input_range")
        and hasattr(module.rpu_config, "pre_post")
        and hasattr(module.rpu_config, "forward")
    ]


def _rebuild_tile(tile: Any) -> None:
    """Rebuilds the Rust tile of ``tile`` from its (changed) config, keeping its state."""
    state = tile.__getstate__()
    state["tile"] = dict(state["tile"])
    state["tile"]["config_json"] = tile.rpu_config.to_json()
    tile.__setstate__(state)


def _exact_forward(tile: Any) -> Any:
    """An exact forward of the weights the tile reads now (for MAX / CACHE_QUANTILE, which
    calibrate every layer on the ideal outputs of the layers before it)."""

    from rpusim.inference.tile import InferenceTile

    def forward(x: Tensor, *args: Any) -> Tensor:
        flat = x.reshape(-1, tile.in_size).to(torch.float32)
        if not isinstance(tile, InferenceTile):
            out = flat @ tile.get_weights().T  # mapping scales included
            return out.reshape(*x.shape[:-1], tile.out_size).to(x.dtype)
        tile._load()
        weights = {
            "stored": tile.stored_weights,
            "modified": tile.modified_weights,
            "programmed": tile.drifted_weights,
        }[tile._loaded]
        assert weights is not None
        out = flat @ weights.T
        if tile.mapping_scales is not None:
            out = out * tile.mapping_scales
        if not tile.training and tile._loaded == "programmed" and tile.alpha is not None:
            out = out * tile.alpha
        return out.reshape(*x.shape[:-1], tile.out_size).to(x.dtype)

    return forward


@torch.no_grad()
def calibrate_input_ranges(
    model: nn.Module,
    calibration_type: InputRangeCalibrationType,
    dataloader: Iterable[Any],
    quantile: float = 0.99995,
    max_samples: int = 1000,
    std_alpha: Optional[float] = None,
    force_all_layers: bool = True,
    verbose: bool = False,
) -> None:
    """Sets the input range of the model's analog layers (on one tile each) from the inputs
    their tiles see while ``model`` (in eval mode) runs on ``dataloader``, which yields
    ``(args, kwargs)`` pairs: ``model(*args, **kwargs)``.

    Layers without an enabled input range get a fixed one (``enable``, not learned) when
    ``force_all_layers``, else are skipped. Noise management is switched to NONE (ConfigError
    instead when not ``force_all_layers``). The data initialisation is switched off
    (``init_from_data = 0``). MAX and CACHE_QUANTILE run the layers exactly (their inputs are
    the ideal outputs of the layers before). Afterwards ``init_value`` and
    ``calibration_info`` of each config record the result. The reference's tqdm bar
    (``verbose``) is a printed line per layer here.
    """
    from rpusim.inference.input_range import init_input_range
    from rpusim.nn.base import AnalogLayerBase

    if not isinstance(calibration_type, InputRangeCalibrationType):
        raise ConfigError(
            f"calibration_type: expected an InputRangeCalibrationType, got {calibration_type!r}"
        )
    if calibration_type == InputRangeCalibrationType.NONE:
        return
    if not isinstance(model, nn.Module) or not any(
        isinstance(m, AnalogLayerBase) for m in model.modules()
    ):
        raise InputError("model: expected an analog module")
    if not 0.0 <= quantile <= 1.0:
        raise InputError(f"quantile: must be in [0, 1], got {quantile!r}")
    if isinstance(max_samples, bool) or not isinstance(max_samples, int) or max_samples < 1:
        raise InputError(f"max_samples: expected a positive int, got {max_samples!r}")

    was_training = model.training
    model.eval()
    layers: list[tuple[str, Any, Any]] = []
    for name, layer in _calibratable_layers(model):
        config = layer.rpu_config
        params = config.pre_post.input_range
        if not force_all_layers and not params.enable:
            continue
        if not params.enable:
            # A fresh config for this layer: configs may be shared between layers.
            config = copy.deepcopy(config)
            config.pre_post.input_range.enable = True
            config.pre_post.input_range.learn_input_range = False
            layer.rpu_config = config
            layer.analog_tile.rpu_config = config
            init_input_range(layer)
            params = config.pre_post.input_range
        params.init_from_data = 0
        if std_alpha is not None:
            params.init_std_alpha = float(std_alpha)
        tile = layer.analog_tile
        if config.forward.noise_management != NoiseManagementType.NONE:
            if not force_all_layers:
                raise ConfigError(
                    f"{name}: forward.noise_management must be NONE for input-range calibration"
                )
            config.forward.noise_management = NoiseManagementType.NONE
            _rebuild_tile(tile)
        layers.append((name, layer, params))

    caches: dict[str, Any] = {name: None for name, _, _ in layers}
    exact = calibration_type in (
        InputRangeCalibrationType.MAX,
        InputRangeCalibrationType.CACHE_QUANTILE,
    )

    def observer(name: str, layer: Any, params: Any) -> Any:
        def observe(x: Tensor) -> None:
            x = x.detach().reshape(-1, x.shape[-1]).to(torch.float32)
            x = x[~(x == 0.0).all(-1)]
            if x.numel() == 0:
                return
            if calibration_type == InputRangeCalibrationType.CACHE_QUANTILE:
                cache = x.clone() if caches[name] is None else torch.cat([caches[name], x])
                caches[name] = cache[torch.randperm(cache.shape[0])[:max_samples]]
            elif calibration_type == InputRangeCalibrationType.MAX:
                peak = x.abs().max()
                caches[name] = peak if caches[name] is None else torch.maximum(caches[name], peak)
            else:
                count = float(layer.input_range_update_idx)
                value = 0.0
                if calibration_type == InputRangeCalibrationType.MOVING_QUANTILE:
                    value = float(
                        x.abs().max() if quantile == 1.0 else x.flatten().quantile(quantile)
                    )
                elif count < max_samples and x.numel() > 1:
                    value = params.init_std_alpha * float(x.std())
                if value > 0:
                    r = layer.input_range
                    r.data.fill_(abs((float(r.detach()) * count + value) / (count + 1)))
                    layer.input_range_update_idx.add_(1.0)
                    caches[name] = True

        return observe

    saved_forwards = []
    try:
        for name, layer, params in layers:
            layer._input_observer = observer(name, layer, params)
            if exact:
                tile = layer.analog_tile
                saved_forwards.append(tile)
                tile.forward = _exact_forward(tile)
                exact_forward = tile.forward
                # AnalogFunction reads through forward_saturated (an exact read saturates
                # nothing).
                tile.forward_saturated = lambda x, f=exact_forward: (f(x), None)
                if hasattr(tile, "forward_autograd"):
                    tile.forward_autograd = _exact_forward(tile)
        for args, kwargs in dataloader:
            model(*args, **kwargs)
    finally:
        for _, layer, _ in layers:
            del layer._input_observer
        for tile in saved_forwards:
            for key in ("forward", "forward_saturated", "forward_autograd"):
                tile.__dict__.pop(key, None)

    for name, layer, params in layers:
        cache = caches[name]
        if cache is None:
            if verbose:
                print(f"Warning: layer {name}: no inputs seen, input range left as it was")
            continue
        r = layer.input_range
        if calibration_type == InputRangeCalibrationType.CACHE_QUANTILE:
            r.data.fill_(abs(float(cache.flatten().quantile(quantile))))
        elif calibration_type == InputRangeCalibrationType.MAX:
            r.data.fill_(abs(float(cache)))
        if verbose:
            print(f"Calibrated layer {name}: {float(r.detach()):.5f}")
        params.init_value = float(r.detach())
        params.calibration_info = calibration_type.value
    if was_training:
        model.train()
