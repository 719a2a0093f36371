"""Regression tests of bad calls found by fuzzing the Python front: each is refused with an
exception naming the argument, before any state changes, and nothing non-finite is stored."""

from __future__ import annotations

import copy
import math
import pickle
import time
from typing import Any

import pytest
import torch

from rpusim import AnalogTile
from rpusim.configs import (
    ChoppedTransferCompound,
    FloatingPointRPUConfig,
    InferenceRPUConfig,
    MappingParameter,
    MixedPrecisionCompound,
    SingleRPUConfig,
    SoftBoundsDevice,
    TransferCompound,
    UnitCellRPUConfig,
)
from rpusim.exceptions import BackendError, ConfigError, InputError, StateError
from rpusim.nn import AnalogConv2d, AnalogLinear, AnalogSequential
from rpusim.optim import AnalogSGD


def one_device_tiles(config: Any) -> Any:
    config.mapping = MappingParameter(max_input_size=1, max_output_size=1)
    return config


@pytest.mark.parametrize(
    "build",
    [
        lambda: AnalogLinear(1, 2**31),
        lambda: AnalogLinear(2**40, 2**40),
        lambda: AnalogConv2d(2**63, 2**63, 3),
        # Few bytes per weight but 2^27 tiles of one device each: the tiles' fixed cost.
        lambda: AnalogLinear(2**15, 2**12, rpu_config=one_device_tiles(InferenceRPUConfig())),
        # The fuzz finding: 4 194 304 tiles of 512 devices, 8 bytes per weight (17 GB) + tiles.
        lambda: AnalogLinear(2**31, 1, bias=False, rpu_config=InferenceRPUConfig()),
    ],
)
def test_layers_too_large_for_memory_are_refused_up_front(build: Any) -> None:
    start = time.perf_counter()
    with pytest.raises(MemoryError, match=r"analog layer needs about .* GB .* this machine has"):
        build()
    # Refused from the sizes alone, not after building millions of tiles.
    assert time.perf_counter() - start < 5.0


@pytest.mark.parametrize("seed", [-1, 2**64, 1.5, True, "1"])
def test_bad_seed(seed: Any) -> None:
    with pytest.raises(ConfigError, match="seed"):
        AnalogTile(2, 2, seed=seed)


@pytest.mark.parametrize("backend", [0, "", "CPU", b"cpu"])
def test_bad_backend_names(backend: Any) -> None:
    with pytest.raises(BackendError, match="backend"):
        AnalogTile(2, 2, backend=backend)
    tile = AnalogTile(2, 2)
    with pytest.raises(BackendError, match="backend"):
        tile.to_backend(backend)
    assert tile.backend == "cpu"


def test_set_weights_with_a_nan_bias_changes_nothing() -> None:
    layer = AnalogLinear(3, 2)
    weight, bias = layer.get_weights()
    with pytest.raises(InputError, match="bias"):
        layer.set_weights(torch.ones(2, 3) * 0.1, torch.tensor([0.0, float("nan")]))
    new_weight, new_bias = layer.get_weights()
    assert torch.equal(new_weight, weight) and torch.equal(new_bias, bias)


@pytest.mark.parametrize("lr", [float("nan"), float("inf"), -1.0, 1e16])
def test_optimizer_learning_rates(lr: float) -> None:
    layer = AnalogLinear(3, 2)
    with pytest.raises(InputError, match="learning rate"):
        AnalogSGD(layer.parameters(), lr=lr)
    opt = AnalogSGD(layer.parameters(), lr=0.1)
    with pytest.raises(InputError, match="learning rate"):
        opt.set_learning_rate(lr)
    # A bad lr written into a group is found at the step, before the digital bias moves.
    opt.param_groups[0]["lr"] = lr
    layer(torch.rand(4, 3)).sum().backward()
    weight, bias = layer.get_weights()
    with pytest.raises(InputError, match="lr"):
        opt.step()
    new_weight, new_bias = layer.get_weights()
    assert torch.equal(new_bias, bias) and torch.equal(new_weight, weight)


@pytest.mark.parametrize("lr", [float("inf"), 1e38, 1e15])
def test_inference_tile_never_stores_non_finite_weights(lr: float) -> None:
    layer = AnalogLinear(3, 2, rpu_config=InferenceRPUConfig())
    weight, _ = layer.get_weights()
    opt = AnalogSGD(layer.parameters(), lr=0.1)
    # A gradient of about 1e24: with lr = 1e15 (the largest allowed) the step overflows.
    (layer(torch.rand(4, 3) * 1e12) * 1e12).sum().backward()
    opt.param_groups[0]["lr"] = lr
    with pytest.raises(InputError, match="lr"):
        opt.step()
    assert torch.equal(layer.get_weights()[0], weight)
    assert bool(torch.isfinite(layer.analog_tile.stored_weights).all())


def test_tiny_weight_scaling_omega_is_refused() -> None:
    config = SingleRPUConfig(mapping=MappingParameter(weight_scaling_omega=1e-45))
    with pytest.raises(ConfigError, match="weight_scaling_omega"):
        AnalogLinear(4, 3, rpu_config=config)


def test_nan_mapping_scales_in_a_saved_state_are_refused() -> None:
    config = FloatingPointRPUConfig(mapping=MappingParameter(weight_scaling_omega=1.0))
    layer = AnalogLinear(4, 3, rpu_config=config)
    state = layer.state_dict()
    bad = copy.deepcopy(state)
    bad["analog_tile_state"]["mapping_scales"][1] = float("nan")
    with pytest.raises(StateError, match="mapping_scales"):
        layer.load_state_dict(bad)
    # The layer still works with its old state.
    assert torch.equal(
        layer.state_dict()["analog_tile_state"]["mapping_scales"],
        state["analog_tile_state"]["mapping_scales"],
    )
    wrong = copy.deepcopy(state)
    wrong["analog_tile_state"]["mapping_scales"] = torch.ones(4)
    with pytest.raises(StateError, match="shape"):
        layer.load_state_dict(wrong)


@pytest.mark.parametrize(
    ("key", "value"),
    [("stored_weights", float("inf")), ("stored_weights", float("nan"))],
)
def test_inference_state_with_non_finite_weights_is_refused(key: str, value: float) -> None:
    layer = AnalogLinear(3, 2, rpu_config=InferenceRPUConfig())
    state = layer.analog_tile.__getstate__()
    state["inference"][key] = state["inference"][key].clone()
    state["inference"][key][0, 1] = value
    blob = pickle.dumps(state)
    tile = layer.analog_tile
    before = tile.stored_weights.clone()
    with pytest.raises(StateError, match=f"inference.{key}"):
        tile.__setstate__(pickle.loads(blob))
    assert torch.equal(tile.stored_weights, before)


def _transfer(**fields: Any) -> UnitCellRPUConfig:
    devices = [SoftBoundsDevice(), SoftBoundsDevice()]
    return UnitCellRPUConfig(device=TransferCompound(unit_cell_devices=devices, **fields))


@pytest.mark.parametrize(
    ("fields", "name"),
    [
        ({"fast_lr": -1.0}, "device.fast_lr"),
        ({"transfer_lr": -0.1}, "device.transfer_lr"),
        ({"transfer_lr_vec": [1.0, -1.0]}, r"device.transfer_lr_vec\[1\]"),
        ({"transfer_every": -2.0}, "device.transfer_every"),
        ({"gamma": [0.1]}, "device.gamma"),
    ],
)
def test_transfer_compound_rates_must_not_be_negative(fields: dict[str, Any], name: str) -> None:
    with pytest.raises(ConfigError, match=name):
        AnalogTile(2, 2, _transfer(**fields))


def test_chopped_compounds_keep_the_automatic_negative_period() -> None:
    devices = [SoftBoundsDevice(), SoftBoundsDevice()]
    config = UnitCellRPUConfig(
        device=ChoppedTransferCompound(unit_cell_devices=devices, transfer_every=-1.0)
    )
    AnalogTile(2, 2, config)


@pytest.mark.parametrize("name", ["transfer_lr", "granularity"])
def test_mixed_precision_negative_values(name: str) -> None:
    from rpusim.configs import DigitalRankUpdateRPUConfig

    config = DigitalRankUpdateRPUConfig(device=MixedPrecisionCompound(**{name: -1.0}))
    with pytest.raises(ConfigError, match=f"device.{name}"):
        AnalogTile(2, 2, config)


def test_tile_update_learning_rate_must_be_finite() -> None:
    tile = AnalogTile(2, 3)
    for lr in (math.inf, math.nan, -0.5, 2e15):
        with pytest.raises(InputError, match="lr"):
            tile.update(torch.ones(1, 3), torch.ones(1, 2), lr)


def test_check_finite_finds_nan_anywhere_a_model_stores_it() -> None:
    from rpusim.nn import check_analog_state

    config = FloatingPointRPUConfig(mapping=MappingParameter(weight_scaling_omega=1.0))
    model = AnalogSequential(
        AnalogLinear(3, 4, rpu_config=config),
        torch.nn.ReLU(),
        AnalogLinear(4, 2, rpu_config=InferenceRPUConfig()),
    )
    model.check_finite()
    check_analog_state(model)
    first, last = model[0], model[2]
    with torch.no_grad():
        first.bias[1] = float("nan")
    with pytest.raises(StateError, match=r"AnalogLinear.bias"):
        model.check_finite()
    with torch.no_grad():
        first.bias[1] = 0.0
    first.analog_tile.mapping_scales[0] = float("inf")
    with pytest.raises(StateError, match="mapping_scales"):
        first.check_finite()
    first.analog_tile.mapping_scales[0] = 1.0
    last.analog_tile.stored_weights[1, 2] = float("nan")
    with pytest.raises(StateError, match="inference.stored"):
        check_analog_state(model)
