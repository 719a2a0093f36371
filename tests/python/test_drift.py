"""Power-law drift of pulsed devices through the Python API (reference §4.3): the config,
``drift_weights`` on tiles, layers' tiles and compounds, saved state, and bad values."""

from __future__ import annotations

import pickle

import pytest
import torch

from rpusim import AnalogTile
from rpusim.configs import (
    ConstantStepDevice,
    DriftParameter,
    FloatingPointDevice,
    FloatingPointRPUConfig,
    SimpleDriftParameter,
    SingleRPUConfig,
    SoftBoundsDevice,
    TransferCompound,
    UnitCellRPUConfig,
)
from rpusim.exceptions import ConfigError
from rpusim.nn import AnalogLinear

NO_SPREAD = dict(dw_min_dtod=0.0, up_down_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0)


def _drifting(drift: SimpleDriftParameter) -> SingleRPUConfig:
    return SingleRPUConfig(device=ConstantStepDevice(drift=drift, **NO_SPREAD))


@pytest.mark.parametrize("kind", [SimpleDriftParameter, DriftParameter])
def test_weights_decay_as_the_power_of_the_time_since_the_write(backend: str, kind: type) -> None:
    tile = AnalogTile(4, 6, _drifting(kind(nu=0.2, t_0=2.0)), backend, seed=3)
    w0 = torch.linspace(-0.5, 0.5, 24).reshape(4, 6)
    tile.set_weights(w0)
    tile.drift_weights(6.0)  # 3 t_0
    torch.testing.assert_close(tile.get_weights(), w0 * 3.0**-0.2, rtol=2e-6, atol=1e-7)
    tile.drift_weights(10.0)  # 8 t_0 since the write
    torch.testing.assert_close(tile.get_weights(), w0 * 8.0**-0.2, rtol=2e-6, atol=1e-7)


def test_floating_point_devices_drift_without_bounds() -> None:
    device = FloatingPointDevice(drift=SimpleDriftParameter(nu=-0.5))
    tile = AnalogTile(2, 2, FloatingPointRPUConfig(device=device), seed=3)
    w0 = torch.tensor([[3.0, -2.0], [0.5, 0.0]])
    tile.set_weights(w0)
    tile.drift_weights(4.0)  # ν < 0: the weights grow, by 4^0.5
    torch.testing.assert_close(tile.get_weights(), 2.0 * w0)


def test_nu_spreads_from_device_to_device_as_configured() -> None:
    drift = DriftParameter(nu=0.1, nu_dtod=0.25)
    tile = AnalogTile(200, 50, _drifting(drift), seed=5)
    tile.set_weights(torch.full((200, 50), 0.5))
    tile.drift_weights(float(torch.e))  # ln(elapsed) = 1: ν = −ln(w/w₀)
    nu = -torch.log(tile.get_weights().double() / 0.5)
    assert abs(nu.mean().item() - 0.1) < 4 * 0.025 / 100
    assert abs(nu.std().item() - 0.025) < 0.0015


def test_devices_without_drift_and_updated_devices_do_not_drift() -> None:
    tile = AnalogTile(3, 2, SingleRPUConfig(device=SoftBoundsDevice()), seed=1)
    w0 = torch.full((3, 2), 0.2)
    tile.set_weights(w0)
    tile.drift_weights(1000.0)
    assert torch.equal(tile.get_weights(), w0)
    tile = AnalogTile(3, 2, _drifting(SimpleDriftParameter(nu=0.1)), seed=1)
    tile.set_weights(w0)
    tile.drift_weights(10.0)
    tile.set_weights(w0)  # a write: the next call restarts the clock instead of drifting
    tile.drift_weights(10.0)
    assert torch.equal(tile.get_weights(), w0)


def test_every_array_of_a_compound_drifts() -> None:
    device = ConstantStepDevice(drift=SimpleDriftParameter(nu=0.1), **NO_SPREAD)
    config = UnitCellRPUConfig(device=TransferCompound(unit_cell_devices=[device, device]))
    tile = AnalogTile(3, 4, config, seed=2)
    w0 = torch.linspace(-0.3, 0.3, 12).reshape(3, 4)
    tile.set_weights(w0)
    tile.drift_weights(16.0)
    torch.testing.assert_close(tile.get_weights(), w0 * 16.0**-0.1, rtol=2e-6, atol=1e-7)


def test_drift_state_round_trips_and_continues_exactly() -> None:
    drift = DriftParameter(nu=0.05, nu_dtod=0.3, nu_std=0.2, w_noise_std=0.001)
    layer = AnalogLinear(5, 3, rpu_config=_drifting(drift))
    layer.analog_tile.drift_weights(2.0)
    copy = pickle.loads(pickle.dumps(layer))
    other = AnalogLinear(5, 3, rpu_config=_drifting(drift))
    other.load_state_dict(layer.state_dict())
    for model in (layer, copy, other):
        model.analog_tile.drift_weights(3.0)
    expected = layer.analog_tile.get_weights()
    assert torch.equal(copy.analog_tile.get_weights(), expected)
    assert torch.equal(other.analog_tile.get_weights(), expected)


@pytest.mark.parametrize(
    ("drift", "field"),
    [
        (DriftParameter(nu=0.1, t_0=0.0), "t_0"),
        (DriftParameter(nu=0.1, nu_std=-0.5), "nu_std"),
        (DriftParameter(nu=0.1, wg_ratio=float("nan")), "wg_ratio"),
    ],
)
def test_bad_drift_parameters_are_config_errors(drift: DriftParameter, field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        AnalogTile(2, 2, _drifting(drift))


def test_bad_drift_fields_and_times_are_errors() -> None:
    with pytest.raises(ConfigError, match="drift"):
        AnalogTile(2, 2, SingleRPUConfig(device=ConstantStepDevice(drift=0.1)))  # type: ignore[arg-type]
    tile = AnalogTile(2, 2, _drifting(SimpleDriftParameter(nu=0.1)))
    for bad in (-1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="delta_t"):
            tile.drift_weights(bad)
    with pytest.raises(TypeError, match="delta_t"):
        tile.drift_weights("1")  # type: ignore[arg-type]
