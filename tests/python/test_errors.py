"""Bad input at every public entry point raises a clear Python exception."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import pytest
import torch

from rpusim import AnalogTile
from rpusim.configs import (
    ConstantStepDevice,
    IOParameters,
    PulseType,
    SingleRPUConfig,
    UpdateParameters,
)
from rpusim.exceptions import (
    BackendError,
    ConfigError,
    DTypeError,
    InputError,
    ShapeError,
    StateError,
)
from rpusim.nn import AnalogLinear
from rpusim.optim import AnalogSGD


def _set(obj: Any, **values: Any) -> Any:
    """``obj`` with fields overwritten, bypassing the type annotations (to test bad types)."""
    for name, value in values.items():
        setattr(obj, name, value)
    return obj


@pytest.mark.parametrize(
    ("config", "name"),
    [
        (SingleRPUConfig(device=ConstantStepDevice(dw_min=-0.1)), "device.dw_min"),
        (SingleRPUConfig(device=ConstantStepDevice(dw_min=0.0)), "device.dw_min"),
        (SingleRPUConfig(device=ConstantStepDevice(w_min=0.5, w_max=0.1)), "device.w_min"),
        (SingleRPUConfig(device=ConstantStepDevice(dw_min_std=-1.0)), "device.dw_min_std"),
        (SingleRPUConfig(update=UpdateParameters(desired_bl=0)), "update.desired_bl"),
        (SingleRPUConfig(forward=IOParameters(out_noise=-0.1)), "forward.out_noise"),
        (SingleRPUConfig(forward=IOParameters(inp_bound=2.0)), "forward.inp_bound"),
        (SingleRPUConfig(backward=IOParameters(inp_noise=float("inf"))), "backward.inp_noise"),
        (SingleRPUConfig(device=_set(ConstantStepDevice(), dw_min="big")), "device.dw_min"),
        (SingleRPUConfig(update=_set(UpdateParameters(), desired_bl=3.5)), "update.desired_bl"),
        (
            SingleRPUConfig(forward=_set(IOParameters(), noise_management="LOUD")),
            "forward.noise_management",
        ),
        (SingleRPUConfig(device=ConstantStepDevice(lifetime=-10.0)), "device.lifetime"),
        (
            SingleRPUConfig(device=ConstantStepDevice(corrupt_devices_prob=-0.1)),
            "device.corrupt_devices_prob",
        ),
        (SingleRPUConfig(forward=IOParameters(ir_drop=-1.0)), "forward.ir_drop"),
        (
            SingleRPUConfig(
                update=UpdateParameters(
                    pulse_type=PulseType.DETERMINISTIC_IMPLICIT, x_res_implicit=2.0
                )
            ),
            "update.x_res_implicit",
        ),
        (SingleRPUConfig(device=_set(IOParameters())), "device"),
    ],
)
def test_invalid_configs_name_the_parameter(config: SingleRPUConfig, name: str) -> None:
    with pytest.raises(ConfigError, match=name.replace(".", r"\.")):
        AnalogLinear(3, 2, rpu_config=config)
    with pytest.raises(ValueError):
        config.validate()


def test_layer_sizes_and_config_type() -> None:
    with pytest.raises(ConfigError, match="in_features"):
        AnalogLinear(0, 2)
    with pytest.raises(ConfigError, match="out_features"):
        AnalogLinear(2, -1)
    with pytest.raises(ConfigError, match="rpu_config"):
        AnalogTile(2, 2, rpu_config="fast")  # type: ignore[arg-type]


def test_forward_input_errors() -> None:
    layer = AnalogLinear(4, 2)
    with pytest.raises(ShapeError, match=r"input: expected shape \[\.\.\., 4\]"):
        layer(torch.randn(3, 5))
    with pytest.raises(TypeError, match="input"):
        layer([1.0, 2.0, 3.0, 4.0])  # type: ignore[arg-type]
    with pytest.raises(DTypeError, match="floating-point"):
        layer(torch.ones(3, 4, dtype=torch.int64))
    with pytest.raises(InputError, match="NaN or Inf"):
        layer(torch.tensor([[0.0, float("nan"), 1.0, 2.0]]))
    with pytest.raises(InputError, match="NaN or Inf"):
        layer(torch.tensor([[0.0, float("inf"), 1.0, 2.0]]))


def test_backward_with_nan_gradient_raises() -> None:
    layer = AnalogLinear(4, 2)
    x = torch.randn(3, 4, requires_grad=True)
    with pytest.raises(InputError, match="NaN or Inf"):
        (layer(x) * float("nan")).sum().backward()


def test_tile_update_errors() -> None:
    tile = AnalogTile(3, 4)
    with pytest.raises(InputError, match="lr"):
        tile.update(torch.randn(2, 4), torch.randn(2, 3), -0.1)
    with pytest.raises(InputError, match="lr"):
        tile.update(torch.randn(2, 4), torch.randn(2, 3), float("nan"))
    with pytest.raises(ShapeError, match="batch size"):
        tile.update(torch.randn(2, 4), torch.randn(5, 3), 0.1)
    with pytest.raises(ShapeError, match=r"d: expected shape \[\.\.\., 3\]"):
        tile.update(torch.randn(2, 4), torch.randn(2, 4), 0.1)
    with pytest.raises(InputError, match="NaN"):
        tile.update(torch.randn(2, 4), torch.full((2, 3), float("nan")), 0.1)


def test_set_weights_errors() -> None:
    layer = AnalogLinear(4, 2)
    with pytest.raises(ShapeError, match="weights"):
        layer.set_weights(torch.zeros(4, 2))
    with pytest.raises(InputError, match="weights"):
        layer.set_weights(torch.full((2, 4), float("nan")))
    with pytest.raises(ShapeError, match="bias"):
        layer.set_weights(torch.zeros(2, 4), torch.zeros(3))
    with pytest.raises(TypeError, match="weights"):
        layer.set_weights([[0.0] * 4] * 2)  # type: ignore[arg-type]


def test_optimizer_rejects_negative_lr() -> None:
    with pytest.raises(ValueError, match="learning rate"):
        AnalogSGD(AnalogLinear(2, 2).parameters(), lr=-1.0)


def test_unknown_backend() -> None:
    with pytest.raises(BackendError, match="unknown backend"):
        AnalogTile(2, 2, backend="tpu")
    with pytest.raises(BackendError, match="unknown backend"):
        AnalogLinear(2, 2).to_backend("cuda")


def test_missing_gpu_adapter_is_a_clear_error() -> None:
    # The GPU context is created once per process: ask for an adapter that cannot exist in a
    # fresh interpreter.
    script = (
        "import rpusim\n"
        "from rpusim import AnalogTile\n"
        "from rpusim.exceptions import BackendError\n"
        "assert 'gpu' not in rpusim.backends(), rpusim.backends()\n"
        "assert 'no GPU adapter found' in rpusim.gpu_unavailable_reason()\n"
        "try:\n"
        "    AnalogTile(2, 2, backend='gpu')\n"
        "except BackendError as e:\n"
        "    assert 'no GPU adapter found' in str(e), e\n"
        "else:\n"
        "    raise SystemExit('no error')\n"
    )
    env = dict(os.environ, RPUSIM_GPU_ADAPTER="no-such-adapter-xyz")
    result = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr


def test_corrupt_state_is_rejected() -> None:
    tile = AnalogTile(3, 4)
    state = tile.__getstate__()
    state["tile"]["device"]["w_max"] = state["tile"]["device"]["w_max"][:2]
    with pytest.raises(StateError, match="w_max"):
        AnalogTile.__new__(AnalogTile).__setstate__(state)
    layer = AnalogLinear(4, 3)
    bad = AnalogLinear(5, 3).state_dict()
    with pytest.raises(RuntimeError, match="does not fit"):
        layer.load_state_dict(bad)
