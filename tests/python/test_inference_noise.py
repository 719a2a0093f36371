"""Noise models and conductance converters of inference (reference §7): each effect's
statistics against the formula it implements."""

from __future__ import annotations

import math

import pytest
import torch

from rpusim.exceptions import ConfigError, InputError
from rpusim.inference import (
    CustomDriftPCMLikeNoiseModel,
    DualPairConductanceConverter,
    PCMLikeNoiseModel,
    ReRamWan2022NoiseModel,
    SinglePairConductanceConverter,
    StateIndependentNoiseModel,
)

N = 40_000  # devices per level: relative error of a std estimate ≈ 1/√(2N) = 0.35 %
LEVELS = [2.0, 5.0, 12.5, 20.0, 25.0]


def level_tensor(levels: list[float]) -> torch.Tensor:
    return torch.tensor(levels)[:, None].expand(len(levels), N).contiguous()


def folded_normal_mean(mu: torch.Tensor, sigma: torch.Tensor) -> torch.Tensor:
    """E|μ + σξ|."""
    normal = torch.distributions.Normal(0.0, 1.0)
    return sigma * math.sqrt(2 / math.pi) * torch.exp(-(mu**2) / (2 * sigma**2)) + mu * (
        1 - 2 * normal.cdf(-mu / sigma)
    )


def test_pcm_programming_noise_follows_the_polynomial() -> None:
    model = PCMLikeNoiseModel()
    g = level_tensor(LEVELS)
    programmed = model.apply_programming_noise_to_conductance(g)
    c0, c1, c2 = 0.26348, 1.9650, -1.1731
    for row, level in enumerate(LEVELS):
        r = level / 25.0
        sigma = c0 + c1 * r + c2 * r * r
        err = programmed[row] - level
        assert abs(float(err.mean())) < 4 * sigma / math.sqrt(N)
        assert float(err.std()) == pytest.approx(sigma, rel=0.02)
    # Scaled to another g_max: σ·g_max/25 at the same relative conductance.
    model50 = PCMLikeNoiseModel(g_max=50.0, prog_noise_scale=0.5)
    err = model50.apply_programming_noise_to_conductance(torch.full((N,), 25.0)) - 25.0
    expected = 0.5 * (c0 + c1 * 0.5 + c2 * 0.25) * 50 / 25
    assert float(err.std()) == pytest.approx(expected, rel=0.02)


def test_pcm_programmed_conductances_are_never_negative() -> None:
    g = torch.zeros(N)
    programmed = PCMLikeNoiseModel().apply_programming_noise_to_conductance(g)
    assert float(programmed.min()) == 0.0
    # Half the draws clamp to 0, the others are the upper half of N(0, c0).
    assert float((programmed == 0).float().mean()) == pytest.approx(0.5, abs=0.01)
    positive_mean = float(programmed.mean())
    assert positive_mean == pytest.approx(0.26348 / math.sqrt(2 * math.pi), rel=0.03)


def test_pcm_drift_exponent_distribution() -> None:
    model = PCMLikeNoiseModel(drift_scale=1.0)
    g = level_tensor([0.1, 2.0, 12.5, 25.0])
    nu = model.generate_drift_coefficients(g)
    for row, level in enumerate([0.1, 2.0, 12.5, 25.0]):
        log_g = math.log(level / 25.0)
        mu = min(max(-0.0155 * log_g + 0.0244, 0.049), 0.1)
        sigma = min(max(-0.0125 * log_g - 0.0059, 0.008), 0.045)
        expected = folded_normal_mean(torch.tensor(mu), torch.tensor(sigma))
        assert float(nu[row].mean()) == pytest.approx(float(expected), rel=0.01)
        assert float(nu[row].min()) >= 0.0
    doubled = PCMLikeNoiseModel(drift_scale=2.0).generate_drift_coefficients(g)
    assert float(doubled.mean()) == pytest.approx(2 * float(nu.mean()), rel=0.02)


@pytest.mark.parametrize("t", [1.0, 3600.0, 86400.0, 3.15e7])
def test_pcm_mean_conductance_decays_as_a_power_law(t: float) -> None:
    model = PCMLikeNoiseModel(read_noise_scale=0.0)
    g_prog = torch.full((N,), 10.0)
    nu = torch.rand(N) * 0.1
    g_t = model.apply_drift_noise_to_conductance(g_prog, nu, t)
    # Without read noise, each device follows G·((t + t0)/t0)^(−ν) exactly.
    expected = g_prog * ((t + 20.0) / 20.0) ** (-nu)
    torch.testing.assert_close(g_t, expected, rtol=1e-5, atol=0)


@pytest.mark.parametrize("level", [1.0, 5.0, 25.0])
def test_pcm_read_noise_grows_with_log_time(level: float) -> None:
    model = PCMLikeNoiseModel(drift_scale=0.0)
    g_prog = torch.full((N,), level)
    for t in (0.0, 86400.0):
        read = model.apply_drift_noise_to_conductance(g_prog, torch.zeros(N), t)
        q = min(0.2, 0.0088 / max(1e-3, (level / 25.0) ** 0.65))
        t_total = t + 20.0
        sigma = q * math.sqrt(math.log((t_total + 250e-9) / (2 * 250e-9)))
        rel = (read - level) / level
        assert float(rel.std()) == pytest.approx(sigma, rel=0.02)


def test_pcm_weights_programmed_and_drifted_through_the_converter() -> None:
    weights = torch.linspace(-1.0, 1.0, 201).repeat(200, 1)
    exact = PCMLikeNoiseModel(prog_noise_scale=0.0, read_noise_scale=0.0, drift_scale=0.0)
    programmed, nus = exact.apply_programming_noise(weights)
    torch.testing.assert_close(programmed, weights, rtol=0, atol=1e-6)
    assert len(nus) == 2
    read = exact.apply_drift_noise(programmed, nus, 86400.0)
    torch.testing.assert_close(read, weights, rtol=0, atol=1e-6)
    # Drift only: |w| shrinks by (t'/t0)^(−ν) with ν drawn from the G of the weight's device.
    drift_only = PCMLikeNoiseModel(prog_noise_scale=0.0, read_noise_scale=0.0)
    programmed, nus = drift_only.apply_programming_noise(weights)
    read = drift_only.apply_drift_noise(programmed, nus, 3600.0)
    factor = 3620.0 / 20.0
    nu_of_weight = torch.where(weights >= 0, nus[0], nus[1])
    torch.testing.assert_close(read, weights * factor ** (-nu_of_weight), rtol=1e-4, atol=1e-6)


def test_single_pair_converter_layout() -> None:
    converter = SinglePairConductanceConverter(g_max=40.0, g_min=2.0)
    weights = torch.tensor([[-0.5, 0.0, 0.25, 1.0]])
    (g_plus, g_minus), params = converter.convert_to_conductances(weights)
    torch.testing.assert_close(g_plus, torch.tensor([[2.0, 2.0, 11.5, 40.0]]))
    torch.testing.assert_close(g_minus, torch.tensor([[21.0, 2.0, 2.0, 2.0]]))
    back = converter.convert_back_to_weights([g_plus, g_minus], params)
    torch.testing.assert_close(back, weights)


def test_dual_pair_converter_fills_the_low_significance_pair_first() -> None:
    converter = DualPairConductanceConverter(f_lst=[1.0, 3.0], g_max=25.0)
    weights = torch.tensor([[0.1, 0.25, 0.5, -1.0]])
    g, params = converter.convert_to_conductances(weights)
    assert len(g) == 4
    # Full range 4·25 µS: 0.25 fills pair 1 exactly; above it pair 2 (F = 3) takes the rest.
    torch.testing.assert_close(g[0], torch.tensor([[10.0, 25.0, 25.0, 0.0]]))
    torch.testing.assert_close(g[2], torch.tensor([[0.0, 0.0, 25.0 / 3, 0.0]]))
    torch.testing.assert_close(g[1], torch.tensor([[0.0, 0.0, 0.0, 25.0]]))
    torch.testing.assert_close(g[3], torch.tensor([[0.0, 0.0, 0.0, 25.0]]))
    torch.testing.assert_close(converter.convert_back_to_weights(g, params), weights)
    # Programming noise on a small weight enters once (F = 1), not amplified by F = 3.
    model = PCMLikeNoiseModel(g_converter=converter, read_noise_scale=0.0, drift_scale=0.0)
    small = torch.full((200, 200), 0.05)
    small[0, 0] = 1.0  # sets the scale
    programmed, _ = model.apply_programming_noise(small)
    spread = float((programmed - small)[1:].std()) * 100.0  # in µS (scale 100 µS per unit)
    sigma_used = 0.26348 + 1.9650 * 0.2 - 1.1731 * 0.04  # the G⁺ of pair 1 at 5 µS
    sigma_zero = 0.26348 * math.sqrt((1 - 1 / math.pi) / 2)  # a device at 0 (clamped)
    expected = math.sqrt(sigma_used**2 + sigma_zero**2 + 9 * 2 * sigma_zero**2)
    assert spread == pytest.approx(expected, rel=0.05)


def test_state_independent_model() -> None:
    model = StateIndependentNoiseModel(prog_coeff=[0.5, 0.0, 0.0], drift_nu_std=0.02)
    g = torch.full((N,), 10.0)
    err = model.apply_programming_noise_to_conductance(g) - g
    assert float(err.std()) == pytest.approx(0.5, rel=0.02)
    nu = model.generate_drift_coefficients(g)
    assert float(nu.mean()) == pytest.approx(0.1, rel=0.01)
    assert float(nu.std()) == pytest.approx(0.02, rel=0.03)
    no_read = StateIndependentNoiseModel(read_noise_scale=0.0)
    torch.testing.assert_close(
        no_read.apply_drift_noise_to_conductance(g, nu, 100.0), g * 6.0 ** (-nu)
    )
    no_drift = StateIndependentNoiseModel(drift_scale=0.0)
    read = no_drift.apply_drift_noise_to_conductance(g, torch.zeros(N), 100.0)
    sigma = (10.0 / 25.0) * math.sqrt(math.log((120.0 + 250e-9) / 500e-9))
    assert float((read - g).std()) == pytest.approx(sigma, rel=0.02)


def test_reram_wan2022_model() -> None:
    model = ReRamWan2022NoiseModel()
    g = level_tensor([5.0, 20.0])
    coeffs = ReRamWan2022NoiseModel.DEFAULT_COEFFS
    programmed = model.apply_programming_noise_to_conductance(g)
    day = model.apply_drift_noise_to_conductance(programmed, g, 86400.0)
    for row, level in enumerate([5.0, 20.0]):
        r = level / 25.0
        for values, key in ((programmed, 1.0), (day, 86400.0)):
            sigma = sum(c * r**i for i, c in enumerate(coeffs[key])) * 25.0 / 40.0
            assert float((values[row] - level).std()) == pytest.approx(sigma, rel=0.02)
    with pytest.raises(InputError, match="t_inference"):
        model.apply_drift_noise_to_conductance(g, g, 3600.0)


def test_custom_drift_table_is_interpolated() -> None:
    table = {"g_lst": [0.0, 10.0, 25.0], "nu_mean_lst": [0.1, 0.05, 0.02], "nu_std_lst": [0.0] * 3}
    model = CustomDriftPCMLikeNoiseModel(table)
    nu = model.generate_drift_coefficients(torch.tensor([0.0, 5.0, 10.0, 17.5, 25.0, 30.0]))
    torch.testing.assert_close(nu, torch.tensor([0.1, 0.075, 0.05, 0.035, 0.02, 0.02]))


def test_noise_model_and_converter_errors() -> None:
    with pytest.raises(ConfigError, match="g_min"):
        SinglePairConductanceConverter(g_max=1.0, g_min=2.0)
    with pytest.raises(ConfigError, match="f_lst"):
        DualPairConductanceConverter(f_lst=[1.0])
    with pytest.raises(ConfigError, match="t_0"):
        PCMLikeNoiseModel(t_0=0.0)
    with pytest.raises(ConfigError, match="prog_noise_scale"):
        PCMLikeNoiseModel(prog_noise_scale=-1.0)
    with pytest.raises(ConfigError, match="g_converter"):
        PCMLikeNoiseModel(g_converter="single")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="g_lst"):
        CustomDriftPCMLikeNoiseModel(
            {"g_lst": [2.0, 1.0], "nu_mean_lst": [0.1, 0.1], "nu_std_lst": [0.0, 0.0]}
        )
    model = PCMLikeNoiseModel()
    programmed, nus = model.apply_programming_noise(torch.randn(4, 4))
    with pytest.raises(InputError, match="t_inference"):
        model.apply_drift_noise(programmed, nus, -1.0)
    with pytest.raises(InputError, match="t_inference"):
        model.apply_drift_noise(programmed, nus, float("nan"))
