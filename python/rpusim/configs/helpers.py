"""``build_config``: an RPU config for a training algorithm and a device model, with the
reference's choices for each algorithm (``aihwkit.simulator.configs.helpers.build_config``)."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any, Callable, Union

from rpusim.configs.compounds import (
    ChoppedTransferCompound,
    DynamicTransferCompound,
    MixedPrecisionCompound,
    TransferCompound,
    VectorUnitCell,
    VectorUnitCellUpdatePolicy,
)
from rpusim.configs.devices import PulsedDevice
from rpusim.configs.enums import BoundManagementType, NoiseManagementType
from rpusim.configs.io import IOParameters
from rpusim.configs.rpu_configs import (
    DigitalRankUpdateRPUConfig,
    SingleRPUConfig,
    UnitCellRPUConfig,
)
from rpusim.configs.update import UpdateParameters
from rpusim.exceptions import ConfigError

ALGORITHMS = {
    "sgd": "sgd",
    "tiki-taka": "tiki-taka",
    "tt": "tiki-taka",
    "ttv1": "tiki-taka",
    "ttv2": "ttv2",
    "chopped-ttv2": "c-ttv2",
    "ttv3": "c-ttv2",
    "c-ttv2": "c-ttv2",
    "agad": "agad",
    "ttv4": "agad",
    "mp": "mp",
    "mixed-precision": "mp",
}


def _factory(value: Any, kind: type, name: str) -> Callable[..., Any]:
    """A function making fresh copies: of an instance (with fields replaced by keywords), a
    class or any callable."""
    if isinstance(value, kind):

        def copy_of(**changes: Any) -> Any:
            return dataclasses.replace(copy.deepcopy(value), **changes)  # type: ignore[type-var]

        return copy_of
    if callable(value):
        return value  # type: ignore[no-any-return]
    raise ConfigError(
        f"{name}: expected a {kind.__name__} class, instance or factory, got {value!r}"
    )


def build_config(
    algorithm: str,
    device: Union[type[PulsedDevice], PulsedDevice, Callable[..., PulsedDevice]],
    io_parameters: Union[type[IOParameters], IOParameters, Callable[..., IOParameters]] = (
        IOParameters
    ),
    up_parameters: Union[
        type[UpdateParameters], UpdateParameters, Callable[..., UpdateParameters]
    ] = UpdateParameters,
    n_devices: int = 1,
    construction_seed: int = 0,
    **kwargs: Any,
) -> Union[SingleRPUConfig, UnitCellRPUConfig, DigitalRankUpdateRPUConfig]:
    """An RPU config training with ``algorithm`` on devices of model ``device`` (a class, an
    instance to copy, or a factory), as the reference builds it:

    - ``"sgd"``: plain pulsed SGD, ``SingleRPUConfig`` (``n_devices`` > 1: a ``VectorUnitCell``
      of that many devices, one random device pulsed per mini-batch);
    - ``"tiki-taka"`` (``"tt"``, ``"ttv1"``): ``TransferCompound`` of two devices, transfers
      counted in mini-batches, read without noise or bound management;
    - ``"ttv2"``: ``ChoppedTransferCompound`` without choppers (``in_chop_prob=0``), no auto
      scaling, one-pulse transfer writes, gradient update with ``desired_bl=5``;
    - ``"c-ttv2"`` (``"chopped-ttv2"``, ``"ttv3"``): the same with choppers (the compound's
      default ``in_chop_prob``), ``fast_lr=0.1`` and auto scaling;
    - ``"agad"`` (``"ttv4"``): ``DynamicTransferCompound``, ``fast_lr=0.1``, auto scaling,
      one-pulse transfer writes with update management;
    - ``"mp"`` (``"mixed-precision"``): ``DigitalRankUpdateRPUConfig`` with a
      ``MixedPrecisionCompound`` of the device.

    ``io_parameters`` / ``up_parameters`` (class, instance or factory) give the periphery of the
    forward/backward passes and transfer reads, and the update; ``construction_seed`` seeds the
    device-to-device draws; ``kwargs`` set further fields of the config (e.g. ``mapping``).
    Raises ConfigError for an unknown algorithm.
    """
    if not isinstance(algorithm, str) or algorithm.lower() not in ALGORITHMS:
        raise ConfigError(
            f"algorithm: unknown {algorithm!r}, expected one of {', '.join(sorted(ALGORITHMS))}"
        )
    kind = ALGORITHMS[algorithm.lower()]
    make_device = _factory(device, PulsedDevice, "device")
    make_io = _factory(io_parameters, IOParameters, "io_parameters")
    make_up = _factory(up_parameters, UpdateParameters, "up_parameters")

    def quiet_read() -> IOParameters:
        return make_io(  # type: ignore[no-any-return]
            noise_management=NoiseManagementType.NONE,
            bound_management=BoundManagementType.NONE,
        )

    if kind == "sgd":
        if n_devices == 1:
            return SingleRPUConfig(
                device=make_device(construction_seed=construction_seed),
                forward=make_io(),
                backward=make_io(),
                update=make_up(),
                **kwargs,
            )
        return UnitCellRPUConfig(
            device=VectorUnitCell(
                unit_cell_devices=[make_device() for _ in range(n_devices)],
                update_policy=VectorUnitCellUpdatePolicy.SINGLE_RANDOM,
                construction_seed=construction_seed,
            ),
            forward=make_io(),
            backward=make_io(),
            update=make_up(),
            **kwargs,
        )
    if kind == "tiki-taka":
        return UnitCellRPUConfig(
            device=TransferCompound(
                unit_cell_devices=[make_device(), make_device()],
                transfer_forward=quiet_read(),
                transfer_update=make_up(),
                units_in_mbatch=True,
                construction_seed=construction_seed,
            ),
            forward=make_io(),
            backward=make_io(),
            update=make_up(),
            **kwargs,
        )
    if kind in ("ttv2", "c-ttv2"):
        chopped: dict[str, Any] = (
            {"in_chop_prob": 0.0, "auto_scale": False}
            if kind == "ttv2"
            else {"fast_lr": 0.1, "auto_scale": True}
        )
        return UnitCellRPUConfig(
            device=ChoppedTransferCompound(
                unit_cell_devices=[make_device(), make_device()],
                transfer_forward=quiet_read(),
                transfer_update=make_up(
                    desired_bl=1, update_bl_management=False, update_management=False
                ),
                units_in_mbatch=False,
                construction_seed=construction_seed,
                **chopped,
            ),
            forward=make_io(),
            backward=make_io(),
            update=make_up(desired_bl=5),
            **kwargs,
        )
    if kind == "agad":
        return UnitCellRPUConfig(
            device=DynamicTransferCompound(
                unit_cell_devices=[make_device(), make_device()],
                transfer_forward=make_io(),
                transfer_update=make_up(
                    desired_bl=1, update_bl_management=True, update_management=True
                ),
                auto_scale=True,
                fast_lr=0.1,
                units_in_mbatch=False,
                construction_seed=construction_seed,
            ),
            forward=make_io(),
            backward=make_io(),
            update=make_up(desired_bl=5),
            **kwargs,
        )
    return DigitalRankUpdateRPUConfig(
        device=MixedPrecisionCompound(device=make_device(construction_seed=construction_seed)),
        forward=make_io(),
        backward=make_io(),
        update=make_up(),
        **kwargs,
    )
