"""The learned input range (``pre_post.input_range``): r's gradient against its formula and
against autograd of an explicit expression, the data initialisation, the decay, the output
clipping rule, training, saved state and calibration (``calibrate_input_ranges``)."""

from __future__ import annotations

import copy
import io
import pickle

import pytest
import torch
from torch import nn

from rpusim.configs import (
    InferenceRPUConfig,
    InputRangeParameter,
    IOParameters,
    TorchInferenceRPUConfig,
)
from rpusim.configs.enums import BoundManagementType, NoiseManagementType
from rpusim.exceptions import ConfigError, InputError
from rpusim.inference.calibration import InputRangeCalibrationType, calibrate_input_ranges
from rpusim.inference.input_range import InputRangeClip, input_range_gradient
from rpusim.nn import AnalogConv2d, AnalogLinear, AnalogSequential
from rpusim.optim import AnalogSGD

PERFECT = IOParameters(is_perfect=True)


def config(
    cls: type = InferenceRPUConfig, forward: IOParameters = PERFECT, **ir: object
) -> InferenceRPUConfig:
    rpu = cls(forward=copy.deepcopy(forward))
    rpu.pre_post.input_range = InputRangeParameter(enable=True, **ir)  # type: ignore[arg-type]
    return rpu


def explicit_gradient(x: torch.Tensor, g: torch.Tensor, r: float, p: InputRangeParameter) -> float:
    """r's gradient as torch autograd of an explicit expression: the clipped inputs that ask for
    a larger range, relu-masked, times r·gradient_scale, plus decay·r."""
    rr = torch.tensor(r, requires_grad=True)
    up = (x >= r).float() * torch.clamp(g, max=0.0)
    down = (x <= -r).float() * torch.clamp(g, min=0.0)
    # d/dr of (r·up − r·down) is exactly the kept gradients of the clipped inputs.
    total = (rr * up).sum() - (rr * down).sum()
    total.backward()
    grad = float(rr.grad) * r * p.gradient_scale
    if float((x.abs() < r).float().mean()) > p.input_min_percentage:
        grad += p.decay * r
    return grad


@pytest.mark.parametrize("decay", [0.0, 0.01])
def test_clip_gradient_matches_formula_and_autograd(decay: float) -> None:
    p = InputRangeParameter(enable=True, decay=decay, gradient_scale=0.5)
    x = torch.randn(64, 10) * 2
    g = torch.randn(64, 10)
    r = torch.tensor([1.5], requires_grad=True)
    xr = x.clone().requires_grad_()
    out = InputRangeClip.apply(xr, r, p, True, None)
    assert torch.equal(out, x.clamp(-1.5, 1.5))
    out.backward(g)
    expected = explicit_gradient(x, g, 1.5, p)
    upper, lower = x >= 1.5, x <= -1.5
    formula = (g[upper].clamp(max=0).sum() - g[lower].clamp(min=0).sum()) * 1.5 * 0.5
    assert float(r.grad) == pytest.approx(expected, rel=1e-5, abs=1e-6)
    assert float(r.grad) == pytest.approx(float(formula), rel=1e-5, abs=1e-6) or decay > 0
    torch.testing.assert_close(xr.grad, g)  # straight-through for the Rust inference tile


def test_decay_only_when_few_inputs_clip_and_output_clipping_grows_r() -> None:
    p = InputRangeParameter(enable=True, decay=0.01, input_min_percentage=0.95)
    r = torch.tensor([10.0])
    g = torch.zeros(100)
    small = torch.linspace(-1, 1, 100)
    assert float(input_range_gradient(small, g, r, p)) == pytest.approx(0.01 * 10)
    big = small * 20  # half the inputs clip: no decay, and g = 0 adds nothing
    assert float(input_range_gradient(big, g, r, p)) == 0.0
    p_out = InputRangeParameter(enable=True, decay=0.0, manage_output_clipping=True)
    grad = input_range_gradient(small, g, r, p_out, {"output_percentage": 0.8})
    assert float(grad) == pytest.approx(-(1 - 0.8) * 10)
    assert float(input_range_gradient(small, g, r, p_out, {"output_percentage": 0.99})) == 0.0


def test_layer_gradient_of_r_is_the_clip_formula_for_the_inference_tile() -> None:
    layer = AnalogLinear(6, 4, bias=False, rpu_config=config(init_value=0.8, init_from_data=0))
    x = torch.randn(32, 6)
    g = torch.randn(32, 4)
    layer(x).backward(g)
    w = layer.get_weights()[0]
    grad_x = g @ w  # exact backward: the gradient of the clipped input
    p = layer.rpu_config.pre_post.input_range
    expected = explicit_gradient(x, grad_x, 0.8, p)
    assert float(layer.input_range.grad) == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_perfect_forward_is_w_times_clipped_input_and_update_uses_x_over_r() -> None:
    layer = AnalogLinear(5, 3, bias=False, rpu_config=config(init_value=0.5, init_from_data=0))
    w0 = layer.get_weights()[0]
    x = torch.randn(8, 5)
    y = layer(x)
    torch.testing.assert_close(y, x.clamp(-0.5, 0.5) @ w0.T, rtol=1e-5, atol=1e-6)
    opt = AnalogSGD([layer.analog_ctx], lr=0.1)
    g = torch.randn(8, 3)
    y.backward(g)
    opt.step()
    # The reference's inference tile: W -= lr·g ⊗ (clip(x)/r).
    expected = w0 - 0.1 * g.T @ (x.clamp(-0.5, 0.5) / 0.5)
    torch.testing.assert_close(layer.get_weights()[0], expected, rtol=1e-5, atol=1e-6)


def test_init_from_data_is_running_mean_of_alpha_std() -> None:
    layer = AnalogLinear(10, 2, rpu_config=config(init_from_data=3, init_std_alpha=2.0))
    batches = [torch.randn(16, 10) * s for s in (1.0, 2.0, 0.5, 4.0)]
    for x in batches:
        layer(x)
    stds = [float(x.std()) for x in batches[:3]]
    assert float(layer.input_range.detach()) == pytest.approx(2.0 * sum(stds) / 3, rel=1e-5)
    assert float(layer.input_range_update_idx) == 3
    layer.eval()
    layer(torch.randn(4, 10) * 100)  # eval: no initialisation
    assert float(layer.input_range.detach()) == pytest.approx(2.0 * sum(stds) / 3, rel=1e-5)


def test_zero_std_batches_are_skipped() -> None:
    layer = AnalogLinear(4, 2, rpu_config=config(init_from_data=2))
    layer(torch.zeros(3, 4))
    assert float(layer.input_range_update_idx) == 0
    assert float(layer.input_range.detach()) == 3.0


def test_training_learns_a_range_near_the_input_spread() -> None:
    # Inputs of std 1 and a target that needs them unclipped: starting from a tiny range the
    # clip gradient grows r; starting from a huge one the decay shrinks it.
    torch.manual_seed(0)
    teacher = torch.randn(3, 8) * 0.5
    finals = []
    for start in (0.2, 20.0):
        layer = AnalogLinear(
            8,
            3,
            bias=False,
            rpu_config=config(init_value=start, init_from_data=0, decay=0.2),
        )
        opt = AnalogSGD(layer.parameters(), lr=0.05)
        for _ in range(400):
            x = torch.randn(32, 8)
            opt.zero_grad()
            loss = ((layer(x) - x @ teacher.T) ** 2).mean()
            loss.backward()
            opt.step()
        finals.append(float(layer.input_range.detach()))
    # The decay stops once more than 5 % of the inputs clip: r settles near the 95 % point of
    # |x| (1.96 for a standard normal) from either side.
    assert 1.3 < finals[0] < 3.5
    assert 1.3 < finals[1] < 3.5


def test_not_learned_range_is_a_buffer_and_state_restores() -> None:
    rpu = config(learn_input_range=False, init_value=2.0, init_from_data=0)
    layer = AnalogLinear(4, 2, rpu_config=rpu)
    assert "input_range" not in dict(layer.named_parameters())
    assert float(dict(layer.named_buffers())["input_range"]) == 2.0
    learned = AnalogLinear(4, 2, rpu_config=config(init_from_data=5))
    learned(torch.randn(8, 4))
    state = learned.state_dict()
    fresh = AnalogLinear(4, 2, rpu_config=config(init_from_data=5))
    fresh.load_state_dict(state)
    assert torch.equal(fresh.input_range, learned.input_range)
    assert torch.equal(fresh.input_range_update_idx, learned.input_range_update_idx)
    buffer = io.BytesIO()
    torch.save(learned, buffer)
    buffer.seek(0)
    clone = torch.load(buffer, weights_only=False)
    assert torch.equal(clone.input_range, learned.input_range)
    assert torch.equal(pickle.loads(pickle.dumps(learned)).input_range, learned.input_range)


def test_conv_layer_uses_the_range_on_patches() -> None:
    conv = AnalogConv2d(2, 3, 3, bias=False, rpu_config=config(init_value=0.3, init_from_data=0))
    x = torch.randn(2, 2, 5, 5)
    w = conv.get_weights()[0].reshape(3, 2, 3, 3)
    expected = torch.nn.functional.conv2d(x.clamp(-0.3, 0.3), w)
    torch.testing.assert_close(conv(x), expected, rtol=1e-5, atol=1e-5)


def test_bad_settings_raise_config_error() -> None:
    with pytest.raises(ConfigError, match="init_value"):
        AnalogLinear(4, 2, rpu_config=config(init_value=-1.0))
    with pytest.raises(ConfigError, match="manage_output_clipping"):
        AnalogLinear(4, 2, rpu_config=config(forward=IOParameters(), manage_output_clipping=True))
    with pytest.raises(ConfigError, match="manage_output_clipping"):
        AnalogLinear(
            4,
            2,
            rpu_config=config(
                TorchInferenceRPUConfig,
                forward=IOParameters(
                    noise_management=NoiseManagementType.NONE,
                    bound_management=BoundManagementType.NONE,
                ),
                manage_output_clipping=True,
            ),
        )
    split = config()
    split.mapping.max_input_size = 4
    with pytest.raises(ConfigError, match="several tiles"):
        AnalogLinear(8, 2, rpu_config=split)


def _model() -> AnalogSequential:
    return AnalogSequential(
        AnalogLinear(6, 5, rpu_config=InferenceRPUConfig()),
        nn.Tanh(),
        AnalogLinear(5, 2, rpu_config=InferenceRPUConfig()),
    )


def test_calibration_max_and_cache_quantile_use_ideal_inputs() -> None:
    model = _model()
    data = [((torch.randn(20, 6) * 2,), {}) for _ in range(3)]
    inputs = torch.cat([args[0] for args, _ in data])
    calibrate_input_ranges(model, InputRangeCalibrationType.MAX, data)
    first, second = model[0], model[2]
    assert float(first.input_range.detach()) == pytest.approx(float(inputs.abs().max()))
    # The second layer saw the exact outputs of the first (tanh of W clip(x) + b, the clip at
    # the initial range 3 that the pass used).
    w, b = first.get_weights()
    hidden = torch.tanh(inputs.clamp(-3, 3) @ w.T + b)
    assert float(second.input_range.detach()) == pytest.approx(float(hidden.abs().max()), rel=1e-5)
    assert first.rpu_config.pre_post.input_range.calibration_info == "Max"
    assert first.rpu_config.forward.noise_management == NoiseManagementType.NONE
    assert not first.rpu_config.forward.is_perfect  # restored
    calibrate_input_ranges(model, InputRangeCalibrationType.CACHE_QUANTILE, data, quantile=0.9)
    assert float(first.input_range.detach()) == pytest.approx(float(inputs.flatten().quantile(0.9)))


def test_calibration_moving_std_and_quantile() -> None:
    model = _model()
    data = [((torch.randn(30, 6) * s,), {}) for s in (1.0, 3.0)]
    calibrate_input_ranges(model, InputRangeCalibrationType.MOVING_STD, data, std_alpha=2.0)
    stds = [2.0 * float(args[0].std()) for args, _ in data]
    # Moving mean from the fresh range (count 0): the two batch values.
    assert float(model[0].input_range.detach()) == pytest.approx(sum(stds) / 2, rel=1e-5)
    fresh = _model()
    calibrate_input_ranges(fresh, InputRangeCalibrationType.MOVING_QUANTILE, data, quantile=0.9)
    q = [float(args[0].flatten().quantile(0.9)) for args, _ in data]
    assert float(fresh[0].input_range.detach()) == pytest.approx(sum(q) / 2, rel=1e-5)


def test_calibration_refusals() -> None:
    model = _model()
    with pytest.raises(ConfigError, match="calibration_type"):
        calibrate_input_ranges(model, "Max", [])  # type: ignore[arg-type]
    with pytest.raises(InputError, match="analog module"):
        calibrate_input_ranges(nn.Linear(2, 2), InputRangeCalibrationType.MAX, [])
    rpu = InferenceRPUConfig()
    rpu.pre_post.input_range.enable = True
    with pytest.raises(ConfigError, match="noise_management"):
        calibrate_input_ranges(
            AnalogLinear(3, 2, rpu_config=rpu),
            InputRangeCalibrationType.MAX,
            [],
            force_all_layers=False,
        )
    calibrate_input_ranges(model, InputRangeCalibrationType.NONE, [])
    assert model[0].input_range is None


def test_output_clipping_management_in_a_layer() -> None:
    forward = IOParameters(
        out_noise=0.0,
        inp_res=0.0,
        out_res=0.0,
        out_bound=0.5,
        noise_management=NoiseManagementType.NONE,
        bound_management=BoundManagementType.NONE,
    )
    rpu = config(
        forward=forward,
        init_value=5.0,
        init_from_data=0,
        decay=0.0,
        manage_output_clipping=True,
        output_min_percentage=0.95,
    )
    layer = AnalogLinear(10, 4, bias=False, rpu_config=rpu)
    layer.set_weights(torch.randn(4, 10))
    x = torch.randn(64, 10)  # nothing clips at r = 5
    out = layer(x)
    kept = float(((out.detach() / 5.0).abs() < 0.999 * 0.5).float().mean())
    assert kept < 0.95
    out.sum().backward()
    assert float(layer.input_range.grad) == pytest.approx(-(1 - kept) * 5.0, rel=1e-5)
