"""``AnalogTileArray``: one layer's weights on a grid of tiles (``MappingParameter``).

Tile (r, c) holds rows ``out_splits[r]`` and columns ``in_splits[c]`` of W. Forward: the outputs
of a row of tiles are summed digitally; backward: the gradients of a column of tiles likewise;
update: every tile receives its slices of x and d. Each tile has its own seed and periphery.
"""

from __future__ import annotations

import os
from typing import Any, Optional

import torch
from torch import Tensor

from rpusim.configs.inference import InferenceRPUConfig
from rpusim.configs.mapping import MappingParameter, split_count, splits
from rpusim.configs.rpu_configs import RPUConfig
from rpusim.exceptions import ConfigError, StateError
from rpusim.inference.tile import InferenceTile
from rpusim.tiles import (
    AnalogTile,
    CoreUpdate,
    as_float32_2d,
    check_runtime,
    check_weights,
    config_label,
    saved_sizes,
    update_arguments,
)


class AnalogTileArray(AnalogTile):
    """A ``[out_size, in_size]`` weight matrix on ⌈out/max_output_size⌉ × ⌈in/max_input_size⌉
    tiles, used by the layers whenever their mapping splits them. Same interface as
    :class:`AnalogTile`."""

    def __init__(
        self,
        out_size: int,
        in_size: int,
        rpu_config: RPUConfig,
        backend: Optional[str] = None,
        seed: Optional[int] = None,
        out_splits: Optional[list[tuple[int, int]]] = None,
        in_splits: Optional[list[tuple[int, int]]] = None,
    ) -> None:
        mapping = rpu_config.mapping
        mapping.check()
        check_runtime(rpu_config)
        self.rpu_config = rpu_config
        self.out_size = out_size
        self.in_size = in_size
        # Given splits (the *Mapped layers' layouts) or the mapping's even ones.
        self.out_splits = out_splits or splits(out_size, mapping.max_output_size)
        self.in_splits = in_splits or splits(in_size, mapping.max_input_size)
        self.tiles = [
            [
                tile_class(rpu_config)(
                    o1 - o0,
                    i1 - i0,
                    rpu_config,
                    backend,
                    None if seed is None else seed + r * len(self.in_splits) + c,
                )
                for c, (i0, i1) in enumerate(self.in_splits)
            ]
            for r, (o0, o1) in enumerate(self.out_splits)
        ]

    @property
    def digital_weights(self) -> bool:
        """Whether the tiles hold floating-point weights (inference tiles)."""
        return bool(getattr(self.tiles[0][0], "digital_weights", False))

    def all_tiles(self) -> list[AnalogTile]:
        return [tile for row in self.tiles for tile in row]

    @property
    def seed(self) -> int:
        return self.tiles[0][0].seed

    @property
    def backend(self) -> str:
        return self.tiles[0][0].backend

    def forward_saturated(self, x: Tensor) -> tuple[Tensor, Any]:
        """The summed outputs and, per tile, its own saturation mask (each tile's ADC clips
        its partial sum)."""
        flat, lead = as_float32_2d("x", x, self.in_size)
        out = torch.empty(flat.shape[0], self.out_size, dtype=torch.float32)
        masks: list[list[Optional[Tensor]]] = []
        for (o0, o1), row in zip(self.out_splits, self.tiles):
            results = [
                tile.forward_saturated(flat[:, i0:i1])
                for (i0, i1), tile in zip(self.in_splits, row)
            ]
            parts = [part for part, _ in results]
            masks.append([mask for _, mask in results])
            out[:, o0:o1] = torch.stack(parts).sum(0) if len(parts) > 1 else parts[0]
        saturated = masks if any(m is not None for row in masks for m in row) else None
        return out.reshape(*lead, self.out_size).to(device=x.device, dtype=x.dtype), saturated

    def backward(self, d: Tensor, saturated: Any = None) -> Tensor:
        flat, lead = as_float32_2d("d", d, self.out_size)
        out = torch.zeros(flat.shape[0], self.in_size, dtype=torch.float32)
        for r, ((o0, o1), row) in enumerate(zip(self.out_splits, self.tiles)):
            for c, ((i0, i1), tile) in enumerate(zip(self.in_splits, row)):
                mask = None if saturated is None else saturated[r][c]
                out[:, i0:i1] += tile.backward(flat[:, o0:o1], mask)
        return out.reshape(*lead, self.in_size).to(device=d.device, dtype=d.dtype)

    def update(self, x: Tensor, d: Tensor, lr: Optional[float] = None) -> None:
        if lr is None:
            lr = self.get_learning_rate()
        xf, df, lr = update_arguments(x, d, lr, self.in_size, self.out_size)
        for (o0, o1), row in zip(self.out_splits, self.tiles):
            for (i0, i1), tile in zip(self.in_splits, row):
                tile.update(xf[:, i0:i1], df[:, o0:o1], lr)

    def batched_update(self, x: Tensor, d: Tensor, lr: float) -> Optional[list[CoreUpdate]]:
        """The core calls of every tile's update (see ``AnalogTile.batched_update``); None
        where one of the tiles has none."""
        if getattr(self.update, "__func__", None) is not AnalogTileArray.update:
            return None
        xf, df, lr = update_arguments(x, d, lr, self.in_size, self.out_size)
        calls: list[CoreUpdate] = []
        for (o0, o1), row in zip(self.out_splits, self.tiles):
            for (i0, i1), tile in zip(self.in_splits, row):
                part = tile.batched_update(xf[:, i0:i1], df[:, o0:o1], lr)
                if part is None:
                    return None
                calls.extend(part)
        return calls

    def sgd_step(self, x: Tensor, d: Tensor, lr: float, state: dict[str, Any], **sgd: Any) -> None:
        """The inference tiles' ``sgd_step`` on their slices (momentum buffers per tile)."""
        xf, df, lr = update_arguments(x, d, lr, self.in_size, self.out_size)
        for r, ((o0, o1), row) in enumerate(zip(self.out_splits, self.tiles)):
            for c, ((i0, i1), tile) in enumerate(zip(self.in_splits, row)):
                tile_state = state.setdefault(f"tile_{r}_{c}", {})
                tile.sgd_step(xf[:, i0:i1], df[:, o0:o1], lr, tile_state, **sgd)  # type: ignore[attr-defined]

    def post_update_step(self) -> None:
        for tile in self.all_tiles():
            tile.post_update_step()

    def drift_weights(self, delta_t: float = 1.0) -> None:
        """Each tile's ``drift_weights`` (for inference tiles the argument is t_inference)."""
        for tile in self.all_tiles():
            tile.drift_weights(delta_t)

    def set_training(self, mode: bool) -> None:
        for tile in self.all_tiles():
            tile.set_training(mode)

    def remap_weights(self) -> None:
        for tile in self.all_tiles():
            tile.remap_weights()

    def program_weights(self, noise_model: Any = None) -> None:
        for tile in self.all_tiles():
            tile.program_weights(noise_model)

    def synchronize(self) -> None:
        for tile in self.all_tiles():
            tile.synchronize()

    def get_weights(self, apply_weight_scaling: bool = True) -> Tensor:
        rows = [
            torch.cat([tile.get_weights(apply_weight_scaling) for tile in row], dim=1)
            for row in self.tiles
        ]
        return torch.cat(rows, dim=0)

    def check_finite(self) -> None:
        for tile in self.all_tiles():
            tile.check_finite()

    def get_learning_rate(self) -> float:
        return self.tiles[0][0].get_learning_rate()

    def set_learning_rate(self, learning_rate: Optional[float]) -> None:
        for tile in self.all_tiles():
            tile.set_learning_rate(learning_rate)

    def get_hidden_parameters(self) -> dict[str, Tensor]:
        """The hidden parameters of every tile, stitched into ``[out_size, in_size]`` maps."""
        return self._stitch([[tile.get_hidden_parameters() for tile in row] for row in self.tiles])

    def _stitch(self, parts: list[list[dict[str, Tensor]]]) -> dict[str, Tensor]:
        keys = parts[0][0].keys()
        return {
            key: torch.cat([torch.cat([h[key] for h in row], dim=1) for row in parts], dim=0)
            for key in keys
        }

    def get_hidden_weights(self) -> dict[str, Tensor]:
        """The hidden weights of every tile, stitched into ``[out_size, in_size]`` maps."""
        parts = [[tile.get_hidden_weights() for tile in row] for row in self.tiles]
        keys = parts[0][0].keys()
        return {
            key: torch.cat([torch.cat([h[key] for h in row], dim=1) for row in parts], dim=0)
            for key in keys
        }

    @property
    def array_count(self) -> int:
        return self.tiles[0][0].array_count

    def set_weights(
        self,
        weights: Tensor,
        apply_weight_scaling: bool = True,
        weight_scaling_omega: Optional[float] = None,
    ) -> None:
        check_weights(weights, self.out_size, self.in_size)
        for (o0, o1), row in zip(self.out_splits, self.tiles):
            for (i0, i1), tile in zip(self.in_splits, row):
                tile.set_weights(weights[o0:o1, i0:i1], apply_weight_scaling, weight_scaling_omega)

    def to_backend(self, name: str) -> None:
        for tile in self.all_tiles():
            tile.to_backend(name)

    def __getstate__(self) -> dict[str, Any]:
        return {
            "rpu_config": self.rpu_config,
            "out_size": self.out_size,
            "in_size": self.in_size,
            "out_splits": self.out_splits,
            "in_splits": self.in_splits,
            "tiles": [[tile.__getstate__() for tile in row] for row in self.tiles],
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict) or "tiles" not in state:
            raise StateError("state: a single tile's state cannot restore a split tile array")
        # Everything is rebuilt and checked before the first attribute changes.
        out_size, in_size = saved_sizes(state)
        try:
            out_splits = [(int(a), int(b)) for a, b in state["out_splits"]]
            in_splits = [(int(a), int(b)) for a, b in state["in_splits"]]
            row_states = [list(row) for row in state["tiles"]]
        except (KeyError, TypeError, ValueError) as err:
            raise StateError(f"state: the tile grid is malformed ({err})") from None
        for name, parts, size in (
            ("out_splits", out_splits, out_size),
            ("in_splits", in_splits, in_size),
        ):
            ends = [0] + [b for _, b in parts]
            if (
                not parts
                or any(a != e or b <= a for (a, b), e in zip(parts, ends))
                or ends[-1] != size
            ):
                raise StateError(f"state: {name} {parts} do not cover 0..{size}")
        if len(row_states) != len(out_splits) or any(len(r) != len(in_splits) for r in row_states):
            raise StateError(f"state: tiles must be a {len(out_splits)} x {len(in_splits)} grid")
        tiles = []
        for (o0, o1), row_state in zip(out_splits, row_states):
            row = []
            for (i0, i1), tile_state in zip(in_splits, row_state):
                if not isinstance(tile_state, dict):
                    raise StateError("state: every tile's state must be a dict")
                cls = tile_class(tile_state.get("rpu_config"))
                tile = cls.__new__(cls)
                tile.__setstate__(tile_state)
                if (tile.out_size, tile.in_size) != (o1 - o0, i1 - i0):
                    raise StateError(
                        f"state: a tile of {tile.out_size}x{tile.in_size} in the place of "
                        f"rows {o0}..{o1}, columns {i0}..{i1}"
                    )
                row.append(tile)
            tiles.append(row)
        self.rpu_config = state["rpu_config"]
        self.out_size = out_size
        self.in_size = in_size
        self.out_splits = out_splits
        self.in_splits = in_splits
        self.tiles = tiles

    def __repr__(self) -> str:
        return (
            f"AnalogTileArray(out_size={self.out_size}, in_size={self.in_size}, "
            f"tiles={len(self.out_splits)}x{len(self.in_splits)}, "
            f"device={config_label(self.rpu_config)}, backend={self.backend!r})"
        )


def tile_class(rpu_config: Any) -> type[AnalogTile]:
    """``InferenceTile`` for an ``InferenceRPUConfig`` (``TorchInferenceTile`` for a
    ``TorchInferenceRPUConfig``), else ``AnalogTile``."""
    from rpusim.configs.torch_inference import TorchInferenceRPUConfig
    from rpusim.inference.torch_tile import TorchInferenceTile

    if isinstance(rpu_config, TorchInferenceRPUConfig):
        return TorchInferenceTile
    if isinstance(rpu_config, InferenceRPUConfig):
        return InferenceTile
    return AnalogTile


# Layers up to this many weights and tiles are built without estimating their memory first.
_SMALL_LAYER = 1 << 22
_FEW_TILES = 1 << 12
# What a tile costs beyond its per-weight arrays (Python objects, tensors, the core's structs):
# measured as the resident memory of 5 000 1×1 tiles, 0.6 KB each for a ConstantStep AnalogTile,
# 2.0 KB for a Tiki-Taka one, 5.8 KB for an InferenceTile; this bounds all three.
_TILE_BYTES = 8 << 10


def physical_memory() -> Optional[int]:
    """The machine's physical memory in bytes (None where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, OSError, ValueError):
        return None


def _state_values(state: Any) -> int:
    """Number of array/tensor elements in a saved state (nested dicts, lists, tuples)."""
    if isinstance(state, Tensor):
        return int(state.numel())
    if hasattr(state, "size") and hasattr(state, "dtype"):  # a numpy array
        return int(state.size)
    if isinstance(state, dict):
        return sum(_state_values(v) for v in state.values())
    if isinstance(state, (list, tuple)):
        return sum(_state_values(v) for v in state)
    return 0


def check_layer_size(out_size: int, in_size: int, rpu_config: Any) -> None:
    """Refuses up front a layer whose tiles could not fit in this machine's memory (instead of
    building tiles until the process is killed). The bytes per weight come from the saved state
    of a 1×1 tile of the same config (weights, per-device arrays, hidden arrays, buffers); each
    tile adds its fixed cost (``_TILE_BYTES``), which dominates when the mapping cuts a layer
    into millions of small tiles."""
    elements = out_size * in_size
    mapping = rpu_config.mapping
    tiles = split_count(out_size, mapping.max_output_size) * split_count(
        in_size, mapping.max_input_size
    )
    if elements <= _SMALL_LAYER and tiles <= _FEW_TILES:
        return
    probe = tile_class(rpu_config)(1, 1, rpu_config, "cpu", 0)
    per_weight = 4 * max(1, _state_values(probe.__getstate__()))
    needed = elements * per_weight + tiles * _TILE_BYTES
    memory = physical_memory()
    if memory is not None and needed > memory:
        raise MemoryError(
            f"a {out_size} x {in_size} analog layer needs about {needed / 1e9:.3g} GB "
            f"({per_weight} bytes per weight for {config_label(rpu_config)}, and {tiles} tiles "
            f"of about {_TILE_BYTES // 1024} KiB each), this machine has {memory / 1e9:.3g} GB"
        )


def make_tile(
    out_size: int,
    in_size: int,
    rpu_config: RPUConfig,
    backend: Optional[str] = None,
) -> AnalogTile:
    """One tile, or a tile array when the mapping splits ``out_size × in_size``."""
    mapping = getattr(rpu_config, "mapping", None)
    if mapping is None:  # not an RPU config: AnalogTile says what is wrong
        return AnalogTile(out_size, in_size, rpu_config, backend)
    if not isinstance(mapping, MappingParameter):
        raise ConfigError(f"mapping: expected a MappingParameter, got {mapping!r}")
    mapping.check()
    check_layer_size(out_size, in_size, rpu_config)
    grid = (splits(out_size, mapping.max_output_size), splits(in_size, mapping.max_input_size))
    if len(grid[0]) == 1 and len(grid[1]) == 1:
        return tile_class(rpu_config)(out_size, in_size, rpu_config, backend)
    return AnalogTileArray(out_size, in_size, rpu_config, backend)
