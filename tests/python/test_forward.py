"""Forward/backward periphery against the formulas of IOParameters."""

from __future__ import annotations

import torch

from rpusim import AnalogTile
from rpusim.configs import (
    BoundManagementType,
    IOParameters,
    NoiseManagementType,
    SingleRPUConfig,
    WeightNoiseType,
)

from helpers import ideal_with_forward


def _tile(config: SingleRPUConfig, out_size: int, in_size: int, backend: str) -> AnalogTile:
    return AnalogTile(out_size, in_size, config, backend=backend)


def test_perfect_forward_equals_matmul(backend: str) -> None:
    tile = _tile(ideal_with_forward(IOParameters(is_perfect=True)), 30, 20, backend)
    w = torch.randn(30, 20) * 0.3
    tile.set_weights(w)
    x = torch.randn(17, 20)
    torch.testing.assert_close(tile.forward(x), x @ w.T, rtol=1e-5, atol=1e-5)


def test_perfect_backward_equals_transposed_matmul(backend: str) -> None:
    config = SingleRPUConfig(backward=IOParameters(is_perfect=True))
    tile = _tile(config, 30, 20, backend)
    w = torch.rand(30, 20) * 0.2 - 0.1
    tile.set_weights(w)
    d = torch.randn(9, 30)
    torch.testing.assert_close(tile.backward(d), d @ tile.get_weights(), rtol=1e-5, atol=1e-5)


def test_output_noise_std_is_out_noise_times_alpha(backend: str) -> None:
    io = IOParameters(
        inp_res=0.0,
        out_res=0.0,
        out_bound=0.0,
        out_noise=0.06,
        bound_management=BoundManagementType.NONE,
    )
    tile = _tile(ideal_with_forward(io), 50, 40, backend)
    w = torch.randn(50, 40) * 0.1
    tile.set_weights(w)
    x = torch.randn(400, 40) * torch.linspace(0.1, 3.0, 400)[:, None]
    alpha = x.abs().amax(dim=1, keepdim=True)
    residual = (tile.forward(x) - x @ w.T) / alpha
    assert abs(residual.mean().item()) < 3 * 0.06 / (residual.numel() ** 0.5)
    assert abs(residual.std().item() / 0.06 - 1) < 0.02


def test_weight_noise_adds_w_noise_times_input_norm(backend: str) -> None:
    io = IOParameters(
        inp_res=0.0,
        out_res=0.0,
        out_bound=0.0,
        out_noise=0.0,
        w_noise=0.02,
        w_noise_type=WeightNoiseType.ADDITIVE_CONSTANT,
        bound_management=BoundManagementType.NONE,
    )
    tile = _tile(ideal_with_forward(io), 50, 40, backend)
    w = torch.randn(50, 40) * 0.1
    tile.set_weights(w)
    x = torch.randn(400, 40)
    alpha = x.abs().amax(dim=1, keepdim=True)
    u_norm = (x / alpha).norm(dim=1, keepdim=True)
    residual = (tile.forward(x) - x @ w.T) / (alpha * u_norm)
    assert abs(residual.std().item() / 0.02 - 1) < 0.02


def test_default_adc_outputs_lie_on_the_grid(backend: str) -> None:
    tile = _tile(ideal_with_forward(IOParameters()), 20, 30, backend)
    tile.set_weights(torch.randn(20, 30) * 0.05)
    x = torch.randn(64, 30)
    alpha = x.abs().amax(dim=1, keepdim=True)
    step = 24 / 510  # out_res 1/510 of the full range 2·out_bound
    levels = tile.forward(x) / alpha / step
    assert (levels - levels.round()).abs().max() < 1e-3
    assert levels.abs().max() <= 12 / step + 1e-3


def test_dac_quantises_inputs_to_seven_bits(backend: str) -> None:
    # One-hot weights read the DAC output of a single input back (exact ADC, no noise).
    io = IOParameters(out_res=0.0, out_noise=0.0, out_bound=0.0)
    tile = _tile(ideal_with_forward(io), 1, 2, backend)
    tile.set_weights(torch.tensor([[1.0, 0.0]]))
    x = torch.stack([torch.linspace(-0.993, 0.997, 101), torch.ones(101)], dim=1)  # no ties
    y = tile.forward(x)[:, 0]
    torch.testing.assert_close(y, torch.round(x[:, 0] * 63) / 63, rtol=0, atol=1e-6)


def test_bound_management_keeps_outputs_unsaturated(backend: str) -> None:
    io = IOParameters(out_noise=0.0)
    tile = _tile(ideal_with_forward(io), 8, 64, backend)
    w = torch.full((8, 64), 0.4)
    tile.set_weights(w)
    x = torch.ones(5, 64)
    y = tile.forward(x)
    # Exact 25.6 is far above out_bound 12: the iterative re-reads must bring it back.
    assert (y - 25.6).abs().max() < 1.2
    unmanaged = _tile(
        ideal_with_forward(IOParameters(out_noise=0.0, bound_management=BoundManagementType.NONE)),
        8,
        64,
        backend,
    )
    unmanaged.set_weights(w)
    torch.testing.assert_close(unmanaged.forward(x), torch.full((5, 8), 12.0))


def test_noise_management_none_clips_at_inp_bound(backend: str) -> None:
    io = IOParameters(
        noise_management=NoiseManagementType.NONE,
        inp_res=0.0,
        out_res=0.0,
        out_noise=0.0,
        out_bound=0.0,
    )
    tile = _tile(ideal_with_forward(io), 1, 1, backend)
    tile.set_weights(torch.tensor([[0.5]]))
    y = tile.forward(torch.tensor([[0.4], [3.0], [-7.0]]))
    torch.testing.assert_close(y[:, 0], torch.tensor([0.2, 0.5, -0.5]))


def test_zero_input_gives_zero_output(backend: str) -> None:
    tile = _tile(SingleRPUConfig(), 4, 3, backend)
    assert torch.count_nonzero(tile.forward(torch.zeros(2, 3))) == 0


def test_forward_accepts_any_leading_shape_and_float_dtypes(backend: str) -> None:
    tile = _tile(ideal_with_forward(IOParameters(is_perfect=True)), 5, 4, backend)
    w = torch.randn(5, 4)
    tile.set_weights(w)
    x = torch.randn(2, 3, 4, dtype=torch.float64)
    y = tile.forward(x)
    assert y.shape == (2, 3, 5) and y.dtype == torch.float64
    torch.testing.assert_close(y, x @ w.double().T, rtol=1e-5, atol=1e-5)
    assert tile.forward(torch.randn(4, dtype=torch.float16)).dtype == torch.float16
