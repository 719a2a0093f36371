"""No gradient through saturated forward outputs (the reference's rule for its analog tiles).

A forward output that reaches the ADC bound (|y| ≥ 0.999·out_scale·out_bound, before the digital
scales) gives no gradient to the layer's input; the update still uses the whole gradient. Without
this rule a hardware-aware LeNet5 with ``out_bound = 10`` and noise management NONE (the
reference's example 06 settings) trained to 80.8 % where the reference reaches 91.0 %, and its
accuracy rose with drift time (less saturation); with it: 90.8 % and flat, as in the reference
(results/hwa_lenet5_out_bound.json).
"""

from __future__ import annotations

import pytest
import torch

from rpusim.configs import (
    BoundManagementType,
    FloatingPointRPUConfig,
    InferenceRPUConfig,
    IOParameters,
    MappingParameter,
    NoiseManagementType,
    SingleRPUConfig,
)
from rpusim.configs.devices import IdealDevice
from rpusim.nn import AnalogLinear
from rpusim.optim import AnalogSGD

BOUND = 2.0


def exact_clipping_forward(out_bound: float = BOUND) -> IOParameters:
    """A forward whose only non-ideality is the output clipping at ±out_bound."""
    return IOParameters(
        inp_res=-1,
        out_res=-1,
        out_noise=0.0,
        out_bound=out_bound,
        noise_management=NoiseManagementType.NONE,
        bound_management=BoundManagementType.NONE,
    )


def weights_and_inputs() -> tuple[torch.Tensor, torch.Tensor]:
    torch.manual_seed(3)
    w = torch.rand(6, 8) - 0.1  # mostly positive: some rows sum past the bound
    x = torch.rand(5, 8)
    return w, x


def configs() -> dict[str, object]:
    return {
        "inference": InferenceRPUConfig(forward=exact_clipping_forward()),
        "pulsed": SingleRPUConfig(
            device=IdealDevice(),
            forward=exact_clipping_forward(),
            backward=IOParameters(is_perfect=True),
        ),
    }


@pytest.mark.parametrize("kind", ["inference", "pulsed"])
def test_saturated_outputs_pass_no_gradient_to_the_input(kind: str) -> None:
    w, x = weights_and_inputs()
    layer = AnalogLinear(8, 6, bias=False, rpu_config=configs()[kind])  # type: ignore[arg-type]
    layer.set_weights(w)
    w = layer.get_weights()[0]  # as the devices hold them
    x.requires_grad_(True)
    y = layer(x)
    exact = x.detach() @ w.T
    saturated = exact.abs() >= 0.999 * BOUND
    assert 0 < int(saturated.sum()) < saturated.numel()  # the test covers both cases
    torch.testing.assert_close(y.detach(), exact.clamp(-BOUND, BOUND), atol=1e-5, rtol=1e-5)
    d = torch.randn_like(y)
    y.backward(d)
    assert x.grad is not None
    torch.testing.assert_close(x.grad, d.masked_fill(saturated, 0.0) @ w, atol=1e-5, rtol=1e-5)


def test_the_update_uses_the_whole_gradient() -> None:
    w, x = weights_and_inputs()
    layer = AnalogLinear(8, 6, bias=False, rpu_config=configs()["inference"])  # type: ignore[arg-type]
    layer.set_weights(w)
    d = torch.randn(5, 6)
    layer(x).backward(d)
    opt = AnalogSGD(layer.parameters(), lr=0.1)
    opt.regroup_param_groups(layer)
    opt.step()
    torch.testing.assert_close(layer.get_weights()[0], w - 0.1 * d.T @ x, atol=1e-5, rtol=1e-5)


def test_the_bound_is_taken_before_the_digital_output_scales() -> None:
    # ω = 1: the tile holds W/max|W| and the digital scale max|W| multiplies its output; the
    # rule looks at the tile's own output.
    w, x = weights_and_inputs()
    w = w * 3.0
    mapping = MappingParameter(weight_scaling_omega=1.0)
    config = InferenceRPUConfig(forward=exact_clipping_forward(), mapping=mapping)
    layer = AnalogLinear(8, 6, bias=False, rpu_config=config)
    layer.set_weights(w)
    scale = float(w.abs().max())
    x.requires_grad_(True)
    y = layer(x)
    tile_out = x.detach() @ (w / scale).T
    saturated = tile_out.abs() >= 0.999 * BOUND
    assert 0 < int(saturated.sum()) < saturated.numel()
    torch.testing.assert_close(y.detach(), tile_out.clamp(-BOUND, BOUND) * scale)
    d = torch.randn_like(y)
    y.backward(d)
    assert x.grad is not None
    torch.testing.assert_close(x.grad, d.masked_fill(saturated, 0.0) @ w, atol=1e-4, rtol=1e-5)


def test_each_tile_of_a_split_layer_masks_its_own_partial_sum() -> None:
    # Two tiles of 4 inputs each: a partial sum can saturate while the total does not.
    torch.manual_seed(5)
    w = torch.cat([torch.full((3, 4), 0.6), torch.full((3, 4), -0.6)], dim=1)
    x = torch.cat([torch.ones(2, 4), torch.full((2, 4), 0.5)], dim=1)  # sums: 2.4 and -1.2
    config = InferenceRPUConfig(
        forward=exact_clipping_forward(), mapping=MappingParameter(max_input_size=4)
    )
    layer = AnalogLinear(8, 3, bias=False, rpu_config=config)
    layer.set_weights(w)
    x.requires_grad_(True)
    y = layer(x)
    torch.testing.assert_close(y.detach(), torch.full((2, 3), BOUND - 1.2))
    d = torch.randn_like(y)
    y.backward(d)
    assert x.grad is not None
    # The first tile saturated (its columns get nothing back), the second did not.
    torch.testing.assert_close(x.grad[:, :4], torch.zeros(2, 4))
    torch.testing.assert_close(x.grad[:, 4:], d @ w[:, 4:], atol=1e-5, rtol=1e-5)


def test_no_mask_where_the_forward_does_not_clip() -> None:
    w, x = weights_and_inputs()
    for config in (
        FloatingPointRPUConfig(),
        InferenceRPUConfig(forward=exact_clipping_forward(out_bound=-1.0)),
    ):
        layer = AnalogLinear(8, 6, bias=False, rpu_config=config)
        layer.set_weights(w * 10)
        xg = x.clone().requires_grad_(True)
        d = torch.randn(5, 6)
        layer(xg).backward(d)
        assert xg.grad is not None
        torch.testing.assert_close(xg.grad, d @ layer.get_weights()[0], atol=1e-4, rtol=1e-5)
