"""AnalogLinear, AnalogSequential and AnalogSGD through autograd."""

from __future__ import annotations

import copy
import io
import pickle

import torch
from torch import nn

from rpusim.configs import (
    ConstantStepDevice,
    FloatingPointRPUConfig,
    IdealDevice,
    SingleRPUConfig,
)
from rpusim.nn import AnalogLinear, AnalogSequential
from rpusim.optim import AnalogSGD


def _model(seed: int = 1) -> AnalogSequential:
    torch.manual_seed(seed)
    return AnalogSequential(
        AnalogLinear(12, 8, rpu_config=SingleRPUConfig(device=ConstantStepDevice())),
        nn.Tanh(),
        AnalogLinear(8, 3, rpu_config=SingleRPUConfig(device=ConstantStepDevice())),
    )


def _train(model: nn.Module, steps: int, seed: int = 7) -> list[float]:
    opt = AnalogSGD(model.parameters(), lr=0.1)
    opt.regroup_param_groups(model)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    for _ in range(steps):
        x = torch.randn(6, 12, generator=gen)
        y = torch.randint(0, 3, (6,), generator=gen)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


def test_floating_point_layer_matches_torch_linear() -> None:
    analog = AnalogLinear(10, 4, rpu_config=FloatingPointRPUConfig())
    digital = nn.Linear(10, 4)
    with torch.no_grad():
        digital.weight.copy_(analog.get_weights()[0])
        digital.bias.copy_(analog.bias)
    x1 = torch.randn(5, 3, 10, requires_grad=True)
    x2 = x1.detach().clone().requires_grad_(True)
    target = torch.randn(5, 3, 4)
    ((analog(x1) - target) ** 2).sum().backward()
    ((digital(x2) - target) ** 2).sum().backward()
    torch.testing.assert_close(x1.grad, x2.grad)
    torch.testing.assert_close(analog.bias.grad, digital.bias.grad)
    opt_a = AnalogSGD(analog.parameters(), lr=0.01)
    opt_a.regroup_param_groups(analog)
    opt_d = torch.optim.SGD(digital.parameters(), lr=0.01)
    opt_a.step()
    opt_d.step()
    weight, bias = analog.get_weights()
    torch.testing.assert_close(weight, digital.weight.detach())
    torch.testing.assert_close(bias, digital.bias.detach())


def test_training_step_changes_weights_by_pulses() -> None:
    model = _model()
    w0 = model[0].get_weights()[0].clone()
    b0 = model[0].bias.detach().clone()
    _train(model, 1)
    dw = model[0].get_weights()[0] - w0
    assert dw.abs().max() > 0
    assert not torch.equal(model[0].bias.detach(), b0), "digital bias trained by SGD"


def test_first_layer_is_updated_even_if_input_needs_no_grad() -> None:
    layer = AnalogLinear(4, 2)
    opt = AnalogSGD(layer.parameters(), lr=0.5)
    w0 = layer.get_weights()[0].clone()
    layer(torch.ones(3, 4)).sum().backward()
    opt.step()
    assert not torch.equal(layer.get_weights()[0], w0)


def test_same_seed_same_run_bit_for_bit() -> None:
    a, b = _model(3), _model(3)
    assert _train(a, 20) == _train(b, 20)
    for la, lb in zip(a.analog_layers(), b.analog_layers()):
        assert torch.equal(la.get_weights()[0], lb.get_weights()[0])


def test_state_dict_round_trip_continues_identically() -> None:
    model = _model()
    _train(model, 5)
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    restored = _model(seed=99)
    buffer.seek(0)
    restored.load_state_dict(torch.load(buffer, weights_only=False))
    assert _train(model, 5, seed=3) == _train(restored, 5, seed=3)
    for la, lb in zip(model.analog_layers(), restored.analog_layers()):
        assert torch.equal(la.get_weights()[0], lb.get_weights()[0])


def test_pickle_and_deepcopy_carry_the_full_state() -> None:
    model = _model()
    _train(model, 3)
    clones = [pickle.loads(pickle.dumps(model)), copy.deepcopy(model)]
    losses = _train(model, 4, seed=5)
    for clone in clones:
        assert _train(clone, 4, seed=5) == losses


def test_get_and_set_weights_round_trip() -> None:
    layer = AnalogLinear(6, 3, rpu_config=SingleRPUConfig(device=ConstantStepDevice()))
    w = torch.rand(3, 6) * 0.2 - 0.1
    b = torch.randn(3)
    layer.set_weights(w, b)
    w2, b2 = layer.get_weights()
    torch.testing.assert_close(w2, w)
    torch.testing.assert_close(b2, b)
    layer.set_weights(torch.full((3, 6), 10.0))
    assert layer.get_weights()[0].max() <= 0.6 * (1 + 0.3 * 4.39)  # normal_max: 4.388


def test_layer_without_bias_and_repr() -> None:
    layer = AnalogLinear(5, 2, bias=False)
    assert layer.get_weights()[1] is None
    assert "ConstantStepDevice" in repr(layer)
    assert layer(torch.randn(5)).shape == (2,)


def test_regroup_gives_each_tile_its_own_group_and_lr_zero_discards() -> None:
    model = _model()
    opt = AnalogSGD(model.parameters(), lr=0.0)
    opt.regroup_param_groups(model)
    assert len(opt.param_groups) == 3
    w0 = model[0].get_weights()[0].clone()
    model(torch.randn(2, 12)).sum().backward()
    opt.step()
    assert torch.equal(model[0].get_weights()[0], w0)
    assert not model[0].analog_ctx.has_pairs()


def test_optimizer_step_applies_decay_once_per_step() -> None:
    config = SingleRPUConfig(device=IdealDevice(lifetime=4.0))
    layer = AnalogLinear(3, 2, bias=False, rpu_config=config)
    layer.set_weights(torch.ones(2, 3))
    opt = AnalogSGD(layer.parameters(), lr=0.1)
    opt.regroup_param_groups(layer)
    opt.step()
    opt.step()
    torch.testing.assert_close(layer.get_weights()[0], torch.full((2, 3), 0.75**2))


def test_sequential_helpers() -> None:
    model = _model()
    assert model.analog_tile_count() == 2
    # The reference's keys: the name of each layer's tile module.
    assert set(model.get_weights()) == {"0.analog_module", "2.analog_module"}


def test_module_conversions_keep_the_analog_context() -> None:
    model = _model().double()
    x = torch.randn(4, 12, dtype=torch.float64, requires_grad=True)
    out = model(x)
    assert out.dtype == torch.float64
    out.sum().backward()
    assert x.grad is not None and x.grad.dtype == torch.float64
    assert all(layer.analog_ctx.has_pairs() for layer in model.analog_layers())
    model.to("cpu").train().eval()
    assert model.analog_tile_count() == 2
