"""Unit cells and compounds: several devices per cross-point (reference §6).

A unit cell holds one device array per entry of ``unit_cell_devices``; the weight the periphery
sees is W = Σ_k γ_k W_k. ``VectorUnitCell``, ``ReferenceUnitCell`` and ``OneSidedUnitCell`` pulse
their devices directly; the transfer compounds (``TransferCompound`` = Tiki-Taka,
``BufferedTransferCompound`` = TTv2, ``ChoppedTransferCompound`` = c-TTv2,
``DynamicTransferCompound`` = AGAD) pulse a fast array A with the gradient and transfer its
columns into slower arrays; ``MixedPrecisionCompound`` accumulates the gradient digitally.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from rpusim.configs.devices import ConstantStepDevice, PulsedDevice
from rpusim.configs.encode import encode_fields
from rpusim.configs.io import IOParameters
from rpusim.configs.update import UpdateParameters
from rpusim.exceptions import ConfigError


class VectorUnitCellUpdatePolicy(Enum):
    """Which devices of a ``VectorUnitCell`` receive an update (once per mini-batch)."""

    ALL = "ALL"
    """Every device, with the same coincidences (each with its own cycle-to-cycle noise)."""
    SINGLE_FIXED = "SINGLE_FIXED"
    """Only device ``first_update_idx``."""
    SINGLE_SEQUENTIAL = "SINGLE_SEQUENTIAL"
    """One device per update, in turn."""
    SINGLE_RANDOM = "SINGLE_RANDOM"
    """One random device per update."""


def _floats(name: str, values: Any) -> list[float]:
    if not isinstance(values, (list, tuple)) or not all(
        isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in values
    ):
        raise ConfigError(f"{name}: expected a list of finite numbers, got {values!r}")
    return [float(v) for v in values]


def _devices(prefix: str, devices: Any) -> list[dict[str, Any]]:
    if not isinstance(devices, (list, tuple)):
        raise ConfigError(
            f"{prefix}.unit_cell_devices: expected a list of devices, got {devices!r}"
        )
    out = []
    for k, d in enumerate(devices):
        name = f"{prefix}.unit_cell_devices[{k}]"
        if not isinstance(d, PulsedDevice) or type(d) is PulsedDevice:
            raise ConfigError(
                f"{name}: expected a pulsed device model (ConstantStepDevice, SoftBoundsDevice, "
                f"...), got {type(d).__name__}"
            )
        out.append(d.to_core(name))
    return out


def _compound_core(obj: Any, prefix: str, core_type: str) -> dict[str, Any]:
    """The core's form of a unit cell: its type, devices, nested periphery settings, lists and
    scalar fields."""
    nested = {}
    lists = {}
    skip = ["unit_cell_devices"]
    defaults = type(obj)()
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if f.name == "unit_cell_devices":
            continue
        if isinstance(value, (IOParameters, UpdateParameters)) or f.name.endswith(
            ("_forward", "_update")
        ):
            if not isinstance(value, (IOParameters, UpdateParameters)):
                raise ConfigError(
                    f"{prefix}.{f.name}: expected IOParameters or UpdateParameters, got {value!r}"
                )
            nested[f.name] = value.to_core(f"{prefix}.{f.name}")
            skip.append(f.name)
        elif isinstance(getattr(defaults, f.name), list):
            lists[f.name] = _floats(f"{prefix}.{f.name}", value)
            skip.append(f.name)
    if isinstance(obj, TransferCompound):
        _check_transfer_rates(obj, prefix)
    return {
        "type": core_type,
        "unit_cell_devices": _devices(prefix, obj.unit_cell_devices),
        **encode_fields(obj, prefix, skip=tuple(skip)),
        **lists,
        **nested,
    }


def _check_transfer_rates(cell: TransferCompound, prefix: str) -> None:
    """Learning rates and periods that are negative have no meaning (a negative transfer_every
    is the chopped family's automatic period)."""
    for name in ("fast_lr", "transfer_lr"):
        value = getattr(cell, name)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
            raise ConfigError(f"{prefix}.{name}: must be >= 0, got {value}")
    if isinstance(cell.transfer_lr_vec, (list, tuple)):
        for k, value in enumerate(cell.transfer_lr_vec):
            if isinstance(value, (int, float)) and value < 0:
                raise ConfigError(f"{prefix}.transfer_lr_vec[{k}]: must be >= 0, got {value}")
    every = cell.transfer_every
    if (
        isinstance(every, (int, float))
        and every < 0
        and not isinstance(cell, ChoppedTransferCompound)
    ):
        raise ConfigError(
            f"{prefix}.transfer_every: must be >= 0 (0: never), got {every}; a negative period "
            f"(automatic) exists only for the chopped compounds"
        )


@dataclass
class UnitCell:
    """Base of the unit cells: a list of devices per cross-point."""

    unit_cell_devices: list[PulsedDevice] = field(default_factory=list)
    """The device of each array."""
    construction_seed: int = 0
    """Seed of the device-to-device draws of all arrays if ≠ 0 (else the tile's seed)."""


@dataclass
class VectorUnitCell(UnitCell):
    """Several devices per cross-point, W = Σ_k γ_k W_k (γ_k = 1/n unless ``gamma_vec``);
    ``update_policy`` picks which devices an update pulses (once per mini-batch)."""

    update_policy: VectorUnitCellUpdatePolicy = VectorUnitCellUpdatePolicy.ALL
    """Which devices receive the pulses of an update."""
    first_update_idx: int = 0
    """The device of ``SINGLE_FIXED`` (and where ``SINGLE_SEQUENTIAL`` starts)."""
    gamma_vec: list[float] = field(default_factory=list)
    """Weight γ_k of each device (empty: 1/n each)."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return _compound_core(self, prefix, "VectorUnitCell")


@dataclass
class ReferenceUnitCell(UnitCell):
    """Two devices, W = W₀ − W₁: the pulses go to device 0, device 1 is a reference that keeps
    the value it was set to (0 after ``set_weights``)."""

    update_policy: VectorUnitCellUpdatePolicy = VectorUnitCellUpdatePolicy.SINGLE_FIXED
    """Which devices receive the pulses of an update."""
    first_update_idx: int = 0
    """The updated device."""
    gamma_vec: list[float] = field(default_factory=lambda: [1.0, -1.0])
    """Weights of the two devices."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return _compound_core(self, prefix, "ReferenceUnitCell")


@dataclass
class OneSidedUnitCell(UnitCell):
    """A pair of uni-directional devices, W = W⁺ − W⁻ (``unit_cell_devices[1]`` is W⁺): up pulses
    go to W⁺, down pulses to W⁻ (both devices only ever grow). Every ``refresh_every`` updates
    (mini-batches with ``units_in_mbatch``), both are read through ``refresh_forward``; where the
    larger is above ``refresh_upper_thres`` and the smaller above ``refresh_lower_thres`` (of
    their w_max), both are reset and the difference is written into the larger one with
    ``refresh_update``."""

    refresh_every: int = 0
    """Updates between refreshes (0: never)."""
    units_in_mbatch: bool = True
    """Count ``refresh_every`` in mini-batches (else in vector updates)."""
    refresh_upper_thres: float = 0.75
    """Upper threshold of the refresh (relative to w_max)."""
    refresh_lower_thres: float = 0.25
    """Lower threshold of the refresh."""
    refresh_forward: IOParameters = field(default_factory=IOParameters)
    """Periphery of the refresh reads."""
    refresh_update: UpdateParameters = field(default_factory=UpdateParameters)
    """Pulsed update of the refresh writes."""
    copy_inverted: bool = False
    """The W⁺ device (the second) takes the first device's down behaviour, mirrored: its up and
    down steps swap, its bounds mirror, linear-step slopes come from the first device with the
    directions swapped (constant and linear steps, soft bounds)."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return _compound_core(self, prefix, "OneSidedUnitCell")


@dataclass
class TransferCompound(UnitCell):
    """Tiki-Taka (Gokmen & Haensch 2020). The first device is the fast array A, which receives the
    gradient pulses with the fixed rate ``fast_lr`` (if > 0; else the optimizer's); the second
    device is used for every further array (the last one is C). After every
    ``transfer_every``-th vector update (mini-batch with ``units_in_mbatch``), the next
    ``n_reads_per_transfer`` columns of A are read through ``transfer_forward`` (noise and bound
    management off) and written into the next array by a pulsed update of the one-hot input,
    C[:, i] += transfer_lr·lr·A[:, i] in expectation (``transfer_update``). Further arrays
    transfer geometrically less often. The visible weight is Σ_k γ^(n−1−k) W_k: with γ = 0 only
    the last array; γ > 0 is "residual learning"."""

    gamma: float = 0.0
    """Weight of each array relative to the next (visible W = Σ γ^(n−1−k) W_k)."""
    gamma_vec: list[float] = field(default_factory=list)
    """Explicit weights of the arrays (the last must not be 0)."""
    transfer_every: float = 1.0
    """Vector updates (mini-batches with ``units_in_mbatch``) between transfers out of A."""
    no_self_transfer: bool = True
    """The last array never transfers to itself."""
    transfer_every_vec: list[float] = field(default_factory=list)
    """Explicit transfer periods per array (default: ×(rows / n_reads) per array)."""
    units_in_mbatch: bool = True
    """Count the periods in mini-batches (else in vector updates)."""
    n_reads_per_transfer: int = 1
    """Consecutive columns (rows) read per transfer."""
    transfer_columns: bool = True
    """Read columns with one-hot forward inputs (False: rows with one-hot backward inputs)."""
    with_reset_prob: float = 0.0
    """Probability to reset a transferred column of the source to its reset value."""
    random_selection: bool = False
    """Pick a random column per transfer instead of the next one."""
    fast_lr: float = 1.0
    """Fixed learning rate of the gradient pulses on A (0: the optimizer's)."""
    transfer_lr: float = 1.0
    """Learning rate of the transfer writes."""
    transfer_lr_vec: list[float] = field(default_factory=list)
    """Explicit transfer learning rate per source array."""
    scale_transfer_lr: bool = True
    """Multiply the transfer learning rate by the optimizer's."""
    transfer_forward: IOParameters = field(default_factory=IOParameters)
    """Periphery of the transfer reads (noise and bound management are turned off)."""
    transfer_update: UpdateParameters = field(default_factory=UpdateParameters)
    """Pulsed update of the transfer writes."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return _compound_core(self, prefix, "TransferCompound")


def _short_transfer_update() -> UpdateParameters:
    return UpdateParameters(desired_bl=1, update_bl_management=False, update_management=False)


@dataclass
class BufferedTransferCompound(TransferCompound):
    """TTv2 without choppers (Gokmen 2021): each transfer read is added, times the transfer
    learning rate, to a digital buffer per device; where the buffer exceeds
    thres_scale·(the target's dw_min), that many whole steps (at most ``desired_bl`` of
    ``transfer_update``) are written and the buffer keeps ``momentum`` of itself
    (``forget_buffer``) or loses the written part."""

    thres_scale: float = 1.0
    """Buffer threshold in units of the target device's granularity."""
    step: float = 1.0
    """Size of a written step, in units of the target's granularity."""
    momentum: float = 0.1
    """Fraction the buffer keeps after a write (``forget_buffer``)."""
    forget_buffer: bool = True
    """After a write keep momentum·buffer (else subtract (1 − momentum)·steps)."""
    transfer_update: UpdateParameters = field(default_factory=_short_transfer_update)
    """Pulsed update of the transfer writes (one pulse per step with desired_bl = 1)."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return _compound_core(self, prefix, "BufferedTransferCompound")


@dataclass
class ChoppedTransferCompound(TransferCompound):
    """c-TTv2 (Rasch et al. 2024): two arrays, A hidden (γ = 0). A is written with sign
    "choppers" on its inputs (flipped per column at its transfer with ``in_chop_prob``) and
    outputs (``out_chop_prob`` per full pass), undone at the read, which cancels A's device bias
    out of the transfer. Reads go through a buffer with threshold 1 after scaling by
    lr/buffer_granularity (``auto_granularity`` sets it per column period); ``auto_scale``
    normalises the gradient on A by running averages of max|x| and max|d|."""

    in_chop_prob: float = 0.1
    """Probability (or with ``in_chop_random = False`` the frequency) of an input chopper flip."""
    in_chop_random: bool = True
    """Flip the input choppers at random (else regularly)."""
    out_chop_prob: float = 0.0
    """Probability of an output chopper flip per full pass."""
    buffer_granularity: float = 1.0
    """Buffer threshold in units of A's granularity."""
    auto_granularity: float = 0.0
    """If > 0: the threshold is scaled by auto_granularity/(columns·transfer_every)."""
    step: float = 1.0
    """Size of a written step, in units of C's granularity."""
    momentum: float = 0.0
    """Fraction the buffer keeps after a write."""
    forget_buffer: bool = True
    """After a write keep momentum·buffer (else subtract (1 − momentum)·steps)."""
    no_buffer: bool = False
    """No buffer: every read is thresholded on its own (Tiki-Taka v1 with choppers)."""
    units_in_mbatch: bool = False
    """Count the period in mini-batches (else in vector updates)."""
    auto_scale: bool = False
    """Scale A's learning rate by fast_lr·BL·dw_min/(m_x·m_d), m running averages of max|x|,
    max|d|."""
    auto_momentum: float = 0.99
    """Momentum of those running averages."""
    correct_gradient_magnitudes: bool = False
    """Divide the transfer by A's pulse-count learning rate."""
    transfer_update: UpdateParameters = field(default_factory=_short_transfer_update)
    """Pulsed update of the transfer writes."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return _compound_core(self, prefix, "ChoppedTransferCompound")


@dataclass
class DynamicTransferCompound(ChoppedTransferCompound):
    """AGAD (Rasch et al. 2024): chopped transfer whose buffer accumulates the change of each
    read against the running mean of the reads at the last chopper switch (the chopper of a
    column switches every ⌈1/in_chop_prob⌉ passes), so that A's drift and offset cancel; writes
    start after the first chopper period. ``tail_weightening`` weights the end of a period in
    the running mean."""

    in_chop_prob: float = 0.1
    """Frequency of the input chopper switches (per pass; must be > 0)."""
    in_chop_random: bool = False
    """Switch at random instead of regularly."""
    experimental_correct_accumulation: bool = False
    """Divide the transfer by the samples in the current period."""
    buffer_cap: float = 0.0
    """Cap of the buffer in units of desired_bl (0: none; only without ``forget_buffer``)."""
    tail_weightening: float = 5.0
    """Weight of the latest reads in the running mean (momentum tail_weightening/period)."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        return _compound_core(self, prefix, "DynamicTransferCompound")


@dataclass
class DigitalRankUpdateCell:
    """Base of the digital rank-update cells: one analog device array."""

    device: PulsedDevice = field(default_factory=ConstantStepDevice)
    """The analog device."""
    construction_seed: int = 0
    """Seed of the device-to-device draws if ≠ 0."""


@dataclass
class MixedPrecisionCompound(DigitalRankUpdateCell):
    """Mixed precision (Nandakumar et al. 2020): the rank update lr·d xᵀ accumulates in a digital
    matrix χ; every ``transfer_every`` mini-batches ``n_rows_per_transfer`` rows (−1: all) are
    checked and trunc(χ/ε) whole steps of ε = ``granularity`` (0: the device's dw_min) are
    written to the device by pulses; χ keeps the remainder. x and d can be quantised to
    ``n_x_bins``/``n_d_bins`` levels of their absolute maximum first."""

    transfer_every: int = 1
    """Mini-batches between transfers."""
    n_rows_per_transfer: int = -1
    """Rows checked per transfer (−1: all)."""
    random_row: bool = False
    """Start at a random row (else cyclic)."""
    granularity: float = 0.0
    """ε (0: the device's dw_min)."""
    transfer_lr: float = 1.0
    """Scale of the written steps."""
    n_x_bins: int = 0
    """Quantisation levels of x (0: none)."""
    n_d_bins: int = 0
    """Quantisation levels of d (0: none)."""
    stoc_round_x: bool = True
    """Stochastic rounding of the x quantisation."""
    stoc_round_d: bool = True
    """Stochastic rounding of the d quantisation."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        device = self.device
        if not isinstance(device, PulsedDevice) or type(device) is PulsedDevice:
            raise ConfigError(
                f"{prefix}.device: expected a pulsed device model, got {type(device).__name__}"
            )
        for name in ("transfer_every", "n_x_bins", "n_d_bins", "transfer_lr", "granularity"):
            value = getattr(self, name)
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ConfigError(f"{prefix}.{name}: must be >= 0, got {value}")
        return {
            "type": "MixedPrecisionCompound",
            "device": device.to_core(f"{prefix}.device"),
            **encode_fields(self, prefix, skip=("device",)),
        }


UNIT_CELLS = (
    VectorUnitCell,
    ReferenceUnitCell,
    OneSidedUnitCell,
    TransferCompound,
)
