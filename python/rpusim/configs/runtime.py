"""``RuntimeParameter``: the reference's simulation-time settings (``rpu_config.runtime``)."""

from __future__ import annotations

from dataclasses import dataclass

from rpusim.configs.enums import RPUDataType


@dataclass
class RuntimeParameter:
    """Simulation settings that do not change what is simulated."""

    data_type: RPUDataType = RPUDataType.FLOAT
    """FLOAT (default) or HALF (computed in float32 all the same, see ``RPUDataType``); DOUBLE
    is refused."""
    on_the_fly_bindings: bool = False
    """The reference regenerates its C++ parameter bindings every step when True; rpusim reads
    the config when a tile is built, so there is nothing to regenerate (kept for scripts)."""
    offload_input: bool = False
    """The reference keeps the inputs for the update on the CPU to save GPU memory; rpusim's
    recorded inputs are CPU tensors already."""
    offload_gradient: bool = False
    """As ``offload_input`` for the output gradients."""
