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
