"""Statistics of the remaining periphery and update effects against their formulas: input
noise, stochastic rounding in DAC and ADC, constant noise management, out_scale, probability
quantisation of the update, um_grad_scale and NONE_WITH_DEVICE."""

from __future__ import annotations

import torch

from rpusim import AnalogTile
from rpusim.configs import (
    BoundManagementType,
    ConstantStepDevice,
    IOParameters,
    NoiseManagementType,
    PulseType,
    SingleRPUConfig,
    UpdateParameters,
)

from helpers import clean_constant_step, ideal_with_forward

EXACT_ADC = {"out_res": 0.0, "out_bound": 0.0, "out_noise": 0.0}


def test_input_noise_std_is_inp_noise_times_row_norm(backend: str) -> None:
    io = IOParameters(inp_res=0.0, inp_noise=0.05, **EXACT_ADC)
    tile = AnalogTile(3, 40, ideal_with_forward(io), backend=backend)
    w = torch.zeros(3, 40)
    w[0, :10], w[1, :] = 0.3, -0.2
    tile.set_weights(w)
    x = torch.randn(3000, 40)
    alpha = x.abs().amax(dim=1, keepdim=True)
    residual = tile.forward(x) / alpha - (x / alpha) @ w.T
    expected = 0.05 * w.norm(dim=1)
    torch.testing.assert_close(residual[:, :2].std(dim=0), expected[:2], rtol=0.05, atol=0)
    assert residual[:, 2].abs().max() == 0


def test_stochastic_rounding_is_unbiased_in_dac_and_adc(backend: str) -> None:
    # One input 0.3 through a coarse DAC (step 0.5), weight 1, coarse ADC (step 0.25) after a
    # gain of 0.7: each rounding lands on a neighbouring level with the probabilities that make
    # it unbiased, so the mean output is exactly 0.3·0.7 = 0.21.
    io = IOParameters(
        noise_management=NoiseManagementType.NONE,
        inp_res=0.25,
        inp_sto_round=True,
        out_res=1 / 8,
        out_bound=1.0,
        out_sto_round=True,
        out_noise=0.0,
        bound_management=BoundManagementType.NONE,
    )
    tile = AnalogTile(1, 1, ideal_with_forward(io), backend=backend)
    tile.set_weights(torch.tensor([[0.7]]))
    y = tile.forward(torch.full((20000, 1), 0.3))[:, 0]
    assert set(torch.unique(torch.round(y / 0.25 * 1e4) / 1e4).tolist()) <= {0.0, 1.0, 2.0}
    assert abs(y.mean().item() - 0.21) < 3 * y.std().item() / 20000**0.5


def test_constant_noise_management_and_out_scale(backend: str) -> None:
    io = IOParameters(
        noise_management=NoiseManagementType.CONSTANT,
        nm_thres=2.0,
        inp_res=0.0,
        out_scale=3.0,
        **EXACT_ADC,
    )
    tile = AnalogTile(1, 1, ideal_with_forward(io), backend=backend)
    tile.set_weights(torch.tensor([[0.5]]))
    # u = clip(x / 2, ±1); y = out_scale · 2 · 0.5 · u.
    y = tile.forward(torch.tensor([[1.0], [-3.0]]))[:, 0]
    torch.testing.assert_close(y, torch.tensor([1.5, -3.0]))


def test_probability_resolution_and_its_stochastic_rounding(backend: str) -> None:
    # k = lr·1·1/dw_min = 4 → BL 4, the largest entries fire with probability 1; x_1 = 0.2 fires
    # with 0.2, which res = 0.5 rounds to 0 (never a pulse) and sto_round keeps unbiased.
    x = torch.tensor([[1.0, 0.2]])
    d = torch.tensor([[-1.0]])
    for sto_round, expected in ((False, 0.0), (True, 0.2 * 4 * 0.001)):
        update = UpdateParameters(res=0.5, sto_round=sto_round)
        config = SingleRPUConfig(device=clean_constant_step(), update=update)
        tile = AnalogTile(1, 2, config, backend=backend)
        changes = []
        for _ in range(3000):
            tile.set_weights(torch.zeros(1, 2))
            tile.update(x, d, 0.004)
            changes.append(tile.get_weights()[0, 1].item())
        dw = torch.tensor(changes, dtype=torch.float64)
        se = dw.std().item() / len(changes) ** 0.5
        assert abs(dw.mean().item() - expected) <= max(3 * se, 1e-12), (sto_round, dw.mean())


def test_um_grad_scale_moves_the_balance_not_the_mean(backend: str) -> None:
    config = SingleRPUConfig(
        device=clean_constant_step(), update=UpdateParameters(um_grad_scale=3.0)
    )
    tile = AnalogTile(2, 2, config, backend=backend)
    x = torch.tensor([[0.9, -0.4]])
    d = torch.tensor([[0.3, -0.6]])
    samples = torch.empty(3000, 2, 2, dtype=torch.float64)
    for r in range(3000):
        tile.set_weights(torch.zeros(2, 2))
        tile.update(x, d, 0.01)
        samples[r] = tile.get_weights()
    se = samples.std(0) / 3000**0.5
    expected = -0.01 * d.T.double() @ x.double()
    assert ((samples.mean(0) - expected).abs() <= 3 * se).all()


def test_none_with_device_updates_exactly_then_clips(backend: str) -> None:
    device = ConstantStepDevice(w_max=0.1, w_min=-0.1, w_max_dtod=0.0, w_min_dtod=0.0)
    update = UpdateParameters(pulse_type=PulseType.NONE_WITH_DEVICE)
    tile = AnalogTile(1, 2, SingleRPUConfig(device=device, update=update), backend=backend)
    tile.set_weights(torch.zeros(1, 2))
    tile.update(torch.tensor([[1.0, 0.5]]), torch.tensor([[-1.0]]), 0.15)
    torch.testing.assert_close(tile.get_weights(), torch.tensor([[0.1, 0.075]]))


def test_max_noise_management_scales_by_the_largest_input(backend: str) -> None:
    io = IOParameters(noise_management=NoiseManagementType.MAX, inp_res=0.0, **EXACT_ADC)
    tile = AnalogTile(1, 2, ideal_with_forward(io), backend=backend)
    tile.set_weights(torch.tensor([[1.0, 1.0]]))
    # α = max x = 2: u = clip(x / 2, ±1) = (1, -1) → y = 2·(1 − 1) = 0; the negative input is
    # clipped (-3/2 → -1). An all-negative vector has α ≤ 0 and gives 0.
    y = tile.forward(torch.tensor([[2.0, -3.0], [2.0, 1.0], [-1.0, -2.0]]))[:, 0]
    torch.testing.assert_close(y, torch.tensor([0.0, 3.0, 0.0]))
