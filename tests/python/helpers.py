"""Small builders shared by the tests."""

from __future__ import annotations

from rpusim.configs import (
    ConstantStepDevice,
    IdealDevice,
    IOParameters,
    SingleRPUConfig,
)


def clean_constant_step(dw_min_std: float = 0.0, bound: float = 100.0) -> ConstantStepDevice:
    """ConstantStepDevice without device-to-device variation and with wide bounds."""
    return ConstantStepDevice(
        dw_min_dtod=0.0,
        dw_min_std=dw_min_std,
        up_down_dtod=0.0,
        w_max=bound,
        w_min=-bound,
        w_max_dtod=0.0,
        w_min_dtod=0.0,
    )


def ideal_with_forward(forward: IOParameters) -> SingleRPUConfig:
    """Exact weights (IdealDevice) with the given forward periphery."""
    return SingleRPUConfig(device=IdealDevice(), forward=forward)


def noisy_regression(
    config: object,
    steps: int,
    seed: int,
    lr: float = 0.1,
    noise: float = 0.1,
    tail: float = 0.2,
) -> tuple[float, float]:
    """Trains an 8×8 AnalogLinear (no bias) on y = W* x + noise·ξ, x ~ U(−1, 1), batch 1, with
    AnalogSGD and returns (mean test loss ‖(W − W*)x‖² over the last `tail` of the steps, mean
    |⟨W⟩ − W*| of the weights averaged over the second half: the stationary bias)."""
    import torch

    from rpusim.nn import AnalogLinear
    from rpusim.optim import AnalogSGD

    gen = torch.Generator().manual_seed(seed)
    n = 8
    w_true = (torch.rand(n, n, generator=gen) - 0.5) * 0.8
    torch.manual_seed(seed)
    layer = AnalogLinear(n, n, bias=False, rpu_config=config)  # type: ignore[arg-type]
    layer.set_weights(torch.zeros(n, n), None)
    opt = AnalogSGD(layer.parameters(), lr=lr)
    opt.regroup_param_groups(layer)
    x_test = torch.rand(512, n, generator=gen) * 2 - 1
    losses = []
    total = torch.zeros(n, n)
    averaged = 0
    for s in range(steps):
        x = torch.rand(1, n, generator=gen) * 2 - 1
        y = x @ w_true.T + noise * torch.randn(1, n, generator=gen)
        opt.zero_grad()
        (0.5 * ((layer(x) - y) ** 2).sum()).backward()
        opt.step()
        w = layer.get_weights()[0]
        if s >= steps // 2:
            total += w
            averaged += 1
        if s >= steps * (1 - tail) and s % 10 == 0:
            losses.append(float(((x_test @ (w - w_true).T) ** 2).sum(1).mean()))
    bias = float((total / averaged - w_true).abs().mean())
    return sum(losses) / len(losses), bias
