"""aihwkit 1.1's ReRAM CMO noise model and the custom-pair and single-device conductance
converters: statistics against their formulas, round trips, refusals, and use in a layer."""

from __future__ import annotations

import math
import pickle

import pytest
import torch

from rpusim.configs import InferenceRPUConfig
from rpusim.exceptions import ConfigError
from rpusim.inference import (
    CustomPairConductanceConverter,
    PCMLikeNoiseModel,
    ReRamCMONoiseModel,
    SingleDeviceConductanceConverter,
)
from rpusim.nn import AnalogLinear

N = 40_000  # devices per level: a std estimate is good to ≈ 1/√(2N) = 0.35 %
LEVELS = [9.0, 30.0, 60.0, 88.199997]


def levels() -> torch.Tensor:
    return torch.tensor(LEVELS, dtype=torch.float64)[:, None].expand(len(LEVELS), N).contiguous()


def test_cmo_programming_noise_is_linear_in_g_and_uses_the_acceptance_range() -> None:
    torch.manual_seed(0)
    g = levels()
    # The default acceptance range 2e-2 is not a key, so the 0.2 % fit is used (as aihwkit).
    for model, (c0, c1) in (
        (ReRamCMONoiseModel(), (0.00081107, 0.00106879)),
        (
            ReRamCMONoiseModel(acceptance_range=2, prog_noise_scale=3.0),
            (0.0112185391, 0.01129027418),
        ),
    ):
        err = model.apply_programming_noise_to_conductance(g) - g
        scale = model.prog_noise_scale
        for row, level in enumerate(LEVELS):
            sigma = scale * (c0 + c1 * level)
            assert abs(float(err[row].mean())) < 4 * sigma / math.sqrt(N)
            assert float(err[row].std()) == pytest.approx(sigma, rel=0.02)
    assert ReRamCMONoiseModel().acceptance_range == 0.2


@pytest.mark.parametrize("t", [1.0, 3600.0, 86400.0])
def test_cmo_relaxation_and_read_noise_with_time(t: float) -> None:
    torch.manual_seed(1)
    model = ReRamCMONoiseModel()
    g = torch.full((N,), 50.0, dtype=torch.float64)
    read = model.apply_drift_noise_to_conductance(g, g, t)
    log_t = math.log(t)
    mean = 50.0 - 0.08900206 * log_t
    relax = 0.04201137 * log_t + 0.41183342
    # Read σ at the relaxed conductance: K·log10(G)·√ln((t + t_read)/(2 t_read)), G ≈ mean.
    sigma_read = 0.0277316483 * math.log10(mean) * math.sqrt(math.log((t + 1e-6) / 2e-6))
    sigma = math.sqrt(relax**2 + sigma_read**2)
    assert abs(float(read.mean()) - mean) < 4 * sigma / math.sqrt(N)
    assert float(read.std()) == pytest.approx(sigma, rel=0.02)
    # drift_scale scales the shift and the relaxation; read_noise_scale the read noise.
    quiet = ReRamCMONoiseModel(drift_scale=2.0, read_noise_scale=0.0)
    read2 = quiet.apply_drift_noise_to_conductance(g, g, t)
    shifted = 50.0 - 2 * 0.08900206 * log_t
    assert abs(float(read2.mean()) - shifted) < 4 * 2 * relax / math.sqrt(N)
    assert float(read2.std()) == pytest.approx(2 * relax, rel=0.02)


def test_cmo_reads_stay_in_range_and_t0_is_the_programmed_state() -> None:
    torch.manual_seed(2)
    model = ReRamCMONoiseModel(g_max=40.0, g_min=10.0, drift_scale=20.0)
    g = torch.tensor([10.0, 25.0, 40.0]).repeat(5000)
    assert torch.equal(model.apply_drift_noise_to_conductance(g, g, 0.0), g)
    read = model.apply_drift_noise_to_conductance(g, g, 1e5)
    assert float(read.min()) == 10.0 and float(read.max()) == 40.0


def test_cmo_weight_level_program_and_drift() -> None:
    torch.manual_seed(3)
    model = ReRamCMONoiseModel(acceptance_range=2)
    weights = torch.linspace(-1.0, 1.0, 201).repeat(50, 1)
    programmed, drift = model.apply_programming_noise(weights)
    assert len(drift) == 1
    # One device: G = (W − min W)·scale + g_min, scale = 79.2/2 µS per unit weight.
    scale = (88.199997 - 9.0) / 2.0
    g = (weights - weights.min()) * scale + 9.0
    expected = (0.0112185391 + 0.01129027418 * g) / scale
    err = programmed - weights
    assert float(err.std(dim=0)[100]) == pytest.approx(float(expected[0, 100]), rel=0.15)
    assert float((err.std(dim=0) / expected[0]).mean()) == pytest.approx(1.0, rel=0.03)
    later = model.apply_drift_noise(programmed, drift, 3600.0)
    assert later.shape == weights.shape
    # Relaxation shifts G down by 0.089·ln t µS; the conversion back rescales it from the
    # drifted conductances' own range, so only the spread is checked: it grows with time.
    assert float((later - weights).std()) > float(err.std())


def test_cmo_arguments_are_checked() -> None:
    with pytest.raises(ConfigError, match="g_min"):
        ReRamCMONoiseModel(g_max=10.0, g_min=20.0)
    with pytest.raises(ConfigError, match="prog_noise_scale"):
        ReRamCMONoiseModel(prog_noise_scale=-1.0)
    with pytest.raises(ConfigError, match="decay_dict"):
        ReRamCMONoiseModel(decay_dict={"mean": [0.1]})
    with pytest.raises(ConfigError, match="read_dict"):
        ReRamCMONoiseModel(read_dict={"K": 0.1, "t_read": 0.0})


def test_single_device_converter_round_trip_and_mapping() -> None:
    torch.manual_seed(4)
    converter = SingleDeviceConductanceConverter()
    assert (converter.g_max, converter.g_min) == (88.199997, 9.0)
    weights = torch.randn(30, 20, dtype=torch.float64)
    (g,), params = converter.convert_to_conductances(weights)
    assert float(g.min()) == pytest.approx(9.0) and float(g.max()) == pytest.approx(88.199997)
    slope = (88.199997 - 9.0) / float(weights.max() - weights.min())
    torch.testing.assert_close(g, (weights - weights.min()) * slope + 9.0)
    torch.testing.assert_close(converter.convert_back_to_weights([g], params), weights)
    (g0,), params0 = converter.convert_to_conductances(torch.full((3, 3), 0.5))
    assert torch.equal(g0, torch.full((3, 3), 9.0))
    assert torch.equal(converter.convert_back_to_weights([g0], params0), torch.full((3, 3), 0.5))
    with pytest.raises(ConfigError, match="1 conductance"):
        converter.convert_back_to_weights([g, g], params)


TABLES = [
    # Pair 1 (factor 3): G+ rises on the positive side only, G- on the negative side.
    [10.0, 10.0, 10.0, 15.0, 20.0],
    [20.0, 15.0, 10.0, 10.0, 10.0],
    # Pair 2 (factor 1): a finer pair over the whole range.
    [0.0, 2.5, 5.0, 7.5, 10.0],
    [10.0, 7.5, 5.0, 2.5, 0.0],
]


def test_custom_pair_converter_interpolates_its_tables() -> None:
    converter = CustomPairConductanceConverter([3.0, 1.0], TABLES)
    assert (converter.g_max, converter.g_min) == (25.0, 0.0)
    weights = torch.tensor([[-2.0, -1.0, -0.5, 0.0], [0.25, 1.0, 1.5, 2.0]], dtype=torch.float64)
    conductances, params = converter.convert_to_conductances(weights)
    # w_us at the table points: 3·(G1+ − G1−) + (G2+ − G2−) = [−40, −20, 0, 20, 40] µS.
    assert float(params["scale_ratio"]) == pytest.approx(40.0 / 2.0)
    grid = [-2.0, -1.0, 0.0, 1.0, 2.0]  # the table points in weight units
    for g, table in zip(conductances, TABLES):
        for w, value in zip(weights.flatten().tolist(), g.flatten().tolist()):
            k = max(i for i, x in enumerate(grid) if x <= w) if w < 2 else 3
            frac = (w - grid[k]) / (grid[k + 1] - grid[k])
            expected = table[k] + frac * (table[k + 1] - table[k])
            assert value == pytest.approx(expected)
    back = converter.convert_back_to_weights(conductances, params)
    torch.testing.assert_close(back, weights)
    # Beyond the table (not possible from one matrix's own scale) the ends hold.
    assert converter.convert_to_conductances(torch.tensor([1.0]))[0][0].item() == 20.0


def test_custom_pair_converter_refuses_bad_tables() -> None:
    with pytest.raises(ConfigError, match="g_lst"):
        CustomPairConductanceConverter([1.0], [[0.0, 5.0]])
    with pytest.raises(ConfigError, match="g_lst"):
        CustomPairConductanceConverter([1.0], [[0.0, 5.0], [1.0]])
    with pytest.raises(ConfigError, match="g_lst"):
        CustomPairConductanceConverter([1.0], [[0.0, 50.0], [1.0, 0.0]])
    # Not invertible: G+ saturates on the positive side, so weights 0.5 and 1 coincide.
    with pytest.raises(ConfigError, match="not invertible"):
        CustomPairConductanceConverter(
            [1.0], [[0.0, 0.0, 0.0, 10.0, 10.0], [10.0, 5.0, 0.0, 0.0, 0.0]]
        )
    CustomPairConductanceConverter(
        [1.0], [[0.0, 0.0, 0.0, 10.0, 10.0], [10.0, 5.0, 0.0, 0.0, 0.0]], invertibility_test=False
    )


def test_new_converters_work_with_the_noise_models_and_a_layer() -> None:
    torch.manual_seed(5)
    weights = 0.3 * torch.randn(8, 12)
    for converter in (
        SingleDeviceConductanceConverter(g_max=25.0, g_min=1.0),
        CustomPairConductanceConverter([3.0, 1.0], TABLES),
    ):
        model = PCMLikeNoiseModel(g_converter=converter, g_max=converter.g_max)
        programmed, drift = model.apply_programming_noise(weights)
        assert len(drift) == (1 if isinstance(converter, SingleDeviceConductanceConverter) else 4)
        assert 0 < float((programmed - weights).std()) < 0.1
        later = model.apply_drift_noise(programmed, drift, 3600.0)
        assert torch.isfinite(later).all()
    for noise_model in (
        ReRamCMONoiseModel(),
        PCMLikeNoiseModel(g_converter=CustomPairConductanceConverter([3.0, 1.0], TABLES)),
    ):
        layer = AnalogLinear(12, 8, rpu_config=InferenceRPUConfig(noise_model=noise_model))
        layer.set_weights(weights, torch.zeros(8))
        layer.eval()
        layer.program_analog_weights()
        layer.drift_analog_weights(86400.0)
        y = layer(torch.randn(4, 12))
        assert torch.isfinite(y).all()
        copy = pickle.loads(pickle.dumps(layer))
        assert copy.analog_tile.rpu_config.noise_model == noise_model
        assert torch.equal(copy.get_weights()[0], layer.get_weights()[0])
