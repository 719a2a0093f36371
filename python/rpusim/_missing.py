"""The reference's public names that rpusim does not provide, with what each is, so that the
reference-compatible module paths (``rpusim.simulator.configs``, ``rpusim.nn``, ...) refuse
them with a message naming the feature (``MissingFeatureError``) instead of a bare
"cannot import name"."""

from __future__ import annotations

import importlib
from typing import Any, Callable, Optional

from rpusim.exceptions import MissingFeatureError

_TORCH_INFERENCE = "parts of the reference's torch tile and pre/post-processing class hierarchy"
_IR_DROP = (
    "the reference's time-dependent IR-drop tile class (rpusim's TorchInferenceTile runs "
    "TorchInferenceRPUConfigIRDropT)"
)
_QUANT = "quantized periphery / digital low-precision simulation"
_BINDINGS = "the reference's C++ parameter bindings (rpusim's core reads the config as JSON)"
_TILE_CLASSES = (
    "the reference's tile class hierarchy (rpusim has AnalogTile, InferenceTile, AnalogTileArray)"
)
_EXCEPTIONS = "the reference's exception classes (rpusim.exceptions has its own: ConfigError, ...)"

FEATURES: dict[str, str] = {
    # torch inference tile and input ranges
    **dict.fromkeys(
        [
            "TorchSimulatorTile",
            "InputRangeForward",
            "PrePostProcessingRPU",
            "IOManagedRPUConfig",
            "FloatingPointPreset",
            "InferenceTileWithPeriphery",
        ],
        _TORCH_INFERENCE,
    ),
    # IOParametersIRDropT and TorchInferenceRPUConfigIRDropT exist (TorchInferenceTile runs them).
    "TorchSimulatorTileIRDropT": _IR_DROP,
    **dict.fromkeys(
        [
            "QuantizedTorchInferenceRPUConfig",
            "QuantizedTorchInferenceTile",
            "QuantizedTileModuleArray",
            "PrePostProcessingParameterQuant",
            "PeripheryQuantizationParameter",
            "ActivationQuantConfig",
            "QuantizationManager",
            "QuantizedActivation",
            "QMethods",
            "RangeEstimators",
            "UniformQuantize",
            "convert_act_config_to_kwargs_dict",
        ],
        _QUANT,
    ),
    **dict.fromkeys(
        ["parameters_to_bindings", "tile_parameters_to_bindings", "get_bindings_class"],
        _BINDINGS,
    ),
    **dict.fromkeys(
        [
            "BaseTile",
            "SimulatorTile",
            "SimulatorTileWrapper",
            "TileWithPeriphery",
            "TileModuleBase",
            "AnalogTileWithoutPeriphery",
            "RPUCudaSimulatorTileWrapper",
            "TransferSimulatorTile",
            "AnalogTileStateNames",
            "AnalogMVM",
        ],
        _TILE_CLASSES,
    ),
    "FloatingPointTile": (
        "a separate floating-point tile class (use AnalogTile with FloatingPointRPUConfig)"
    ),
    "TorchTransferTile": (
        "the torch-based transfer tile (use AnalogTile with a TransferCompound config)"
    ),
    "MappableRPU": "the reference's MappableRPU config base class",
    **dict.fromkeys(
        [
            "AihwkitException",
            "AnalogBiasConfigError",
            "ArgumentError",
            "CloudError",
            "CudaError",
            "FusionExportError",
            "ModuleError",
            "TileError",
            "TileModuleError",
            "TorchTileConfigError",
        ],
        _EXCEPTIONS,
    ),
    "CountLRFeedbackPolicy": "the learning-rate feedback policies of the transfer compounds",
    "AnalogAdam": "analog Adam (use AnalogSGD)",
    "AnalogOptimizer": "the generic analog optimizer wrapper (use AnalogSGD)",
    "AnalogOptimizerMixin": "the generic analog optimizer wrapper (use AnalogSGD)",
    **dict.fromkeys(
        [
            "WebComposerIOParameters",
            "WebComposerInferenceRPUConfig",
            "WebComposerMappingParameter",
            "WebComposerWeightClipParameter",
            "WebComposerWeightModifierParameter",
            "OldWebComposerInferenceRPUConfig",
            "OldWebComposerMappingParameter",
        ],
        "the AIHW Composer web presets",
    ),
    "RPUConfigGeneric": "the reference's config type variable (use rpusim.configs.RPUConfig)",
}


def missing_getattr(
    module_name: str, lazy: Optional[dict[str, str]] = None
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that raises MissingFeatureError for the reference's names
    listed in ``FEATURES`` and AttributeError for anything else. ``lazy`` maps names to
    ``"module:attribute"`` imported on first use (names that would import in a cycle)."""

    def __getattr__(name: str) -> Any:  # noqa: N807
        if lazy and name in lazy:
            source, attribute = lazy[name].split(":")
            return getattr(importlib.import_module(source), attribute)
        feature = FEATURES.get(name)
        if feature is None:
            raise AttributeError(f"module {module_name!r} has no attribute {name!r}")
        raise MissingFeatureError(
            f"{module_name}.{name}: not provided by rpusim ({feature}); see the README's "
            f"porting table"
        )

    return __getattr__
