"""Inference tiles (reference §7): hardware-aware-training modifiers, clipping and remapping,
programming/drift through the layers, drift compensation, saved state, backends, bad input."""

from __future__ import annotations

import io
import math
import pickle

import pytest
import torch
from torch import nn

from rpusim.configs import (
    InferenceRPUConfig,
    IOParameters,
    MappingParameter,
    WeightClipParameter,
    WeightClipType,
    WeightModifierParameter,
    WeightModifierType,
    WeightRemapParameter,
    WeightRemapType,
)
from rpusim.exceptions import ConfigError, InputError, StateError
from rpusim.inference import (
    GlobalDriftCompensation,
    GlobalDriftCompensationWithExactReference,
    PCMLikeNoiseModel,
    PerColumnDriftCompensation,
)
from rpusim.inference.modifier import clip_weights_, modify_weights, remap_weights_
from rpusim.inference.tile import InferenceTile
from rpusim.nn import AnalogLinear, AnalogSequential, convert_to_analog, convert_to_digital
from rpusim.optim import AnalogSGD

T = WeightModifierType


def modifier(kind: WeightModifierType, **kwargs: object) -> WeightModifierParameter:
    return WeightModifierParameter(type=kind, **kwargs)  # type: ignore[arg-type]


def perfect_config(**kwargs: object) -> InferenceRPUConfig:
    return InferenceRPUConfig(forward=IOParameters(is_perfect=True), **kwargs)  # type: ignore[arg-type]


def big_weights() -> torch.Tensor:
    w = torch.rand(400, 500) * 2 - 1
    w[0, 0] = 1.0
    return w


# Modifiers: each formula's statistics.
def test_add_and_mult_normal() -> None:
    w = big_weights() * 0.8  # amax 0.8
    out = modify_weights(w, modifier(T.ADD_NORMAL, std_dev=0.1))
    assert float((out - w).std()) == pytest.approx(0.1 * 0.8, rel=0.01)
    out = modify_weights(w, modifier(T.MULT_NORMAL, std_dev=0.1))
    rel = (out - w) / w
    assert float(rel.std()) == pytest.approx(0.1 * 0.8, rel=0.01)
    fixed = modify_weights(w, modifier(T.ADD_NORMAL, std_dev=0.1, rel_to_actual_wmax=False))
    assert float((fixed - w).std()) == pytest.approx(0.1, rel=0.01)
    torch.testing.assert_close(modify_weights(w, modifier(T.ADD_NORMAL)), w)


def test_discretize() -> None:
    w = big_weights()
    out = modify_weights(w, modifier(T.DISCRETIZE, res=0.1))
    steps = out / 0.1
    torch.testing.assert_close(steps, steps.round(), rtol=0, atol=1e-4)
    assert float((out - w).abs().max()) <= 0.05 + 1e-6
    # Half-way values round away from zero.
    half = torch.tensor([[1.0, 0.25, -0.25, 0.35]])
    torch.testing.assert_close(
        modify_weights(half, modifier(T.DISCRETIZE, res=0.5)),
        torch.tensor([[1.0, 0.5, -0.5, 0.5]]),
    )
    # The largest float32 below a half step stays below (floor(|x| + 0.5) would round it up).
    below = torch.tensor([[1.0, 0.49999997 * 0.5, -0.49999997 * 0.5]])
    torch.testing.assert_close(
        modify_weights(below, modifier(T.DISCRETIZE, res=0.5)),
        torch.tensor([[1.0, 0.0, -0.0]]),
        rtol=0,
        atol=0,
    )
    # Stochastic rounding is unbiased: 0.23 on a 0.1 grid is 0.2 with p 0.7, 0.3 with p 0.3.
    level = torch.full((200, 500), 0.23)
    level[0, 0] = 1.0
    out = modify_weights(level, modifier(T.DISCRETIZE, res=0.1, sto_round=True))[1:]
    assert float(out.mean()) == pytest.approx(0.23, abs=0.002)
    assert set(torch.round(out.unique() * 10).tolist()) == {2.0, 3.0}


def test_discretize_add_normal_and_dorefa() -> None:
    w = big_weights()
    out = modify_weights(w, modifier(T.DISCRETIZE_ADD_NORMAL, res=0.1, std_dev=0.05))
    grid = modify_weights(w, modifier(T.DISCRETIZE, res=0.1))
    assert float((out - grid).std()) == pytest.approx(0.05, rel=0.02)
    out = modify_weights(w, modifier(T.DOREFA, res=0.1, dorefa_clip=0.6))
    scale = 0.6 / math.tanh(1.0)
    expected = (
        0.1
        * torch.sign(torch.tanh(w) * scale / 0.1)
        * torch.floor((torch.tanh(w) * scale / 0.1).abs() + 0.5)
    )
    torch.testing.assert_close(out, expected)
    assert float(out.abs().max()) == pytest.approx(0.6)


def test_poly_and_prog_noise() -> None:
    coeffs = [0.01, 0.08, -0.05]
    w = torch.full((200, 500), 0.5)
    w[0, 0] = 2.0  # amax 2: |w|/amax = 0.25
    sigma = 0.1 * (0.01 + 0.08 * 0.25 - 0.05 * 0.0625)
    out = modify_weights(w, modifier(T.POLY, std_dev=0.1, coeffs=coeffs))
    assert float((out - w)[1:].std()) == pytest.approx(2.0 * sigma, rel=0.02)
    # PROG_NOISE: std_dev/g_max, and the sign survives (noise mirrored at zero).
    small = torch.full((200, 500), -0.01)
    small[0, 0] = 1.0
    out = modify_weights(small, modifier(T.PROG_NOISE, std_dev=25.0, coeffs=[0.05]))
    assert float(out[1:].max()) <= 0.0
    # |−0.01 + 0.05 ξ| has the folded-normal mean.
    mu, s = 0.01, 0.05
    folded = s * math.sqrt(2 / math.pi) * math.exp(-(mu**2) / (2 * s * s)) + mu * math.erf(
        mu / (s * math.sqrt(2))
    )
    assert float(-out[1:].mean()) == pytest.approx(folded, rel=0.02)


def test_drop_connect_keeps_survivors_exact() -> None:
    w = big_weights()
    for kind in (T.DROP_CONNECT, T.NONE):
        out = modify_weights(w, modifier(kind, pdrop=0.3))
        dropped = out == 0
        assert float(dropped.float().mean()) == pytest.approx(0.3, abs=0.005)
        torch.testing.assert_close(out[~dropped], w[~dropped], rtol=0, atol=0)


def test_pcm_noise_modifier() -> None:
    w = big_weights()
    # Without noise at t = t0 it is the identity on [−ω, ω].
    torch.testing.assert_close(modify_weights(w, modifier(T.PCM_NOISE)), w, rtol=1e-6, atol=1e-7)
    assert bool((modify_weights(w, modifier(T.PCM_NOISE, pcm_prob_at_reset=1.0)) == 0).all())
    # Programming and read noise at a level: g = 12.5 µS (w = 0.5 of ω = 1).
    level = torch.full((200, 500), 0.5)
    level[0, 0] = 1.0
    out = modify_weights(level, modifier(T.PCM_NOISE, std_dev=1.0))[1:]
    r = 0.5
    sigma_prog = 0.26348 + 1.9650 * r - 1.1731 * r * r
    q = 0.0088 / r**0.65
    read = q * math.sqrt(math.log((20.0 + 250e-9) / 500e-9))
    expected = math.sqrt(sigma_prog**2 + (12.5 * read) ** 2) / 25.0
    assert float(out.std()) == pytest.approx(expected, rel=0.03)
    assert float(out.min()) >= 0.0  # the sign is kept
    # Drift-exponent spread at t > 0: the mean decays only through |ν| = |σ_ν ξ|.
    drift = modify_weights(level, modifier(T.PCM_NOISE, pcm_t_inference=86400.0))[1:]
    sigma_nu = min(max(-0.0125 * math.log(0.5) - 0.0059, 0.008), 0.045)
    nu_mean = sigma_nu * math.sqrt(2 / math.pi)
    expected_mean = 0.5 * float(
        torch.distributions.Normal(0.0, 1.0)
        .sample((100_000,))
        .abs()
        .mul(sigma_nu)
        .neg()
        .mul(math.log((86400.0 + 20.0) / 20.0))
        .exp()
        .mean()
    )
    assert float(drift.mean()) == pytest.approx(expected_mean, rel=0.002)
    assert float(drift.mean()) < 0.5 * (86420.0 / 20.0) ** (-nu_mean / 2)


# Clipping and remapping.
def test_clip_types() -> None:
    w = torch.randn(50, 60)
    for param, value in (
        (WeightClipParameter(type=WeightClipType.FIXED_VALUE, fixed_value=0.5), 0.5),
        (WeightClipParameter(type=WeightClipType.LAYER_GAUSSIAN, sigma=1.5), 1.5 * float(w.std())),
        (
            WeightClipParameter(type=WeightClipType.AVERAGE_CHANNEL_MAX),
            float(w.abs().amax(dim=1).mean()),
        ),
        (
            WeightClipParameter(type=WeightClipType.LAYER_GAUSSIAN, sigma=1.5, fixed_value=0.3),
            0.3,
        ),
    ):
        clipped = w.clone()
        clip_weights_(clipped, param)
        torch.testing.assert_close(clipped, w.clamp(-value, value))
    untouched = w.clone()
    clip_weights_(untouched, WeightClipParameter(type=WeightClipType.FIXED_VALUE))
    torch.testing.assert_close(untouched, w)


def test_remap_keeps_the_effective_weights() -> None:
    w = torch.randn(6, 10)
    for kind in (WeightRemapType.LAYERWISE_SYMMETRIC, WeightRemapType.CHANNELWISE_SYMMETRIC):
        stored, scales = w.clone(), torch.tensor([1.0, 2.0, 0.5, 1.0, 1.0, 3.0])
        effective = scales[:, None] * stored
        remap_weights_(stored, scales, WeightRemapParameter(type=kind))
        torch.testing.assert_close(scales[:, None] * stored, effective)
        if kind == WeightRemapType.LAYERWISE_SYMMETRIC:
            assert float(stored.abs().max()) == pytest.approx(1.0)
        else:
            torch.testing.assert_close(stored.abs().amax(dim=1), torch.ones(6))
    stored, scales = w.clone(), torch.ones(6)
    remap_weights_(
        stored,
        scales,
        WeightRemapParameter(type=WeightRemapType.CHANNELWISE_SYMMETRIC, max_scale_range=1.2),
    )
    torch.testing.assert_close(scales[:, None] * stored, w)
    assert float(scales.max()) <= 1.2 + 1e-6


# The tile in a layer.
def test_modifier_changes_the_forward_only_in_training() -> None:
    config = perfect_config(modifier=modifier(T.ADD_NORMAL, std_dev=0.1))
    layer = AnalogLinear(20, 10, bias=False, rpu_config=config)
    weight = layer.get_weights()[0]
    x = torch.randn(8, 20)
    first, again = layer(x), layer(x)
    assert not torch.allclose(first, x @ weight.T, atol=1e-3)
    torch.testing.assert_close(first, again)  # one draw per mini-batch
    layer.eval()
    torch.testing.assert_close(layer(x), x @ weight.T)
    layer.train()
    opt = AnalogSGD(layer.parameters(), lr=0.0)
    opt.step()
    assert not torch.allclose(layer(x), first)  # a new draw after the step
    config.modifier.enable_during_test = True
    layer.eval()
    assert not torch.allclose(layer(x), x @ weight.T, atol=1e-3)


def test_update_is_exact_sgd_with_the_modified_backward() -> None:
    config = perfect_config(modifier=modifier(T.ADD_NORMAL, std_dev=0.2))
    layer = AnalogLinear(6, 4, bias=False, rpu_config=config)
    w0 = layer.get_weights()[0]
    x = torch.randn(5, 6, requires_grad=True)
    out = layer(x)
    modified = layer.analog_tile.get_hidden_weights()["modified"]
    torch.testing.assert_close(out, x @ modified.T)
    grad = torch.randn(5, 4)
    out.backward(grad)
    assert x.grad is not None
    torch.testing.assert_close(x.grad, grad @ modified)
    AnalogSGD(layer.parameters(), lr=0.1).step()
    torch.testing.assert_close(layer.get_weights()[0], w0 - 0.1 * grad.T @ x.detach())


def test_remap_and_clip_in_training() -> None:
    config = perfect_config(
        clip=WeightClipParameter(type=WeightClipType.FIXED_VALUE, fixed_value=0.2),
        remap=WeightRemapParameter(type=WeightRemapType.CHANNELWISE_SYMMETRIC),
    )
    layer = AnalogLinear(6, 4, bias=False, rpu_config=config)
    x = torch.randn(5, 6)
    layer(x).sum().backward()
    AnalogSGD(layer.parameters(), lr=0.1).step()
    stored = layer.analog_tile.get_hidden_weights()["stored"]
    torch.testing.assert_close(stored.abs().amax(dim=1), torch.ones(4))
    weight = layer.get_weights()[0]
    assert float(weight.abs().max()) <= 0.2 + 1e-6
    layer.eval()
    torch.testing.assert_close(layer(x), x @ weight.T)
    # With output scales s ≠ 1 the step moves s⊙W by the plain SGD step; the clip then acts on
    # the stored W (as in the reference), i.e. at ±0.2·s on the layer's weights.
    current = layer.analog_tile.mapping_scales
    assert current is not None and not torch.allclose(current, torch.ones(4))
    scales = current.clone()  # remapping rescales it in place
    layer.train()
    grad = torch.randn(5, 4)
    layer(x).backward(grad)
    AnalogSGD(layer.parameters(), lr=0.1).step()
    stepped = (weight - 0.1 * grad.T @ x) / scales[:, None]
    expected = scales[:, None] * stepped.clamp(-0.2, 0.2)
    torch.testing.assert_close(layer.get_weights()[0], expected)


def pcm_layer(
    compensation: object = None, drift_only: bool = True, forward: object = None
) -> AnalogLinear:
    model = (
        PCMLikeNoiseModel(prog_noise_scale=0.0, read_noise_scale=0.0)
        if drift_only
        else PCMLikeNoiseModel()
    )
    config = InferenceRPUConfig(
        forward=forward or IOParameters(),  # type: ignore[arg-type]
        noise_model=model,
        drift_compensation=compensation,  # type: ignore[arg-type]
    )
    layer = AnalogLinear(128, 64, bias=False, rpu_config=config)
    # Full-range weights (as after remapping): the one-hot readout of the compensation is
    # then far above the output noise (0.06), which would bias α for weights of ~0.05.
    layer.set_weights(torch.rand(64, 128) * 2 - 1)
    return layer


@pytest.mark.parametrize(
    "compensation",
    [
        GlobalDriftCompensation(),
        PerColumnDriftCompensation(),
        GlobalDriftCompensationWithExactReference(),
    ],
)
@torch.no_grad()
def test_drift_compensation_restores_the_output_scale(compensation: object) -> None:
    layer = pcm_layer(compensation)
    x = torch.rand(256, 128) * 2 - 1
    layer.eval()
    reference = layer(x).abs().mean(dim=0)
    layer.program_analog_weights()
    layer.drift_analog_weights(3.15e7)  # one year
    compensated = layer(x).abs().mean(dim=0)
    tile = layer.analog_tile
    assert isinstance(tile, InferenceTile) and tile.alpha is not None
    raw = compensated / tile.alpha
    # Drift alone: ν ≈ 0.05–0.1 at these conductances, |y| falls to (1.6e6)^(−ν) ≈ 0.3–0.5.
    assert 0.2 < float(raw.mean() / reference.mean()) < 0.6
    assert float(compensated.mean() / reference.mean()) == pytest.approx(1.0, abs=0.05)
    if isinstance(compensation, PerColumnDriftCompensation):
        assert tile.alpha.shape == (64,)
        ratio = compensated / reference
        assert float((ratio - 1).abs().max()) < 0.2
    else:
        assert tile.alpha.dim() == 0


def test_no_compensation_and_program_then_train() -> None:
    layer = pcm_layer(None, drift_only=False, forward=IOParameters(is_perfect=True))
    x = torch.rand(16, 128)
    layer.eval()
    exact = layer(x)
    layer.drift_analog_weights(3600.0)  # programs first
    assert layer.analog_tile.alpha is None
    drifted = layer(x)
    assert not torch.allclose(drifted, exact, atol=1e-2)
    hidden = layer.analog_tile.get_hidden_weights()
    assert {"stored", "programmed", "drifted", "reference", "nu_0", "nu_1"} <= set(hidden)
    # Training mode reads the trained weights; an update discards the programming.
    layer.train()
    train_out = layer(x)
    layer.eval()
    torch.testing.assert_close(layer(x), drifted)
    train_out.sum().backward()
    AnalogSGD(layer.parameters(), lr=0.01).step()
    assert layer.analog_tile.programmed_weights is None


def test_state_round_trip_after_drift(backend: str) -> None:
    layer = pcm_layer(GlobalDriftCompensation(), drift_only=False)
    layer.to_backend(backend)
    layer.eval()
    layer.drift_analog_weights(86400.0)
    buffer = io.BytesIO()
    torch.save(layer.state_dict(), buffer)
    x = torch.rand(8, 128)
    expected = layer(x)
    torch.manual_seed(5)
    layer.drift_analog_weights(3.15e7)
    later = layer(x)

    clone = pcm_layer(GlobalDriftCompensation(), drift_only=False)
    clone.to_backend(backend)
    buffer.seek(0)
    clone.load_state_dict(torch.load(buffer, weights_only=False))
    clone.eval()
    torch.testing.assert_close(clone(x), expected, rtol=0, atol=0)
    torch.manual_seed(5)
    clone.drift_analog_weights(3.15e7)
    torch.testing.assert_close(clone(x), later, rtol=0, atol=0)
    restored = pickle.loads(pickle.dumps(layer))
    torch.testing.assert_close(restored(x), layer(x), rtol=0, atol=0)


def test_backends_agree_bit_for_bit(backend: str) -> None:
    if backend == "cpu":
        pytest.skip("compares cpu with the other backends")
    config = InferenceRPUConfig(modifier=modifier(T.ADD_NORMAL, std_dev=0.05))
    torch.manual_seed(3)
    cpu = AnalogLinear(24, 12, rpu_config=config)
    other = pickle.loads(pickle.dumps(cpu))
    other.to_backend(backend)
    x = torch.rand(16, 24)
    for layer in (cpu, other):
        torch.manual_seed(7)
        layer.train()
        out_train = layer(x)
        layer.eval()
        layer.drift_analog_weights(3600.0)
        layer.__dict__["_results"] = (out_train, layer(x))
    for a, b in zip(cpu.__dict__["_results"], other.__dict__["_results"]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)


def test_convert_a_trained_float_model() -> None:
    model = nn.Sequential(nn.Linear(30, 20), nn.ReLU(), nn.Linear(20, 5))
    analog = convert_to_analog(model, perfect_config())
    assert isinstance(analog, AnalogSequential)
    x = torch.randn(7, 30)
    analog.eval()
    torch.testing.assert_close(analog(x), model(x), rtol=1e-5, atol=1e-6)
    analog.program_analog_weights()
    noisy = analog(x)
    assert not torch.allclose(noisy, model(x), atol=1e-3)
    digital = convert_to_digital(analog)
    torch.testing.assert_close(digital(x), model(x), rtol=1e-5, atol=1e-6)


def test_split_layers_program_every_tile() -> None:
    config = perfect_config(mapping=MappingParameter(max_input_size=16, max_output_size=8))
    layer = AnalogLinear(40, 20, bias=False, rpu_config=config)
    assert layer.analog_tile.__class__.__name__ == "AnalogTileArray"
    x = torch.randn(3, 40)
    layer.eval()
    exact = layer(x)
    layer.drift_analog_weights(60.0)
    assert not torch.allclose(layer(x), exact, atol=1e-3)
    layer.train()
    torch.testing.assert_close(layer(x), exact)
    state = layer.state_dict()
    clone = AnalogLinear(40, 20, bias=False, rpu_config=config)
    clone.load_state_dict(state)
    clone.eval()
    layer.eval()
    torch.testing.assert_close(clone(x), layer(x), rtol=0, atol=0)


def test_bad_input() -> None:
    layer = pcm_layer(GlobalDriftCompensation())
    with pytest.raises(InputError, match="t_inference"):
        layer.drift_analog_weights(-1.0)
    with pytest.raises(ConfigError, match="modifier.type"):
        AnalogLinear(
            4, 4, rpu_config=InferenceRPUConfig(modifier=WeightModifierParameter(type="NOISY"))
        )  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="per_batch_sample"):
        AnalogLinear(
            4,
            4,
            rpu_config=InferenceRPUConfig(modifier=WeightModifierParameter(per_batch_sample=True)),
        )
    with pytest.raises(ConfigError, match="pdrop"):
        AnalogLinear(
            4, 4, rpu_config=InferenceRPUConfig(modifier=WeightModifierParameter(pdrop=1.5))
        )
    with pytest.raises(ConfigError, match="noise_model"):
        AnalogLinear(4, 4, rpu_config=InferenceRPUConfig(noise_model="pcm"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="InferenceRPUConfig"):
        AnalogLinear(4, 4).program_analog_weights()
    with pytest.raises(ConfigError, match="InferenceRPUConfig"):
        AnalogLinear(4, 4).drift_analog_weights(1.0)
    with pytest.raises(StateError):
        pulsed = AnalogLinear(128, 64, bias=False)
        layer.load_state_dict(pulsed.state_dict())


@pytest.mark.parametrize("split", [False, True])
def test_sgd_with_momentum_and_weight_decay_matches_torch(split: bool) -> None:
    """Inference tiles hold floating-point weights: AnalogSGD gives them torch's full SGD step,
    also with remapping moving factors into the output scales and over split tiles."""
    mapping = MappingParameter(max_input_size=5, max_output_size=3) if split else MappingParameter()
    config = perfect_config(
        remap=WeightRemapParameter(type=WeightRemapType.CHANNELWISE_SYMMETRIC), mapping=mapping
    )
    layer = AnalogLinear(8, 6, bias=False, rpu_config=config)
    reference = nn.Linear(8, 6, bias=False)
    with torch.no_grad():
        reference.weight.copy_(layer.get_weights()[0])
    settings = {"momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01, "nesterov": False}
    ours = AnalogSGD(layer.parameters(), lr=0.05, **settings)
    torchs = torch.optim.SGD(reference.parameters(), lr=0.05, **settings)
    for _ in range(6):
        x, target = torch.randn(4, 8), torch.randn(4, 6)
        for model, opt in ((layer, ours), (reference, torchs)):
            opt.zero_grad()
            (model(x) - target).pow(2).sum().backward()
            opt.step()
    torch.testing.assert_close(layer.get_weights()[0], reference.weight.detach())
    assert ours.state_dict()["state"], "the momentum buffer lives in the optimizer state"
