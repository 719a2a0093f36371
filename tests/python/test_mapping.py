"""MappingParameter: layers beyond max_input_size / max_output_size are split over tiles."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
import torch.nn.functional as F

from rpusim.configs import (
    FloatingPointRPUConfig,
    IdealDevice,
    IOParameters,
    MappingParameter,
    SingleRPUConfig,
)
from rpusim.exceptions import ConfigError, StateError
from rpusim.nn import AnalogConv2d, AnalogLinear
from rpusim.optim import AnalogSGD
from rpusim.tile_array import AnalogTileArray


def _perfect(max_in: int, max_out: int) -> SingleRPUConfig:
    io = IOParameters(is_perfect=True)
    mapping = MappingParameter(max_input_size=max_in, max_output_size=max_out)
    return SingleRPUConfig(device=IdealDevice(), forward=io, backward=io, mapping=mapping)


def test_default_mapping_splits_at_512(backend: str) -> None:
    layer = AnalogLinear(1100, 700, rpu_config=FloatingPointRPUConfig(), backend=backend)
    tiles = layer.analog_tile
    assert isinstance(tiles, AnalogTileArray)
    assert len(tiles.in_splits) == 3 and len(tiles.out_splits) == 2
    assert all(t.in_size <= 512 and t.out_size <= 512 for t in tiles.all_tiles())
    x = torch.randn(5, 1100)
    weight, bias = layer.get_weights()
    torch.testing.assert_close(layer(x), F.linear(x, weight, bias), atol=1e-4, rtol=1e-4)


def test_split_layer_equals_one_big_tile_under_perfect_io(backend: str) -> None:
    torch.manual_seed(3)
    split = AnalogLinear(40, 30, rpu_config=_perfect(16, 12), backend=backend)
    whole = AnalogLinear(40, 30, rpu_config=_perfect(0, 0), backend=backend)
    assert isinstance(split.analog_tile, AnalogTileArray)
    assert not isinstance(whole.analog_tile, AnalogTileArray)
    whole.set_weights(*split.get_weights())
    optimizers = []
    for layer in (split, whole):
        opt = AnalogSGD(layer.parameters(), lr=0.1)
        opt.regroup_param_groups(layer)
        optimizers.append(opt)
    for _ in range(3):
        x = torch.randn(6, 40, requires_grad=True)
        grads, outs = [], []
        for layer, opt in zip((split, whole), optimizers):
            xi = x.detach().clone().requires_grad_(True)
            out = layer(xi)
            opt.zero_grad()
            out.pow(2).sum().backward()
            opt.step()
            outs.append(out.detach())
            grads.append(xi.grad)
        # Same arithmetic, summed in another order: equal to float rounding.
        torch.testing.assert_close(outs[0], outs[1], atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(grads[0], grads[1], atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(split.get_weights()[0], whole.get_weights()[0], atol=1e-4, rtol=0)


def test_split_state_round_trips_and_moves(backend: str) -> None:
    config = SingleRPUConfig(mapping=MappingParameter(max_input_size=8, max_output_size=8))
    layer = AnalogLinear(20, 10, rpu_config=config)
    opt = AnalogSGD(layer.parameters(), lr=0.1)
    opt.regroup_param_groups(layer)
    layer(torch.randn(4, 20)).sum().backward()
    opt.step()
    copy_layer = AnalogLinear(20, 10, rpu_config=config, backend=backend)
    copy_layer.load_state_dict(layer.state_dict())
    assert copy_layer.analog_tile.backend == backend
    assert torch.equal(copy_layer.get_weights()[0], layer.get_weights()[0])
    for clone in (pickle.loads(pickle.dumps(layer)), copy.deepcopy(layer)):
        assert torch.equal(clone.get_weights()[0], layer.get_weights()[0])
    layer.to_backend(backend)
    assert layer.analog_tile.backend == backend


def test_conv_layers_split_too() -> None:
    config = FloatingPointRPUConfig(mapping=MappingParameter(max_input_size=20))
    conv = AnalogConv2d(3, 4, 3, rpu_config=config)  # 27 inputs per patch: 2 tiles
    assert isinstance(conv.analog_tile, AnalogTileArray)
    x = torch.randn(2, 3, 6, 6)
    weight, bias = conv.get_weights()
    torch.testing.assert_close(conv(x), F.conv2d(x, weight, bias), atol=1e-5, rtol=1e-5)


def test_unsupported_and_bad_mapping_values() -> None:
    for mapping, match in (
        (MappingParameter(weight_scaling_omega=-0.6), "weight_scaling_omega"),
        (MappingParameter(learn_out_scaling=1), "learn_out_scaling"),  # type: ignore[arg-type]
        (MappingParameter(digital_bias=0), "digital_bias"),  # type: ignore[arg-type]
        (MappingParameter(max_input_size=-1), "max_input_size"),
    ):
        with pytest.raises(ConfigError, match=match):
            AnalogLinear(4, 4, rpu_config=SingleRPUConfig(mapping=mapping))
    whole = AnalogLinear(8, 8)
    halves = SingleRPUConfig(mapping=MappingParameter(max_input_size=4))
    split = AnalogLinear(8, 8, rpu_config=halves)
    with pytest.raises(StateError, match="state"):
        split.load_state_dict(whole.state_dict())


@pytest.mark.parametrize("columnwise", [False, True])
def test_weight_scaling_maps_the_largest_weight_to_omega(columnwise: bool, backend: str) -> None:
    mapping = MappingParameter(weight_scaling_omega=0.5, weight_scaling_columnwise=columnwise)
    config = FloatingPointRPUConfig(mapping=mapping)
    layer = AnalogLinear(5, 3, bias=False, rpu_config=config, backend=backend)
    w = torch.tensor([[0.1, -2.0, 0.3, 0.0, 0.5], [0.2, 0.2, 0.1, -0.1, 0.0], [1.0] * 5])
    layer.set_weights(w)
    tile = layer.analog_tile
    stored = tile.get_hidden_weights()["array_0"]
    peak = w.abs().amax(dim=1) if columnwise else w.abs().amax().expand(3)
    torch.testing.assert_close(tile.mapping_scales, peak / 0.5)
    torch.testing.assert_close(
        stored.abs().amax(dim=1 if columnwise else None).max(), torch.tensor(0.5)
    )
    torch.testing.assert_close(layer.get_weights()[0], w)
    # The layer computes with W (an exact tile): forward, input gradient and the update.
    x = torch.randn(4, 5, requires_grad=True)
    y = layer(x)
    torch.testing.assert_close(y, x @ w.T, atol=1e-6, rtol=1e-5)
    y.sum().backward()
    torch.testing.assert_close(x.grad, torch.ones(4, 3) @ w, atol=1e-6, rtol=1e-5)
    opt = AnalogSGD(layer.parameters(), lr=0.1)
    opt.regroup_param_groups(layer)
    opt.step()
    # The devices get d/α (W/α − lr·(d/α) xᵀ), as in the reference: the layer's weights move
    # by lr·d xᵀ whatever the scales (aihwkit 1.1 measured the same on this layer).
    delta = 0.1 * torch.ones(4, 3).T @ x.detach()
    expected = w - delta
    torch.testing.assert_close(layer.get_weights()[0], expected, atol=1e-5, rtol=1e-5)


def test_weight_scaling_lr_compensation_and_saved_scales() -> None:
    mapping = MappingParameter(weight_scaling_omega=0.25, weight_scaling_lr_compensation=True)
    layer = AnalogLinear(4, 2, bias=False, rpu_config=FloatingPointRPUConfig(mapping=mapping))
    w = torch.tensor([[1.0, -0.5, 0.0, 0.25], [0.5, 0.5, 0.5, 0.5]])
    layer.set_weights(w)
    alpha = float(layer.analog_tile.mapping_scales.mean())
    x = torch.randn(3, 4)
    layer(x).sum().backward()
    opt = AnalogSGD(layer.parameters(), lr=0.1)
    opt.regroup_param_groups(layer)
    opt.step()
    # d·mean(α)/α at lr/mean(α), as the reference: the layer's weights α⊙W move by lr·d xᵀ
    # (without compensation too, by d/α at lr; the split matters only to pulsed updates).
    assert alpha > 1
    expected = w - 0.1 * torch.ones(3, 2).T @ x
    torch.testing.assert_close(layer.get_weights()[0], expected, atol=1e-5, rtol=1e-5)
    copy = AnalogLinear(4, 2, bias=False, rpu_config=FloatingPointRPUConfig(mapping=mapping))
    copy.load_state_dict(layer.state_dict())
    torch.testing.assert_close(copy.get_weights()[0], layer.get_weights()[0])
    torch.testing.assert_close(copy(x), layer(x))


def test_learned_output_scales_are_trained_digitally() -> None:
    mapping = MappingParameter(learn_out_scaling=True, out_scaling_columnwise=True)
    layer = AnalogLinear(3, 2, rpu_config=FloatingPointRPUConfig(mapping=mapping))
    assert layer.out_scaling_alpha is not None and layer.out_scaling_alpha.shape == (2,)
    w, b = layer.get_weights()
    x = torch.randn(5, 3)
    torch.testing.assert_close(layer(x), x @ w.T + b)
    with torch.no_grad():
        layer.out_scaling_alpha.copy_(torch.tensor([2.0, 0.5]))
    torch.testing.assert_close(layer(x), (x @ w.T) * torch.tensor([2.0, 0.5]) + b)
    opt = AnalogSGD(layer.parameters(), lr=0.1)
    opt.regroup_param_groups(layer)
    opt.zero_grad()
    layer(x).sum().backward()
    grad = layer.out_scaling_alpha.grad
    torch.testing.assert_close(grad, (x @ w.T).sum(0))
    opt.step()
    torch.testing.assert_close(
        layer.out_scaling_alpha.detach(), torch.tensor([2.0, 0.5]) - 0.1 * grad
    )
    scalar = AnalogConv2d(
        1, 3, 2, rpu_config=SingleRPUConfig(mapping=MappingParameter(learn_out_scaling=True))
    )
    assert scalar.out_scaling_alpha is not None and scalar.out_scaling_alpha.shape == (1,)
