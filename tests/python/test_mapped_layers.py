"""The reference's mapped layers: tiles of the reference's sizes (recorded from aihwkit 1.1),
the same results as the unsplit computation, refusals, saved state."""

from __future__ import annotations

import copy

import pytest
import torch
from torch import nn

from rpusim.configs import FloatingPointRPUConfig, MappingParameter, SingleRPUConfig
from rpusim.exceptions import ConfigError
from rpusim.nn import (
    AnalogConv1dMapped,
    AnalogConv2dMapped,
    AnalogConv3dMapped,
    AnalogLinear,
    AnalogLinearMapped,
    AnalogSequential,
    convert_to_analog,
    convert_to_digital,
)
from rpusim.nn.conversion import DEFAULT_MAPPED_CONVERSION_MAP
from rpusim.optim import AnalogSGD


def _fp(max_in: int, max_out: int) -> FloatingPointRPUConfig:
    return FloatingPointRPUConfig(
        mapping=MappingParameter(max_input_size=max_in, max_output_size=max_out)
    )


def _shapes(layer: nn.Module) -> list[tuple[str, int, int]]:
    return [(n, t.out_size, t.in_size) for n, t in layer.named_analog_tiles()]


def test_tiles_have_the_reference_sizes_and_names() -> None:
    # Recorded from aihwkit 1.1 (named_analog_tiles of the same layers and mappings).
    assert _shapes(AnalogLinearMapped(10, 7, rpu_config=_fp(4, 3))) == [
        (f"analog_module.array.{i}.{o}", out, inp)
        for i, inp in enumerate([4, 3, 3])
        for o, out in enumerate([3, 2, 2])
    ]
    assert _shapes(AnalogLinearMapped(100, 50, rpu_config=_fp(0, 0))) == [
        ("analog_module.array.0.0", 50, 100)
    ]
    # Convolutions split by whole input channels (5 channels · 9 inputs, 20 per tile: 2, 2, 1).
    assert _shapes(AnalogConv2dMapped(5, 7, 3, rpu_config=_fp(20, 3))) == [
        (f"array.{i}.{o}", out, inp)
        for i, inp in enumerate([18, 18, 9])
        for o, out in enumerate([3, 2, 2])
    ]
    assert _shapes(AnalogConv1dMapped(4, 9, 2, rpu_config=_fp(5, 4))) == [
        (f"array.{i}.{o}", 3, 4) for i in range(2) for o in range(3)
    ]
    # The unmapped layers split as the reference's tile arrays do too (larger first).
    assert [s[1:] for s in _shapes(AnalogLinear(10, 7, rpu_config=_fp(4, 3)))] == [
        (out, inp) for inp in [4, 3, 3] for out in [3, 2, 2]
    ]


def test_mapped_linear_computes_the_layer() -> None:
    digital = nn.Linear(11, 6)
    mapped = AnalogLinearMapped.from_digital(digital, _fp(4, 4))
    x = torch.randn(5, 11, requires_grad=True)
    xd = x.detach().clone().requires_grad_(True)
    out, ref = mapped(x), digital(xd)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    g = torch.randn_like(out)
    out.backward(g)
    ref.backward(g)
    torch.testing.assert_close(x.grad, xd.grad, rtol=1e-5, atol=1e-5)
    # One SGD step moves the tiles as torch's SGD moves the digital layer.
    opt = AnalogSGD(mapped.parameters(), lr=0.1)
    opt.step()
    torch.optim.SGD(digital.parameters(), lr=0.1).step()
    weight, bias = mapped.get_weights()
    torch.testing.assert_close(weight, digital.weight.detach(), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(bias, digital.bias.detach())


@pytest.mark.parametrize(
    ("mapped_cls", "torch_cls", "shape"),
    [
        (AnalogConv1dMapped, nn.Conv1d, (2, 5, 9)),
        (AnalogConv2dMapped, nn.Conv2d, (2, 5, 7, 6)),
        (AnalogConv3dMapped, nn.Conv3d, (1, 5, 4, 5, 4)),
    ],
)
def test_mapped_convolutions_compute_the_convolution(
    mapped_cls: type, torch_cls: type, shape: tuple[int, ...]
) -> None:
    digital = torch_cls(5, 6, 2, stride=1, padding=1, dilation=1)
    mapped = mapped_cls.from_digital(digital, _fp(17, 4))
    assert mapped.analog_tile_count() > 1
    x = torch.randn(*shape, requires_grad=True)
    xd = x.detach().clone().requires_grad_(True)
    out, ref = mapped(x), digital(xd)
    torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    g = torch.randn_like(out)
    out.backward(g)
    ref.backward(g)
    torch.testing.assert_close(x.grad, xd.grad, rtol=1e-4, atol=1e-5)
    back = convert_to_digital(AnalogSequential(mapped))[0]
    assert type(back) is torch_cls
    torch.testing.assert_close(back.weight, digital.weight, rtol=1e-6, atol=1e-6)


def test_mapped_layers_refuse_what_the_reference_refuses() -> None:
    with pytest.raises(ConfigError, match="groups"):
        AnalogConv2dMapped(4, 4, 3, groups=2)
    with pytest.raises(ConfigError, match="padding_mode"):
        AnalogConv2dMapped(4, 4, 3, padding_mode="reflect")
    with pytest.raises(ConfigError, match="kernel"):
        AnalogConv2dMapped(2, 4, 3, rpu_config=_fp(8, 0))  # 9 inputs per kernel > 8
    analog_bias = SingleRPUConfig(mapping=MappingParameter(digital_bias=False))
    with pytest.raises(ConfigError, match="digital bias"):
        AnalogLinearMapped(4, 4, rpu_config=analog_bias)
    with pytest.raises(ConfigError, match="tile_module_class"):
        AnalogLinearMapped(4, 4, tile_module_class=object)


def test_mapped_state_restores_exactly() -> None:
    config = SingleRPUConfig(mapping=MappingParameter(max_input_size=6, max_output_size=4))
    layer = AnalogConv2dMapped(3, 5, 2, rpu_config=config)
    copy_layer = AnalogConv2dMapped(3, 5, 2, rpu_config=copy.deepcopy(config))
    copy_layer.load_state_dict(layer.state_dict())
    x = torch.randn(2, 3, 5, 5)
    assert torch.equal(layer.get_weights()[0], copy_layer.get_weights()[0])
    assert torch.equal(layer(x), copy_layer(x))  # the tiles' random generators too


def test_mapped_conversion_map() -> None:
    model = nn.Sequential(nn.Conv2d(2, 3, 2), nn.Flatten(), nn.Linear(3 * 3 * 3, 4))
    analog = convert_to_analog(model, _fp(8, 2), conversion_map=DEFAULT_MAPPED_CONVERSION_MAP)
    assert isinstance(analog[0], AnalogConv2dMapped) and isinstance(analog[2], AnalogLinearMapped)
    x = torch.randn(2, 2, 4, 4)
    torch.testing.assert_close(analog(x), model(x), rtol=1e-5, atol=1e-5)
