"""RPU configurations: which tile, which device, which periphery."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Union

from rpusim.configs.compounds import (
    DigitalRankUpdateCell,
    MixedPrecisionCompound,
    OneSidedUnitCell,
    ReferenceUnitCell,
    TransferCompound,
    UnitCell,
    VectorUnitCell,
)
from rpusim.configs.devices import (
    ConstantStepDevice,
    FloatingPointDevice,
    IdealDevice,
    PulsedDevice,
)
from rpusim.configs.encode import to_json

if TYPE_CHECKING:
    from rpusim.configs.inference import InferenceRPUConfig
from rpusim.configs.io import IOParameters
from rpusim.configs.mapping import MappingParameter
from rpusim.configs.pre_post import PrePostProcessingParameter
from rpusim.configs.runtime import RuntimeParameter
from rpusim.configs.update import UpdateParameters
from rpusim.exceptions import ConfigError


@dataclass
class SingleRPUConfig:
    """One device per cross-point, with the forward/backward periphery and pulsed update."""

    device: Union[PulsedDevice, IdealDevice] = field(default_factory=ConstantStepDevice)
    """The device model: a pulsed device (``ConstantStepDevice``, ``LinearStepDevice``,
    ``SoftBoundsDevice``, ``SoftBoundsPmaxDevice``) or ``IdealDevice``."""
    forward: IOParameters = field(default_factory=IOParameters)
    """Periphery of the forward pass."""
    backward: IOParameters = field(default_factory=IOParameters)
    """Periphery of the backward pass (bound management is always off there)."""
    update: UpdateParameters = field(default_factory=UpdateParameters)
    """Pulsed-update parameters."""
    mapping: MappingParameter = field(default_factory=MappingParameter)
    """How layers are split over tiles."""
    runtime: RuntimeParameter = field(default_factory=RuntimeParameter, compare=False)
    """Simulation settings (data type); see ``RuntimeParameter``."""
    pre_post: PrePostProcessingParameter = field(default_factory=PrePostProcessingParameter)
    """Digital input processing: the learned input range (``pre_post.input_range``)."""

    def to_core(self) -> dict[str, Any]:
        if type(self.device) is PulsedDevice or not isinstance(
            self.device, (PulsedDevice, IdealDevice)
        ):
            raise ConfigError(
                f"device: SingleRPUConfig needs a device model (ConstantStepDevice, "
                f"LinearStepDevice, SoftBoundsDevice, ... or IdealDevice), "
                f"got {type(self.device).__name__}"
            )
        return _periphery_core(self, self.device.to_core("device"))

    def to_json(self) -> str:
        return to_json(self.to_core())

    def validate(self) -> None:
        """Raises ConfigError if any value is invalid (tiles validate on construction too)."""
        from rpusim import _core

        _core.validate_config(self.to_json())


@dataclass
class FloatingPointRPUConfig:
    """Ideal floating-point tile: exact forward, backward and update (the digital reference)."""

    device: FloatingPointDevice = field(default_factory=FloatingPointDevice)
    """The floating-point device."""
    mapping: MappingParameter = field(default_factory=MappingParameter)
    """How layers are split over tiles."""
    runtime: RuntimeParameter = field(default_factory=RuntimeParameter, compare=False)
    """Simulation settings (data type); see ``RuntimeParameter``."""
    pre_post: PrePostProcessingParameter = field(default_factory=PrePostProcessingParameter)
    """Digital input processing: the learned input range (``pre_post.input_range``)."""

    def to_core(self) -> dict[str, Any]:
        if not isinstance(self.device, FloatingPointDevice):
            raise ConfigError(
                f"device: FloatingPointRPUConfig needs a FloatingPointDevice, "
                f"got {type(self.device).__name__}"
            )
        return {
            "device": self.device.to_core("device"),
            "forward": {"is_perfect": True},
            "backward": {"is_perfect": True},
            "update": {"pulse_type": "NONE"},
        }

    def to_json(self) -> str:
        return to_json(self.to_core())

    def validate(self) -> None:
        """Raises ConfigError if any value is invalid."""
        from rpusim import _core

        _core.validate_config(self.to_json())


def _periphery_core(config: Any, device: dict[str, Any]) -> dict[str, Any]:
    """The core's form of a config with a device and the three periphery settings."""
    for name, cls in (
        ("forward", IOParameters),
        ("backward", IOParameters),
        ("update", UpdateParameters),
    ):
        if not isinstance(getattr(config, name), cls):
            raise ConfigError(f"{name}: expected {cls.__name__}, got {getattr(config, name)!r}")
    return {
        "device": device,
        "forward": config.forward.to_core("forward"),
        "backward": config.backward.to_core("backward"),
        "update": config.update.to_core("update"),
    }


@dataclass
class UnitCellRPUConfig:
    """Several devices per cross-point: a unit cell (``VectorUnitCell``, ``ReferenceUnitCell``,
    ``OneSidedUnitCell``) or a transfer compound (``TransferCompound``,
    ``BufferedTransferCompound``, ``ChoppedTransferCompound``, ``DynamicTransferCompound``),
    with the forward/backward periphery and the pulsed update of the gradient."""

    device: UnitCell = field(default_factory=VectorUnitCell)
    """The unit cell or compound."""
    forward: IOParameters = field(default_factory=IOParameters)
    """Periphery of the forward pass."""
    backward: IOParameters = field(default_factory=IOParameters)
    """Periphery of the backward pass (bound management is always off there)."""
    update: UpdateParameters = field(default_factory=UpdateParameters)
    """Pulsed update of the gradient (on the fast array of a transfer compound)."""
    mapping: MappingParameter = field(default_factory=MappingParameter)
    """How layers are split over tiles."""
    runtime: RuntimeParameter = field(default_factory=RuntimeParameter, compare=False)
    """Simulation settings (data type); see ``RuntimeParameter``."""
    pre_post: PrePostProcessingParameter = field(default_factory=PrePostProcessingParameter)
    """Digital input processing: the learned input range (``pre_post.input_range``)."""

    def to_core(self) -> dict[str, Any]:
        if not isinstance(
            self.device, (VectorUnitCell, ReferenceUnitCell, OneSidedUnitCell, TransferCompound)
        ):
            raise ConfigError(
                f"device: UnitCellRPUConfig needs a unit cell or transfer compound "
                f"(VectorUnitCell, ReferenceUnitCell, OneSidedUnitCell, TransferCompound, ...), "
                f"got {type(self.device).__name__}"
            )
        return _periphery_core(self, self.device.to_core("device"))

    def to_json(self) -> str:
        return to_json(self.to_core())

    def validate(self) -> None:
        """Raises ConfigError if any value is invalid."""
        from rpusim import _core

        _core.validate_config(self.to_json())


@dataclass
class DigitalRankUpdateRPUConfig:
    """A digital rank-update cell (``MixedPrecisionCompound``): the gradient accumulates
    digitally and is written to one analog device array in whole steps."""

    device: DigitalRankUpdateCell = field(default_factory=MixedPrecisionCompound)
    """The rank-update cell."""
    forward: IOParameters = field(default_factory=IOParameters)
    """Periphery of the forward pass."""
    backward: IOParameters = field(default_factory=IOParameters)
    """Periphery of the backward pass."""
    update: UpdateParameters = field(default_factory=UpdateParameters)
    """Pulsed update of the transfer writes (update management is always on there)."""
    mapping: MappingParameter = field(default_factory=MappingParameter)
    """How layers are split over tiles."""
    runtime: RuntimeParameter = field(default_factory=RuntimeParameter, compare=False)
    """Simulation settings (data type); see ``RuntimeParameter``."""
    pre_post: PrePostProcessingParameter = field(default_factory=PrePostProcessingParameter)
    """Digital input processing: the learned input range (``pre_post.input_range``)."""

    def to_core(self) -> dict[str, Any]:
        if not isinstance(self.device, MixedPrecisionCompound):
            raise ConfigError(
                f"device: DigitalRankUpdateRPUConfig needs a MixedPrecisionCompound, "
                f"got {type(self.device).__name__}"
            )
        return _periphery_core(self, self.device.to_core("device"))

    def to_json(self) -> str:
        return to_json(self.to_core())

    def validate(self) -> None:
        """Raises ConfigError if any value is invalid."""
        from rpusim import _core

        _core.validate_config(self.to_json())


RPUConfig = Union[
    SingleRPUConfig,
    UnitCellRPUConfig,
    DigitalRankUpdateRPUConfig,
    FloatingPointRPUConfig,
    "InferenceRPUConfig",
]
"""Any tile configuration."""
