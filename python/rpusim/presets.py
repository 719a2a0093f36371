"""Presets with the reference simulator's values (reference §5): device presets (a device model
with measured or idealized parameters) and RPU-config presets (a preset device with the preset
periphery, ``PresetIOParameters`` and ``PresetUpdateParameters``).

Every preset is a dataclass with changed defaults, so single fields can still be overridden:
``EcRamPresetDevice(dw_min_std=0.5)``.

Available now: the constant-step presets (``IdealizedPresetDevice``,
``GokmenVlasovPresetDevice``), the linear-step ones (``CapacitorPresetDevice``,
``EcRamPresetDevice``, ``EcRamMOPresetDevice``), the exp-step ones (``PCMPresetDevice``,
``ReRamESPresetDevice``) and ``ReRamSBPresetDevice``, with their single-device configs. Write
noise is not modelled yet: ``ReRamESPresetDevice`` and ``ReRamSBPresetDevice`` carry
``write_noise_std = 0`` instead of the reference's 75 and 56. The ReRamArray presets (reference
subtraction) and the unit-cell presets (PCMPreset, the 2-/4-device and OneSided variants)
arrive with those models.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rpusim.configs.devices import (
    ConstantStepDevice,
    ExpStepDevice,
    LinearStepDevice,
    PulsedDevice,
    SoftBoundsReferenceDevice,
)
from rpusim.configs.io import IOParameters, PresetIOParameters
from rpusim.configs.rpu_configs import SingleRPUConfig
from rpusim.configs.update import PresetUpdateParameters, UpdateParameters


@dataclass
class IdealizedPresetDevice(ConstantStepDevice):
    """Idealized symmetric device with about 10 000 states (dw_min 0.0002 over [−1, 1])."""

    dw_min: float = 0.0002
    dw_min_dtod: float = 0.3
    dw_min_std: float = 0.3
    up_down_dtod: float = 0.0
    w_max: float = 1.0
    w_min: float = -1.0
    w_max_dtod: float = 0.3
    w_min_dtod: float = 0.3


@dataclass
class GokmenVlasovPresetDevice(ConstantStepDevice):
    """The device of Gokmen & Vlasov (2016): about 1 200 states (dw_min 0.0016 over [−1, 1])."""

    dw_min: float = 0.0016
    dw_min_dtod: float = 0.3
    dw_min_std: float = 0.3
    up_down_dtod: float = 0.01
    w_max: float = 1.0
    w_min: float = -1.0
    w_max_dtod: float = 0.3
    w_min_dtod: float = 0.3


@dataclass
class CapacitorPresetDevice(LinearStepDevice):
    """Capacitor-based cell: nearly linear steps (γ 0.05), additive noise, and leakage
    (lifetime 10⁶ mini-batches)."""

    dw_min: float = 0.005
    dw_min_dtod: float = 0.1
    dw_min_std: float = 0.3
    up_down_dtod: float = 0.06
    w_max: float = 1.0
    w_min: float = -1.0
    w_max_dtod: float = 0.07
    w_min_dtod: float = 0.07
    gamma_up: float = 0.05
    gamma_down: float = 0.05
    gamma_up_dtod: float = 0.01
    gamma_down_dtod: float = 0.01
    mean_bound_reference: bool = True
    mult_noise: bool = False
    lifetime: float = 1e6
    lifetime_dtod: float = 0.3


@dataclass
class EcRamPresetDevice(LinearStepDevice):
    """Electro-chemical RAM (Li-ion): asymmetric linear steps, about 1 000 states."""

    dw_min: float = 0.002
    dw_min_dtod: float = 0.1
    dw_min_std: float = 0.3
    up_down_dtod: float = 0.01
    w_max: float = 1.1724
    w_min: float = -0.8276
    w_max_dtod: float = 0.05
    w_min_dtod: float = 0.05
    gamma_up: float = 0.1153
    gamma_down: float = 0.5085
    gamma_up_dtod: float = 0.05
    gamma_down_dtod: float = 0.05
    mult_noise: bool = True


@dataclass
class EcRamMOPresetDevice(LinearStepDevice):
    """Metal-oxide ECRAM: many small, noisy, asymmetric linear steps."""

    dw_min: float = 2.8214e-4
    dw_min_dtod: float = 0.1
    dw_min_std: float = 2.0
    up_down_dtod: float = 0.01
    w_max: float = 1.1714
    w_min: float = -0.8286
    w_max_dtod: float = 0.05
    w_min_dtod: float = 0.05
    gamma_up: float = 0.4152
    gamma_down: float = 0.7342
    gamma_up_dtod: float = 0.05
    gamma_down_dtod: float = 0.05
    mult_noise: bool = True


@dataclass
class ReRamSBPresetDevice(SoftBoundsReferenceDevice):
    """ReRAM fitted with soft bounds (about 1 000 states, asymmetric bounds, additive noise).
    The reference's preset also has write_noise_std 56 (× dw_min); write noise is not modelled
    yet, so it is 0 here."""

    dw_min: float = 0.002
    dw_min_dtod: float = 0.3
    dw_min_std: float = 3.75
    up_down: float = 0.0
    up_down_dtod: float = 0.01
    w_max: float = 1.25
    w_min: float = -0.75
    w_max_dtod: float = 0.3 / 1.25
    w_min_dtod: float = 0.3 / 0.75
    mult_noise: bool = False


@dataclass
class ReRamESPresetDevice(ExpStepDevice):
    """ReRAM fitted with the exponential step (about 1 000 states). The reference's preset also
    has write_noise_std 75 (× dw_min); write noise is not modelled yet, so it is 0 here."""

    dw_min: float = 0.00135
    dw_min_dtod: float = 0.2
    dw_min_std: float = 5.0
    up_down: float = 0.259359
    up_down_dtod: float = 0.05
    w_max: float = 1.0
    w_min: float = -1.0
    w_max_dtod: float = 0.3
    w_min_dtod: float = 0.3
    A_up: float = -1.18445  # noqa: N815
    A_down: float = -0.081404  # noqa: N815
    gamma_up: float = 5.0
    gamma_down: float = 5.0
    a: float = -0.5
    b: float = -0.5


@dataclass
class PCMPresetDevice(ExpStepDevice):
    """Phase-change memory: uni-directional, exp-step fit with additive noise (the device of the
    reference's ``PCMPresetUnitCell``, a one-sided pair)."""

    dw_min: float = 0.01
    dw_min_dtod: float = 0.2
    dw_min_std: float = 0.6
    up_down: float = 0.0
    up_down_dtod: float = 0.05
    w_max: float = 2.0
    w_min: float = 0.0
    w_max_dtod: float = 0.1
    w_min_dtod: float = 0.0
    A_up: float = -27.235  # noqa: N815
    A_down: float = -2.235  # noqa: N815
    gamma_up: float = 2.5
    gamma_down: float = 2.5
    a: float = -1.0
    b: float = 0.0
    dw_min_std_add: float = 0.042
    dw_min_std_slope: float = 0.108
    reset: float = 0.01
    reset_dtod: float = 0.02


@dataclass
class _SingleDevicePreset(SingleRPUConfig):
    """A preset device with the preset periphery (the subclasses set the device)."""

    forward: IOParameters = field(default_factory=PresetIOParameters)
    backward: IOParameters = field(default_factory=PresetIOParameters)
    update: UpdateParameters = field(default_factory=PresetUpdateParameters)


@dataclass
class IdealizedPreset(_SingleDevicePreset):
    """Single device per cross-point: the idealized device with the preset periphery."""

    device: PulsedDevice = field(default_factory=IdealizedPresetDevice)


@dataclass
class GokmenVlasovPreset(_SingleDevicePreset):
    """Single device per cross-point: the Gokmen-Vlasov device with the preset periphery."""

    device: PulsedDevice = field(default_factory=GokmenVlasovPresetDevice)


@dataclass
class CapacitorPreset(_SingleDevicePreset):
    """Single device per cross-point: the capacitor cell with the preset periphery."""

    device: PulsedDevice = field(default_factory=CapacitorPresetDevice)


@dataclass
class ReRamSBPreset(_SingleDevicePreset):
    """Single device per cross-point: the soft-bounds ReRAM device with the preset periphery."""

    device: PulsedDevice = field(default_factory=ReRamSBPresetDevice)


@dataclass
class ReRamESPreset(_SingleDevicePreset):
    """Single device per cross-point: the exp-step ReRAM device with the preset periphery."""

    device: PulsedDevice = field(default_factory=ReRamESPresetDevice)


@dataclass
class EcRamPreset(_SingleDevicePreset):
    """Single device per cross-point: the Li-ion ECRAM device with the preset periphery."""

    device: PulsedDevice = field(default_factory=EcRamPresetDevice)


@dataclass
class EcRamMOPreset(_SingleDevicePreset):
    """Single device per cross-point: the metal-oxide ECRAM device with the preset periphery."""

    device: PulsedDevice = field(default_factory=EcRamMOPresetDevice)


__all__ = [
    "CapacitorPreset",
    "CapacitorPresetDevice",
    "EcRamMOPreset",
    "EcRamMOPresetDevice",
    "EcRamPreset",
    "EcRamPresetDevice",
    "GokmenVlasovPreset",
    "GokmenVlasovPresetDevice",
    "IdealizedPreset",
    "IdealizedPresetDevice",
    "PCMPresetDevice",
    "ReRamESPreset",
    "ReRamESPresetDevice",
    "ReRamSBPreset",
    "ReRamSBPresetDevice",
]
