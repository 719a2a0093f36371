"""Configuration dataclasses, with the reference simulator's names and defaults."""

from rpusim.configs.compounds import (
    BufferedTransferCompound,
    ChoppedTransferCompound,
    DigitalRankUpdateCell,
    DynamicTransferCompound,
    MixedPrecisionCompound,
    OneSidedUnitCell,
    ReferenceUnitCell,
    TransferCompound,
    UnitCell,
    VectorUnitCell,
    VectorUnitCellUpdatePolicy,
)
from rpusim.configs.devices import (
    ConstantStepDevice,
    DriftParameter,
    ExpStepDevice,
    FloatingPointDevice,
    IdealDevice,
    LinearStepDevice,
    PiecewiseStepDevice,
    PowStepDevice,
    PowStepReferenceDevice,
    PulsedDevice,
    SimpleDriftParameter,
    SoftBoundsDevice,
    SoftBoundsPmaxDevice,
    SoftBoundsReferenceDevice,
)
from rpusim.configs.enums import (
    AnalogMVType,
    BoundManagementType,
    NoiseManagementType,
    PulseType,
    WeightClipType,
    WeightModifierType,
    WeightNoiseType,
    WeightRemapType,
)
from rpusim.configs.inference import (
    InferenceRPUConfig,
    WeightClipParameter,
    WeightModifierParameter,
    WeightRemapParameter,
)
from rpusim.configs.io import (
    IOParameters,
    IOParametersIRDropT,
    PresetIOParameters,
)
from rpusim.configs.mapping import MappingParameter
from rpusim.configs.pre_post import InputRangeParameter, PrePostProcessingParameter
from rpusim.configs.rpu_configs import (
    DigitalRankUpdateRPUConfig,
    FloatingPointRPUConfig,
    RPUConfig,
    SingleRPUConfig,
    UnitCellRPUConfig,
)
from rpusim.configs.torch_inference import (
    QuantizedTorchInferenceRPUConfig,
    TorchInferenceRPUConfig,
    TorchInferenceRPUConfigIRDropT,
)
from rpusim.configs.update import PresetUpdateParameters, UpdateParameters

__all__ = [
    "AnalogMVType",
    "BoundManagementType",
    "BufferedTransferCompound",
    "ChoppedTransferCompound",
    "ConstantStepDevice",
    "DigitalRankUpdateCell",
    "DigitalRankUpdateRPUConfig",
    "DriftParameter",
    "DynamicTransferCompound",
    "ExpStepDevice",
    "FloatingPointDevice",
    "FloatingPointRPUConfig",
    "IOParameters",
    "IOParametersIRDropT",
    "IdealDevice",
    "InferenceRPUConfig",
    "LinearStepDevice",
    "MappingParameter",
    "MixedPrecisionCompound",
    "NoiseManagementType",
    "OneSidedUnitCell",
    "PiecewiseStepDevice",
    "PowStepDevice",
    "PowStepReferenceDevice",
    "PresetIOParameters",
    "PresetUpdateParameters",
    "PulseType",
    "PulsedDevice",
    "RPUConfig",
    "ReferenceUnitCell",
    "SimpleDriftParameter",
    "SingleRPUConfig",
    "SoftBoundsDevice",
    "SoftBoundsPmaxDevice",
    "SoftBoundsReferenceDevice",
    "TransferCompound",
    "UnitCell",
    "UnitCellRPUConfig",
    "UpdateParameters",
    "VectorUnitCell",
    "VectorUnitCellUpdatePolicy",
    "WeightClipParameter",
    "WeightClipType",
    "WeightModifierParameter",
    "WeightModifierType",
    "WeightNoiseType",
    "WeightRemapParameter",
    "WeightRemapType",
    # learned input range and torch inference tiles
    "InputRangeParameter",
    "PrePostProcessingParameter",
    "QuantizedTorchInferenceRPUConfig",
    "TorchInferenceRPUConfig",
    "TorchInferenceRPUConfigIRDropT",
]

# The reference's build_config, data type and runtime settings (branch api).
from rpusim.configs.enums import RPUDataType  # noqa: E402
from rpusim.configs.helpers import build_config  # noqa: E402
from rpusim.configs.runtime import RuntimeParameter  # noqa: E402

__all__ += ["RPUDataType", "RuntimeParameter", "build_config"]
