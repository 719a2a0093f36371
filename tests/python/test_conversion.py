"""convert_to_analog / convert_to_digital on ordinary torch models."""

from __future__ import annotations

import copy
import pickle

import pytest
import torch
from torch import nn

from rpusim.configs import FloatingPointRPUConfig, SingleRPUConfig
from rpusim.nn import (
    AnalogConv2d,
    AnalogLinear,
    AnalogSequential,
    convert_to_analog,
    convert_to_digital,
)


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.features = nn.Sequential(nn.Conv2d(1, 4, 3), nn.ReLU(), nn.MaxPool2d(2))
        self.head = nn.Linear(4 * 3 * 3, 5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x).flatten(1))


def test_converted_model_computes_the_same_function(backend: str) -> None:
    net = Net().eval()
    analog = convert_to_analog(net, FloatingPointRPUConfig(), backend=backend)
    assert isinstance(analog.features, AnalogSequential)
    assert isinstance(analog.features[0], AnalogConv2d)
    assert isinstance(analog.head, AnalogLinear)
    assert isinstance(net.head, nn.Linear), "the original is left alone unless inplace=True"
    assert analog.analog_tile_count() == 2 and not analog.training
    x = torch.randn(3, 1, 8, 8)
    torch.testing.assert_close(analog(x), net(x), atol=1e-5, rtol=1e-5)
    back = convert_to_digital(analog)
    assert type(back.features) is nn.Sequential and type(back.head) is nn.Linear
    torch.testing.assert_close(back(x), net(x), atol=1e-5, rtol=1e-5)


def test_converted_custom_root_pickles_and_deep_copies() -> None:
    analog = convert_to_analog(Net(), SingleRPUConfig())
    for clone in (pickle.loads(pickle.dumps(analog)), copy.deepcopy(analog)):
        assert type(clone) is type(analog) and clone.analog_tile_count() == 2
        assert torch.equal(clone.head.get_weights()[0], analog.head.get_weights()[0])


def test_exclusions_specific_configs_and_inplace() -> None:
    net = Net()
    seen: list[str] = []

    def config_for(name: str, module: nn.Module, default: object) -> SingleRPUConfig:
        seen.append(name)
        return SingleRPUConfig()

    out = convert_to_analog(
        net,
        FloatingPointRPUConfig(),
        specific_rpu_config_fun=config_for,  # type: ignore[arg-type]
        exclude_modules=["head"],
        inplace=True,
    )
    assert out is net
    assert isinstance(net.head, nn.Linear) and isinstance(net.features[0], AnalogConv2d)
    assert "features.0" in seen and "head" not in seen


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="module"):
        convert_to_analog("net", SingleRPUConfig())  # type: ignore[arg-type]


def test_grouped_convolutions_convert_both_ways() -> None:
    net = nn.Sequential(nn.Conv2d(4, 6, 3, groups=2), nn.ReLU(), nn.Conv2d(6, 6, 1, groups=6))
    analog = convert_to_analog(net, FloatingPointRPUConfig())
    assert isinstance(analog[0], AnalogConv2d) and analog[0].groups == 2
    assert analog.analog_tile_count() == 2 + 6
    x = torch.randn(2, 4, 5, 5)
    torch.testing.assert_close(analog(x), net(x), atol=1e-5, rtol=1e-5)
    back = convert_to_digital(analog)
    assert isinstance(back[2], nn.Conv2d) and back[2].groups == 6
    torch.testing.assert_close(back[0].weight, net[0].weight)
    torch.testing.assert_close(back(x), net(x), atol=1e-5, rtol=1e-5)
