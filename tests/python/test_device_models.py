"""The weight-dependent device models (LinearStep, SoftBounds, SoftBoundsPmax, ExpStep, PowStep,
PiecewiseStep) through the Python API, on every backend: the update-once formula, conversions,
saved state and bad values."""

from __future__ import annotations

import json
import math
import pickle

import pytest
import torch

from rpusim import AnalogTile
from rpusim.configs import (
    ConstantStepDevice,
    ExpStepDevice,
    LinearStepDevice,
    PiecewiseStepDevice,
    PowStepDevice,
    SingleRPUConfig,
    SoftBoundsDevice,
    SoftBoundsPmaxDevice,
    SoftBoundsReferenceDevice,
    UpdateParameters,
)
from rpusim.exceptions import ConfigError

SINGLE_PULSE = UpdateParameters(desired_bl=1, update_management=False, update_bl_management=False)


def _soft_bounds(**kwargs: float) -> SoftBoundsDevice:
    no_dtod = dict(dw_min_dtod=0.0, up_down_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0)
    return SoftBoundsDevice(dw_min=0.01, w_max=1.0, w_min=-0.5, **{**no_dtod, **kwargs})


def test_soft_bounds_single_pulses_follow_the_formula(backend: str) -> None:
    rows = 3000
    device = _soft_bounds(dw_min_std=0.2)
    tile = AnalogTile(rows, 1, SingleRPUConfig(device=device, update=SINGLE_PULSE), backend)
    for w0 in (-0.3, 0.0, 0.6):
        for up in (True, False):
            tile.set_weights(torch.full((rows, 1), w0))
            tile.update(torch.ones(1, 1), torch.full((1, rows), -1.0 if up else 1.0), 0.01)
            dw = (tile.get_weights()[:, 0] - w0).double()
            step = 0.01 * (1 - w0 / 1.0) if up else -0.01 * (1 - w0 / -0.5)
            se = 0.2 * abs(step) / math.sqrt(rows)
            assert abs(float(dw.mean()) - step) < 4 * se, (w0, up)
            assert abs(float(dw.std()) - 0.2 * abs(step)) < 0.1 * 0.2 * abs(step), (w0, up)


def test_soft_bounds_reference_encodes_as_its_own_model() -> None:
    device = SoftBoundsReferenceDevice(slope_up_dtod=0.1, slope_down_dtod=0.2)
    core = json.loads(SingleRPUConfig(device=device).to_json())["device"]
    assert core["type"] == "SoftBoundsReferenceDevice"
    assert core["slope_up_dtod"] == 0.1 and core["slope_down_dtod"] == 0.2
    assert core["mult_noise"] is False and "dw_min" in core["pulsed"]


def test_soft_bounds_pmax_conversion() -> None:
    device = SoftBoundsPmaxDevice(p_max=1000, alpha=0.0005, range_min=-1.0, range_max=1.0)
    core = json.loads(SingleRPUConfig(device=device).to_json())["device"]
    span = 2.0 / (1.0 - math.exp(-0.5))
    assert core["type"] == "LinearStepDevice" and core["gamma_up"] == 1.0
    assert core["pulsed"]["w_min"] == -1.0
    assert core["pulsed"]["w_max"] == pytest.approx(-1.0 + span)
    assert core["pulsed"]["dw_min"] == pytest.approx(span * 0.0005)
    assert core["pulsed"]["up_down"] == pytest.approx(1.0 - 2.0 / span)


@pytest.mark.parametrize(
    "device",
    [
        LinearStepDevice(gamma_up=0.5, gamma_down=0.3),
        ExpStepDevice(),
        PowStepDevice(pow_gamma=2.0, pow_up_down=0.1),
        PiecewiseStepDevice(piecewise_up=[1.2, 1.0, 0.5], piecewise_down=[0.5, 1.0, 1.2]),
    ],
    ids=lambda d: type(d).__name__,
)
def test_state_round_trip_continues_identically(device: object, backend: str) -> None:
    tile = AnalogTile(6, 5, SingleRPUConfig(device=device), backend, seed=3)  # type: ignore[arg-type]
    x, d = torch.randn(4, 5), 0.1 * torch.randn(4, 6)
    tile.update(x, d, 0.1)
    copy = pickle.loads(pickle.dumps(tile))
    tile.update(x, d, 0.1)
    copy.update(x, d, 0.1)
    assert not torch.equal(tile.get_weights(), torch.zeros(6, 5))
    assert torch.equal(tile.get_weights(), copy.get_weights())


def test_reversed_soft_bounds_grow_toward_the_near_bound(backend: str) -> None:
    # reverse_up: Δw⁺ = Δ⁺(1 − w/(b_min − offset)); reverse_down: Δw⁻ = Δ⁻(1 − w/(b_max + offset)).
    device = _soft_bounds(dw_min_std=0.0, reverse_up=True, reverse_down=True, reverse_offset=0.1)
    tile = AnalogTile(3, 1, SingleRPUConfig(device=device, update=SINGLE_PULSE), backend)
    w0 = torch.tensor([[-0.4], [0.2], [0.8]])
    for sign, reference in ((-1.0, -0.5 - 0.1), (1.0, 1.0 + 0.1)):
        tile.set_weights(w0)
        tile.update(torch.ones(1, 1), torch.full((1, 3), sign), 0.01)
        step = (tile.get_weights() - w0).abs()
        torch.testing.assert_close(step, 0.01 * (1 - w0 / reference), rtol=1e-4, atol=1e-7)


def test_bad_values_are_named() -> None:
    with pytest.raises(ConfigError, match="write_noise_std"):
        AnalogTile(2, 2, SingleRPUConfig(device=SoftBoundsDevice(write_noise_std=-0.1)))
    with pytest.raises(ConfigError, match="corrupt_devices_prob"):
        AnalogTile(2, 2, SingleRPUConfig(device=ConstantStepDevice(corrupt_devices_prob=1.5)))
    with pytest.raises(ConfigError, match="mult_noise"):
        reversed_additive = LinearStepDevice(reverse_up=True, mult_noise=False)
        AnalogTile(2, 2, SingleRPUConfig(device=reversed_additive))
    with pytest.raises(ConfigError, match="w_max"):
        AnalogTile(2, 2, SingleRPUConfig(device=LinearStepDevice(gamma_up=1.0, w_max=-0.1)))
    with pytest.raises(ConfigError, match="p_max"):
        SingleRPUConfig(device=SoftBoundsPmaxDevice(p_max=0)).to_json()
    with pytest.raises(ConfigError, match="w_max"):
        AnalogTile(2, 2, SingleRPUConfig(device=ExpStepDevice(w_max=-0.7)))
    with pytest.raises(ConfigError, match="dw_min_std_add"):
        AnalogTile(2, 2, SingleRPUConfig(device=ExpStepDevice(dw_min_std_add=-1.0)))
    for kwargs, match in (
        ({"reference_std": -0.1}, "reference_std"),
        ({"subtract_symmetry_point": 1}, "subtract_symmetry_point"),
        ({"slope_up_dtod": -0.1}, "slope_up_dtod"),
        ({"w_min": 0.1}, "w_max"),
    ):
        with pytest.raises(ConfigError, match=match):
            AnalogTile(2, 2, SingleRPUConfig(device=SoftBoundsReferenceDevice(**kwargs)))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="piecewise_up"):
        AnalogTile(2, 2, SingleRPUConfig(device=PiecewiseStepDevice(piecewise_up=[1.0, 0.5])))
    with pytest.raises(ConfigError, match="piecewise_down"):
        SingleRPUConfig(device=PiecewiseStepDevice(piecewise_down="flat")).to_json()  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="pow_gamma"):
        AnalogTile(2, 2, SingleRPUConfig(device=PowStepDevice(pow_gamma=-1.0)))
    with pytest.raises(ConfigError, match="gamma_up"):
        SingleRPUConfig(device=LinearStepDevice(gamma_up="steep")).to_json()  # type: ignore[arg-type]
