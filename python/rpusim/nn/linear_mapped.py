"""``AnalogLinearMapped``: ``AnalogLinear`` laid out on tiles exactly as the reference's mapped
layer (``mapping.max_input_size`` / ``max_output_size``, the reference's split sizes, digital
bias only)."""

from __future__ import annotations

from typing import Any, Optional

from torch import nn

from rpusim.configs.rpu_configs import RPUConfig
from rpusim.exceptions import ConfigError
from rpusim.nn.linear import AnalogLinear
from rpusim.tile_array import AnalogTileArray, check_layer_size
from rpusim.tiles import AnalogTile


def reference_splits(size: int, limit: int, group: int = 1) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges as the reference's mapped layers split ``size`` features: in
    whole groups of ``group`` (a conv kernel's inputs), at most ``limit`` per range (0: one
    range), ⌈size/limit⌉ ranges whose sizes differ by at most one group, the larger first."""
    units = size // group
    if limit <= 0:
        counts = [units]
    else:
        if group > limit:
            raise ConfigError(
                f"mapping.max_input_size: {limit} is smaller than one kernel's {group} inputs "
                f"(a kernel cannot be split over tiles)"
            )
        per_tile = limit // group
        count = -(-units // per_tile)
        base, extra = divmod(units, count)
        counts = [base + (k < extra) for k in range(count)]
    bounds = [0]
    for c in counts:
        bounds.append(bounds[-1] + c * group)
    return list(zip(bounds[:-1], bounds[1:]))


def mapped_tile(
    out_size: int,
    in_size: int,
    rpu_config: RPUConfig,
    backend: Optional[str],
    in_group: int = 1,
) -> AnalogTile:
    """The tile array of a mapped layer (always an ``AnalogTileArray``, one tile or more)."""
    mapping = rpu_config.mapping
    mapping.check()
    if mapping.digital_bias is False:
        raise ConfigError(
            "mapping.digital_bias=False: the mapped layers (AnalogLinearMapped, "
            "AnalogConvNdMapped) only support a digital bias, as in the reference"
        )
    check_layer_size(out_size, in_size, rpu_config)
    return AnalogTileArray(
        out_size,
        in_size,
        rpu_config,
        backend,
        out_splits=reference_splits(out_size, mapping.max_output_size),
        in_splits=reference_splits(in_size, mapping.max_input_size, in_group),
    )


class AnalogLinearMapped(AnalogLinear):
    """A linear layer on a grid of tiles of at most ``mapping.max_output_size ×
    max_input_size`` (the reference's split sizes: as even as possible, the larger first); the
    partial outputs of the input splits are summed digitally. The bias is always digital.

    Args:
        in_features, out_features, bias, rpu_config, backend: as ``AnalogLinear``.
        tile_module_class: the reference's custom tile class; only None (the default tiles).
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rpu_config: Optional[RPUConfig] = None,
        tile_module_class: Any = None,
        backend: Optional[str] = None,
    ) -> None:
        if tile_module_class is not None:
            raise ConfigError("tile_module_class: custom tile classes are not supported")
        super().__init__(in_features, out_features, bias, rpu_config, backend)

    def _make_tile(self, out_size: int, in_size: int, backend: Optional[str]) -> AnalogTile:
        return mapped_tile(out_size, in_size, self.rpu_config, backend)

    @classmethod
    def from_digital(
        cls, module: nn.Linear, rpu_config: RPUConfig, tile_module_class: Any = None
    ) -> AnalogLinearMapped:
        """A mapped copy of ``module`` (weights and bias)."""
        layer = cls(
            module.in_features,
            module.out_features,
            module.bias is not None,
            rpu_config,
            tile_module_class,
        )
        bias = module.bias.detach() if module.bias is not None else None
        layer.set_weights(module.weight.detach(), bias)
        return layer
