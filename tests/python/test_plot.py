"""Pulse-response curves against the device formula, and the plots as PNG files."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from rpusim.configs import ConstantStepDevice
from rpusim.exceptions import ConfigError
from rpusim.plot import plot_device, plot_training_curves, pulse_response


def test_pulse_response_steps_by_dw_min_and_stops_at_the_bounds() -> None:
    device = ConstantStepDevice(
        dw_min=0.01, dw_min_std=0.0, dw_min_dtod=0.0, up_down_dtod=0.0,
        w_max_dtod=0.0, w_min_dtod=0.0, w_max=0.5, w_min=-0.3,
    )  # fmt: skip
    trace = pulse_response(device, n_steps=80, n_traces=2)
    assert trace.shape == (161, 2)
    steps = torch.arange(81, dtype=torch.float32) * 0.01
    expected_up = torch.clamp(steps, max=0.5)
    torch.testing.assert_close(trace[:81, 0], expected_up, atol=1e-5, rtol=0)
    expected_down = torch.clamp(0.5 - steps, min=-0.3)
    torch.testing.assert_close(trace[80:, 1], expected_down, atol=1e-5, rtol=0)


def test_pulse_response_spread_follows_dw_min_std() -> None:
    device = ConstantStepDevice(dw_min=0.001, dw_min_std=0.3, w_max=10.0, w_min=-10.0)
    trace = pulse_response(device, n_steps=400, n_traces=200)
    steps = trace[1:401] - trace[:400]  # single up pulses
    relative = steps / steps.mean(dim=0, keepdim=True)
    assert abs(float(relative.std()) - 0.3) < 0.02


def test_plots_are_written(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    plot_device(ConstantStepDevice(), n_steps=50, path=str(tmp_path / "device.png"))
    history = [
        {"epoch": 1, "train_loss": 1.0, "test_loss": 0.9, "test_error": 0.2},
        {"epoch": 2, "train_loss": 0.5, "test_loss": 0.6, "test_error": 0.1},
    ]
    plot_training_curves(history, "run", str(tmp_path / "curves.png"))
    assert (tmp_path / "device.png").stat().st_size > 1000
    assert (tmp_path / "curves.png").stat().st_size > 1000
    with pytest.raises(ConfigError, match="labels"):
        plot_training_curves(history, histories=[history], labels=["a", "b"])


def test_bad_arguments() -> None:
    with pytest.raises(ConfigError, match="n_steps"):
        pulse_response(ConstantStepDevice(), n_steps=0)
    with pytest.raises(ConfigError, match="pulsed device"):
        pulse_response("device")  # type: ignore[arg-type]
