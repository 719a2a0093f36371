"""The analog bias (``mapping.digital_bias=False``): the bias is the tile's last column, driven
by a constant input 1: W x + b through the periphery, trained by the pulsed update, saved and
restored with the tile."""

from __future__ import annotations

import pickle

import pytest
import torch

from rpusim.configs import (
    FloatingPointRPUConfig,
    IdealDevice,
    IOParameters,
    MappingParameter,
    SingleRPUConfig,
)
from rpusim.exceptions import ConfigError
from rpusim.nn import AnalogConv1d, AnalogConv2d, AnalogLinear, convert_to_analog
from rpusim.optim import AnalogSGD

from helpers import clean_constant_step


def _analog_bias() -> MappingParameter:
    return MappingParameter(digital_bias=False)


def _perfect(**mapping: object) -> SingleRPUConfig:
    return SingleRPUConfig(
        device=IdealDevice(),
        forward=IOParameters(is_perfect=True),
        mapping=MappingParameter(digital_bias=False, **mapping),  # type: ignore[arg-type]
    )


def test_linear_forward_is_w_x_plus_b_from_the_tile() -> None:
    layer = AnalogLinear(4, 3, rpu_config=_perfect())
    assert layer.analog_bias and layer.bias is None
    assert layer.analog_tile.in_size == 5
    assert "bias" not in dict(layer.named_parameters())  # not trained digitally
    w, b = torch.randn(3, 4) * 0.3, torch.tensor([0.1, -0.2, 0.3])
    layer.set_weights(w, b)
    got_w, got_b = layer.get_weights()
    assert torch.equal(got_w, w) and torch.equal(got_b, b)
    assert torch.equal(layer.analog_tile.get_weights()[:, -1], b)
    x = torch.randn(6, 2, 4)
    torch.testing.assert_close(layer(x), x @ w.T + b)
    # set_weights without a bias keeps the column.
    layer.set_weights(w * 2)
    assert torch.equal(layer.get_weights()[1], b)
    # The bias column gets the periphery like any weight: the output noise of a noisy forward
    # is there with or without input.
    noisy_config = SingleRPUConfig(device=IdealDevice(), mapping=_analog_bias())
    noisy = AnalogLinear(4, 3, rpu_config=noisy_config)
    noisy.set_weights(torch.zeros(3, 4), torch.full((3,), 0.5))
    out = noisy(torch.zeros(2000, 4)).detach()
    assert float(out.mean()) == pytest.approx(0.5, abs=0.01)
    assert float(out.std()) == pytest.approx(0.06, rel=0.1)  # out_noise 0.06, unscaled (|x|max=1)


def test_convolution_with_analog_bias() -> None:
    conv = AnalogConv2d(2, 3, 2, padding=1, rpu_config=_perfect())
    digital = torch.nn.Conv2d(2, 3, 2, padding=1)
    conv.set_weights(digital.weight.detach(), digital.bias.detach())
    x = torch.randn(2, 2, 5, 4)
    torch.testing.assert_close(conv(x), digital(x), rtol=1e-5, atol=1e-5)
    assert conv.analog_tile.in_size == 2 * 4 + 1
    torch.testing.assert_close(conv.get_weights()[1], digital.bias.detach())
    conv1d = AnalogConv1d(2, 2, 3, rpu_config=_perfect(max_input_size=4))  # bias in the last tile
    digital1d = torch.nn.Conv1d(2, 2, 3)
    conv1d.set_weights(digital1d.weight.detach(), digital1d.bias.detach())
    x1 = torch.randn(3, 2, 8)
    torch.testing.assert_close(conv1d(x1), digital1d(x1), rtol=1e-5, atol=1e-5)
    with pytest.raises(ConfigError, match="groups"):
        AnalogConv2d(4, 4, 2, groups=2, rpu_config=_perfect())
    # Conversion keeps the bias values (as the analog column).
    converted = convert_to_analog(torch.nn.Sequential(digital), _perfect())
    torch.testing.assert_close(converted[0].get_weights()[1], digital.bias.detach())


def test_pulsed_updates_move_the_bias_column() -> None:
    """E[Δb_i] = −lr · Σ_n d_ni (the column's input is 1): checked on the mean over 400 rows of
    a stochastic pulsed update (the column's pulse trains are those of the input 1, the rows'
    are independent)."""
    device = clean_constant_step()  # dw_min 0.001, no variation, wide bounds
    config = SingleRPUConfig(device=device, mapping=_analog_bias())
    layer = AnalogLinear(3, 400, rpu_config=config)
    layer.set_weights(torch.zeros(400, 3), torch.zeros(400))
    opt = AnalogSGD(layer.parameters(), lr=0.01)
    x = torch.rand(4, 3) * 0.5
    grad = torch.full((4, 400), 0.5)  # d of every sample and row
    layer(x).backward(grad)
    opt.step()
    bias = layer.get_weights()[1]
    expected = -0.01 * 4 * 0.5  # −lr · Σ_n d_n · 1 = −0.02 (20 pulses of dw_min)
    assert float(bias.mean()) == pytest.approx(expected, rel=0.05)
    assert bool((bias < 0).all())
    # Pulses of dw_min each: the column holds whole multiples of the step.
    steps = bias / device.dw_min
    torch.testing.assert_close(steps, steps.round(), rtol=0, atol=1e-3)


def test_analog_bias_state_restores_exactly() -> None:
    config = SingleRPUConfig(mapping=_analog_bias())
    layer = AnalogLinear(5, 3, rpu_config=config)
    opt = AnalogSGD(layer.parameters(), lr=0.1)
    layer(torch.randn(4, 5)).sum().backward()
    opt.step()
    clone = AnalogLinear(
        5, 3, rpu_config=SingleRPUConfig(mapping=MappingParameter(digital_bias=False))
    )
    clone.load_state_dict(layer.state_dict())
    x = torch.randn(3, 5)
    assert all(torch.equal(a, b) for a, b in zip(layer.get_weights(), clone.get_weights()))
    assert torch.equal(layer(x), clone(x))
    restored = pickle.loads(pickle.dumps(layer))
    assert torch.equal(restored.get_weights()[1], layer.get_weights()[1])
    assert restored.analog_bias


def test_floating_point_analog_bias_trains_as_sgd() -> None:
    config = FloatingPointRPUConfig(mapping=MappingParameter(digital_bias=False))
    layer = AnalogLinear(3, 2, rpu_config=config)
    digital = torch.nn.Linear(3, 2)
    layer.set_weights(digital.weight.detach(), digital.bias.detach())
    x = torch.randn(5, 3)
    layer(x).pow(2).sum().backward()
    digital(x).pow(2).sum().backward()
    AnalogSGD(layer.parameters(), lr=0.05).step()
    torch.optim.SGD(digital.parameters(), lr=0.05).step()
    torch.testing.assert_close(layer.get_weights()[1], digital.bias.detach(), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("config_name", ["inference", "torch"])
def test_analog_bias_behind_an_input_range_is_scaled_by_the_range(config_name: str) -> None:
    # The constant 1 enters after x/r, and the output is multiplied by r (the reference's
    # order): y = W clip(x, ±r) + r·b.
    from rpusim.configs import InferenceRPUConfig
    from rpusim.configs.torch_inference import TorchInferenceRPUConfig

    cls = InferenceRPUConfig if config_name == "inference" else TorchInferenceRPUConfig
    config = cls(forward=IOParameters(is_perfect=True), mapping=_analog_bias())
    config.pre_post.input_range.enable = True
    config.pre_post.input_range.init_value = 2.0
    config.pre_post.input_range.init_from_data = 0
    layer = AnalogLinear(4, 3, rpu_config=config)
    w, b = torch.randn(3, 4) * 0.3, torch.tensor([0.1, -0.2, 0.3])
    layer.set_weights(w, b)
    layer.eval()
    x = torch.randn(6, 4) * 2
    expected = x.clamp(-2.0, 2.0) @ w.T + 2.0 * b
    torch.testing.assert_close(layer(x), expected, atol=1e-5, rtol=1e-5)
