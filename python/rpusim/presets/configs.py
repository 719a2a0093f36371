"""RPU-config presets with the reference simulator's settings (reference §5.2): a preset device
(``rpusim.presets.devices``) in a single-device config, a unit cell (2 or 4 devices, a one-sided
PCM pair) or a training algorithm (Tiki-Taka, TTv2, c-TTv2, AGAD, mixed precision), with the
preset periphery (``PresetIOParameters``, ``PresetUpdateParameters``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from rpusim.configs.compounds import (
    ChoppedTransferCompound,
    DigitalRankUpdateCell,
    DynamicTransferCompound,
    MixedPrecisionCompound,
    OneSidedUnitCell,
    TransferCompound,
    UnitCell,
    VectorUnitCell,
    VectorUnitCellUpdatePolicy,
)
from rpusim.configs.devices import PulsedDevice
from rpusim.configs.enums import BoundManagementType, NoiseManagementType
from rpusim.configs.io import IOParameters, PresetIOParameters
from rpusim.configs.rpu_configs import (
    DigitalRankUpdateRPUConfig,
    SingleRPUConfig,
    UnitCellRPUConfig,
)
from rpusim.configs.update import PresetUpdateParameters, UpdateParameters
from rpusim.presets.devices import (
    CapacitorPresetDevice,
    EcRamMOPresetDevice,
    EcRamPresetDevice,
    GokmenVlasovPresetDevice,
    IdealizedPresetDevice,
    PCMPresetDevice,
    ReRamESPresetDevice,
    ReRamSBPresetDevice,
)


def _transfer_read() -> IOParameters:
    """The transfer read of the presets: the preset periphery without noise or bound management."""
    return PresetIOParameters(
        noise_management=NoiseManagementType.NONE, bound_management=BoundManagementType.NONE
    )


def _single_step_write() -> UpdateParameters:
    """The transfer write of the TTv2 family: one pulse per step, no update management."""
    return PresetUpdateParameters(desired_bl=1, update_bl_management=False, update_management=False)


def _update(desired_bl: int) -> Callable[[], UpdateParameters]:
    return lambda: PresetUpdateParameters(desired_bl=desired_bl)


def _pair(device: type[PulsedDevice], **kwargs: Any) -> list[PulsedDevice]:
    return [device(**kwargs), device(**kwargs)]


def _vector(device: type[PulsedDevice], n: int) -> Callable[[], UnitCell]:
    """n copies, one random device updated per mini-batch."""
    return lambda: VectorUnitCell(
        unit_cell_devices=[device() for _ in range(n)],
        update_policy=VectorUnitCellUpdatePolicy.SINGLE_RANDOM,
    )


def _tiki_taka(device: type[PulsedDevice], **kwargs: Any) -> Callable[[], UnitCell]:
    return lambda: TransferCompound(
        unit_cell_devices=_pair(device, **kwargs),
        transfer_forward=_transfer_read(),
        transfer_update=PresetUpdateParameters(),
        transfer_every=1.0,
        units_in_mbatch=True,
    )


def _chopped(
    device: type[PulsedDevice],
    fast_lr: float,
    auto_granularity: float,
    in_chop_prob: float,
    **kwargs: Any,
) -> Callable[[], UnitCell]:
    return lambda: ChoppedTransferCompound(
        unit_cell_devices=_pair(device, **kwargs),
        transfer_forward=_transfer_read(),
        transfer_update=_single_step_write(),
        units_in_mbatch=False,
        in_chop_prob=in_chop_prob,
        fast_lr=fast_lr,
        auto_scale=True,
        auto_granularity=auto_granularity,
    )


def _agad(
    device: type[PulsedDevice],
    fast_lr: float,
    auto_granularity: float,
    in_chop_prob: float,
    tail_weightening: float,
    **kwargs: Any,
) -> Callable[[], UnitCell]:
    return lambda: DynamicTransferCompound(
        unit_cell_devices=_pair(device, **kwargs),
        transfer_forward=_transfer_read(),
        transfer_update=_single_step_write(),
        units_in_mbatch=False,
        in_chop_prob=in_chop_prob,
        fast_lr=fast_lr,
        auto_scale=True,
        auto_granularity=auto_granularity,
        tail_weightening=tail_weightening,
    )


def _mixed(device: type[PulsedDevice]) -> Callable[[], DigitalRankUpdateCell]:
    return lambda: MixedPrecisionCompound(device=device())


@dataclass
class PCMPresetUnitCell(OneSidedUnitCell):
    """Two uni-directional PCM devices of opposite sign (``PCMPresetDevice``), refreshed after
    every mini-batch (see ``OneSidedUnitCell``)."""

    unit_cell_devices: list[PulsedDevice] = field(
        default_factory=lambda: [PCMPresetDevice(), PCMPresetDevice()]
    )
    refresh_every: int = 1
    units_in_mbatch: bool = True
    refresh_forward: IOParameters = field(default_factory=PresetIOParameters)
    refresh_update: UpdateParameters = field(default_factory=_update(31))


@dataclass
class _SingleDevicePreset(SingleRPUConfig):
    """A preset device with the preset periphery (the subclasses set the device)."""

    forward: IOParameters = field(default_factory=PresetIOParameters)
    backward: IOParameters = field(default_factory=PresetIOParameters)
    update: UpdateParameters = field(default_factory=PresetUpdateParameters)


@dataclass
class _UnitCellPreset(UnitCellRPUConfig):
    """A preset unit cell or compound with the preset periphery (the subclasses set the cell)."""

    forward: IOParameters = field(default_factory=PresetIOParameters)
    backward: IOParameters = field(default_factory=PresetIOParameters)
    update: UpdateParameters = field(default_factory=PresetUpdateParameters)


@dataclass
class _MixedPrecisionPreset(DigitalRankUpdateRPUConfig):
    """Mixed precision on a preset device with the preset periphery."""

    forward: IOParameters = field(default_factory=PresetIOParameters)
    backward: IOParameters = field(default_factory=PresetIOParameters)
    update: UpdateParameters = field(default_factory=PresetUpdateParameters)


@dataclass
class ReRamESPreset(_SingleDevicePreset):
    """One device per cross-point: the exp-step ReRAM device, plain pulsed SGD."""

    device: PulsedDevice = field(default_factory=ReRamESPresetDevice)


@dataclass
class ReRamSBPreset(_SingleDevicePreset):
    """One device per cross-point: the soft-bounds ReRAM device, plain pulsed SGD."""

    device: PulsedDevice = field(default_factory=ReRamSBPresetDevice)


@dataclass
class CapacitorPreset(_SingleDevicePreset):
    """One device per cross-point: the capacitor cell, plain pulsed SGD."""

    device: PulsedDevice = field(default_factory=CapacitorPresetDevice)


@dataclass
class EcRamPreset(_SingleDevicePreset):
    """One device per cross-point: the Li-ion ECRAM device, plain pulsed SGD."""

    device: PulsedDevice = field(default_factory=EcRamPresetDevice)


@dataclass
class EcRamMOPreset(_SingleDevicePreset):
    """One device per cross-point: the metal-oxide ECRAM device, plain pulsed SGD."""

    device: PulsedDevice = field(default_factory=EcRamMOPresetDevice)


@dataclass
class IdealizedPreset(_SingleDevicePreset):
    """One device per cross-point: the idealized device, plain pulsed SGD."""

    device: PulsedDevice = field(default_factory=IdealizedPresetDevice)


@dataclass
class GokmenVlasovPreset(_SingleDevicePreset):
    """One device per cross-point: the Gokmen-Vlasov device, plain pulsed SGD."""

    device: PulsedDevice = field(default_factory=GokmenVlasovPresetDevice)


@dataclass
class PCMPreset(_UnitCellPreset):
    """A one-sided pair of PCM devices with refresh (``PCMPresetUnitCell``), plain pulsed SGD."""

    device: UnitCell = field(default_factory=PCMPresetUnitCell)


@dataclass
class ReRamES2Preset(_UnitCellPreset):
    """2 copies of the exp-step ReRAM device per cross-point (W their mean), one random device
    updated per mini-batch."""

    device: UnitCell = field(default_factory=_vector(ReRamESPresetDevice, 2))


@dataclass
class ReRamSB2Preset(_UnitCellPreset):
    """2 copies of the soft-bounds ReRAM device per cross-point (W their mean), one random device
    updated per mini-batch."""

    device: UnitCell = field(default_factory=_vector(ReRamSBPresetDevice, 2))


@dataclass
class Capacitor2Preset(_UnitCellPreset):
    """2 copies of the capacitor cell per cross-point (W their mean), one random device updated per
    mini-batch."""

    device: UnitCell = field(default_factory=_vector(CapacitorPresetDevice, 2))


@dataclass
class EcRam2Preset(_UnitCellPreset):
    """2 copies of the Li-ion ECRAM device per cross-point (W their mean), one random device
    updated per mini-batch."""

    device: UnitCell = field(default_factory=_vector(EcRamPresetDevice, 2))


@dataclass
class EcRamMO2Preset(_UnitCellPreset):
    """2 copies of the metal-oxide ECRAM device per cross-point (W their mean), one random device
    updated per mini-batch."""

    device: UnitCell = field(default_factory=_vector(EcRamMOPresetDevice, 2))


@dataclass
class Idealized2Preset(_UnitCellPreset):
    """2 copies of the idealized device per cross-point (W their mean), one random device updated
    per mini-batch."""

    device: UnitCell = field(default_factory=_vector(IdealizedPresetDevice, 2))


@dataclass
class ReRamES4Preset(_UnitCellPreset):
    """4 copies of the exp-step ReRAM device per cross-point (W their mean), one random device
    updated per mini-batch."""

    device: UnitCell = field(default_factory=_vector(ReRamESPresetDevice, 4))


@dataclass
class ReRamSB4Preset(_UnitCellPreset):
    """4 copies of the soft-bounds ReRAM device per cross-point (W their mean), one random device
    updated per mini-batch."""

    device: UnitCell = field(default_factory=_vector(ReRamSBPresetDevice, 4))


@dataclass
class Capacitor4Preset(_UnitCellPreset):
    """4 copies of the capacitor cell per cross-point (W their mean), one random device updated per
    mini-batch."""

    device: UnitCell = field(default_factory=_vector(CapacitorPresetDevice, 4))


@dataclass
class EcRam4Preset(_UnitCellPreset):
    """4 copies of the Li-ion ECRAM device per cross-point (W their mean), one random device
    updated per mini-batch."""

    device: UnitCell = field(default_factory=_vector(EcRamPresetDevice, 4))


@dataclass
class EcRamMO4Preset(_UnitCellPreset):
    """4 copies of the metal-oxide ECRAM device per cross-point (W their mean), one random device
    updated per mini-batch."""

    device: UnitCell = field(default_factory=_vector(EcRamMOPresetDevice, 4))


@dataclass
class Idealized4Preset(_UnitCellPreset):
    """4 copies of the idealized device per cross-point (W their mean), one random device updated
    per mini-batch."""

    device: UnitCell = field(default_factory=_vector(IdealizedPresetDevice, 4))


@dataclass
class TikiTakaReRamESPreset(_UnitCellPreset):
    """Tiki-Taka (``TransferCompound``) on two of the exp-step ReRAM device: one column transferred
    per mini-batch, the fast array pulsed at fast_lr 1."""

    device: UnitCell = field(default_factory=_tiki_taka(ReRamESPresetDevice))


@dataclass
class TikiTakaReRamSBPreset(_UnitCellPreset):
    """Tiki-Taka (``TransferCompound``) on two of the soft-bounds ReRAM device (symmetry point
    subtracted): one column transferred per mini-batch, the fast array pulsed at fast_lr 1."""

    device: UnitCell = field(
        default_factory=_tiki_taka(ReRamSBPresetDevice, subtract_symmetry_point=True)
    )


@dataclass
class TikiTakaCapacitorPreset(_UnitCellPreset):
    """Tiki-Taka (``TransferCompound``) on two of the capacitor cell: one column transferred per
    mini-batch, the fast array pulsed at fast_lr 1."""

    device: UnitCell = field(default_factory=_tiki_taka(CapacitorPresetDevice))


@dataclass
class TikiTakaEcRamPreset(_UnitCellPreset):
    """Tiki-Taka (``TransferCompound``) on two of the Li-ion ECRAM device: one column transferred
    per mini-batch, the fast array pulsed at fast_lr 1."""

    device: UnitCell = field(default_factory=_tiki_taka(EcRamPresetDevice))


@dataclass
class TikiTakaEcRamMOPreset(_UnitCellPreset):
    """Tiki-Taka (``TransferCompound``) on two of the metal-oxide ECRAM device: one column
    transferred per mini-batch, the fast array pulsed at fast_lr 1."""

    device: UnitCell = field(default_factory=_tiki_taka(EcRamMOPresetDevice))


@dataclass
class TikiTakaIdealizedPreset(_UnitCellPreset):
    """Tiki-Taka (``TransferCompound``) on two of the idealized device: one column transferred per
    mini-batch, the fast array pulsed at fast_lr 1."""

    device: UnitCell = field(default_factory=_tiki_taka(IdealizedPresetDevice))


@dataclass
class TTv2ReRamESPreset(_UnitCellPreset):
    """TTv2 (``ChoppedTransferCompound`` without choppers) on two of the exp-step ReRAM device: a
    transfer per vector, buffered, auto-scaled fast array (fast_lr 0.5, auto_granularity 1000)."""

    device: UnitCell = field(default_factory=_chopped(ReRamESPresetDevice, 0.5, 1000, 0.0))
    update: UpdateParameters = field(default_factory=_update(31))


@dataclass
class TTv2ReRamSBPreset(_UnitCellPreset):
    """TTv2 (``ChoppedTransferCompound`` without choppers) on two of the soft-bounds ReRAM device:
    a transfer per vector, buffered, auto-scaled fast array (fast_lr 0.5, auto_granularity
    1000)."""

    device: UnitCell = field(
        default_factory=_chopped(ReRamSBPresetDevice, 0.5, 1000, 0.0, subtract_symmetry_point=True)
    )
    update: UpdateParameters = field(default_factory=_update(31))


@dataclass
class TTv2CapacitorPreset(_UnitCellPreset):
    """TTv2 (``ChoppedTransferCompound`` without choppers) on two of the capacitor cell: a transfer
    per vector, buffered, auto-scaled fast array (fast_lr 0.1, auto_granularity 1000)."""

    device: UnitCell = field(default_factory=_chopped(CapacitorPresetDevice, 0.1, 1000, 0.0))
    update: UpdateParameters = field(default_factory=_update(31))


@dataclass
class TTv2EcRamPreset(_UnitCellPreset):
    """TTv2 (``ChoppedTransferCompound`` without choppers) on two of the Li-ion ECRAM device: a
    transfer per vector, buffered, auto-scaled fast array (fast_lr 0.1, auto_granularity 500)."""

    device: UnitCell = field(default_factory=_chopped(EcRamPresetDevice, 0.1, 500, 0.0))
    update: UpdateParameters = field(default_factory=_update(100))


@dataclass
class TTv2EcRamMOPreset(_UnitCellPreset):
    """TTv2 (``ChoppedTransferCompound`` without choppers) on two of the metal-oxide ECRAM device:
    a transfer per vector, buffered, auto-scaled fast array (fast_lr 0.1, auto_granularity 500)."""

    device: UnitCell = field(default_factory=_chopped(EcRamMOPresetDevice, 0.1, 500, 0.0))
    update: UpdateParameters = field(default_factory=_update(100))


@dataclass
class TTv2IdealizedPreset(_UnitCellPreset):
    """TTv2 (``ChoppedTransferCompound`` without choppers) on two of the idealized device: a
    transfer per vector, buffered, auto-scaled fast array (fast_lr 0.1, auto_granularity 500)."""

    device: UnitCell = field(default_factory=_chopped(IdealizedPresetDevice, 0.1, 500, 0.0))
    update: UpdateParameters = field(default_factory=_update(100))


@dataclass
class ChoppedTTv2ReRamESPreset(_UnitCellPreset):
    """c-TTv2 (``ChoppedTransferCompound``) on two of the exp-step ReRAM device: input choppers
    flipped with probability 0.01 per transfer (fast_lr 0.5, auto_granularity 1000)."""

    device: UnitCell = field(default_factory=_chopped(ReRamESPresetDevice, 0.5, 1000, 0.01))
    update: UpdateParameters = field(default_factory=_update(31))


@dataclass
class ChoppedTTv2ReRamSBPreset(_UnitCellPreset):
    """c-TTv2 (``ChoppedTransferCompound``) on two of the soft-bounds ReRAM device: input choppers
    flipped with probability 0.01 per transfer (fast_lr 0.5, auto_granularity 1000)."""

    device: UnitCell = field(
        default_factory=_chopped(ReRamSBPresetDevice, 0.5, 1000, 0.01, subtract_symmetry_point=True)
    )
    update: UpdateParameters = field(default_factory=_update(31))


@dataclass
class ChoppedTTv2CapacitorPreset(_UnitCellPreset):
    """c-TTv2 (``ChoppedTransferCompound``) on two of the capacitor cell: input choppers flipped
    with probability 0.01 per transfer (fast_lr 0.1, auto_granularity 1000)."""

    device: UnitCell = field(default_factory=_chopped(CapacitorPresetDevice, 0.1, 1000, 0.01))
    update: UpdateParameters = field(default_factory=_update(31))


@dataclass
class ChoppedTTv2EcRamPreset(_UnitCellPreset):
    """c-TTv2 (``ChoppedTransferCompound``) on two of the Li-ion ECRAM device: input choppers
    flipped with probability 0.01 per transfer (fast_lr 1.0, auto_granularity 500)."""

    device: UnitCell = field(default_factory=_chopped(EcRamPresetDevice, 1.0, 500, 0.01))
    update: UpdateParameters = field(default_factory=_update(100))


@dataclass
class ChoppedTTv2EcRamMOPreset(_UnitCellPreset):
    """c-TTv2 (``ChoppedTransferCompound``) on two of the metal-oxide ECRAM device: input choppers
    flipped with probability 0.001 per transfer (fast_lr 0.1, auto_granularity 500)."""

    device: UnitCell = field(default_factory=_chopped(EcRamMOPresetDevice, 0.1, 500, 0.001))
    update: UpdateParameters = field(default_factory=_update(100))


@dataclass
class ChoppedTTv2IdealizedPreset(_UnitCellPreset):
    """c-TTv2 (``ChoppedTransferCompound``) on two of the idealized device: input choppers flipped
    with probability 0.001 per transfer (fast_lr 0.1, auto_granularity 500)."""

    device: UnitCell = field(default_factory=_chopped(IdealizedPresetDevice, 0.1, 500, 0.001))
    update: UpdateParameters = field(default_factory=_update(100))


@dataclass
class AGADReRamESPreset(_UnitCellPreset):
    """AGAD (``DynamicTransferCompound``) on two of the exp-step ReRAM device: chopper period 50
    passes, tail weightening 5.0 (fast_lr 0.5, auto_granularity 1000)."""

    device: UnitCell = field(default_factory=_agad(ReRamESPresetDevice, 0.5, 1000, 0.02, 5.0))
    update: UpdateParameters = field(default_factory=_update(31))


@dataclass
class AGADReRamSBPreset(_UnitCellPreset):
    """AGAD (``DynamicTransferCompound``) on two of the soft-bounds ReRAM device: chopper period 50
    passes, tail weightening 5.0 (fast_lr 0.5, auto_granularity 1000)."""

    device: UnitCell = field(
        default_factory=_agad(
            ReRamSBPresetDevice, 0.5, 1000, 0.02, 5.0, subtract_symmetry_point=True
        )
    )
    update: UpdateParameters = field(default_factory=_update(31))


@dataclass
class AGADCapacitorPreset(_UnitCellPreset):
    """AGAD (``DynamicTransferCompound``) on two of the capacitor cell: chopper period 100 passes,
    tail weightening 20.0 (fast_lr 0.1, auto_granularity 1000)."""

    device: UnitCell = field(default_factory=_agad(CapacitorPresetDevice, 0.1, 1000, 0.01, 20.0))
    update: UpdateParameters = field(default_factory=_update(31))


@dataclass
class AGADEcRamPreset(_UnitCellPreset):
    """AGAD (``DynamicTransferCompound``) on two of the Li-ion ECRAM device: chopper period 200
    passes, tail weightening 50.0 (fast_lr 0.1, auto_granularity 750)."""

    device: UnitCell = field(default_factory=_agad(EcRamPresetDevice, 0.1, 750, 0.005, 50.0))
    update: UpdateParameters = field(default_factory=_update(31))


@dataclass
class AGADEcRamMOPreset(_UnitCellPreset):
    """AGAD (``DynamicTransferCompound``) on two of the metal-oxide ECRAM device: chopper period
    200 passes, tail weightening 50.0 (fast_lr 0.1, auto_granularity 500)."""

    device: UnitCell = field(default_factory=_agad(EcRamMOPresetDevice, 0.1, 500, 0.005, 50.0))
    update: UpdateParameters = field(default_factory=_update(100))


@dataclass
class AGADIdealizedPreset(_UnitCellPreset):
    """AGAD (``DynamicTransferCompound``) on two of the idealized device: chopper period 200
    passes, tail weightening 50.0 (fast_lr 0.1, auto_granularity 500)."""

    device: UnitCell = field(default_factory=_agad(IdealizedPresetDevice, 0.1, 500, 0.005, 50.0))
    update: UpdateParameters = field(default_factory=_update(100))


@dataclass
class MixedPrecisionReRamESPreset(_MixedPrecisionPreset):
    """Mixed precision (``MixedPrecisionCompound``) on the exp-step ReRAM device."""

    device: DigitalRankUpdateCell = field(default_factory=_mixed(ReRamESPresetDevice))


@dataclass
class MixedPrecisionReRamSBPreset(_MixedPrecisionPreset):
    """Mixed precision (``MixedPrecisionCompound``) on the soft-bounds ReRAM device."""

    device: DigitalRankUpdateCell = field(default_factory=_mixed(ReRamSBPresetDevice))


@dataclass
class MixedPrecisionCapacitorPreset(_MixedPrecisionPreset):
    """Mixed precision (``MixedPrecisionCompound``) on the capacitor cell."""

    device: DigitalRankUpdateCell = field(default_factory=_mixed(CapacitorPresetDevice))


@dataclass
class MixedPrecisionEcRamPreset(_MixedPrecisionPreset):
    """Mixed precision (``MixedPrecisionCompound``) on the Li-ion ECRAM device."""

    device: DigitalRankUpdateCell = field(default_factory=_mixed(EcRamPresetDevice))


@dataclass
class MixedPrecisionEcRamMOPreset(_MixedPrecisionPreset):
    """Mixed precision (``MixedPrecisionCompound``) on the metal-oxide ECRAM device."""

    device: DigitalRankUpdateCell = field(default_factory=_mixed(EcRamMOPresetDevice))


@dataclass
class MixedPrecisionIdealizedPreset(_MixedPrecisionPreset):
    """Mixed precision (``MixedPrecisionCompound``) on the idealized device."""

    device: DigitalRankUpdateCell = field(default_factory=_mixed(IdealizedPresetDevice))


@dataclass
class MixedPrecisionGokmenVlasovPreset(_MixedPrecisionPreset):
    """Mixed precision (``MixedPrecisionCompound``) on the Gokmen-Vlasov device."""

    device: DigitalRankUpdateCell = field(default_factory=_mixed(GokmenVlasovPresetDevice))


@dataclass
class MixedPrecisionPCMPreset(_MixedPrecisionPreset):
    """Mixed precision (``MixedPrecisionCompound``) on the PCM device."""

    device: DigitalRankUpdateCell = field(default_factory=_mixed(PCMPresetDevice))


__all__ = [
    "AGADCapacitorPreset",
    "AGADEcRamMOPreset",
    "AGADEcRamPreset",
    "AGADIdealizedPreset",
    "AGADReRamESPreset",
    "AGADReRamSBPreset",
    "Capacitor2Preset",
    "Capacitor4Preset",
    "CapacitorPreset",
    "ChoppedTTv2CapacitorPreset",
    "ChoppedTTv2EcRamMOPreset",
    "ChoppedTTv2EcRamPreset",
    "ChoppedTTv2IdealizedPreset",
    "ChoppedTTv2ReRamESPreset",
    "ChoppedTTv2ReRamSBPreset",
    "EcRam2Preset",
    "EcRam4Preset",
    "EcRamMO2Preset",
    "EcRamMO4Preset",
    "EcRamMOPreset",
    "EcRamPreset",
    "GokmenVlasovPreset",
    "Idealized2Preset",
    "Idealized4Preset",
    "IdealizedPreset",
    "MixedPrecisionCapacitorPreset",
    "MixedPrecisionEcRamMOPreset",
    "MixedPrecisionEcRamPreset",
    "MixedPrecisionGokmenVlasovPreset",
    "MixedPrecisionIdealizedPreset",
    "MixedPrecisionPCMPreset",
    "MixedPrecisionReRamESPreset",
    "MixedPrecisionReRamSBPreset",
    "PCMPreset",
    "PCMPresetUnitCell",
    "ReRamES2Preset",
    "ReRamES4Preset",
    "ReRamESPreset",
    "ReRamSB2Preset",
    "ReRamSB4Preset",
    "ReRamSBPreset",
    "TTv2CapacitorPreset",
    "TTv2EcRamMOPreset",
    "TTv2EcRamPreset",
    "TTv2IdealizedPreset",
    "TTv2ReRamESPreset",
    "TTv2ReRamSBPreset",
    "TikiTakaCapacitorPreset",
    "TikiTakaEcRamMOPreset",
    "TikiTakaEcRamPreset",
    "TikiTakaIdealizedPreset",
    "TikiTakaReRamESPreset",
    "TikiTakaReRamSBPreset",
]
