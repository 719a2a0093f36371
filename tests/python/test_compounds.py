"""Unit cells and transfer compounds in layers: training, hidden weights, saved state, backends,
set_weights semantics and bad configurations."""

from __future__ import annotations

import io
import pickle
from typing import Any, Callable

import pytest
import torch

import rpusim
from rpusim import AnalogTile
from rpusim.configs import (
    BufferedTransferCompound,
    ChoppedTransferCompound,
    ConstantStepDevice,
    DigitalRankUpdateRPUConfig,
    DynamicTransferCompound,
    ExpStepDevice,
    FloatingPointDevice,
    IdealDevice,
    MixedPrecisionCompound,
    OneSidedUnitCell,
    ReferenceUnitCell,
    SingleRPUConfig,
    SoftBoundsDevice,
    SoftBoundsReferenceDevice,
    TransferCompound,
    UnitCellRPUConfig,
    VectorUnitCell,
    VectorUnitCellUpdatePolicy,
)
from rpusim.exceptions import ConfigError
from rpusim.nn import AnalogConv2d, AnalogLinear, AnalogSequential
from rpusim.optim import AnalogSGD


def _sb(**kwargs: Any) -> SoftBoundsDevice:
    return SoftBoundsDevice(dw_min=0.01, **kwargs)


def _reram(**kwargs: Any) -> SoftBoundsReferenceDevice:
    return SoftBoundsReferenceDevice(
        dw_min=0.01, write_noise_std=2.0, subtract_symmetry_point=True, **kwargs
    )


CONFIGS: dict[str, Callable[[], Any]] = {
    "vector": lambda: UnitCellRPUConfig(
        device=VectorUnitCell(
            unit_cell_devices=[_sb(), _sb()],
            update_policy=VectorUnitCellUpdatePolicy.SINGLE_SEQUENTIAL,
        )
    ),
    "one-sided": lambda: UnitCellRPUConfig(
        device=OneSidedUnitCell(
            unit_cell_devices=[
                ConstantStepDevice(dw_min=0.01, w_min=0.0, w_max=0.5, w_min_dtod=0.0)
            ]
            * 2,
            refresh_every=1,
        )
    ),
    "one-sided-inverted": lambda: UnitCellRPUConfig(
        device=OneSidedUnitCell(
            unit_cell_devices=[_sb(up_down=0.3), _sb(up_down=0.3)],
            copy_inverted=True,
            refresh_every=2,
        )
    ),
    "tiki-taka": lambda: UnitCellRPUConfig(
        device=TransferCompound(unit_cell_devices=[_reram(), _reram()], gamma=0.1, fast_lr=0.1)
    ),
    "ttv2": lambda: UnitCellRPUConfig(
        device=BufferedTransferCompound(unit_cell_devices=[_sb(), _sb()], fast_lr=0.1)
    ),
    "c-ttv2": lambda: UnitCellRPUConfig(
        device=ChoppedTransferCompound(
            unit_cell_devices=[_reram(), _reram()],
            fast_lr=0.1,
            auto_scale=True,
            in_chop_prob=0.2,
        )  # fmt: skip
    ),
    "agad": lambda: UnitCellRPUConfig(
        device=DynamicTransferCompound(
            unit_cell_devices=[_reram(), _reram()], fast_lr=0.1, in_chop_prob=0.2
        )
    ),
    "mixed-precision": lambda: DigitalRankUpdateRPUConfig(
        device=MixedPrecisionCompound(device=_sb(), n_x_bins=15, n_d_bins=15)
    ),
}


def _model(config: Any, backend: str) -> AnalogSequential:
    torch.manual_seed(3)
    return AnalogSequential(
        AnalogConv2d(1, 3, 3, rpu_config=config, backend=backend),
        torch.nn.Tanh(),
        torch.nn.Flatten(),
        AnalogLinear(3 * 4 * 4, 4, rpu_config=config, backend=backend),
    )


def _train(model: torch.nn.Module, steps: int, seed: int = 0) -> list[float]:
    opt = AnalogSGD(model.parameters(), lr=0.1)
    opt.regroup_param_groups(model)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        x = torch.rand(6, 1, 6, 6, generator=gen)
        y = torch.randint(0, 4, (6,), generator=gen)
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    return losses


def _state(model: AnalogSequential) -> list[dict[str, torch.Tensor]]:
    return [layer.get_hidden_weights() for layer in model.analog_layers()]


@pytest.mark.parametrize("name", list(CONFIGS))
def test_compounds_train_and_restore_bit_identically(name: str, backend: str) -> None:
    model = _model(CONFIGS[name](), backend)
    _train(model, 4)
    saved = io.BytesIO()
    torch.save(model.state_dict(), saved)
    copy = _model(CONFIGS[name](), backend)
    saved.seek(0)
    copy.load_state_dict(torch.load(saved, weights_only=False))
    pickled = pickle.loads(pickle.dumps(model))
    _train(model, 3, seed=1)
    _train(copy, 3, seed=1)
    _train(pickled, 3, seed=1)
    for a, b, c in zip(_state(model), _state(copy), _state(pickled)):
        assert a.keys() == b.keys() == c.keys()
        for key in a:
            assert torch.equal(a[key], b[key]), f"{name} {key} after state_dict"
            assert torch.equal(a[key], c[key]), f"{name} {key} after pickle"


@pytest.mark.parametrize("name", ["tiki-taka", "c-ttv2", "mixed-precision"])
def test_moving_between_backends_continues_the_run(name: str) -> None:
    reason = rpusim.gpu_unavailable_reason()
    if reason is not None:
        pytest.skip(f"gpu backend unavailable: {reason}")
    reference = _model(CONFIGS[name](), "cpu")
    moved = _model(CONFIGS[name](), "cpu")
    _train(reference, 3)
    _train(moved, 3)
    moved.to_backend("gpu")
    _train(reference, 2, seed=1)
    _train(moved, 2, seed=1)
    moved.to_backend("cpu")
    for a, b in zip(_state(reference), _state(moved)):
        for key in a:
            # The same pulses on both backends; float sums may differ in the last bit.
            torch.testing.assert_close(a[key], b[key], atol=1e-5, rtol=0, msg=key)


def test_hidden_weights_name_every_array() -> None:
    config = CONFIGS["agad"]()
    layer = AnalogLinear(5, 3, rpu_config=config)
    hidden = layer.get_hidden_weights()
    assert set(hidden) == {
        "array_0", "array_1", "persistent_0", "persistent_1", "buffer_0", "running_mean",
        "past_mean",
    }  # fmt: skip
    assert all(v.shape == (3, 5) for v in hidden.values())
    # The visible weight of a hidden-fast-array compound is the slow array.
    torch.testing.assert_close(layer.get_weights()[0], hidden["array_1"])
    # A layer split over tiles stitches them.
    config.mapping.max_input_size = 4
    split = AnalogLinear(9, 3, rpu_config=config)
    assert split.analog_tile.array_count == 2
    assert all(v.shape == (3, 9) for v in split.get_hidden_weights().values())


def test_set_weights_follows_the_reference_per_cell() -> None:
    w = torch.tensor([[0.2, -0.1], [0.0, 0.3]])
    plain = ConstantStepDevice(dw_min_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0)
    transfer = AnalogTile(2, 2, UnitCellRPUConfig(device=TransferCompound(
        unit_cell_devices=[plain, plain], gamma=0.5)))  # fmt: skip
    transfer.set_weights(w)
    h = transfer.get_hidden_weights()
    assert torch.equal(h["array_0"], torch.zeros(2, 2)) and torch.equal(h["array_1"], w)
    reference = AnalogTile(2, 2, UnitCellRPUConfig(device=ReferenceUnitCell(
        unit_cell_devices=[plain, plain])))  # fmt: skip
    reference.set_weights(w)
    h = reference.get_hidden_weights()
    assert torch.equal(h["array_0"], w) and torch.equal(h["array_1"], torch.zeros(2, 2))
    vector = AnalogTile(2, 2, UnitCellRPUConfig(device=VectorUnitCell(
        unit_cell_devices=[plain, plain, plain])))  # fmt: skip
    vector.set_weights(w)
    assert all(torch.equal(v, w) for v in vector.get_hidden_weights().values())
    torch.testing.assert_close(vector.get_weights(), w)
    half = ConstantStepDevice(w_min=0.0, w_min_dtod=0.0, w_max_dtod=0.0)
    one_sided = AnalogTile(2, 2, UnitCellRPUConfig(device=OneSidedUnitCell(
        unit_cell_devices=[half, half])))  # fmt: skip
    one_sided.set_weights(w)
    h = one_sided.get_hidden_weights()
    assert torch.equal(h["array_1"], w.clamp(min=0)) and torch.equal(
        h["array_0"], (-w).clamp(min=0)
    )
    torch.testing.assert_close(one_sided.get_weights(), w)


@pytest.mark.parametrize(
    ("config", "name"),
    [
        (UnitCellRPUConfig(device=VectorUnitCell()), "device.unit_cell_devices"),
        (
            UnitCellRPUConfig(device=VectorUnitCell(unit_cell_devices=[IdealDevice()])),
            "device.unit_cell_devices[0]",
        ),
        (
            UnitCellRPUConfig(
                device=VectorUnitCell(unit_cell_devices=[_sb(), _sb()], gamma_vec=[1.0])
            ),
            "device.gamma_vec",
        ),
        (
            UnitCellRPUConfig(device=ReferenceUnitCell(unit_cell_devices=[_sb()])),
            "device.unit_cell_devices",
        ),
        (
            UnitCellRPUConfig(
                device=TransferCompound(unit_cell_devices=[_sb(), _sb()], gamma_vec=[1.0, 0.0])
            ),
            "device.gamma_vec",
        ),
        (
            UnitCellRPUConfig(
                device=ChoppedTransferCompound(unit_cell_devices=[_sb(), _sb(), _sb()])
            ),
            "device.unit_cell_devices",
        ),
        (
            UnitCellRPUConfig(
                device=ChoppedTransferCompound(unit_cell_devices=[_sb(), _sb()], gamma=0.1)
            ),
            "device.gamma",
        ),
        (
            UnitCellRPUConfig(
                device=DynamicTransferCompound(unit_cell_devices=[_sb(), _sb()], in_chop_prob=0.0)
            ),
            "device.in_chop_prob",
        ),
        (
            UnitCellRPUConfig(
                device=TransferCompound(
                    unit_cell_devices=[_sb(), _sb()], transfer_columns=False, with_reset_prob=0.1
                )
            ),
            "device.with_reset_prob",
        ),
        (
            UnitCellRPUConfig(device=OneSidedUnitCell(unit_cell_devices=[_sb(w_max=-0.1)] * 2)),
            "device.unit_cell_devices[0].w_max",
        ),
        (
            UnitCellRPUConfig(
                device=OneSidedUnitCell(
                    unit_cell_devices=[ExpStepDevice(), ExpStepDevice()], copy_inverted=True
                )
            ),
            "device.unit_cell_devices[0]",
        ),
        (
            UnitCellRPUConfig(
                device=TransferCompound(unit_cell_devices=[_sb(), _sb()], transfer_lr="fast")  # type: ignore[arg-type]
            ),
            "device.transfer_lr",
        ),
        (UnitCellRPUConfig(device=ConstantStepDevice()), "device"),  # type: ignore[arg-type]
        (
            DigitalRankUpdateRPUConfig(device=MixedPrecisionCompound(device=FloatingPointDevice())),  # type: ignore[arg-type]
            "device.device",
        ),
        (
            DigitalRankUpdateRPUConfig(device=MixedPrecisionCompound(n_x_bins=-2)),
            "device.n_x_bins",
        ),
        (SingleRPUConfig(device=TransferCompound()), "device"),  # type: ignore[arg-type]
    ],
)
def test_bad_compound_configs_name_the_parameter(config: Any, name: str) -> None:
    with pytest.raises(ConfigError, match=name.replace(".", r"\.").replace("[", r"\[")):
        AnalogTile(3, 3, config)
