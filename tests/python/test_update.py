"""Pulsed update statistics against the update-once formula of ConstantStepDevice."""

from __future__ import annotations

import torch

from rpusim import AnalogTile
from rpusim.configs import (
    ConstantStepDevice,
    FloatingPointRPUConfig,
    IdealDevice,
    PulseType,
    SingleRPUConfig,
    UpdateParameters,
)

from helpers import clean_constant_step


def test_mean_update_is_minus_lr_d_x_within_three_standard_errors(backend: str) -> None:
    tile = AnalogTile(4, 5, SingleRPUConfig(device=clean_constant_step()), backend=backend)
    x = torch.tensor([[0.8, -0.3, 0.55, 0.1, -1.0]])
    d = torch.tensor([[0.25, -0.5, 0.05, 0.3]])
    lr, reps = 0.01, 3000
    samples = torch.empty(reps, 4, 5)
    for r in range(reps):
        tile.set_weights(torch.zeros(4, 5))
        tile.update(x, d, lr)
        samples[r] = tile.get_weights()
    mean = samples.double().mean(0)
    se = samples.double().std(0) / reps**0.5
    expected = -lr * d.T.double() @ x.double()
    assert ((mean - expected).abs() <= 3 * se + 1e-9).all(), (mean - expected) / se
    steps = samples / 0.001
    assert (steps - steps.round()).abs().max() < 1e-3, "changes are whole dw_min steps"


def test_cycle_to_cycle_spread_matches_dw_min_std(backend: str) -> None:
    # x = 1, d = -1, lr/dw_min = 20: exactly 20 up pulses per device, ΔW = dw_min(20 + σ√20 ξ).
    sigma = 0.3
    tile = AnalogTile(80, 80, SingleRPUConfig(device=clean_constant_step(sigma)), backend=backend)
    tile.set_weights(torch.zeros(80, 80))
    tile.update(torch.ones(1, 80), -torch.ones(1, 80), 0.02)
    dw = tile.get_weights().double()
    expected_std = 0.001 * sigma * 20**0.5
    assert abs(dw.mean().item() - 0.02) < 3 * expected_std / 80
    assert abs(dw.std().item() / expected_std - 1) < 0.05


def test_weights_never_leave_the_device_bounds(backend: str) -> None:
    device = ConstantStepDevice(w_max=0.1, w_min=-0.1, dw_min=0.01)
    tile = AnalogTile(20, 30, SingleRPUConfig(device=device), backend=backend)
    state = tile.__getstate__()["tile"]["device"]
    w_max, w_min = torch.from_numpy(state["w_max"]), torch.from_numpy(state["w_min"])
    for _ in range(30):
        tile.update(torch.randn(8, 30), torch.randn(8, 20), 1.0)
        w = tile.get_weights()
        assert (w <= w_max).all() and (w >= w_min).all()
    tile.set_weights(torch.full((20, 30), 5.0))
    torch.testing.assert_close(tile.get_weights(), w_max)


def test_pulse_type_none_is_the_exact_update(backend: str) -> None:
    config = SingleRPUConfig(
        device=ConstantStepDevice(), update=UpdateParameters(pulse_type=PulseType.NONE)
    )
    tile = AnalogTile(6, 7, config, backend=backend)
    w0 = torch.rand(6, 7) * 0.2 - 0.1
    tile.set_weights(w0)
    w0 = tile.get_weights()
    x, d = torch.randn(5, 7), torch.randn(5, 6)
    tile.update(x, d, 0.05)
    torch.testing.assert_close(tile.get_weights(), w0 - 0.05 * d.T @ x, rtol=1e-5, atol=1e-6)


def test_ideal_and_floating_point_devices_update_exactly(backend: str) -> None:
    for config in (SingleRPUConfig(device=IdealDevice()), FloatingPointRPUConfig()):
        tile = AnalogTile(3, 4, config, backend=backend)
        tile.set_weights(torch.zeros(3, 4))
        x, d = torch.randn(2, 4), torch.randn(2, 3)
        tile.update(x, d, 0.5)
        torch.testing.assert_close(tile.get_weights(), -0.5 * d.T @ x)


def test_update_bl_management_caps_pulses_at_desired_bl(backend: str) -> None:
    # A huge product saturates: at most desired_bl pulses per vector pair.
    config = SingleRPUConfig(device=clean_constant_step(), update=UpdateParameters(desired_bl=5))
    tile = AnalogTile(1, 1, config, backend=backend)
    tile.set_weights(torch.zeros(1, 1))
    tile.update(torch.ones(1, 1), -torch.ones(1, 1), 10.0)
    assert abs(tile.get_weights().item() - 5 * 0.001) < 1e-7


def test_zero_learning_rate_changes_nothing(backend: str) -> None:
    tile = AnalogTile(4, 4, SingleRPUConfig(), backend=backend)
    before = tile.get_weights()
    tile.update(torch.randn(3, 4), torch.randn(3, 4), 0.0)
    assert torch.equal(before, tile.get_weights())
