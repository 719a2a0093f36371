"""IR drop and PCM_READ weight noise in the analog MVM against an independent float64 version
of aihwkit 1.1's formulas (src/rpucuda/rpu_forward_backward_pass.cpp, applyIrDrop and
applyOutputWeightNoise), their physics, the two backends against each other, and the config."""

from __future__ import annotations

import pickle

import pytest
import torch

import rpusim
from rpusim import AnalogTile
from rpusim.configs import (
    BoundManagementType,
    ConstantStepDevice,
    InferenceRPUConfig,
    IOParameters,
    IOParametersIRDropT,
    NoiseManagementType,
    PresetIOParameters,
    TransferCompound,
    UnitCellRPUConfig,
    WeightNoiseType,
)
from rpusim.exceptions import ConfigError
from rpusim.nn import AnalogLinear

from helpers import ideal_with_forward

# No quantisation, no output noise, no ADC range: the analog product is seen as it is.
CLEAN = {"inp_res": 0.0, "out_res": 0.0, "out_bound": 0.0, "out_noise": 0.0}


def ir_drop_product(
    u: torch.Tensor, w: torch.Tensor, ir_drop: float, g_ratio: float
) -> torch.Tensor:
    """W u less the IR drop, for DAC outputs u [batch, n] and weights w [out, n] (float64)."""
    u, w = u.double(), w.double()
    n = u.shape[1]
    current = (n / g_ratio) * (u.abs() @ w.abs().T)
    factor = current * (current * (0.05 * current - 0.2) + 0.5)
    far = 1.0 - (1.0 - torch.arange(n, dtype=torch.float64) / n) ** 2
    return u @ w.T - factor * ir_drop * ((u * far) @ w.T)


def _tile(io: IOParameters, w: torch.Tensor, backend: str, seed: int = 5) -> AnalogTile:
    tile = AnalogTile(w.shape[0], w.shape[1], ideal_with_forward(io), backend=backend, seed=seed)
    tile.set_weights(w)
    return tile


def test_ir_drop_matches_the_formula(backend: str) -> None:
    gen = torch.Generator().manual_seed(0)
    w = 0.5 * torch.randn(6, 40, generator=gen)
    x = torch.randn(50, 40, generator=gen)
    io = IOParameters(ir_drop=0.7, ir_drop_g_ratio=60.0, **CLEAN)
    alpha = x.abs().amax(dim=1, keepdim=True).double()
    expected = alpha * ir_drop_product(x / alpha, w, 0.7, 60.0)
    y = _tile(io, w, backend).forward(x).double()
    assert (expected - x.double() @ w.double().T).abs().mean() > 0.05  # the drop is visible
    torch.testing.assert_close(y, expected, rtol=1e-4, atol=1e-4)


def test_ir_drop_zero_is_the_exact_product(backend: str) -> None:
    gen = torch.Generator().manual_seed(1)
    w, x = torch.randn(5, 30, generator=gen), torch.randn(20, 30, generator=gen)
    y = _tile(IOParameters(ir_drop=0.0, ir_drop_g_ratio=10.0, **CLEAN), w, backend).forward(x)
    torch.testing.assert_close(y, x @ w.T, rtol=1e-5, atol=1e-5)


def test_ir_drop_shrinks_outputs_and_grows_along_the_line(backend: str) -> None:
    n = 32
    w = torch.full((3, n), 0.6)
    x = torch.rand(10, n, generator=torch.Generator().manual_seed(2)) + 0.1
    ideal = x @ w.T
    outputs = [
        _tile(IOParameters(ir_drop=s, ir_drop_g_ratio=100.0, **CLEAN), w, backend).forward(x)
        for s in (0.0, 0.5, 1.0, 2.0)
    ]
    torch.testing.assert_close(outputs[0], ideal, rtol=1e-5, atol=1e-5)
    for weaker, stronger in zip(outputs, outputs[1:]):
        assert (stronger < weaker).all()  # deterministic: strictly smaller at every output
    # One input at a time: input 0 loses nothing, the drop grows with the position j as
    # 1 − (1 − j/n)², the same fraction c·ir_drop of it for every position (equal |w|).
    io = IOParameters(ir_drop=1.0, ir_drop_g_ratio=100.0, **CLEAN)
    one_hot = torch.eye(n)
    y = _tile(io, w, backend).forward(one_hot)[:, 0]
    drop = 1.0 - y / 0.6
    assert drop[0].abs() < 1e-6
    assert (drop[1:] > drop[:-1]).all()
    a = n / 100.0 * 0.6
    c = a * (a * (0.05 * a - 0.2) + 0.5)
    far = 1.0 - (1.0 - torch.arange(n) / n) ** 2
    torch.testing.assert_close(drop, c * far, rtol=1e-4, atol=1e-6)


def test_ir_drop_acts_in_every_bound_management_pass(backend: str) -> None:
    # Positive weights and inputs saturate the ADC (bound 3); each re-read with the input
    # halved has its own, smaller IR drop (a is ∝ u and c(a) is non-linear).
    n = 32
    gen = torch.Generator().manual_seed(3)
    w = 0.3 + 0.4 * torch.rand(4, n, generator=gen)
    x = torch.rand(12, n, generator=gen) + 0.2
    io = IOParameters(
        ir_drop=1.0,
        ir_drop_g_ratio=400.0,
        inp_res=0.0,
        out_res=0.0,
        out_noise=0.0,
        out_bound=3.0,
        bound_management=BoundManagementType.ITERATIVE,
    )
    alpha = x.abs().amax(dim=1, keepdim=True).double()
    expected = torch.empty(12, 4, dtype=torch.float64)
    for k in range(12):
        reduction = 1.0
        while True:
            v = ir_drop_product(x[k : k + 1] / alpha[k] / reduction, w, 1.0, 400.0)
            if (v.abs() < 3.0).all():
                break
            reduction *= 2.0
        assert reduction > 1.0
        expected[k] = alpha[k] * reduction * v[0]
    y = _tile(io, w, backend).forward(x).double()
    torch.testing.assert_close(y, expected, rtol=1e-4, atol=1e-4)


def _pcm_io(out_noise: float) -> IOParameters:
    return IOParameters(
        w_noise=0.05,
        w_noise_type=WeightNoiseType.PCM_READ,
        noise_management=NoiseManagementType.NONE,
        inp_bound=10.0,
        inp_res=0.0,
        out_res=0.0,
        out_bound=0.0,
        out_noise=out_noise,
    )


@pytest.mark.parametrize("out_noise", [0.0, 0.03])
def test_pcm_read_noise_variance_is_w_noise_squared_times_abs_w_u_squared(
    backend: str, out_noise: float
) -> None:
    # Rows of |w| 0.1, 0.4 (mixed signs) and a ramp: the variance is linear in |w| (not w²)
    # and in u², so the standardised residual has unit variance at every output.
    n = 24
    w = torch.zeros(4, n)
    w[0] = 0.1
    w[1] = 0.4 * torch.where(torch.arange(n) % 2 == 0, 1.0, -1.0)
    w[2] = torch.linspace(-0.8, 0.8, n)
    w[3, :6] = 0.5  # only the first inputs conduct
    samples = 4000
    gen = torch.Generator().manual_seed(4)
    x = torch.randn(samples, n, generator=gen) * torch.linspace(0.2, 2.0, n)
    tile = _tile(_pcm_io(out_noise), w, backend)
    residual = (tile.forward(x) - x @ w.T).double()
    variance = 0.05**2 * (x.double() ** 2 @ w.double().abs().T) + out_noise**2
    z = residual / variance.sqrt()
    assert z.mean(dim=0).abs().max() < 4 / samples**0.5
    torch.testing.assert_close(z.std(dim=0), torch.ones(4, dtype=torch.float64), rtol=0.04, atol=0)
    # |w| 0.4 against 0.1 at the same inputs: a variance ratio of 4 (16 would be w²).
    ratio = residual[:, 1].var() / residual[:, 0].var()
    if out_noise == 0.0:
        assert 3.6 < ratio < 4.4
    # Independent across outputs.
    corr = torch.corrcoef(z.T)
    assert (corr - torch.eye(4, dtype=torch.float64)).abs().max() < 0.06


def test_pcm_read_noise_is_off_at_w_noise_zero(backend: str) -> None:
    io = IOParameters(w_noise=0.0, w_noise_type=WeightNoiseType.PCM_READ, **CLEAN)
    w, x = torch.randn(3, 10), torch.randn(8, 10)
    torch.testing.assert_close(_tile(io, w, backend).forward(x), x @ w.T, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("direction", ["forward", "backward"])
def test_gpu_matches_cpu_with_ir_drop_and_pcm_read(direction: str) -> None:
    reason = rpusim.gpu_unavailable_reason()
    if reason is not None:
        pytest.skip(f"gpu backend unavailable: {reason}")
    io = IOParameters(
        ir_drop=1.0,
        ir_drop_g_ratio=100.0,
        w_noise=0.02,
        w_noise_type=WeightNoiseType.PCM_READ,
        out_bound=4.0,
        out_res=0.0,
    )
    config = ideal_with_forward(io)
    config.backward = io
    gen = torch.Generator().manual_seed(6)
    w = 0.5 * torch.randn(20, 70, generator=gen)
    x, d = torch.randn(33, 70, generator=gen), torch.randn(33, 20, generator=gen)
    results = []
    for backend in ("cpu", "gpu"):
        tile = AnalogTile(20, 70, config, backend=backend, seed=11)
        tile.set_weights(w)
        results.append(tile.forward(x) if direction == "forward" else tile.backward(d))
    assert results[0].abs().mean() > 0.1
    torch.testing.assert_close(results[1], results[0], rtol=1e-4, atol=1e-4)


def test_settings_restore_and_bad_values_are_refused() -> None:
    io = IOParameters(
        ir_drop=0.5, ir_drop_g_ratio=200.0, w_noise=0.02, w_noise_type=WeightNoiseType.PCM_READ
    )
    tile = AnalogTile(4, 9, ideal_with_forward(io), seed=2)
    tile.set_weights(torch.randn(4, 9))
    x = torch.randn(5, 9)
    copy = pickle.loads(pickle.dumps(tile))
    assert copy.rpu_config.forward.ir_drop == 0.5
    assert copy.rpu_config.forward.w_noise_type is WeightNoiseType.PCM_READ
    assert torch.equal(copy.forward(x), tile.forward(x))
    for field, value in (("ir_drop", -0.1), ("ir_drop_g_ratio", 0.0), ("ir_drop", "big")):
        bad = IOParameters(**{field: value})  # type: ignore[arg-type]
        with pytest.raises(ConfigError, match=f"forward.{field}"):
            AnalogTile(2, 2, ideal_with_forward(bad))
    # A transfer read is one-hot: IR drop and PCM read noise there are refused by name.
    for read, name in (
        (IOParameters(ir_drop=1.0), "transfer_forward.ir_drop"),
        (IOParameters(w_noise=0.1, w_noise_type=WeightNoiseType.PCM_READ), "w_noise_type"),
    ):
        cell = TransferCompound(
            unit_cell_devices=[ConstantStepDevice(), ConstantStepDevice()], transfer_forward=read
        )
        config = UnitCellRPUConfig(device=cell)
        with pytest.raises(ConfigError, match=name):
            AnalogTile(2, 2, config)


def test_time_dependent_ir_drop_options_not_built_are_refused_by_name() -> None:
    from rpusim.configs import TorchInferenceRPUConfigIRDropT

    forward = IOParametersIRDropT(apply_xdep_pcm_read_noise=True)
    with pytest.raises(ConfigError, match="apply_xdep_pcm_read_noise"):
        TorchInferenceRPUConfigIRDropT(forward=forward).check()


def test_hwa_training_forward_settings_run_in_an_inference_layer(backend: str) -> None:
    # aihwkit's StandardHWATrainingPreset forward: PCM_READ w_noise 0.0175, ir_drop 1, constant
    # noise management, 8-bit DAC/ADC. The deviation from the exact product has the std of the
    # PCM read noise and the output noise at the DAC/ADC resolution (checked loosely here; the
    # exact statistics are tested above).
    io = PresetIOParameters(
        inp_res=254.0,
        out_res=254.0,
        bound_management=BoundManagementType.NONE,
        noise_management=NoiseManagementType.CONSTANT,
        nm_thres=1.0,
        w_noise=0.0175,
        w_noise_type=WeightNoiseType.PCM_READ,
        ir_drop=1.0,
        out_noise=0.04,
        out_bound=10.0,
    )
    torch.manual_seed(0)
    layer = AnalogLinear(64, 8, bias=False, rpu_config=InferenceRPUConfig(forward=io))
    layer.to_backend(backend)
    x = torch.rand(2000, 64)
    w = layer.get_weights()[0]
    residual = (layer(x) - x @ w.T).detach().double()
    pcm = 0.0175**2 * (x.double() ** 2 @ w.double().abs().T)
    expected = (pcm + 0.04**2).sqrt().mean(dim=0)
    ratio = residual.std(dim=0) / expected
    assert ((ratio > 0.9) & (ratio < 1.25)).all(), ratio
