"""``MappingParameter``: how a layer's weight matrix is laid out on tiles (reference §9)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rpusim.exceptions import ConfigError


@dataclass
class MappingParameter:
    """Layers with more than ``max_input_size`` inputs or ``max_output_size`` outputs are split
    over a grid of ⌈in/max_input_size⌉ × ⌈out/max_output_size⌉ tiles, each with its own periphery
    (noise management, ADC); the outputs of the input splits are summed digitally. 0 means no
    limit (one tile)."""

    digital_bias: bool = True
    """The bias is a digital parameter (a torch parameter trained by the digital optimizer).
    False: the bias is an extra column of the tile driven by a constant input 1 (read through
    the periphery, trained by pulses, subject to the devices' bounds and noise)."""
    weight_scaling_omega: float = 0.0
    """If > 0: ``set_weights`` writes W/α into each tile, α = max|W|/ω (per output row with
    ``weight_scaling_columnwise``), and keeps α as a digital scale of the tile's outputs: the
    forward output is α·(analog output), the backward input α·d, and the update gets d (the
    gradient of W/α is α·d; dividing by α gives the devices the unscaled gradient)."""
    weight_scaling_columnwise: bool = False
    """Per-output weight scales (with weight_scaling_omega)."""
    weight_scaling_lr_compensation: bool = False
    """Give the update α·d at the learning rate lr/mean(α) instead of d at lr."""
    learn_out_scaling: bool = False
    """A learnable digital scale of the layer's analog output (a torch parameter, started at 1,
    trained by the digital part of the optimizer); on top of the weight-scaling factors, which
    stay fixed (the reference moves those into the learned scales: the product is the same, its
    effective learning rate differs)."""
    out_scaling_columnwise: bool = False
    """One learnable scale per output instead of one per layer."""
    max_input_size: int = 512
    """Most inputs per tile (0: no limit)."""
    max_output_size: int = 512
    """Most outputs per tile (0: no limit)."""

    def check(self, prefix: str = "mapping") -> None:
        for name in ("max_input_size", "max_output_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{prefix}.{name}: expected an int >= 0, got {value!r}")
        omega = self.weight_scaling_omega
        if (
            isinstance(omega, bool)
            or not isinstance(omega, (int, float))
            or not math.isfinite(omega)
            or omega < 0
        ):
            raise ConfigError(
                f"{prefix}.weight_scaling_omega: expected a finite number >= 0, got {omega!r}"
            )
        for name in (
            "digital_bias",
            "weight_scaling_columnwise",
            "weight_scaling_lr_compensation",
            "learn_out_scaling",
            "out_scaling_columnwise",
        ):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{prefix}.{name}: expected a bool, got {getattr(self, name)!r}")


def split_count(size: int, limit: int) -> int:
    """How many ranges [`splits`] cuts ``size`` into: ⌈size/limit⌉, 1 when ``limit`` is 0."""
    return 1 if limit <= 0 or size <= limit else -(-size // limit)


def splits(size: int, limit: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of at most ``limit`` (0: one range) that cover ``range(size)``:
    ⌈size/limit⌉ ranges whose sizes differ by at most one, the larger first (the reference's
    tile arrays split the same way)."""
    count = split_count(size, limit)
    if count == 1:
        return [(0, size)]
    base, extra = divmod(size, count)
    bounds = [0]
    for k in range(count):
        bounds.append(bounds[-1] + base + (k < extra))
    return list(zip(bounds[:-1], bounds[1:]))
