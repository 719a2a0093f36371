"""``TorchInferenceRPUConfig``: the torch forward periphery against the Rust forward (same
weights and inputs: exact without noise, mean and spread with noise), the weight-noise types
against their formulas, straight-through gradients, the input range's gradient through the
periphery, the update, programming/drift, saved state and the refusals."""

from __future__ import annotations

import copy
import io

import pytest
import torch

from rpusim.configs import (
    InferenceRPUConfig,
    InputRangeParameter,
    IOParameters,
    IOParametersIRDropT,
    QuantizedTorchInferenceRPUConfig,
    TorchInferenceRPUConfig,
    TorchInferenceRPUConfigIRDropT,
)
from rpusim.configs.enums import BoundManagementType, NoiseManagementType, WeightNoiseType
from rpusim.exceptions import ConfigError
from rpusim.inference.tile import InferenceTile
from rpusim.inference.torch_tile import TorchInferenceTile
from rpusim.nn import AnalogLinear
from rpusim.optim import AnalogSGD


def pair(
    forward: IOParameters, out: int = 6, inp: int = 20
) -> tuple[InferenceTile, TorchInferenceTile]:
    rust = InferenceTile(out, inp, InferenceRPUConfig(forward=copy.deepcopy(forward)))
    torch_tile = TorchInferenceTile(
        out, inp, TorchInferenceRPUConfig(forward=copy.deepcopy(forward))
    )
    w = torch.randn(out, inp) * 0.3
    rust.set_weights(w)
    torch_tile.set_weights(w)
    return rust, torch_tile


@pytest.mark.parametrize(
    "nm, bm",
    [
        ("NONE", "NONE"),
        ("ABS_MAX", "NONE"),
        ("ABS_MAX", "ITERATIVE"),
        ("CONSTANT", "ITERATIVE"),
        ("MAX", "NONE"),
    ],
)
def test_noiseless_periphery_equals_the_rust_forward(nm: str, bm: str) -> None:
    forward = IOParameters(
        out_noise=0.0,
        out_bound=2.0,
        noise_management=NoiseManagementType(nm),
        bound_management=BoundManagementType(bm),
        nm_thres=0.7 if nm == "CONSTANT" else 0.0,
        out_scale=1.5,
    )
    rust, torch_tile = pair(forward)
    x = torch.randn(200, 20) * 0.4
    x[3] = 0.0
    expected, got = rust.forward(x), torch_tile.forward(x)
    step = 24 / 510 * 1.5 * x.abs().amax(dim=1, keepdim=True).clamp(min=1)
    # Identical readings up to a float rounding at a quantiser's edge (at most one ADC step).
    assert bool(((got - expected).abs() <= step * 1.0001 * 16).all())
    assert float((got == expected).float().mean()) > 0.97


@pytest.mark.parametrize("w_noise", [0.0, 0.05])
def test_noise_statistics_match_the_rust_forward(w_noise: float) -> None:
    forward = IOParameters(
        out_noise=0.06,
        w_noise=w_noise,
        w_noise_type=WeightNoiseType.ADDITIVE_CONSTANT,
        out_res=0.0,
        inp_res=0.0,
        out_bound=0.0,
        bound_management=BoundManagementType.NONE,
    )
    rust, torch_tile = pair(forward)
    x = torch.randn(1, 20).expand(4000, 20).contiguous()
    a, b = rust.forward(x), torch_tile.forward(x)
    alpha = float(x[0].abs().max())
    u = x[0] / alpha
    sigma = alpha * (0.06**2 + w_noise**2 * float(u.norm()) ** 2) ** 0.5
    exact = x[0] @ rust.get_weights().T
    for out in (a, b):
        torch.testing.assert_close(out.mean(0), exact, atol=4 * sigma / 4000**0.5, rtol=0)
        torch.testing.assert_close(out.std(0), torch.full((6,), sigma), rtol=0.06, atol=0)


def test_pcm_read_noise_std_is_w_noise_sqrt_abs_w_u2() -> None:
    forward = IOParameters(
        out_noise=0.0,
        w_noise=0.1,
        w_noise_type=WeightNoiseType.PCM_READ,
        inp_res=0.0,
        out_res=0.0,
        out_bound=0.0,
        noise_management=NoiseManagementType.NONE,
        bound_management=BoundManagementType.NONE,
    )
    tile = TorchInferenceTile(4, 30, TorchInferenceRPUConfig(forward=forward))
    w = torch.rand(4, 30)
    w[0] *= 0.1
    tile.set_weights(w)
    u = torch.rand(30) * 2 - 1
    out = tile.forward(u.expand(5000, 30).contiguous())
    expected = 0.1 * ((w.abs() * u**2).sum(1)).sqrt()
    torch.testing.assert_close(out.std(0), expected, rtol=0.06, atol=0)
    torch.testing.assert_close(out.mean(0), u @ w.T, atol=float(4 * expected.max() / 70), rtol=0)


def test_gradients_are_straight_through_inside_the_bounds() -> None:
    forward = IOParameters(
        out_noise=0.0,
        noise_management=NoiseManagementType.NONE,
        bound_management=BoundManagementType.NONE,
        out_bound=3.0,
    )
    layer = AnalogLinear(8, 5, bias=False, rpu_config=TorchInferenceRPUConfig(forward=forward))
    w = layer.get_weights()[0]
    x = torch.randn(16, 8) * 0.8
    x[(x.abs() - 1.0).abs() < 0.05] = 0.5  # nothing on the DAC's edge
    x.requires_grad_()
    y = layer(x)
    g = torch.randn(16, 5)
    y.backward(g)
    inside_in = (x.detach().abs() <= 1.0).float()  # DAC clip at inp_bound 1
    ideal = x.detach().clamp(-1, 1) @ w.T
    inside_out = (ideal.abs() < 3.0 - 0.1).float()  # away from the ADC clip
    expected = ((g * inside_out) @ w) * inside_in
    mask = ((ideal.abs() - 3.0).abs() > 0.1).all(1)  # rows far from the output bound
    torch.testing.assert_close(x.grad[mask], expected[mask], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("inp_bound", [1.0, 1.5])
def test_input_range_gradient_includes_the_path_through_the_periphery(inp_bound: float) -> None:
    # y = r·W·Q(clip(x)/r) with a coarse DAC Q: autograd of that expression with a
    # straight-through Q, plus the clip formula, is what the torch tile gives r.
    forward = IOParameters(
        out_noise=0.0,
        inp_res=0.25,
        inp_bound=inp_bound,
        out_res=0.0,
        out_bound=0.0,
        noise_management=NoiseManagementType.NONE,
        bound_management=BoundManagementType.NONE,
    )
    rpu = TorchInferenceRPUConfig(forward=forward)
    rpu.pre_post.input_range = InputRangeParameter(
        enable=True, init_value=1.2, init_from_data=0, decay=0.0
    )
    layer = AnalogLinear(6, 3, bias=False, rpu_config=rpu)
    w = layer.get_weights()[0]
    x = torch.randn(10, 6)
    g = torch.randn(10, 3)
    layer(x).backward(g)

    # The same operations written out: clip (a constant bound), /r, straight-through
    # rounding, the DAC clip at ±1 (no gradient at the bound itself, so a clipped input that
    # lands exactly on ±1 passes none, as torch.clamp since 2.1 in the reference's torch tile;
    # written out so that torch 2.0's clamp, which passes it, changes nothing), W, ·r.
    r = torch.tensor(1.2, requires_grad=True)
    clipped = x.clamp(-1.2, 1.2).requires_grad_()
    scaled = clipped / r
    step = 0.5 * inp_bound
    quantised = scaled + ((scaled / step).round() * step - scaled).detach()
    inside = (quantised > -inp_bound) & (quantised < inp_bound)
    quantised = torch.where(inside, quantised, quantised.detach().clamp(-inp_bound, inp_bound))
    (r * (quantised @ w.T) * g).sum().backward()
    grad_clipped = clipped.grad
    kept = grad_clipped[x >= 1.2].clamp(max=0).sum() - grad_clipped[x <= -1.2].clamp(min=0).sum()
    expected = float(r.grad) + float(kept) * 1.2
    assert (float(kept) != 0) == (inp_bound > 1)  # the clip term, when the DAC passes it
    assert float(layer.input_range.grad) == pytest.approx(expected, rel=1e-4, abs=1e-5)


def test_update_is_sgd_on_the_layer_weights() -> None:
    rpu = TorchInferenceRPUConfig(forward=IOParameters(is_perfect=True))
    rpu.mapping.weight_scaling_omega = 1.0
    layer = AnalogLinear(5, 3, bias=False, rpu_config=rpu)
    w0 = layer.get_weights()[0]
    x = torch.randn(7, 5)
    g = torch.randn(7, 3)
    opt = AnalogSGD(layer.parameters(), lr=0.1)
    torch.testing.assert_close(layer(x), x @ w0.T, rtol=1e-5, atol=1e-6)
    layer(x).backward(g)
    opt.step()
    torch.testing.assert_close(layer.get_weights()[0], w0 - 0.1 * g.T @ x, rtol=1e-5, atol=1e-5)


def test_programming_drift_and_compensation_read_the_drifted_weights() -> None:
    rpu = TorchInferenceRPUConfig(forward=IOParameters(is_perfect=True))
    layer = AnalogLinear(6, 4, bias=False, rpu_config=rpu)
    layer.eval()
    layer.program_analog_weights()
    layer.drift_analog_weights(1e4)
    tile = layer.analog_tile
    x = torch.randn(5, 6)
    expected = (x @ tile.drifted_weights.T) * tile.alpha
    torch.testing.assert_close(layer(x), expected, rtol=1e-5, atol=1e-6)
    assert float(tile.alpha) > 1.0  # drift lowers the conductances; compensation raises
    layer.train()
    torch.testing.assert_close(layer(x), x @ layer.get_weights()[0].T, rtol=1e-5, atol=1e-6)


def test_state_dict_and_pickle_restore_exactly() -> None:
    rpu = TorchInferenceRPUConfig()
    rpu.pre_post.input_range.enable = True
    rpu.forward.noise_management = NoiseManagementType.NONE
    rpu.forward.bound_management = BoundManagementType.NONE
    layer = AnalogLinear(6, 4, rpu_config=rpu)
    layer(torch.randn(8, 6))
    layer.eval()
    layer.program_analog_weights()
    fresh = AnalogLinear(6, 4, rpu_config=copy.deepcopy(rpu))
    fresh.load_state_dict(layer.state_dict())
    fresh.eval()
    assert isinstance(fresh.analog_tile, TorchInferenceTile)
    x = torch.randn(3, 6)
    torch.manual_seed(5)
    a = layer(x)
    torch.manual_seed(5)
    b = fresh(x)
    assert torch.equal(a, b)
    buffer = io.BytesIO()
    torch.save(layer, buffer)
    buffer.seek(0)
    clone = torch.load(buffer, weights_only=False)
    torch.manual_seed(5)
    assert torch.equal(clone(x), a)


def test_reproducible_from_the_torch_seed() -> None:
    outs = []
    for _ in range(2):
        torch.manual_seed(3)
        layer = AnalogLinear(6, 4, rpu_config=TorchInferenceRPUConfig())
        outs.append(layer(torch.randn(5, 6)))
    assert torch.equal(outs[0], outs[1])


def test_unsupported_settings_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="split_mode_bit_shift"):
        TorchInferenceRPUConfigIRDropT(forward=IOParametersIRDropT(split_mode_bit_shift=2)).check()
    with pytest.raises(ConfigError, match="QuantizedTorchInferenceRPUConfig"):
        QuantizedTorchInferenceRPUConfig()
    for field, value, match in (
        ("noise_management", NoiseManagementType.AVERAGE_ABS_MAX, "noise_management"),
        ("bound_management", BoundManagementType.SHIFT, "bound_management"),
        ("out_noise_std", 0.1, "out_noise_std"),
    ):
        rpu = TorchInferenceRPUConfig()
        setattr(rpu.forward, field, value)
        with pytest.raises(ConfigError, match=match):
            AnalogLinear(3, 2, rpu_config=rpu)


@pytest.mark.parametrize("ir_drop", [0.5, 2.0])
def test_ir_drop_equals_the_rust_forward(ir_drop: float) -> None:
    # A small g_ratio makes the drop large; noise and quantisation off: the two forwards compute
    # the same formula (float rounding apart), and the drop is far above that rounding.
    forward = IOParameters(
        out_noise=0.0,
        inp_res=0.0,
        out_res=0.0,
        out_bound=0.0,
        ir_drop=ir_drop,
        ir_drop_g_ratio=50.0,
        bound_management=BoundManagementType.NONE,
    )
    rust, torch_tile = pair(forward)
    x = torch.randn(50, 20) * 0.5
    exact = x @ rust.get_weights().T
    expected, got = rust.forward(x), torch_tile.forward(x)
    assert float((exact - expected).abs().mean()) > 0.01
    torch.testing.assert_close(got, expected, atol=2e-5, rtol=1e-4)
