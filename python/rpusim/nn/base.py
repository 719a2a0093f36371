"""``AnalogLayerBase``: helpers shared by every module that holds analog tiles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Optional

import torch
from torch import Tensor, nn

from rpusim.tiles import AnalogTile

STATE_KEY = "analog_tile_state"


class AnalogLayerBase:
    """Mixin for modules owning one ``analog_tile``: saving its state in ``state_dict`` and
    walking the tiles of a model."""

    analog_tile: AnalogTile
    out_scaling_alpha: Optional[nn.Parameter]

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

    def analog_tile_count(self) -> int:
        return sum(1 for _ in self.analog_tiles())

    def get_hidden_weights(self) -> dict[str, Any]:
        """The hidden weights of this layer's tile (``AnalogTile.get_hidden_weights``): every
        device array of a unit cell or compound, persistent weights, transfer buffers."""
        tile = getattr(self, "analog_tile", None)
        if not isinstance(tile, AnalogTile):
            raise TypeError(f"{type(self).__name__} holds no analog tile of its own")
        return tile.get_hidden_weights()

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
        if key in state_dict:
            saved = state_dict[key]
            tile = self.analog_tile
            if (saved["out_size"], saved["in_size"]) != (tile.out_size, tile.in_size):
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
