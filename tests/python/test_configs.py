"""Configuration defaults equal the reference simulator's (aihwkit 1.1.0) values."""

from __future__ import annotations

import json

from rpusim.configs import (
    BoundManagementType,
    ConstantStepDevice,
    FloatingPointRPUConfig,
    IdealDevice,
    IOParameters,
    NoiseManagementType,
    PresetIOParameters,
    PulseType,
    SingleRPUConfig,
    UpdateParameters,
)

REFERENCE_IO = {
    "is_perfect": False,
    "inp_bound": 1.0,
    "inp_res": 1 / 126,
    "inp_sto_round": False,
    "inp_noise": 0.0,
    "out_bound": 12.0,
    "out_res": 1 / 510,
    "out_sto_round": False,
    "out_noise": 0.06,
    "out_scale": 1.0,
    "noise_management": NoiseManagementType.ABS_MAX,
    "bound_management": BoundManagementType.ITERATIVE,
    "w_noise": 0.0,
    "max_bm_factor": 1000,
    "max_bm_res": 0.25,
    "bm_test_negative_bound": True,
    "nm_thres": 0.0,
}

REFERENCE_UPDATE = {
    "desired_bl": 31,
    "fixed_bl": True,
    "pulse_type": PulseType.STOCHASTIC_COMPRESSED,
    "res": 0.0,
    "sto_round": False,
    "update_bl_management": True,
    "update_management": True,
    "um_grad_scale": 1.0,
}

REFERENCE_CONSTANT_STEP = {
    "dw_min": 0.001,
    "dw_min_dtod": 0.3,
    "dw_min_dtod_log_normal": False,
    "dw_min_std": 0.3,
    "up_down": 0.0,
    "up_down_dtod": 0.01,
    "w_max": 0.6,
    "w_min": -0.6,
    "w_max_dtod": 0.3,
    "w_min_dtod": 0.3,
    "enforce_consistency": True,
    "lifetime": 0.0,
    "diffusion": 0.0,
    "reset_std": 0.01,
    "construction_seed": 0,
}


def test_defaults_match_the_reference() -> None:
    for cls, table in (
        (IOParameters, REFERENCE_IO),
        (UpdateParameters, REFERENCE_UPDATE),
        (ConstantStepDevice, REFERENCE_CONSTANT_STEP),
    ):
        obj = cls()
        for name, value in table.items():
            assert getattr(obj, name) == value, f"{cls.__name__}.{name}"
    assert IdealDevice().reset_std == 0.01
    assert PresetIOParameters().out_bound == 20.0 and PresetIOParameters().out_noise == 0.1


def test_default_rpu_config_is_constant_step() -> None:
    config = SingleRPUConfig()
    assert isinstance(config.device, ConstantStepDevice)
    payload = json.loads(config.to_json())
    assert payload["device"]["type"] == "ConstantStepDevice"
    assert payload["forward"]["noise_management"] == "ABS_MAX"
    config.validate()
    FloatingPointRPUConfig().validate()


def test_enum_names_are_accepted_as_strings() -> None:
    config = SingleRPUConfig(forward=IOParameters(noise_management="NONE"))  # type: ignore[arg-type]
    assert json.loads(config.to_json())["forward"]["noise_management"] == "NONE"
