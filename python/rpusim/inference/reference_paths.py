"""The reference's submodule paths under ``aihwkit.inference`` (``noise.pcm``,
``converter.conductance``, ``compensation.drift``, ...), registered as thin re-export modules.

rpusim keeps each of these families in one module (``rpusim.inference.noise``, ``.converter``,
``.compensation``), so their reference submodules cannot be files; they are module objects put in
``sys.modules`` (and as attributes of their parents) when ``rpusim.inference`` is imported, so
``from rpusim.inference.noise.pcm import PCMLikeNoiseModel`` works as in the reference.
"""

from __future__ import annotations

import importlib.util
import sys
import types
from typing import Any

from rpusim._missing import missing_getattr
from rpusim.exceptions import MissingFeatureError
from rpusim.inference import compensation, converter, noise
from rpusim.nn.base import drift_analog_weights, program_analog_weights

# Reference submodule → (rpusim parent module, names it re-exports).
SUBMODULES: dict[str, tuple[types.ModuleType, dict[str, Any]]] = {
    "rpusim.inference.noise.base": (
        noise,
        {
            "BaseNoiseModel": noise.BaseNoiseModel,
            "BaseConductanceConverter": converter.BaseConductanceConverter,
            "SinglePairConductanceConverter": converter.SinglePairConductanceConverter,
        },
    ),
    "rpusim.inference.noise.pcm": (
        noise,
        {
            "BaseNoiseModel": noise.BaseNoiseModel,
            "PCMLikeNoiseModel": noise.PCMLikeNoiseModel,
            "CustomDriftPCMLikeNoiseModel": noise.CustomDriftPCMLikeNoiseModel,
            "BaseConductanceConverter": converter.BaseConductanceConverter,
            "SinglePairConductanceConverter": converter.SinglePairConductanceConverter,
        },
    ),
    "rpusim.inference.noise.reram": (
        noise,
        {
            "BaseNoiseModel": noise.BaseNoiseModel,
            "ReRamWan2022NoiseModel": noise.ReRamWan2022NoiseModel,
            "ReRamCMONoiseModel": noise.ReRamCMONoiseModel,
            "BaseConductanceConverter": converter.BaseConductanceConverter,
            "SinglePairConductanceConverter": converter.SinglePairConductanceConverter,
        },
    ),
    "rpusim.inference.noise.custom": (
        noise,
        {
            "BaseNoiseModel": noise.BaseNoiseModel,
            "StateIndependentNoiseModel": noise.StateIndependentNoiseModel,
            "BaseConductanceConverter": converter.BaseConductanceConverter,
            "SinglePairConductanceConverter": converter.SinglePairConductanceConverter,
        },
    ),
    "rpusim.inference.converter.base": (
        converter,
        {"BaseConductanceConverter": converter.BaseConductanceConverter},
    ),
    "rpusim.inference.converter.conductance": (
        converter,
        {
            "BaseConductanceConverter": converter.BaseConductanceConverter,
            "SinglePairConductanceConverter": converter.SinglePairConductanceConverter,
            "NPairConductanceConverter": converter.NPairConductanceConverter,
            "DualPairConductanceConverter": converter.DualPairConductanceConverter,
            "CustomPairConductanceConverter": converter.CustomPairConductanceConverter,
            "SingleDeviceConductanceConverter": converter.SingleDeviceConductanceConverter,
        },
    ),
    "rpusim.inference.compensation.base": (
        compensation,
        {"BaseDriftCompensation": compensation.BaseDriftCompensation},
    ),
    "rpusim.inference.compensation.drift": (
        compensation,
        {
            "BaseDriftCompensation": compensation.BaseDriftCompensation,
            "GlobalDriftCompensation": compensation.GlobalDriftCompensation,
            "GlobalDriftCompensationWithExactReference": (
                compensation.GlobalDriftCompensationWithExactReference
            ),
            "PerColumnDriftCompensation": compensation.PerColumnDriftCompensation,
        },
    ),
}


# Reference modules rpusim has nothing of: importing any name from them raises
# MissingFeatureError naming the feature (only where no real module of that name exists).
MISSING_MODULES = {
    "rpusim.inference.calibration": "input-range calibration of the torch inference tile",
    "rpusim.inference.converter.wpo": "the weight programming optimizer",
    "rpusim.experiments": "the reference's experiment classes (BasicTraining, ...)",
    "rpusim.experiments.runners": "the reference's experiment runners (LocalRunner, CloudRunner)",
    "rpusim.cloud": "the AIHW Composer cloud client",
}


def _missing_module(name: str, feature: str) -> types.ModuleType:
    module = types.ModuleType(name, f"Not provided by rpusim: {feature}.")

    def __getattr__(attr: str) -> Any:  # noqa: N807
        if attr.startswith("__"):
            raise AttributeError(attr)
        raise MissingFeatureError(f"{name}.{attr}: not provided by rpusim ({feature})")

    module.__dict__["__getattr__"] = __getattr__
    module.__dict__["__path__"] = []  # a package: its own submodules resolve here too
    return module


def _exists(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def register() -> None:
    """Puts the reference submodules into ``sys.modules`` and onto their parents (idempotent).
    Names the reference has there but rpusim does not raise ``MissingFeatureError``."""
    for name, (parent, names) in SUBMODULES.items():
        module = sys.modules.get(name)
        if module is None:
            module = types.ModuleType(name, f"Reference path {name} (re-exports).")
            module.__dict__.update(names)
            module.__dict__["__all__"] = sorted(names)
            module.__dict__["__getattr__"] = missing_getattr(name)
            sys.modules[name] = module
        setattr(parent, name.rsplit(".", 1)[1], module)
    utils = sys.modules.get("rpusim.inference.utils")
    if utils is None:
        utils = types.ModuleType("rpusim.inference.utils", "Reference path (re-exports).")
        utils.__dict__.update(
            drift_analog_weights=drift_analog_weights,
            program_analog_weights=program_analog_weights,
            __getattr__=missing_getattr("rpusim.inference.utils"),
        )
        sys.modules["rpusim.inference.utils"] = utils
    for name, feature in MISSING_MODULES.items():
        if name not in sys.modules and not _exists(name):
            sys.modules[name] = _missing_module(name, feature)


register()
