"""``build_config`` against the configs aihwkit 1.1 builds (recorded field by field in
``reference/aihwkit_1_1_build_config.json`` by ``reference/dump_build_config.py``), and
``RPUDataType`` / ``rpu_config.runtime``."""

from __future__ import annotations

import dataclasses
import enum
import json
from pathlib import Path
from typing import Any

import pytest
import torch

from rpusim.configs import (
    ConstantStepDevice,
    FloatingPointRPUConfig,
    IdealDevice,
    InferenceRPUConfig,
    IOParameters,
    MappingParameter,
    RPUDataType,
    RuntimeParameter,
    SingleRPUConfig,
    SoftBoundsDevice,
    build_config,
)
from rpusim.exceptions import ConfigError
from rpusim.nn import AnalogLinear
from rpusim.optim import AnalogSGD
from rpusim.presets import ReRamSBPresetDevice

REFERENCE = json.loads(
    (Path(__file__).parent / "reference" / "aihwkit_1_1_build_config.json").read_text()
)


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    """Dataclass fields as dotted paths (as the recording script writes them)."""
    out: dict[str, Any] = {}
    if dataclasses.is_dataclass(obj):
        for f in dataclasses.fields(obj):
            out.update(_flat(getattr(obj, f.name), f"{prefix}{f.name}."))
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            out.update(_flat(v, f"{prefix}{i}."))
    elif isinstance(obj, enum.Enum):
        out[prefix[:-1]] = obj.name
    elif isinstance(obj, (int, float, str, bool)) or obj is None:
        out[prefix[:-1]] = obj
    return out


@pytest.mark.parametrize("algorithm", ["sgd", "tiki-taka", "ttv2", "c-ttv2", "agad", "mp"])
def test_build_config_matches_the_reference(algorithm: str) -> None:
    config = build_config(algorithm, SoftBoundsDevice, construction_seed=3)
    reference = REFERENCE[algorithm]
    assert type(config).__name__ == reference["cls"]
    assert type(config.device).__name__ == reference["dev"]
    ours = _flat(config)
    common = [key for key in reference if key in ours]
    assert len(common) > 100  # most fields exist under the same names
    assert {k: ours[k] for k in common} == {k: reference[k] for k in common}
    # Every config trains: one step of a small layer changes some of its device arrays.
    layer = AnalogLinear(4, 3, rpu_config=config)
    opt = AnalogSGD(layer.parameters(), lr=0.1)
    before = layer.get_hidden_weights()
    layer(torch.randn(8, 4)).pow(2).sum().backward()
    opt.step()
    after = layer.get_hidden_weights()
    assert any(not torch.equal(before[key], after[key]) for key in before)


def test_build_config_arguments() -> None:
    device = ReRamSBPresetDevice(w_max=0.5)
    config = build_config("tt", device, construction_seed=9)
    first, second = config.device.unit_cell_devices
    assert first is not device and first is not second  # fresh copies
    assert first.w_max == 0.5 and config.device.construction_seed == 9
    assert build_config("ttv4", SoftBoundsDevice).device.fast_lr == 0.1  # the agad alias
    cell = build_config("sgd", ConstantStepDevice, n_devices=3, construction_seed=2)
    assert len(cell.device.unit_cell_devices) == 3 and cell.device.construction_seed == 2
    assert (
        build_config("sgd", ConstantStepDevice, construction_seed=4).device.construction_seed == 4
    )
    mapped = build_config("sgd", ConstantStepDevice, mapping=MappingParameter(max_input_size=64))
    assert mapped.mapping.max_input_size == 64
    io = IOParameters(out_noise=0.01)
    assert build_config("mp", SoftBoundsDevice, io_parameters=io).forward.out_noise == 0.01
    with pytest.raises(ConfigError, match="algorithm"):
        build_config("adam", SoftBoundsDevice)
    with pytest.raises(ConfigError, match="device"):
        build_config("sgd", 3)  # type: ignore[arg-type]


def test_rpu_data_type_and_runtime() -> None:
    assert [t.name for t in RPUDataType] == ["FLOAT", "DOUBLE", "HALF"]
    assert RPUDataType.FLOAT.as_torch() is torch.float32
    assert RPUDataType.HALF.as_torch() is torch.float16
    assert RPUDataType.DOUBLE.as_torch() is torch.float64
    for config in (SingleRPUConfig(), FloatingPointRPUConfig(), InferenceRPUConfig()):
        assert config.runtime == RuntimeParameter()
        assert config.runtime.data_type is RPUDataType.FLOAT
    double = SingleRPUConfig(runtime=RuntimeParameter(data_type=RPUDataType.DOUBLE))
    with pytest.raises(ConfigError, match="DOUBLE"):
        AnalogLinear(3, 2, rpu_config=double)
    with pytest.raises(ConfigError, match="data_type"):
        AnalogLinear(3, 2, rpu_config=SingleRPUConfig(runtime=RuntimeParameter(data_type="half")))  # type: ignore[arg-type]
    # The runtime does not change what is simulated: equal configs compare equal.
    assert (
        SingleRPUConfig(runtime=RuntimeParameter(data_type=RPUDataType.HALF)) == SingleRPUConfig()
    )


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float64])
def test_half_precision_inputs_are_computed_in_float32(dtype: torch.dtype) -> None:
    half = SingleRPUConfig(
        device=IdealDevice(),
        forward=IOParameters(is_perfect=True),
        runtime=RuntimeParameter(data_type=RPUDataType.HALF),
    )
    layer = AnalogLinear(5, 3, rpu_config=half)
    x = torch.randn(4, 5)
    out = layer(x.to(dtype))
    assert out.dtype == dtype
    w, b = layer.get_weights()
    # The tile computes in float32 and returns the input's dtype; the digital bias is added in it.
    analog = (x.to(dtype).to(torch.float32) @ w.T).to(dtype)
    tol = {"rtol": 1e-6, "atol": 1e-6} if dtype == torch.float64 else {}
    torch.testing.assert_close(out, analog + b.to(dtype), **tol)
