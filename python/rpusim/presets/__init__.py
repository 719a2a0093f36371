"""Presets with the reference simulator's values (reference §5): device presets
(``rpusim.presets.devices``: a device model with measured or idealized parameters) and RPU-config
presets (``rpusim.presets.configs``: single devices, 2-/4-device cells, the one-sided PCM pair,
Tiki-Taka, TTv2, c-TTv2, AGAD and mixed precision, with the preset periphery). Every preset is a
dataclass with changed defaults, so single fields can still be overridden:
``EcRamPresetDevice(dw_min_std=0.5)``, ``TikiTakaReRamSBPreset(update=...)``."""

from rpusim.presets.configs import *  # noqa: F403
from rpusim.presets.configs import __all__ as _configs
from rpusim.presets.devices import (
    CapacitorPresetDevice,
    EcRamMOPresetDevice,
    EcRamPresetDevice,
    GokmenVlasovPresetDevice,
    IdealizedPresetDevice,
    PCMPresetDevice,
    ReRamArrayHfO2PresetDevice,
    ReRamArrayOMPresetDevice,
    ReRamESPresetDevice,
    ReRamSBPresetDevice,
)
from rpusim.presets.inference import StandardHWATrainingPreset, StandardIOParameters

__all__ = [
    "StandardIOParameters",
    "CapacitorPresetDevice",
    "EcRamMOPresetDevice",
    "EcRamPresetDevice",
    "GokmenVlasovPresetDevice",
    "IdealizedPresetDevice",
    "PCMPresetDevice",
    "ReRamArrayHfO2PresetDevice",
    "ReRamArrayOMPresetDevice",
    "ReRamESPresetDevice",
    "ReRamSBPresetDevice",
    *_configs,
    "StandardHWATrainingPreset",
]
