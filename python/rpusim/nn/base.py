"""``AnalogLayerBase``: helpers shared by every module that holds analog tiles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

import torch
from torch import Tensor, nn

from rpusim.exceptions import ConfigError, ShapeError, StateError
from rpusim.tiles import AnalogTile, check_finite, saved_sizes

STATE_KEY = "analog_tile_state"


def _all_tiles(module: nn.Module) -> list[AnalogTile]:
    tiles = []
    for child in module.modules():
        tile = getattr(child, "analog_tile", None)
        if isinstance(tile, AnalogTile):
            tiles.append(tile)
    return tiles


def program_analog_weights(module: nn.Module, noise_model: Any = None) -> None:
    """Programs every analog tile inside ``module``: each must be an inference tile
    (``InferenceRPUConfig``). ``noise_model`` replaces the configs' noise models."""
    tiles = _all_tiles(module)
    if not tiles:
        raise ConfigError("program_analog_weights: the module holds no analog tiles")
    for tile in tiles:
        tile.program_weights(noise_model)


def remap_analog_weights(module: nn.Module) -> None:
    """Applies the remapping of every inference tile inside ``module`` now (``remap.type``
    must be set)."""
    tiles = _all_tiles(module)
    if not tiles:
        raise ConfigError("remap_analog_weights: the module holds no analog tiles")
    for tile in tiles:
        tile.remap_weights()


def drift_analog_weights(module: nn.Module, t_inference: float = 0.0) -> None:
    """Reads every inference tile inside ``module`` at ``t_inference`` seconds after
    programming (programming first where not yet done)."""
    tiles = _all_tiles(module)
    if not tiles:
        raise ConfigError("drift_analog_weights: the module holds no analog tiles")
    for tile in tiles:
        if not _is_inference(tile):
            raise ConfigError(
                f"drift_analog_weights: needs inference tiles (InferenceRPUConfig), found a "
                f"tile with {type(tile.rpu_config).__name__} (pulsed devices drift through "
                f"AnalogTile.drift_weights(delta_t))"
            )
    for tile in tiles:
        tile.drift_weights(t_inference)


def check_analog_state(module: nn.Module) -> None:
    """Health check of every analog tile inside ``module`` (``AnalogTile.check_finite``: weights,
    per-device arrays, hidden arrays, buffers, digital scales) and of the analog layers' digital
    parameters; raises StateError naming the first NaN or Inf."""
    for layer in module.modules():
        tile = getattr(layer, "analog_tile", None)
        if not isinstance(tile, AnalogTile):
            continue
        for name, param in layer.named_parameters(recurse=False):
            if param.is_floating_point() and not bool(torch.isfinite(param).all()):
                raise StateError(f"{type(layer).__name__}.{name}: contains NaN or Inf")
        tile.check_finite()


def _is_inference(tile: AnalogTile) -> bool:
    from rpusim.configs.inference import InferenceRPUConfig

    # Subclasses too: TorchInferenceRPUConfig, StandardHWATrainingPreset.
    return isinstance(tile.rpu_config, InferenceRPUConfig)


class AnalogLayerBase:
    """Mixin for modules owning one ``analog_tile``: saving its state in ``state_dict`` and
    walking the tiles of a model."""

    analog_tile: AnalogTile
    out_scaling_alpha: Optional[nn.Parameter]

    def _checked_bias(self, bias: Any, size: int) -> Optional[Tensor]:
        """Validates a bias given to ``set_weights`` (before anything is written): None, or a
        finite tensor ``[size]`` for a layer with a bias."""
        if bias is None:
            return None
        if getattr(self, "bias", None) is None:
            raise ShapeError("bias: this layer was built with bias=False")
        if not isinstance(bias, Tensor) or tuple(bias.shape) != (size,):
            raise ShapeError(
                f"bias: expected shape [{size}], got {list(getattr(bias, 'shape', []))}"
            )
        check_finite("bias", bias)
        return bias

    def _write_bias(self, bias: Optional[Tensor]) -> None:
        layer_bias = getattr(self, "bias", None)
        if bias is not None and layer_bias is not None:
            with torch.no_grad():
                layer_bias.copy_(bias)

    def _init_out_scaling(self, out_features: int) -> None:
        """The learnable output scale of ``mapping.learn_out_scaling`` (one per output with
        ``out_scaling_columnwise``), started at 1; None without."""
        assert isinstance(self, nn.Module)
        mapping = getattr(getattr(self, "rpu_config", None), "mapping", None)
        if mapping is not None and mapping.learn_out_scaling:
            size = out_features if mapping.out_scaling_columnwise else 1
            self.out_scaling_alpha = nn.Parameter(torch.ones(size))
        else:
            self.register_parameter("out_scaling_alpha", None)

    def _init_input_range(self) -> None:
        """The learned input range r of ``pre_post.input_range`` (an ``nn.Parameter`` ``[1]``
        when learned, else a buffer) and the count of batches r was initialised from; None
        without."""
        from rpusim.inference.input_range import init_input_range

        init_input_range(self)  # type: ignore[arg-type]

    def _analog_forward(self, x: Tensor) -> Tensor:
        """The tile's output for ``x [..., in]`` with the input range and the autograd of the
        torch tile (no output scaling, no bias)."""
        from rpusim.inference.input_range import analog_forward

        return analog_forward(self, x)  # type: ignore[arg-type]

    def _scale_output(self, out: Tensor) -> Tensor:
        """The analog output ``[..., out_features]`` times the learned output scale."""
        if self.out_scaling_alpha is None:
            return out
        return out * self.out_scaling_alpha.to(out.dtype)

    def analog_tiles(self) -> Iterator[AnalogTile]:
        """The tiles of this module and its children."""
        assert isinstance(self, nn.Module)
        for module in self.modules():
            tile = getattr(module, "analog_tile", None)
            if isinstance(tile, AnalogTile):
                yield tile

    def analog_layers(self) -> Iterator[nn.Module]:
        """The analog layers among this module and its children."""
        assert isinstance(self, nn.Module)
        for module in self.modules():
            if isinstance(module, AnalogLayerBase) and hasattr(module, "analog_tile"):
                yield module

    def check_finite(self) -> None:
        """Health check of this module's tiles and analog layers (``check_analog_state``)."""
        check_analog_state(self)  # type: ignore[arg-type]

    def analog_tile_count(self) -> int:
        return sum(1 for _ in self.analog_tiles())

    def get_hidden_weights(self) -> dict[str, Any]:
        """The hidden weights of this layer's tile (``AnalogTile.get_hidden_weights``): every
        device array of a unit cell or compound, persistent weights, transfer buffers."""
        tile = getattr(self, "analog_tile", None)
        if not isinstance(tile, AnalogTile):
            raise TypeError(f"{type(self).__name__} holds no analog tile of its own")
        return tile.get_hidden_weights()

    def train(self, mode: bool = True) -> Any:
        """``nn.Module.train``; also tells the tiles (inference tiles read differently in eval
        mode)."""
        result = super().train(mode)  # type: ignore[misc]
        tile = getattr(self, "analog_tile", None)
        if isinstance(tile, AnalogTile):
            tile.set_training(mode)
        return result

    def program_analog_weights(self, noise_model: Any = None) -> None:
        """Programs every inference tile of this module (see ``InferenceTile.program_weights``)."""
        program_analog_weights(self, noise_model)  # type: ignore[arg-type]

    def remap_analog_weights(self) -> None:
        """Remaps the stored weights of every inference tile of this module now."""
        remap_analog_weights(self)  # type: ignore[arg-type]

    def drift_analog_weights(self, t_inference: float = 0.0) -> None:
        """Drifts every inference tile to ``t_inference`` seconds after programming (see
        ``InferenceTile.drift_weights``)."""
        drift_analog_weights(self, t_inference)  # type: ignore[arg-type]

    def to_backend(self, name: str) -> Any:
        """Moves every tile of this module to backend ``name``, keeping its full state."""
        for tile in self.analog_tiles():
            tile.to_backend(name)
        return self

    # state_dict carries the complete tile state next to the digital parameters.
    def _save_to_state_dict(self, destination: Any, prefix: str, keep_vars: bool) -> None:
        super()._save_to_state_dict(destination, prefix, keep_vars)  # type: ignore[misc]
        if hasattr(self, "analog_tile"):
            destination[prefix + STATE_KEY] = self.analog_tile.__getstate__()

    def _load_from_state_dict(
        self,
        state_dict: Any,
        prefix: str,
        local_metadata: Any,
        strict: bool,
        missing_keys: list[str],
        unexpected_keys: list[str],
        error_msgs: list[str],
    ) -> None:
        key = prefix + STATE_KEY
        # The layer's digital tensors (bias, output scales) are stored as they come: refuse
        # non-finite values before anything of this layer changes.
        for name in self._parameters:  # type: ignore[attr-defined]
            value = state_dict.get(prefix + name)
            if isinstance(value, Tensor) and value.is_floating_point():
                if not bool(torch.isfinite(value).all()):
                    raise StateError(f"state: {prefix + name} contains NaN or Inf")
        if key in state_dict:
            saved = state_dict[key]
            if not isinstance(saved, dict):
                raise StateError(f"state: {key} must be a dict, got {type(saved).__name__}")
            tile = self.analog_tile
            if saved_sizes(saved) != (tile.out_size, tile.in_size):
                error_msgs.append(
                    f"{key}: tile of size {saved['out_size']}x{saved['in_size']} does not fit "
                    f"{tile.out_size}x{tile.in_size}"
                )
            else:
                backend = tile.backend
                tile.__setstate__(saved)
                tile.to_backend(backend)
        elif strict and hasattr(self, "analog_tile"):
            missing_keys.append(key)
        super()._load_from_state_dict(  # type: ignore[misc]
            {k: v for k, v in state_dict.items() if k != key},
            prefix,
            local_metadata,
            strict,
            missing_keys,
            unexpected_keys,
            error_msgs,
        )
