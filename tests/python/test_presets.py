"""Presets carry the reference simulator's values (reference §5.1) and build working tiles."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import torch

from rpusim import AnalogTile
from rpusim import configs as C
from rpusim import presets as P
from rpusim.configs import PresetIOParameters, PresetUpdateParameters

# The reference's table: values that differ from the base model's defaults.
EXPECTED: dict[type, dict[str, Any]] = {
    P.IdealizedPresetDevice: dict(
        dw_min=0.0002, w_min=-1.0, w_max=1.0, w_min_dtod=0.3, w_max_dtod=0.3,
        dw_min_dtod=0.3, up_down_dtod=0.0, dw_min_std=0.3,
    ),
    P.GokmenVlasovPresetDevice: dict(
        dw_min=0.0016, w_min=-1.0, w_max=1.0, w_min_dtod=0.3, w_max_dtod=0.3,
        dw_min_dtod=0.3, up_down_dtod=0.01, dw_min_std=0.3,
    ),
    P.CapacitorPresetDevice: dict(
        dw_min=0.005, w_min=-1.0, w_max=1.0, w_min_dtod=0.07, w_max_dtod=0.07,
        dw_min_dtod=0.1, up_down_dtod=0.06, gamma_up_dtod=0.01, gamma_down_dtod=0.01,
        dw_min_std=0.3, mult_noise=False, gamma_up=0.05, gamma_down=0.05,
        mean_bound_reference=True, lifetime=1e6, lifetime_dtod=0.3,
    ),
    P.EcRamPresetDevice: dict(
        dw_min=0.002, w_min=-0.8276, w_max=1.1724, w_min_dtod=0.05, w_max_dtod=0.05,
        dw_min_dtod=0.1, up_down_dtod=0.01, gamma_up_dtod=0.05, gamma_down_dtod=0.05,
        dw_min_std=0.3, mult_noise=True, gamma_up=0.1153, gamma_down=0.5085,
    ),
    P.EcRamMOPresetDevice: dict(
        dw_min=2.8214e-4, w_min=-0.8286, w_max=1.1714, w_min_dtod=0.05, w_max_dtod=0.05,
        dw_min_dtod=0.1, up_down_dtod=0.01, gamma_up_dtod=0.05, gamma_down_dtod=0.05,
        dw_min_std=2.0, mult_noise=True, gamma_up=0.4152, gamma_down=0.7342,
    ),
    P.ReRamSBPresetDevice: dict(
        dw_min=0.002, w_min=-0.75, w_max=1.25, w_min_dtod=0.4, w_max_dtod=0.24,
        dw_min_dtod=0.3, up_down_dtod=0.01, dw_min_std=3.75, mult_noise=False, up_down=0.0,
        write_noise_std=56.0,
    ),
    P.ReRamESPresetDevice: dict(
        dw_min=0.00135, w_min=-1.0, w_max=1.0, w_min_dtod=0.3, w_max_dtod=0.3,
        dw_min_dtod=0.2, up_down_dtod=0.05, dw_min_std=5.0, up_down=0.259359, a=-0.5,
        b=-0.5, gamma_up=5.0, gamma_down=5.0, A_up=-1.18445, A_down=-0.081404,
        write_noise_std=75.0,
    ),
    P.PCMPresetDevice: dict(
        dw_min=0.01, w_min=0.0, w_max=2.0, w_min_dtod=0.0, w_max_dtod=0.1, dw_min_dtod=0.2,
        up_down_dtod=0.05, dw_min_std=0.6, dw_min_std_add=0.042, dw_min_std_slope=0.108,
        a=-1.0, b=0.0, gamma_up=2.5, gamma_down=2.5, A_up=-27.235, A_down=-2.235,
        reset=0.01, reset_dtod=0.02,
    ),
    P.ReRamArrayOMPresetDevice: dict(
        dw_min=0.0949, dw_min_dtod_log_normal=True, w_min=-1.0, w_max=1.0, w_min_dtod=0.5695,
        w_max_dtod=0.3499, dw_min_dtod=0.7829, up_down_dtod=0.01, dw_min_std=0.4158,
        mult_noise=False, write_noise_std=1.4113, corrupt_devices_range=0.01,
        subtract_symmetry_point=True, reference_std=0.05,
    ),
    P.ReRamArrayHfO2PresetDevice: dict(
        dw_min=0.4622, dw_min_dtod_log_normal=True, w_min=-1.0, w_max=1.0, w_min_dtod=0.599,
        w_max_dtod=0.4295, dw_min_dtod=0.7125, up_down_dtod=0.01, dw_min_std=0.2174,
        mult_noise=False, write_noise_std=0.5841, corrupt_devices_range=0.01,
        subtract_symmetry_point=True, reference_std=0.05,
    ),
}  # fmt: skip

# The compound presets (reference §5.2): class → (compound type, device, settings, main BL).
COMPOUNDS: dict[type, tuple[type, type, dict[str, Any], int]] = {
    P.TikiTakaReRamSBPreset: (
        C.TransferCompound, P.ReRamSBPresetDevice,
        dict(transfer_every=1.0, units_in_mbatch=True, fast_lr=1.0, gamma=0.0), 31,
    ),
    P.TikiTakaCapacitorPreset: (
        C.TransferCompound, P.CapacitorPresetDevice, dict(units_in_mbatch=True), 31,
    ),
    P.TTv2ReRamSBPreset: (
        C.ChoppedTransferCompound, P.ReRamSBPresetDevice,
        dict(in_chop_prob=0.0, fast_lr=0.5, auto_granularity=1000, auto_scale=True,
             units_in_mbatch=False), 31,
    ),
    P.TTv2EcRamPreset: (
        C.ChoppedTransferCompound, P.EcRamPresetDevice,
        dict(in_chop_prob=0.0, fast_lr=0.1, auto_granularity=500), 100,
    ),
    P.ChoppedTTv2ReRamSBPreset: (
        C.ChoppedTransferCompound, P.ReRamSBPresetDevice,
        dict(in_chop_prob=0.01, fast_lr=0.5, auto_granularity=1000, auto_scale=True), 31,
    ),
    P.ChoppedTTv2EcRamMOPreset: (
        C.ChoppedTransferCompound, P.EcRamMOPresetDevice,
        dict(in_chop_prob=0.001, fast_lr=0.1, auto_granularity=500), 100,
    ),
    P.AGADReRamSBPreset: (
        C.DynamicTransferCompound, P.ReRamSBPresetDevice,
        dict(in_chop_prob=0.02, fast_lr=0.5, auto_granularity=1000, tail_weightening=5.0,
             auto_scale=True, in_chop_random=False), 31,
    ),
    P.AGADEcRamPreset: (
        C.DynamicTransferCompound, P.EcRamPresetDevice,
        dict(in_chop_prob=0.005, fast_lr=0.1, auto_granularity=750, tail_weightening=50.0), 31,
    ),
    P.AGADIdealizedPreset: (
        C.DynamicTransferCompound, P.IdealizedPresetDevice,
        dict(in_chop_prob=0.005, fast_lr=0.1, auto_granularity=500, tail_weightening=50.0), 100,
    ),
}  # fmt: skip

# The pulsed-device presets (the inference preset has tests of its own: test_hwa_preset.py).
ALL_CONFIGS = [
    getattr(P, name)
    for name in P.__all__
    if name.endswith("Preset") and not issubclass(getattr(P, name), C.InferenceRPUConfig)
]

CONFIGS = [
    (P.IdealizedPreset, P.IdealizedPresetDevice),
    (P.GokmenVlasovPreset, P.GokmenVlasovPresetDevice),
    (P.CapacitorPreset, P.CapacitorPresetDevice),
    (P.EcRamPreset, P.EcRamPresetDevice),
    (P.EcRamMOPreset, P.EcRamMOPresetDevice),
    (P.ReRamESPreset, P.ReRamESPresetDevice),
    (P.ReRamSBPreset, P.ReRamSBPresetDevice),
]


@pytest.mark.parametrize("device_cls", list(EXPECTED))
def test_device_presets_have_the_reference_values(device_cls: type) -> None:
    device = device_cls()
    for name, value in EXPECTED[device_cls].items():
        assert getattr(device, name) == pytest.approx(value), f"{device_cls.__name__}.{name}"


@pytest.mark.parametrize(("config_cls", "device_cls"), CONFIGS)
def test_config_presets_train_on_every_backend(
    config_cls: type, device_cls: type, backend: str
) -> None:
    config = config_cls()
    assert isinstance(config.device, device_cls)
    assert isinstance(config.forward, PresetIOParameters) and config.forward.out_bound == 20.0
    assert isinstance(config.update, PresetUpdateParameters)
    tile = AnalogTile(6, 5, config, backend)
    before = tile.get_weights()
    tile.update(torch.randn(8, 5), 0.5 * torch.randn(8, 6), 0.05)
    tile.post_update_step()
    assert not torch.equal(before, tile.get_weights())
    restored = pickle.loads(pickle.dumps(tile))
    assert torch.equal(restored.get_weights(), tile.get_weights())
    assert type(restored.rpu_config) is config_cls


def test_preset_fields_can_be_overridden() -> None:
    device = P.EcRamPresetDevice(dw_min_std=0.5)
    assert device.dw_min_std == 0.5 and device.gamma_up == 0.1153


@pytest.mark.parametrize("config_cls", list(COMPOUNDS), ids=lambda c: c.__name__)
def test_compound_presets_have_the_reference_settings(config_cls: type) -> None:
    compound, device, settings, desired_bl = COMPOUNDS[config_cls]
    config = config_cls()
    assert type(config.device) is compound
    assert [type(d) for d in config.device.unit_cell_devices] == [device, device]
    for name, value in settings.items():
        assert getattr(config.device, name) == value, f"{config_cls.__name__}.{name}"
    assert config.update.desired_bl == desired_bl
    read = config.device.transfer_forward
    assert read.noise_management.name == "NONE" and read.bound_management.name == "NONE"
    assert read.out_noise == 0.1 and read.out_bound == 20.0  # the preset periphery
    if compound is not C.TransferCompound:
        write = config.device.transfer_update
        assert write.desired_bl == 1 and not write.update_management
    reram = device is P.ReRamSBPresetDevice
    assert all(d.subtract_symmetry_point == reram for d in config.device.unit_cell_devices
               if isinstance(d, C.SoftBoundsReferenceDevice))  # fmt: skip


def test_unit_cell_presets_have_the_reference_settings() -> None:
    for n, cls in ((2, P.ReRamSB2Preset), (4, P.EcRam4Preset), (4, P.Idealized4Preset)):
        cell = cls().device
        assert isinstance(cell, C.VectorUnitCell) and len(cell.unit_cell_devices) == n
        assert cell.update_policy is C.VectorUnitCellUpdatePolicy.SINGLE_RANDOM
    pcm = P.PCMPreset().device
    assert isinstance(pcm, C.OneSidedUnitCell)
    assert [type(d) for d in pcm.unit_cell_devices] == [P.PCMPresetDevice] * 2
    assert pcm.refresh_every == 1 and pcm.units_in_mbatch
    assert pcm.refresh_upper_thres == 0.75 and pcm.refresh_lower_thres == 0.25
    assert pcm.refresh_update.desired_bl == 31
    mixed = P.MixedPrecisionPCMPreset().device
    assert isinstance(mixed, C.MixedPrecisionCompound)
    assert isinstance(mixed.device, P.PCMPresetDevice) and mixed.transfer_every == 1


@pytest.mark.parametrize("config_cls", ALL_CONFIGS, ids=lambda c: c.__name__)
def test_every_config_preset_trains_and_restores(config_cls: type) -> None:
    tile = AnalogTile(6, 5, config_cls(), "cpu")
    before = tile.get_hidden_weights()
    for _ in range(3):
        tile.update(torch.randn(8, 5), 0.5 * torch.randn(8, 6), 0.05)
        tile.post_update_step()
    # AGAD writes only after its first chopper period: its fast array moves first.
    assert any(not torch.equal(v, tile.get_hidden_weights()[k]) for k, v in before.items())
    restored = pickle.loads(pickle.dumps(tile))
    x, d = torch.randn(4, 5), torch.randn(4, 6)
    tile.update(x, d, 0.05)
    restored.update(x, d, 0.05)
    assert torch.equal(restored.get_weights(), tile.get_weights())
    for name, value in tile.get_hidden_weights().items():
        assert torch.equal(restored.get_hidden_weights()[name], value), name
