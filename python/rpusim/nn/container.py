"""``AnalogSequential``: ``torch.nn.Sequential`` with the analog helpers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from torch import nn

from rpusim.distributed import prepare_for_ddp
from rpusim.nn.base import (
    check_analog_state,
    drift_analog_weights,
    program_analog_weights,
    remap_analog_weights,
)
from rpusim.tiles import AnalogTile


def analog_tiles(module: nn.Module) -> Iterator[AnalogTile]:
    """The analog tiles inside any torch module."""
    for child in module.modules():
        tile = getattr(child, "analog_tile", None)
        if isinstance(tile, AnalogTile):
            yield tile


def to_backend(module: nn.Module, name: str) -> nn.Module:
    """Moves every analog tile inside ``module`` (any torch container) to backend ``name``."""
    for tile in analog_tiles(module):
        tile.to_backend(name)
    return module


class AnalogSequential(nn.Sequential):
    """A ``Sequential`` whose analog layers can be listed and moved together.

    Examples:
        >>> model = AnalogSequential(AnalogLinear(4, 3), nn.Tanh(), AnalogLinear(3, 2))
        >>> model.analog_tile_count()
        2
    """

    def analog_tiles(self) -> Iterator[AnalogTile]:
        return analog_tiles(self)

    def analog_layers(self) -> Iterator[nn.Module]:
        for module in self.modules():
            if isinstance(getattr(module, "analog_tile", None), AnalogTile):
                yield module

    def analog_tile_count(self) -> int:
        return sum(1 for _ in self.analog_tiles())

    def to_backend(self, name: str) -> Any:
        return to_backend(self, name)

    def prepare_for_ddp(self, process_group: Any = None) -> None:
        """Prepares the model for ``DistributedDataParallel`` (call on every rank, after
        ``init_process_group``, before wrapping): see ``rpusim.distributed.prepare_for_ddp``."""
        prepare_for_ddp(self, process_group)

    def check_finite(self) -> None:
        """Health check of every tile and analog layer inside (``check_analog_state``)."""
        check_analog_state(self)

    def program_analog_weights(self, noise_model: Any = None) -> None:
        """Programs every inference tile (``InferenceTile.program_weights``)."""
        program_analog_weights(self, noise_model)

    def remap_analog_weights(self) -> None:
        """Remaps the stored weights of every inference tile now."""
        remap_analog_weights(self)

    def drift_analog_weights(self, t_inference: float = 0.0) -> None:
        """Reads every inference tile at ``t_inference`` s after programming."""
        drift_analog_weights(self, t_inference)

    def get_weights(self) -> dict[str, Any]:
        """Weights and biases of every analog layer, by module name."""
        return {
            name: module.get_weights()
            for name, module in self.named_modules()
            if isinstance(getattr(module, "analog_tile", None), AnalogTile)
        }
