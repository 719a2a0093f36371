"""The reference's layer and tile API: walking a model (named_analog_layers/tiles, analog_module,
apply_to_*), the analog context, set/get_weights keywords, load_state_dict(load_rpu_config=...),
the tile's learning rate, hidden parameters, ``tile @ x``, AnalogMatrix and AnalogWrapper."""

from __future__ import annotations

import copy
import io
import pickle

import numpy as np
import pytest
import torch
from torch import nn

from rpusim.configs import (
    ChoppedTransferCompound,
    ConstantStepDevice,
    FloatingPointRPUConfig,
    IdealDevice,
    InferenceRPUConfig,
    IOParameters,
    MappingParameter,
    PowStepDevice,
    SingleRPUConfig,
    SoftBoundsDevice,
    UnitCellRPUConfig,
    VectorUnitCell,
)
from rpusim.exceptions import ConfigError, InputError, StateError
from rpusim.linalg import AnalogMatrix
from rpusim.nn import AnalogConv2d, AnalogLinear, AnalogSequential, AnalogWrapper, convert_to_analog
from rpusim.optim import AnalogContext, AnalogSGD
from rpusim.tiles import AnalogTile

from helpers import clean_constant_step

PERFECT = SingleRPUConfig(device=IdealDevice(), forward=IOParameters(is_perfect=True))


def _split(max_in: int = 3, max_out: int = 2) -> SingleRPUConfig:
    return SingleRPUConfig(mapping=MappingParameter(max_input_size=max_in, max_output_size=max_out))


def test_walking_a_model_names_tiles_as_the_reference() -> None:
    model = AnalogSequential(AnalogLinear(4, 3), nn.ReLU(), AnalogLinear(5, 3, rpu_config=_split()))
    layers = dict(model.named_analog_layers())
    assert list(layers) == ["0", "2"]
    assert list(model.analog_layers()) == [model[0], model[2]]
    # The reference's names: [input split][output split] of a split layer's array.
    names = [name for name, _ in model.named_analog_tiles()]
    assert names == [
        "0.analog_module",
        "2.analog_module.array.0.0",
        "2.analog_module.array.0.1",
        "2.analog_module.array.1.0",
        "2.analog_module.array.1.1",
    ]
    assert model.analog_tile_count() == 5
    assert model[2].analog_tile_count() == 4
    tiles = dict(model.named_analog_tiles())
    assert tiles["2.analog_module.array.1.0"] is model[2].analog_tile.tiles[0][1]
    assert model[0].analog_module is model[0].analog_tile
    assert [name for name, _ in model.named_analog_modules()] == ["", "0", "2"]
    assert model.IS_CONTAINER and not model[0].IS_CONTAINER
    seen: list[object] = []
    assert model.apply_to_analog_tiles(seen.append) is model
    assert seen == list(model.analog_tiles())
    model.apply_to_analog_layers(lambda layer: layer.analog_module.set_learning_rate(0.3))
    assert all(t.get_learning_rate() == pytest.approx(0.3) for t in model.analog_tiles())


def test_analog_context_is_the_layers_parameter_after_copies() -> None:
    layer = AnalogLinear(3, 2)
    assert layer.get_analog_ctx() is layer.analog_ctx
    assert layer.analog_module.get_analog_ctx() is layer.analog_ctx
    clone = copy.deepcopy(layer)
    assert clone.get_analog_ctx() is clone.analog_ctx is not layer.analog_ctx
    assert clone.analog_ctx.analog_tile is clone.analog_tile
    restored = pickle.loads(pickle.dumps(layer))
    assert restored.get_analog_ctx() is restored.analog_ctx
    standalone = AnalogTile(2, 2)
    ctx = standalone.get_analog_ctx()
    assert isinstance(ctx, AnalogContext) and standalone.get_analog_ctx() is ctx


def test_set_weights_ignores_the_bias_of_a_bias_free_layer() -> None:
    # The reference writes the weights and ignores the bias, without a warning.
    layer = AnalogLinear(3, 2, bias=False, rpu_config=PERFECT)
    weight = torch.arange(6.0).reshape(2, 3) / 10
    layer.set_weights(weight, torch.ones(2))
    got, bias = layer.get_weights()
    assert bias is None and torch.equal(got, weight)
    conv = AnalogConv2d(1, 2, 2, bias=False, rpu_config=PERFECT)
    conv.set_weights(torch.zeros(2, 1, 2, 2), torch.ones(2))
    assert conv.get_weights()[1] is None


def test_weight_scaling_keywords() -> None:
    config = SingleRPUConfig(
        device=IdealDevice(),
        forward=IOParameters(is_perfect=True),
        mapping=MappingParameter(weight_scaling_omega=0.5, weight_scaling_columnwise=True),
    )
    layer = AnalogLinear(3, 2, rpu_config=config)
    weight = torch.tensor([[0.2, -0.4, 0.1], [2.0, 1.0, -0.5]])
    layer.set_weights(weight)
    alpha = weight.abs().amax(1) / 0.5
    torch.testing.assert_close(layer.get_weights()[0], weight)
    torch.testing.assert_close(
        layer.get_weights(apply_weight_scaling=False)[0], weight / alpha[:, None]
    )
    # An explicit omega overrides the mapping's.
    layer.set_weights(weight, weight_scaling_omega=1.0)
    torch.testing.assert_close(
        layer.get_weights(apply_weight_scaling=False)[0], weight / (alpha / 2)[:, None]
    )
    torch.testing.assert_close(layer.get_weights()[0], weight)
    # apply_weight_scaling=False writes the devices' values as given, keeping the scales.
    raw = torch.full((2, 3), 0.25)
    layer.set_weights(raw, apply_weight_scaling=False)
    torch.testing.assert_close(layer.get_weights(apply_weight_scaling=False)[0], raw)
    torch.testing.assert_close(layer.get_weights()[0], raw * (alpha / 2)[:, None])
    with pytest.raises(ConfigError, match="realistic"):
        layer.get_weights(realistic=True)
    with pytest.raises(ConfigError, match="weight_scaling_omega"):
        layer.set_weights(weight, weight_scaling_omega=-1.0)
    with pytest.raises(TypeError, match="bogus"):
        layer.set_weights(weight, bogus=1)


def _noisy() -> SingleRPUConfig:
    return SingleRPUConfig(device=SoftBoundsDevice(), forward=IOParameters(out_noise=0.2))


def _quiet() -> SingleRPUConfig:
    return SingleRPUConfig(device=SoftBoundsDevice(), forward=IOParameters(is_perfect=True))


def test_load_state_dict_load_rpu_config() -> None:
    source = AnalogLinear(4, 3, rpu_config=_noisy())
    state = source.state_dict()
    x = torch.randn(5, 4)
    # Default (True): the saved config comes with the state.
    target = AnalogLinear(4, 3, rpu_config=_quiet())
    target.load_state_dict(state)
    assert target.analog_tile.rpu_config.forward.out_noise == 0.2
    assert target.rpu_config is target.analog_tile.rpu_config
    # False: the current config stays, the saved weights and device draws come in under it.
    target = AnalogLinear(4, 3, rpu_config=_quiet())
    target.load_state_dict(state, load_rpu_config=False)
    assert target.analog_tile.rpu_config.forward.is_perfect
    torch.testing.assert_close(target.get_weights()[0], source.get_weights()[0])
    source_draws = source.analog_tile.get_hidden_parameters()
    for key, value in target.analog_tile.get_hidden_parameters().items():
        torch.testing.assert_close(value, source_draws[key])
    w, b = target.get_weights()
    torch.testing.assert_close(target(x), x @ w.T + b)  # the perfect forward of the new config
    # The flag stays set, as in the reference.
    target.load_state_dict(state)
    assert target.analog_tile.rpu_config.forward.is_perfect
    # A different config class or tile layout is refused.
    other = AnalogLinear(4, 3, rpu_config=FloatingPointRPUConfig())
    with pytest.raises(StateError, match="SingleRPUConfig"):
        other.load_state_dict(state, load_rpu_config=False)
    split = SingleRPUConfig(device=SoftBoundsDevice(), mapping=MappingParameter(max_input_size=5))
    with pytest.raises(StateError, match="max_input_size"):
        AnalogLinear(4, 3, rpu_config=split).load_state_dict(state, load_rpu_config=False)


def test_load_rpu_config_on_containers_and_converted_models() -> None:
    digital = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2))
    source = convert_to_analog(digital, _noisy())
    target = convert_to_analog(digital, _quiet())
    target.load_state_dict(source.state_dict(), load_rpu_config=False)
    assert all(t.rpu_config.forward.is_perfect for t in target.analog_tiles())
    for a, b in zip(source.analog_layers(), target.analog_layers()):
        torch.testing.assert_close(a.get_weights()[0], b.get_weights()[0])

    class Net(nn.Module):
        def __init__(self, config: SingleRPUConfig) -> None:
            super().__init__()
            self.body = AnalogLinear(4, 2, rpu_config=config)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x)

    wrapped_source, wrapped_target = AnalogWrapper(Net(_noisy())), AnalogWrapper(Net(_quiet()))
    wrapped_target.load_state_dict(wrapped_source.state_dict(), load_rpu_config=False)
    assert wrapped_target.body.analog_tile.rpu_config.forward.is_perfect
    wrapped_target.load_state_dict(wrapped_source.state_dict(), load_rpu_config=True)
    assert wrapped_target.body.analog_tile.rpu_config.forward.out_noise == 0.2


def test_container_weights_by_tile_name_round_trip() -> None:
    model = AnalogSequential(AnalogLinear(3, 2, rpu_config=PERFECT), nn.ReLU())
    weights = model.get_weights()
    assert list(weights) == ["0.analog_module"]
    new = {"0.analog_module": (torch.full((2, 3), 0.1), torch.tensor([0.5, -0.5]))}
    model.set_weights(new)
    w, b = model.get_weights()["0.analog_module"]
    assert torch.equal(w, new["0.analog_module"][0]) and torch.equal(b, new["0.analog_module"][1])
    with pytest.raises(ConfigError, match="0.analog_module"):
        model.set_weights({})


def test_tile_learning_rate() -> None:
    tile = AnalogTile(3, 4, SingleRPUConfig(device=clean_constant_step()), seed=7)
    assert tile.get_learning_rate() == pytest.approx(0.1)  # the reference's default
    tile.set_learning_rate(0.05)
    tile.set_learning_rate(None)  # None keeps it
    assert tile.get_learning_rate() == pytest.approx(0.05)
    twin = copy.deepcopy(tile)
    x, d = torch.randn(8, 4), torch.randn(8, 3)
    tile.update(x, d)  # at the tile's own rate
    twin.update(x, d, 0.05)
    assert torch.equal(tile.get_weights(), twin.get_weights())
    restored = pickle.loads(pickle.dumps(tile))
    assert restored.get_learning_rate() == pytest.approx(0.05)
    with pytest.raises(InputError, match="learning_rate"):
        tile.set_learning_rate(-1.0)
    # AnalogSGD sets each tile's rate to its group's, as the reference's optimizer does.
    layer = AnalogLinear(4, 3)
    opt = AnalogSGD(layer.parameters(), lr=0.02)
    layer(torch.randn(2, 4)).sum().backward()
    opt.step()
    assert layer.analog_tile.get_learning_rate() == pytest.approx(0.02)


# The reference's keys (aihwkit 1.1 AnalogTile.get_hidden_parameters()).
BASE_KEYS = [
    "max_bound",
    "min_bound",
    "dwmin_up",
    "dwmin_down",
    "decay_scales",
    "diffusion_rates",
    "reset_bias",
    "drift_nu",
]


def test_hidden_parameters_have_the_reference_keys_and_the_device_draws() -> None:
    device = ConstantStepDevice(lifetime=10.0, diffusion=0.05)
    tile = AnalogTile(3, 4, SingleRPUConfig(device=device), seed=3)
    hidden = tile.get_hidden_parameters()
    assert list(hidden) == BASE_KEYS
    raw = tile.__getstate__()["tile"]["device"]
    torch.testing.assert_close(hidden["max_bound"], torch.as_tensor(raw["w_max"]))
    torch.testing.assert_close(hidden["dwmin_down"], torch.as_tensor(raw["step_down"]))
    torch.testing.assert_close(hidden["decay_scales"], torch.full((3, 4), 0.9))
    torch.testing.assert_close(hidden["diffusion_rates"], torch.full((3, 4), 0.05))
    # Device-to-device variation: the draws spread around dw_min and w_max as configured.
    big = AnalogTile(100, 100, SingleRPUConfig(device=ConstantStepDevice()), seed=1)
    params = big.get_hidden_parameters()
    assert float(params["dwmin_up"].mean()) == pytest.approx(0.001, rel=0.05)
    assert float(params["max_bound"].mean()) == pytest.approx(0.6, rel=0.05)
    assert list(
        AnalogTile(2, 2, SingleRPUConfig(device=PowStepDevice())).get_hidden_parameters()
    ) == [
        *BASE_KEYS,
        "gamma_up",
        "gamma_down",
    ]
    cell = UnitCellRPUConfig(
        device=VectorUnitCell(unit_cell_devices=[ConstantStepDevice(), ConstantStepDevice()])
    )
    keys = list(AnalogTile(2, 2, cell).get_hidden_parameters())
    assert keys == [f"{k}_0" for k in BASE_KEYS] + ["hidden_weights_0"] + [
        f"{k}_1" for k in BASE_KEYS
    ] + ["hidden_weights_1"]
    chopped = UnitCellRPUConfig(
        device=ChoppedTransferCompound(unit_cell_devices=[SoftBoundsDevice(), SoftBoundsDevice()])
    )
    assert "buffered_FP_weight_0" in AnalogTile(2, 2, chopped).get_hidden_parameters()
    split = AnalogLinear(5, 3, rpu_config=_split()).analog_tile
    assert all(v.shape == (3, 5) for v in split.get_hidden_parameters().values())


def test_tile_matmul_is_the_forward_and_transposed_read() -> None:
    tile = AnalogTile(3, 4, FloatingPointRPUConfig())
    w = torch.randn(3, 4) * 0.3
    tile.set_weights(w)
    x, d = torch.randn(5, 4), torch.randn(5, 3)
    torch.testing.assert_close(tile @ x, x @ w.T)
    torch.testing.assert_close(d @ tile, d @ w)
    out = tile @ x.numpy()
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, (x @ w.T).numpy(), rtol=1e-5, atol=1e-6)


def test_analog_matrix_as_in_the_reference_example() -> None:
    a = torch.randn(5, 7) * 0.1
    matrix = AnalogMatrix(a, FloatingPointRPUConfig(mapping=MappingParameter(max_input_size=4)))
    x, d = torch.randn(3, 7), torch.randn(3, 5)
    assert matrix.shape == (5, 7)
    torch.testing.assert_close(matrix @ x, x @ a.T)
    torch.testing.assert_close(d @ matrix, d @ a)
    matrix.ger(x, d, 0.01)  # A += alpha · Σ d xᵀ
    torch.testing.assert_close(matrix.get_matrix(), a + 0.01 * d.T @ x, rtol=1e-5, atol=1e-6)
    with pytest.raises(ConfigError, match="realistic"):
        AnalogMatrix(a, FloatingPointRPUConfig(), realistic=True)


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = AnalogLinear(4, 3, rpu_config=PERFECT)
        self.scale = nn.Parameter(torch.tensor(2.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x) * self.scale


def test_analog_wrapper_gives_any_module_the_helpers() -> None:
    net = _Net()
    wrapped = AnalogWrapper(net)
    assert isinstance(wrapped, _Net) and isinstance(wrapped, AnalogWrapper)
    assert type(wrapped).__name__ == "AnalogWrapper_Net"
    assert wrapped.fc is net.fc and wrapped.scale is net.scale  # state shared, not copied
    assert wrapped.analog_tile_count() == 1
    assert list(wrapped.get_weights()) == ["fc.analog_module"]
    x = torch.randn(2, 4)
    torch.testing.assert_close(wrapped(x), net(x))
    buffer = io.BytesIO()
    torch.save(wrapped, buffer)
    buffer.seek(0)
    loaded = torch.load(buffer, weights_only=False)
    assert type(loaded) is type(wrapped)
    torch.testing.assert_close(loaded.fc.get_weights()[0], wrapped.fc.get_weights()[0])
    plain = AnalogWrapper.to_digital(wrapped)
    assert type(plain) is _Net and plain.fc is net.fc
    assert isinstance(convert_to_analog(nn.Sequential(nn.Linear(2, 2)), PERFECT), AnalogSequential)
    root = convert_to_analog(_DigitalNet(), PERFECT)
    assert isinstance(root, AnalogWrapper) and isinstance(root, _DigitalNet)


class _DigitalNet(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x)


def test_inference_tiles_take_the_keywords_too() -> None:
    layer = AnalogLinear(3, 2, rpu_config=InferenceRPUConfig())
    w = torch.randn(2, 3) * 0.2
    layer.set_weights(w, weight_scaling_omega=1.0)
    torch.testing.assert_close(layer.get_weights()[0], w)
    layer.analog_tile.set_learning_rate(0.5)
    before = layer.get_weights()[0]
    layer.analog_tile.update(torch.ones(1, 3), torch.ones(1, 2))
    torch.testing.assert_close(layer.get_weights()[0], before - 0.5)
