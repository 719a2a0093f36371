"""Presets carry the reference simulator's values (reference §5.1) and build working tiles."""

from __future__ import annotations

import pickle
from typing import Any

import pytest
import torch

from rpusim import AnalogTile
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
    ),
    P.ReRamESPresetDevice: dict(
        dw_min=0.00135, w_min=-1.0, w_max=1.0, w_min_dtod=0.3, w_max_dtod=0.3,
        dw_min_dtod=0.2, up_down_dtod=0.05, dw_min_std=5.0, up_down=0.259359, a=-0.5,
        b=-0.5, gamma_up=5.0, gamma_down=5.0, A_up=-1.18445, A_down=-0.081404,
    ),
    P.PCMPresetDevice: dict(
        dw_min=0.01, w_min=0.0, w_max=2.0, w_min_dtod=0.0, w_max_dtod=0.1, dw_min_dtod=0.2,
        up_down_dtod=0.05, dw_min_std=0.6, dw_min_std_add=0.042, dw_min_std_slope=0.108,
        a=-1.0, b=0.0, gamma_up=2.5, gamma_down=2.5, A_up=-27.235, A_down=-2.235,
        reset=0.01, reset_dtod=0.02,
    ),
}  # fmt: skip

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
