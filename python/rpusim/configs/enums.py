"""Enumerations of the configuration (names as in the reference simulator)."""

from enum import Enum


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
