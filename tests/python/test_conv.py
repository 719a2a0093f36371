"""Analog convolutions against torch's under floating-point tiles, on every backend."""

from __future__ import annotations

from typing import Any

import pytest
import torch
from torch import nn

from rpusim.configs import FloatingPointRPUConfig, SingleRPUConfig
from rpusim.exceptions import ConfigError, ShapeError
from rpusim.nn import AnalogConv1d, AnalogConv2d, AnalogConv3d
from rpusim.optim import AnalogSGD

CASES: list[tuple[Any, Any, tuple[int, ...], dict[str, Any]]] = [
    (AnalogConv1d, nn.Conv1d, (2, 3, 17), {"kernel_size": 3, "stride": 2, "padding": 1}),
    (AnalogConv1d, nn.Conv1d, (2, 3, 17), {"kernel_size": 4, "dilation": 2, "padding": "same"}),
    # An even reach: torch pads one more after than before.
    (AnalogConv1d, nn.Conv1d, (2, 3, 9), {"kernel_size": 2, "padding": "same"}),
    (
        AnalogConv2d,
        nn.Conv2d,
        (2, 3, 7, 8),
        {"kernel_size": (2, 3), "dilation": (3, 1), "padding": "same", "padding_mode": "circular"},
    ),
    (AnalogConv1d, nn.Conv1d, (2, 3, 9), {"kernel_size": 3, "padding": "valid"}),
    (AnalogConv2d, nn.Conv2d, (2, 3, 9, 8), {"kernel_size": (3, 2), "stride": (2, 1)}),
    (
        AnalogConv2d,
        nn.Conv2d,
        (2, 3, 9, 8),
        {"kernel_size": 3, "padding": 2, "dilation": 2, "padding_mode": "reflect"},
    ),
    (AnalogConv2d, nn.Conv2d, (3, 9, 9), {"kernel_size": 3, "padding": 1, "bias": False}),
    (AnalogConv3d, nn.Conv3d, (2, 2, 5, 6, 4), {"kernel_size": (2, 3, 2), "padding": (1, 0, 1)}),
]


def _compare_with_torch(
    analog: Any, reference: Any, shape: tuple[int, ...], check_positions: bool
) -> None:
    """Same weights in both; forward, input gradient and one SGD step must agree."""
    weight, bias = analog.get_weights()
    assert weight.shape == reference.weight.shape
    with torch.no_grad():
        reference.weight.copy_(weight)
        if bias is not None:
            reference.bias.copy_(bias)
    x = torch.randn(*shape, requires_grad=True)
    x_ref = x.detach().clone().requires_grad_(True)
    y, y_ref = analog(x), reference(x_ref)
    torch.testing.assert_close(y, y_ref, atol=1e-5, rtol=1e-5)
    target = torch.randn_like(y_ref)
    opt = AnalogSGD(analog.parameters(), lr=0.1)
    opt.regroup_param_groups(analog)
    opt_ref = torch.optim.SGD(reference.parameters(), lr=0.1)
    ((y - target) ** 2).sum().backward()
    ((y_ref - target) ** 2).sum().backward()
    assert x.grad is not None and x_ref.grad is not None
    torch.testing.assert_close(x.grad, x_ref.grad, atol=1e-4, rtol=1e-4)
    if check_positions:
        # Every output position is one (x, d) pair of the update.
        positions = y_ref.numel() // analog.out_channels
        assert analog.analog_ctx.analog_input[0].shape == (positions, analog.in_features)
    opt.step()
    opt_ref.step()
    weight, bias = analog.get_weights()
    torch.testing.assert_close(weight, reference.weight.detach(), atol=1e-5, rtol=1e-5)
    if bias is not None:
        torch.testing.assert_close(bias, reference.bias.detach())


# torch's own conv warns that an even 'same' padding copies the input.
@pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")
@pytest.mark.parametrize(("analog_cls", "torch_cls", "shape", "kwargs"), CASES)
def test_equals_torch_convolution_forward_backward_and_update(
    analog_cls: Any, torch_cls: Any, shape: tuple[int, ...], kwargs: dict[str, Any], backend: str
) -> None:
    in_channels = shape[-analog_cls.dims - 1]
    analog = analog_cls(
        in_channels, 4, rpu_config=FloatingPointRPUConfig(), backend=backend, **kwargs
    )
    reference = torch_cls(in_channels, 4, **kwargs)
    _compare_with_torch(analog, reference, shape, check_positions=True)


def test_pulsed_training_changes_the_kernel_and_restores_from_state(backend: str) -> None:
    conv = AnalogConv2d(1, 3, 3, rpu_config=SingleRPUConfig(), backend=backend)
    before = conv.get_weights()[0]
    opt = AnalogSGD(conv.parameters(), lr=0.1)
    opt.regroup_param_groups(conv)
    x = torch.randn(2, 1, 6, 6)
    conv(x).pow(2).sum().backward()
    opt.step()
    after = conv.get_weights()[0]
    assert not torch.equal(before, after)
    copy = AnalogConv2d(1, 3, 3, backend=backend)
    copy.load_state_dict(conv.state_dict())
    assert torch.equal(copy.get_weights()[0], after)


GROUPED: list[tuple[Any, Any, tuple[int, ...], dict[str, Any]]] = [
    (AnalogConv2d, nn.Conv2d, (2, 4, 7, 6), {"out_channels": 6, "groups": 2, "padding": 1}),
    (AnalogConv1d, nn.Conv1d, (2, 3, 11), {"out_channels": 3, "groups": 3, "stride": 2}),
    (AnalogConv2d, nn.Conv2d, (4, 6, 6), {"out_channels": 4, "groups": 2, "bias": False}),
]


@pytest.mark.parametrize(("analog_cls", "torch_cls", "shape", "kwargs"), GROUPED)
def test_grouped_and_depthwise_convolutions_equal_torch(
    analog_cls: Any, torch_cls: Any, shape: tuple[int, ...], kwargs: dict[str, Any], backend: str
) -> None:
    in_channels = shape[-analog_cls.dims - 1]
    analog = analog_cls(
        in_channels, kernel_size=3, rpu_config=FloatingPointRPUConfig(), backend=backend, **kwargs
    )
    reference = torch_cls(in_channels, kernel_size=3, **kwargs)
    assert analog.analog_tile_count() == kwargs["groups"]
    _compare_with_torch(analog, reference, shape, check_positions=False)


def test_grouped_pulsed_training_restores_from_state(backend: str) -> None:
    def make() -> AnalogConv2d:
        return AnalogConv2d(4, 4, 3, groups=2, rpu_config=SingleRPUConfig(), backend=backend)

    conv = make()
    opt = AnalogSGD(conv.parameters(), lr=0.1)
    opt.regroup_param_groups(conv)
    x = torch.randn(2, 4, 6, 6)
    before = conv.get_weights()[0]
    conv(x).pow(2).sum().backward()
    opt.step()
    after = conv.get_weights()[0]
    assert not torch.equal(before, after)
    copy = make()
    copy.load_state_dict(conv.state_dict())
    assert torch.equal(copy.get_weights()[0], after)
    assert torch.equal(copy(x), conv(x))
    assert "groups=2" in repr(conv)


def test_bad_arguments_and_inputs() -> None:
    with pytest.raises(ConfigError, match="groups"):
        AnalogConv2d(2, 2, 3, groups=3)
    with pytest.raises(ConfigError, match="groups"):
        AnalogConv2d(4, 6, 3, groups=4)
    with pytest.raises(ConfigError, match="groups"):
        AnalogConv2d(2, 2, 3, groups=0)
    with pytest.raises(ConfigError, match="kernel_size"):
        AnalogConv2d(2, 2, (3, 3, 3))
    with pytest.raises(ConfigError, match="padding_mode"):
        AnalogConv1d(2, 2, 3, padding_mode="mirror")
    with pytest.raises(ConfigError, match="stride 1"):
        AnalogConv1d(2, 2, 3, stride=2, padding="same")
    conv = AnalogConv2d(2, 3, 3)
    with pytest.raises(ShapeError, match=r"expected \[N, 2"):
        conv(torch.randn(1, 3, 8, 8))
    with pytest.raises(ShapeError, match="smaller than the kernel"):
        conv(torch.randn(1, 2, 2, 8))
    with pytest.raises(ShapeError, match="weight"):
        conv.set_weights(torch.zeros(3, 2, 2, 2))
