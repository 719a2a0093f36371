"""The pulse types STOCHASTIC, MEAN_COUNT and DETERMINISTIC_IMPLICIT against their formulas.

On an ideal constant step (no noise, far bounds) a device moves by (n_up − n_down)·dw_min, so its
pulse count is read off the weight. The plan (BL, A, B) is recomputed here in float32 as the
update management documents it: k = lr·xm·dm/g, BL = min(⌈k⌉, desired_bl), d clipped by
desired_bl/k when k > desired_bl, A = √(lr/(g·BL))·√(xm/dm), B = √(lr/(g·BL))·√(dm/xm).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys

import pytest
import torch

import rpusim
from rpusim import AnalogTile
from rpusim.configs import ConstantStepDevice, PulseType, SingleRPUConfig, UpdateParameters
from rpusim.exceptions import ConfigError

from helpers import clean_constant_step

G = 0.001  # dw_min of the clean constant step


def _f(v: float) -> torch.Tensor:
    return torch.tensor(v, dtype=torch.float32)


def _plan(x: torch.Tensor, d: torch.Tensor, lr: float, desired: int = 31) -> tuple:
    """(BL, A, B) of one vector pair, in float32 as the update plans it."""
    lr_t, g = _f(lr), _f(G)
    xm, dm = x.abs().max(), d.abs().max()
    k = lr_t * xm * dm / g
    bl = _f(float(min(max(float(torch.ceil(k)), 1.0), float(desired))))
    a = torch.sqrt(lr_t / (g * bl))
    dm_eff = dm * _f(float(desired)) / k if k > desired else dm
    b = a * torch.sqrt(dm_eff / xm)
    a = a * torch.sqrt(xm / dm_eff)
    return bl, a, b


def _quantise(p: torch.Tensor, step: float) -> torch.Tensor:
    return p if step <= 0 else torch.round(p / _f(step)) * _f(step)


def _counts(tile: AnalogTile) -> torch.Tensor:
    """Signed pulse counts (up positive) read off weights that started at zero."""
    steps = tile.get_weights() / G
    assert (steps - steps.round()).abs().max() < 1e-3, "not whole dw_min steps"
    return steps.round()


def _tile(update: UpdateParameters, backend: str, rows: int = 4, cols: int = 5) -> AnalogTile:
    tile = AnalogTile(
        rows, cols, SingleRPUConfig(device=clean_constant_step(), update=update), backend=backend
    )
    tile.set_weights(torch.zeros(rows, cols))
    return tile


X = torch.tensor([[0.8, -0.3, 0.55, 0.1, -1.0]])
D = torch.tensor([[0.25, -0.5, 0.05, 0.3]])


@pytest.mark.parametrize(("lr", "res"), [(0.01, 0.0), (0.03, 0.1), (0.5, 0.0)])
def test_mean_count_is_the_rounded_expected_count(backend: str, lr: float, res: float) -> None:
    tile = _tile(UpdateParameters(pulse_type=PulseType.MEAN_COUNT, res=res), backend)
    tile.update(X, D, lr)
    bl, a, b = _plan(X, D, lr)
    n_x = torch.clamp(torch.round(bl * _quantise(b * X[0].abs(), res)), 0, float(bl))
    n_d = torch.clamp(torch.round(bl * _quantise(a * D[0].abs(), res)), 0, float(bl))
    magnitude = torch.round((n_d / bl)[:, None] * n_x[None, :])
    # W −= lr·d·xᵀ: pulses go up where d_i·x_j < 0.
    expected = -torch.sign(D[0])[:, None] * torch.sign(X[0])[None, :] * magnitude
    torch.testing.assert_close(_counts(tile), expected, rtol=0, atol=0)
    assert magnitude.max() <= bl and magnitude.sum() > 0


@pytest.mark.parametrize(
    ("lr", "x_res", "d_res"), [(0.01, 0.0, 0.0), (0.02, 0.1, 0.25), (2.0, 0.2, 0.5)]
)
def test_deterministic_implicit_is_bl_times_the_quantised_product(
    backend: str, lr: float, x_res: float, d_res: float
) -> None:
    update = UpdateParameters(
        pulse_type=PulseType.DETERMINISTIC_IMPLICIT, x_res_implicit=x_res, d_res_implicit=d_res
    )
    tile = _tile(update, backend)
    tile.update(X, D, lr)
    bl, a, b = _plan(X, D, lr)
    p_x = torch.clamp(_quantise(b * X[0].abs(), x_res), 0, 1)
    p_d = torch.clamp(_quantise(a * D[0].abs(), d_res), 0, 1)
    magnitude = torch.round((p_d * bl)[:, None] * p_x[None, :])
    expected = -torch.sign(D[0])[:, None] * torch.sign(X[0])[None, :] * magnitude
    torch.testing.assert_close(_counts(tile), expected, rtol=0, atol=0)
    assert magnitude.max() <= bl and magnitude.sum() > 0
    if lr == 2.0:
        # k = 1000 > desired_bl: BL = 31 and the largest product saturates at it.
        assert bl == 31 and _counts(tile).abs().max() == 31


def test_deterministic_types_repeat_exactly(backend: str) -> None:
    for pulse_type in (PulseType.MEAN_COUNT, PulseType.DETERMINISTIC_IMPLICIT):
        tile = _tile(UpdateParameters(pulse_type=pulse_type), backend)
        tile.update(X, D, 0.01)
        once = tile.get_weights()
        tile.update(X, D, 0.01)
        torch.testing.assert_close(tile.get_weights(), 2 * once, rtol=0, atol=1e-7)


def test_stochastic_counts_are_binomial(backend: str) -> None:
    # lr = 0.01, xm = 1, dm = 0.5: k = 5 = BL, A·|d| = 2|d|, B·|x| = |x|; the count of a device is
    # Binomial(BL, p·q): mean BL·p·q = lr|d||x|/g, variance BL·p·q·(1 − p·q).
    x = torch.tensor([[1.0, -0.6, 0.3]])
    d = torch.tensor([[0.5, -0.2]])
    lr, reps = 0.01, 1500
    tile = _tile(UpdateParameters(pulse_type=PulseType.STOCHASTIC), backend, 2, 3)
    samples = torch.empty(reps, 2, 3, dtype=torch.float64)
    for r in range(reps):
        tile.set_weights(torch.zeros(2, 3))
        tile.update(x, d, lr)
        samples[r] = _counts(tile).double()
    pq = (2 * d[0].abs().double())[:, None] * x[0].abs().double()[None, :]
    sign = -torch.sign(d[0]).double()[:, None] * torch.sign(x[0]).double()[None, :]
    mean = samples.mean(0) * sign
    var = samples.var(0)
    se = (5 * pq * (1 - pq) / reps).sqrt()
    assert ((mean - 5 * pq).abs() <= 4 * se + 1e-12).all(), (mean, 5 * pq)
    expected_var = 5 * pq * (1 - pq)
    # x = 1 with d = 0.5 fire in every slot: exactly BL pulses, no spread.
    certain = pq == 1
    assert certain[0, 0] and (var[certain] == 0).all()
    # Relative standard error of a sample variance ≈ √(2/(n − 1)); 4 of them.
    ratio = var[~certain] / expected_var[~certain]
    assert ((ratio - 1).abs() < 4 * (2 / (reps - 1)) ** 0.5).all(), ratio


def test_stochastic_draws_the_compressed_trains(backend: str) -> None:
    x, d = torch.randn(6, 5), torch.randn(6, 4) * 0.2
    weights = []
    for pulse_type in (PulseType.STOCHASTIC, PulseType.STOCHASTIC_COMPRESSED):
        torch.manual_seed(3)
        tile = AnalogTile(
            4, 5, SingleRPUConfig(update=UpdateParameters(pulse_type=pulse_type)), backend=backend
        )
        tile.update(x, d, 0.1)
        weights.append(tile.get_weights())
    torch.testing.assert_close(weights[0], weights[1], rtol=0, atol=0)


NEW_TYPES = (PulseType.STOCHASTIC, PulseType.MEAN_COUNT, PulseType.DETERMINISTIC_IMPLICIT)


def _noisy_config(pulse_type: PulseType) -> SingleRPUConfig:
    return SingleRPUConfig(
        device=ConstantStepDevice(w_max=0.05, w_min=-0.05),
        update=UpdateParameters(pulse_type=pulse_type, x_res_implicit=0.1, d_res_implicit=0.1),
    )


@pytest.mark.parametrize("pulse_type", NEW_TYPES)
def test_restored_tiles_continue_identically(backend: str, pulse_type: PulseType) -> None:
    torch.manual_seed(11)
    tile = AnalogTile(6, 7, _noisy_config(pulse_type), backend=backend)
    x, d = torch.randn(4, 7), torch.randn(4, 6) * 0.3
    tile.update(x, d, 0.1)
    copy = AnalogTile(6, 7, _noisy_config(pulse_type), backend=backend)
    copy.__setstate__(pickle.loads(pickle.dumps(tile.__getstate__())))
    for _ in range(3):
        tile.update(x, d, 0.1)
        copy.update(x, d, 0.1)
    torch.testing.assert_close(copy.get_weights(), tile.get_weights(), rtol=0, atol=0)


@pytest.mark.parametrize("pulse_type", NEW_TYPES)
def test_gpu_matches_the_cpu(pulse_type: PulseType) -> None:
    reason = rpusim.gpu_unavailable_reason()
    if reason is not None:
        pytest.skip(f"gpu backend unavailable: {reason}")
    x, d = torch.randn(5, 12), torch.randn(5, 10) * 0.3
    weights = []
    for backend in ("cpu", "gpu"):
        torch.manual_seed(4)
        tile = AnalogTile(10, 12, _noisy_config(pulse_type), backend=backend)
        for _ in range(3):
            tile.update(x, d, 0.1)
        weights.append(tile.get_weights())
    assert weights[0].abs().sum() > 0
    torch.testing.assert_close(weights[1], weights[0], rtol=0, atol=1e-6)


SCRIPT = r"""
import hashlib, torch
from rpusim import AnalogTile
from rpusim.configs import ConstantStepDevice, SingleRPUConfig, UpdateParameters, PulseType
h = hashlib.sha256()
for name in ("STOCHASTIC", "MEAN_COUNT", "DETERMINISTIC_IMPLICIT"):
    torch.manual_seed(5)
    config = SingleRPUConfig(
        device=ConstantStepDevice(w_max=0.05, w_min=-0.05),
        update=UpdateParameters(pulse_type=PulseType[name], x_res_implicit=0.1),
    )
    tile = AnalogTile(40, 70, config)
    for _ in range(5):
        tile.update(torch.randn(8, 70), torch.randn(8, 40) * 0.3, 0.1)
    h.update(tile.get_weights().numpy().tobytes())
print(h.hexdigest())
"""


def test_one_and_two_threads_agree() -> None:
    def run(threads: int) -> str:
        env = {**os.environ, "RAYON_NUM_THREADS": str(threads)}
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    assert run(1) == run(2)


@pytest.mark.parametrize(
    ("update", "name"),
    [
        (
            UpdateParameters(pulse_type=PulseType.DETERMINISTIC_IMPLICIT, x_res_implicit=-0.1),
            "update.x_res_implicit",
        ),
        (
            UpdateParameters(pulse_type=PulseType.DETERMINISTIC_IMPLICIT, x_res_implicit=1.5),
            "update.x_res_implicit",
        ),
        (
            UpdateParameters(
                pulse_type=PulseType.DETERMINISTIC_IMPLICIT, d_res_implicit=float("nan")
            ),
            "update.d_res_implicit",
        ),
        (
            UpdateParameters(pulse_type=PulseType.DETERMINISTIC_IMPLICIT, d_res_implicit=3.0),
            "update.d_res_implicit",
        ),
        (UpdateParameters(pulse_type=PulseType.MEAN_COUNT, desired_bl=0), "update.desired_bl"),
        (UpdateParameters(pulse_type=PulseType.STOCHASTIC, desired_bl=1025), "update.desired_bl"),
    ],
)
def test_bad_parameters_name_the_field(update: UpdateParameters, name: str) -> None:
    with pytest.raises(ConfigError, match=name.replace(".", r"\.")):
        AnalogTile(2, 3, SingleRPUConfig(update=update))
