"""``AnalogLayerBase``: helpers shared by every module that holds analog tiles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

import torch
from torch import Tensor, nn

from rpusim.distributed import prepare_for_ddp
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


def named_analog_layers(module: nn.Module) -> Iterator[tuple[str, nn.Module]]:
    """``(name, layer)`` of the modules inside ``module`` that hold a tile of their own."""
    for name, child in module.named_modules():
        if isinstance(child.__dict__.get("analog_tile"), AnalogTile):
            yield name, child


def named_analog_tiles(module: nn.Module) -> Iterator[tuple[str, AnalogTile]]:
    """``(name, tile)`` of the physical tiles inside ``module`` (see
    ``AnalogLayerBase.named_analog_tiles``)."""
    for name, layer in named_analog_layers(module):
        # The reference's mapped convolutions hold their tile array directly ("array.i.o").
        own = getattr(layer, "TILE_MODULE_NAME", "analog_module")
        prefix = ".".join(part for part in (name, own) if part)
        tile = layer.__dict__["analog_tile"]
        grid = getattr(tile, "tiles", None)
        if grid is None:
            yield prefix, tile
            continue
        # The reference's arrays are indexed [input split][output split].
        array = f"{prefix}.array" if prefix else "array"
        for i in range(len(grid[0])):
            for o in range(len(grid)):
                yield f"{array}.{i}.{o}", grid[o][i]


def set_load_rpu_config_state(
    module: nn.Module, load_rpu_config: Optional[bool], strict_rpu_config_check: Optional[bool]
) -> None:
    """Sets, on every analog layer inside ``module``, whether ``load_state_dict`` restores the
    saved configs (see ``AnalogLayerBase.load_state_dict``); None leaves a flag as it is."""
    for _, layer in named_analog_layers(module):
        if load_rpu_config is not None:
            layer.__dict__["load_rpu_config"] = bool(load_rpu_config)
        if strict_rpu_config_check is not None:
            layer.__dict__["strict_rpu_config_check"] = bool(strict_rpu_config_check)


def keep_current_config(saved: dict[str, Any], current: Any, strict: bool) -> dict[str, Any]:
    """A copy of the saved tile state ``saved`` that restores under the config ``current``
    (the reference's ``load_rpu_config=False``): the same class (unless not ``strict``) and the
    same tile layout, then the current config in place of the saved one in every tile state."""
    old = saved.get("rpu_config")
    if strict and type(old) is not type(current):
        raise StateError(
            f"load_rpu_config=False: cannot replace the saved {type(old).__name__} with "
            f"{type(current).__name__} (strict_rpu_config_check=False allows it)"
        )
    old_mapping = getattr(old, "mapping", None)
    new_mapping = getattr(current, "mapping", None)
    for name in ("max_input_size", "max_output_size", "digital_bias"):
        if getattr(old_mapping, name, None) != getattr(new_mapping, name, None):
            raise StateError(
                f"load_rpu_config=False: mapping.{name} differs from the saved config's "
                f"(it changes how the layer is laid out on tiles)"
            )
    return _with_config(saved, current)


def _with_config(state: dict[str, Any], config: Any) -> dict[str, Any]:
    state = dict(state)
    state["rpu_config"] = config
    if "tiles" in state:
        state["tiles"] = [[_with_config(t, config) for t in row] for row in state["tiles"]]
    elif isinstance(state.get("tile"), dict):
        state["tile"] = {**state["tile"], "config_json": config.to_json()}
    return state


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
        if getattr(self, "bias", None) is None and not getattr(self, "analog_bias", False):
            # The reference ignores a bias given to a layer without one.
            return None
        if not isinstance(bias, Tensor) or tuple(bias.shape) != (size,):
            raise ShapeError(
                f"bias: expected shape [{size}], got {list(getattr(bias, 'shape', []))}"
            )
        check_finite("bias", bias)
        return bias

    @staticmethod
    def _weight_options(kwargs: dict[str, Any]) -> dict[str, Any]:
        """The reference's keyword arguments of ``get_weights``/``set_weights`` as the tile's:
        ``apply_weight_scaling`` (and ``weight_scaling_omega`` for set); ``realistic=True``
        (weights read or written through noisy forward passes) is not built."""
        options = dict(kwargs)
        if options.pop("realistic", False):
            raise ConfigError(
                "realistic=True: realistic weight reads/writes (through forward passes or "
                "programming) are not supported; use program_analog_weights() for inference tiles"
            )
        unknown = set(options) - {"apply_weight_scaling", "weight_scaling_omega"}
        if unknown:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(unknown))}")
        return options

    def _init_analog_bias(self, bias: bool, rpu_config: Any) -> bool:
        """Whether the bias is an extra tile column (``mapping.digital_bias=False``)."""
        mapping = getattr(rpu_config, "mapping", None)
        # A malformed mapping is refused by the tile's own config check, with its name.
        self.analog_bias = bool(bias) and getattr(mapping, "digital_bias", True) is False
        return self.analog_bias

    def _read_tile(self, **kwargs: Any) -> tuple[Tensor, Optional[Tensor]]:
        """``(weight [out, in], analog bias column or None)`` of this layer's tile."""
        options = self._weight_options(kwargs)
        options.pop("weight_scaling_omega", None)
        w = self.analog_tile.get_weights(**options)
        if getattr(self, "analog_bias", False):
            return w[:, :-1].contiguous(), w[:, -1].clone()
        return w, None

    def _write_tile(self, weight: Tensor, bias: Optional[Tensor], **kwargs: Any) -> None:
        """Writes ``weight [out, in]`` (and, with an analog bias, ``bias`` as the last column;
        None keeps the column's current value) into the tile."""
        options = self._weight_options(kwargs)
        if getattr(self, "analog_bias", False):
            if bias is None:
                bias = self._read_tile(
                    apply_weight_scaling=options.get("apply_weight_scaling", True)
                )[1]
            assert bias is not None
            weight = torch.cat(
                [weight.reshape(weight.shape[0], -1), bias.reshape(-1, 1).to(weight.dtype)], 1
            )
        self.analog_tile.set_weights(weight, **options)

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

    IS_CONTAINER = False
    """Whether this module only holds other analog modules (``AnalogSequential``, wrapped
    roots) rather than a tile of its own (the reference's flag)."""

    # Walking the model, with the reference's names (aihwkit ``AnalogLayerBase``).
    def named_analog_layers(self) -> Iterator[tuple[str, nn.Module]]:
        """``(name, layer)`` of every analog layer (a module with a tile of its own) among this
        module and its children."""
        return named_analog_layers(self)  # type: ignore[arg-type]

    def analog_layers(self) -> Iterator[nn.Module]:
        """The analog layers among this module and its children."""
        for _, layer in self.named_analog_layers():
            yield layer

    def named_analog_modules(self) -> Iterator[tuple[str, nn.Module]]:
        """``(name, module)`` of the analog layers and the analog containers."""
        assert isinstance(self, nn.Module)
        for name, module in self.named_modules():
            if isinstance(module, AnalogLayerBase):
                yield name, module  # type: ignore[misc]

    def analog_modules(self) -> Iterator[nn.Module]:
        """The analog layers and the analog containers."""
        for _, module in self.named_analog_modules():
            yield module

    def named_analog_tiles(self) -> Iterator[tuple[str, AnalogTile]]:
        """``(name, tile)`` of every physical tile, named as the reference's tile modules:
        ``"<layer>.analog_module"``, or ``"<layer>.analog_module.array.<i>.<o>"`` for the
        tile of input split i and output split o of a layer split over several tiles."""
        return named_analog_tiles(self)  # type: ignore[arg-type]

    def analog_tiles(self) -> Iterator[AnalogTile]:
        """The physical tiles of this module and its children (each tile of a split layer)."""
        for _, tile in self.named_analog_tiles():
            yield tile

    def analog_tile_count(self) -> int:
        """Number of physical tiles."""
        return sum(1 for _ in self.analog_tiles())

    def apply_to_analog_layers(self, fn: Any) -> Any:
        """Calls ``fn(layer)`` for every analog layer; returns this module."""
        for layer in list(self.analog_layers()):
            fn(layer)
        return self

    def apply_to_analog_tiles(self, fn: Any) -> Any:
        """Calls ``fn(tile)`` for every physical tile; returns this module."""
        for tile in list(self.analog_tiles()):
            fn(tile)
        return self

    @property
    def analog_module(self) -> AnalogTile:
        """This layer's tile (the reference's name for it; an ``AnalogTileArray`` when the
        mapping splits the layer)."""
        tile = self.__dict__.get("analog_tile")
        if not isinstance(tile, AnalogTile):
            raise AttributeError(f"{type(self).__name__} holds no analog tile of its own")
        return tile

    def get_analog_ctx(self) -> Any:
        """The ``AnalogContext`` parameter of this layer's tile."""
        return self.analog_module.get_analog_ctx()

    def load_state_dict(
        self,
        state_dict: Any,
        strict: bool = True,
        load_rpu_config: Optional[bool] = None,
        strict_rpu_config_check: Optional[bool] = None,
    ) -> Any:
        """``torch.nn.Module.load_state_dict`` with the reference's choice of config:
        ``load_rpu_config=True`` (the default) restores each tile with the config saved with it;
        ``False`` keeps the layers' current configs and restores the saved weights and device
        draws under them (the current config must be of the same class unless
        ``strict_rpu_config_check=False``, and map the layer the same way). Both flags stay set
        on the layers for later loads, as in the reference; None keeps the current setting."""
        set_load_rpu_config_state(self, load_rpu_config, strict_rpu_config_check)  # type: ignore[arg-type]
        return super().load_state_dict(state_dict, strict)  # type: ignore[misc]

    def check_finite(self) -> None:
        """Health check of this module's tiles and analog layers (``check_analog_state``)."""
        check_analog_state(self)  # type: ignore[arg-type]

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

    def prepare_for_ddp(self, process_group: Any = None) -> None:
        """Prepares this module for ``DistributedDataParallel`` (call on every rank, after
        ``init_process_group``, before wrapping): see ``rpusim.distributed.prepare_for_ddp``."""
        prepare_for_ddp(self, process_group)  # type: ignore[arg-type]

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
                if not getattr(self, "load_rpu_config", True):
                    saved = keep_current_config(
                        saved,
                        self.__dict__.get("rpu_config", tile.rpu_config),
                        getattr(self, "strict_rpu_config_check", True),
                    )
                backend = tile.backend
                tile.__setstate__(saved)
                tile.to_backend(backend)
                self.rpu_config = tile.rpu_config  # type: ignore[attr-defined]
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
