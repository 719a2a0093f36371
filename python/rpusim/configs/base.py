"""``RPUConfigBase``: the reference's common base of RPU configs, for ``isinstance`` checks and
type hints (rpusim's configs are independent dataclasses registered as its virtual
subclasses)."""

from __future__ import annotations

from abc import ABC

from rpusim.configs.inference import InferenceRPUConfig
from rpusim.configs.rpu_configs import (
    DigitalRankUpdateRPUConfig,
    FloatingPointRPUConfig,
    SingleRPUConfig,
    UnitCellRPUConfig,
)


class RPUConfigBase(ABC):  # noqa: B024 - a marker base without abstract methods
    """Every rpusim RPU config (and its subclasses, the presets) is an instance."""


for _config in (
    SingleRPUConfig,
    UnitCellRPUConfig,
    DigitalRankUpdateRPUConfig,
    FloatingPointRPUConfig,
    InferenceRPUConfig,
):
    RPUConfigBase.register(_config)
