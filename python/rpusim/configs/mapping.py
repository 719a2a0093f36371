"""``MappingParameter``: how a layer's weight matrix is laid out on tiles (reference §9)."""

from __future__ import annotations

from dataclasses import dataclass

from rpusim.exceptions import ConfigError


@dataclass
class MappingParameter:
    """Layers with more than ``max_input_size`` inputs or ``max_output_size`` outputs are split
    over a grid of ⌈in/max_input_size⌉ × ⌈out/max_output_size⌉ tiles, each with its own periphery
    (noise management, ADC); the outputs of the input splits are summed digitally. 0 means no
    limit (one tile)."""

    digital_bias: bool = True
    """The bias is a digital parameter (an analog bias column is not supported)."""
    weight_scaling_omega: float = 0.0
    """Scale weights to max |W| = ω on set_weights (not supported yet: must be 0)."""
    weight_scaling_columnwise: bool = False
    """Per-output weight scales (with weight_scaling_omega)."""
    weight_scaling_lr_compensation: bool = False
    """Compensate the scales in the learning rate (with weight_scaling_omega)."""
    learn_out_scaling: bool = False
    """Learnable output scales (not supported yet)."""
    out_scaling_columnwise: bool = False
    """Learnable scales per output (with learn_out_scaling)."""
    max_input_size: int = 512
    """Most inputs per tile (0: no limit)."""
    max_output_size: int = 512
    """Most outputs per tile (0: no limit)."""

    def check(self, prefix: str = "mapping") -> None:
        for name in ("max_input_size", "max_output_size"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ConfigError(f"{prefix}.{name}: expected an int >= 0, got {value!r}")
        if self.digital_bias is not True:
            raise ConfigError(f"{prefix}.digital_bias: an analog bias column is not supported")
        if self.weight_scaling_omega != 0.0:
            raise ConfigError(f"{prefix}.weight_scaling_omega: weight scaling is not supported yet")
        if self.learn_out_scaling:
            raise ConfigError(
                f"{prefix}.learn_out_scaling: learned output scales are not supported"
            )


def splits(size: int, limit: int) -> list[tuple[int, int]]:
    """``[start, stop)`` ranges of at most ``limit`` (0: one range) that cover ``range(size)``,
    as even as possible."""
    if limit <= 0 or size <= limit:
        return [(0, size)]
    count = -(-size // limit)
    bounds = [size * k // count for k in range(count + 1)]
    return list(zip(bounds[:-1], bounds[1:]))
