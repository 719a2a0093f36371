"""``StandardHWATrainingPreset`` (reference §7) and the weight-modifier types of the reference."""

from __future__ import annotations

import torch

from rpusim.configs import InferenceRPUConfig, WeightModifierType
from rpusim.configs.enums import (
    BoundManagementType,
    NoiseManagementType,
    WeightClipType,
    WeightNoiseType,
    WeightRemapType,
)
from rpusim.inference import GlobalDriftCompensation, PCMLikeNoiseModel
from rpusim.nn import AnalogLinear
from rpusim.optim import AnalogSGD
from rpusim.presets import StandardHWATrainingPreset


def test_preset_values_are_the_reference_ones() -> None:
    p = StandardHWATrainingPreset()
    f = p.forward
    assert (f.inp_res, f.out_res, f.out_bound, f.out_noise) == (254.0, 254.0, 10.0, 0.04)
    assert f.noise_management == NoiseManagementType.CONSTANT and f.nm_thres == 1.0
    assert f.bound_management == BoundManagementType.NONE
    assert (f.w_noise, f.w_noise_type, f.ir_drop) == (0.0175, WeightNoiseType.PCM_READ, 1.0)
    m = p.mapping
    assert (m.weight_scaling_omega, m.weight_scaling_columnwise) == (1.0, True)
    assert (m.max_input_size, m.max_output_size) == (512, 0)
    assert m.learn_out_scaling and m.out_scaling_columnwise and m.digital_bias
    assert p.remap.type == WeightRemapType.CHANNELWISE_SYMMETRIC and p.remap.remapped_wmax == 1.0
    assert p.clip.type == WeightClipType.FIXED_VALUE and p.clip.fixed_value == 1.0
    ir = p.pre_post.input_range
    assert ir.enable and ir.learn_input_range
    assert (ir.init_value, ir.init_from_data, ir.init_std_alpha, ir.decay) == (3.0, 100, 3.0, 0.001)
    assert isinstance(p.noise_model, PCMLikeNoiseModel)
    assert isinstance(p.drift_compensation, GlobalDriftCompensation)
    assert isinstance(p, InferenceRPUConfig)


def test_preset_trains_programs_and_drifts() -> None:
    torch.manual_seed(0)
    layer = AnalogLinear(16, 4, rpu_config=StandardHWATrainingPreset())
    teacher = torch.randn(4, 16) * 0.3
    opt = AnalogSGD(layer.parameters(), lr=0.05)
    losses = []
    for _ in range(150):
        x = torch.randn(32, 16)
        opt.zero_grad()
        loss = ((layer(x) - x @ teacher.T) ** 2).mean()
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    assert sum(losses[-10:]) < 0.5 * sum(losses[:10])
    assert layer.get_weights()[0].abs().max() <= 1.0 * layer.analog_tile.mapping_scales.max() + 1e-5
    layer.eval()
    layer.program_analog_weights()
    layer.drift_analog_weights(3600.0)
    assert torch.isfinite(layer(torch.randn(4, 16))).all()


def test_every_modifier_type_of_the_reference_exists() -> None:
    reference = {
        "NONE",
        "DISCRETIZE",
        "MULT_NORMAL",
        "ADD_NORMAL",
        "DISCRETIZE_ADD_NORMAL",
        "DOREFA",
        "POLY",
        "PCM_NOISE",
        "PROG_NOISE",
        "DROP_CONNECT",
        "COPY",
    }
    assert reference <= {t.name for t in WeightModifierType}


def test_standard_io_parameters_are_the_reference_ones() -> None:
    from rpusim.simulator.presets import StandardIOParameters

    io = StandardIOParameters()
    assert (io.inp_res, io.out_res) == (1 / 254, 1 / 254)
    assert (io.out_bound, io.out_noise, io.ir_drop, io.w_noise) == (10.0, 0.04, 0.0, 0.0)
    assert io.noise_management == NoiseManagementType.ABS_MAX
    assert io.bound_management == BoundManagementType.ITERATIVE
    layer = AnalogLinear(8, 4, rpu_config=InferenceRPUConfig(forward=StandardIOParameters()))
    assert layer(torch.randn(3, 8)).shape == (3, 4)
