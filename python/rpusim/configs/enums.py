"""Enumerations of the configuration (names as in the reference simulator)."""

from enum import Enum
from typing import Any


class NoiseManagementType(Enum):
    """How the input of an MVM is scaled before the DAC (per input vector)."""

    NONE = "NONE"
    ABS_MAX = "ABS_MAX"
    MAX = "MAX"
    CONSTANT = "CONSTANT"
    ABS_MAX_NP_SUM = "ABS_MAX_NP_SUM"
    AVERAGE_ABS_MAX = "AVERAGE_ABS_MAX"


class BoundManagementType(Enum):
    """How saturated outputs are handled (forward pass only)."""

    NONE = "NONE"
    ITERATIVE = "ITERATIVE"
    ITERATIVE_WORST_CASE = "ITERATIVE_WORST_CASE"
    SHIFT = "SHIFT"


class WeightNoiseType(Enum):
    """Output-referred weight (read) noise."""

    NONE = "NONE"
    ADDITIVE_CONSTANT = "ADDITIVE_CONSTANT"
    PCM_READ = "PCM_READ"


class AnalogMVType(Enum):
    """How the analog MVM is carried out."""

    ONE_PASS = "ONE_PASS"
    IDEAL = "IDEAL"
    POS_NEG_SEPARATE = "POS_NEG_SEPARATE"
    POS_NEG_SEPARATE_DIGITAL_SUM = "POS_NEG_SEPARATE_DIGITAL_SUM"
    SPLIT_MODE = "SPLIT_MODE"
    BIT_WISE = "BIT_WISE"


class PulseType(Enum):
    """How a gradient becomes pulses."""

    NONE = "NONE"
    NONE_WITH_DEVICE = "NONE_WITH_DEVICE"
    STOCHASTIC_COMPRESSED = "STOCHASTIC_COMPRESSED"
    STOCHASTIC = "STOCHASTIC"
    MEAN_COUNT = "MEAN_COUNT"
    DETERMINISTIC_IMPLICIT = "DETERMINISTIC_IMPLICIT"


class WeightModifierType(Enum):
    """Noise put on the weights seen by forward and backward during hardware-aware training."""

    NONE = "NONE"
    DISCRETIZE = "DISCRETIZE"
    MULT_NORMAL = "MULT_NORMAL"
    ADD_NORMAL = "ADD_NORMAL"
    DISCRETIZE_ADD_NORMAL = "DISCRETIZE_ADD_NORMAL"
    DOREFA = "DOREFA"
    POLY = "POLY"
    PCM_NOISE = "PCM_NOISE"
    PROG_NOISE = "PROG_NOISE"
    DROP_CONNECT = "DROP_CONNECT"
    COPY = "COPY"


class WeightClipType(Enum):
    """How the trained weights are clipped after each update."""

    NONE = "NONE"
    FIXED_VALUE = "FIXED_VALUE"
    LAYER_GAUSSIAN = "LAYER_GAUSSIAN"
    AVERAGE_CHANNEL_MAX = "AVERAGE_CHANNEL_MAX"


class WeightRemapType(Enum):
    """How the trained weights are rescaled to the full range after each update."""

    NONE = "NONE"
    LAYERWISE_SYMMETRIC = "LAYERWISE_SYMMETRIC"
    CHANNELWISE_SYMMETRIC = "CHANNELWISE_SYMMETRIC"


class RPUDataType(Enum):
    """The reference's simulation data type (``rpu_config.runtime.data_type``). rpusim tiles
    compute in float32 whatever is chosen: FLOAT is exact, HALF runs in float32 (inputs of any
    floating dtype, float16 and bfloat16 included, come back in their own dtype), DOUBLE is
    refused with a ConfigError when a tile is built (float64 precision is not available)."""

    FLOAT = "float"
    DOUBLE = "double"
    HALF = "half"

    def as_torch(self) -> Any:
        """The torch dtype of this data type (float32, float64, float16)."""
        import torch

        return {"float": torch.float32, "double": torch.float64, "half": torch.float16}[self.value]
