"""``analog_summary``: a table of a model's layers, their tiles and how full each tile is (the
reference's ``aihwkit.utils.analog_info``).

One forward pass of zeros of ``input_size`` records each layer's input and output shapes; the
tiles come from each analog layer. A tile's utilization is the fraction of the physical tile
(``mapping.max_output_size × max_input_size``; a 0 limit means the tile is as large as the
logical one on that side) its logical ``out_size × in_size`` occupies, in percent. Unlike the
reference, the summary leaves the model as it found it: the forward hooks are removed and every
tile's state (its random generator included) and torch's random state are restored.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import nn

from rpusim.nn.base import AnalogLayerBase
from rpusim.nn.conv import _AnalogConvNd
from rpusim.nn.linear import AnalogLinear
from rpusim.tiles import AnalogTile

COLUMN_DEFINITIONS = ["Layer Information", "Tile Information"]
COLUMN_NAMES = {
    "name": (0, "Layer Name"),
    "isanalog": (0, "Is Analog"),
    "input_size": (0, "In Shape"),
    "output_size": (0, "Out Shape"),
    "kernel_size": (0, "Kernel Shape"),
    "num_tiles": (0, "# of Tiles"),
    "log_shape": (1, "Log. tile shape"),
    "phy_shape": (1, "Phys. tile shape"),
    "utilization": (1, "utilization (%)"),
    "reuse_factor": (0, "Reuse Factor"),
}
FORMATTING_WIDTH = 200
COLUMN_WIDTH = 10
FLOAT_FORMAT = "{0:.2f}"


class TileInfo:
    """One physical tile: logical and physical shapes and the utilization in percent."""

    def __init__(self, tile: AnalogTile) -> None:
        self.log_in_size = tile.in_size
        self.log_out_size = tile.out_size
        mapping = getattr(tile.rpu_config, "mapping", None)
        max_in = int(getattr(mapping, "max_input_size", 0) or 0)
        max_out = int(getattr(mapping, "max_output_size", 0) or 0)
        self.is_mapped = max_in > 0 or max_out > 0
        self.phy_in_size = max_in if max_in > 0 else tile.in_size
        self.phy_out_size = max_out if max_out > 0 else tile.out_size
        log_space = self.log_in_size * self.log_out_size
        self.utilization = 100.0 * log_space / (self.phy_in_size * self.phy_out_size)

    def tile_summary_dict(self) -> dict[str, Any]:
        phys_shape = (self.phy_out_size, self.phy_in_size) if self.is_mapped else "N/A"
        return {
            "log_shape": str((self.log_out_size, self.log_in_size)),
            "phys_shape": str(phys_shape),
            "utilization": self.utilization,
        }

    def __repr__(self) -> str:
        return "{:<20}{:<20}{:<20}\n".format(*self.tile_summary_dict().values())


class LayerInfo:
    """One layer: name, analog or digital, shapes, number of tiles, reuse factor (the number of
    matrix-vector products it computes per forward pass) and its tiles."""

    def __init__(
        self,
        module: nn.Module,
        rpu_config: Any = None,
        input_size: Any = None,
        output_size: Any = None,
    ) -> None:
        self.module = module
        self.name = type(module).__name__
        self.isanalog = isinstance(module, AnalogLayerBase)
        tiles = list(module.analog_tiles()) if self.isanalog else []  # type: ignore[operator]
        self.num_tiles = len(tiles)
        self.tiles_info = [TileInfo(tile) for tile in tiles]
        self.input_size, self.output_size = input_size, output_size
        self.rpu_config = rpu_config
        self.kernel_size = getattr(module, "kernel_size", None)
        self.reuse_factor = 0
        if isinstance(module, AnalogLinear) and input_size:
            self.reuse_factor = math.prod(input_size) // int(input_size[-1])
        elif isinstance(module, _AnalogConvNd) and output_size:
            self.reuse_factor = math.prod(output_size) // int(output_size[1])

    def layer_summary_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "isanalog": "analog" if self.isanalog else "digital",
            "input_size": str(self.input_size) if self.input_size is not None else "-",
            "output_size": str(self.output_size) if self.output_size is not None else "-",
            "kernel_size": str(self.kernel_size) if self.kernel_size is not None else "-",
            "num_tiles": self.num_tiles,
            "reuse_factor": str(self.reuse_factor),
            "log_shape": "-",
            "phy_shape": "-",
            "utilization": "-",
        }

    def __repr__(self) -> str:
        stats = list(self.layer_summary_dict().values())
        result = ("{:<20}" * len(stats)).format(*stats) + "\n"
        for tile in self.tiles_info:
            info = tile.tile_summary_dict()
            info["utilization"] = FLOAT_FORMAT.format(info["utilization"])
            result += " " * 20 * (len(stats) - 3)
            result += "{:<20}{:<20}{:<20}\n".format(*info.values())
        return result


def _is_summarized(module: nn.Module) -> bool:
    """Leaves, and analog layers with no analog layers inside (a grouped conv is summarized
    per group)."""
    children = list(module.children())
    if not children:
        return True
    return (
        isinstance(module, AnalogLayerBase)
        and not module.IS_CONTAINER
        and not any(isinstance(c, AnalogLayerBase) for c in module.modules() if c is not module)
    )


class AnalogInfo:
    """The summary of a model: ``layer_summary`` (a ``LayerInfo`` per summarized layer, in
    forward order), ``total_tile_number``, ``total_nb_analog``; ``repr`` is the table."""

    def __init__(self, model: nn.Module, input_size: Any = None, rpu_config: Any = None) -> None:
        self.model = model
        self.input_size = input_size
        self.rpu_config = rpu_config
        self.layer_summary = self.create_layer_summary()
        self.total_tile_number = sum(layer.num_tiles for layer in self.layer_summary)
        self.total_nb_analog = sum(1 for layer in self.layer_summary if layer.isanalog)

    def create_layer_summary(self) -> list[LayerInfo]:
        summary: list[LayerInfo] = []

        def hook(module: nn.Module, inputs: Any, output: Any) -> None:
            summary.append(
                LayerInfo(module, self.rpu_config, list(inputs[0].size()), list(output.size()))
            )

        handles = [m.register_forward_hook(hook) for m in self.model.modules() if _is_summarized(m)]
        tiles = {
            id(t): t
            for m in self.model.modules()
            for t in [m.__dict__.get("analog_tile")]
            if isinstance(t, AnalogTile)
        }
        saved = {key: tile.__getstate__() for key, tile in tiles.items()}
        try:
            with torch.random.fork_rng(devices=[]), torch.no_grad():
                self.model(torch.zeros(self.input_size))
        finally:
            for handle in handles:
                handle.remove()
            for key, tile in tiles.items():
                backend = tile.backend
                tile.__setstate__(saved[key])
                tile.to_backend(backend)
        return summary

    def __repr__(self) -> str:
        divider = "=" * FORMATTING_WIDTH + "\n"
        result = divider + "Model Name: " + type(self.model).__name__ + "\n" + divider
        result += "Per-layer Information\n" + divider
        header = list(COLUMN_NAMES.values())
        for i, category in enumerate(COLUMN_DEFINITIONS):
            columns = [v for x, v in header if x == i]
            result += category + " " * (COLUMN_WIDTH * len(columns) - len(category))
            if i == len(COLUMN_DEFINITIONS) - 1:
                break
            result += "| "
        result += "\n" + divider
        for i in range(len(COLUMN_DEFINITIONS)):
            columns = [v for x, v in header if x == i]
            result += ("{:<20}" * len(columns)).format(*columns)
        result += "\n"
        for layer in self.layer_summary:
            result += repr(layer)
        result += divider + "General Information\n" + divider
        result += f"Total number of tiles: {self.total_tile_number}\n"
        result += f"Total number of analog layers: {self.total_nb_analog}\n"
        return result


def analog_summary(
    model: nn.Module, input_size: Optional[Any] = None, rpu_config: Optional[Any] = None
) -> AnalogInfo:
    """The summary of ``model`` (see the module docstring) for an input of shape
    ``input_size``: an ``AnalogInfo``, whose ``repr``/``str`` is the table (as the reference,
    nothing is printed here: ``print(analog_summary(...))``)."""
    if input_size is None:
        raise TypeError("input_size: needed to run the forward pass that records the shapes")
    return AnalogInfo(model, input_size, rpu_config)


__all__ = ["AnalogInfo", "LayerInfo", "TileInfo", "analog_summary"]
