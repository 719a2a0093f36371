"""Inference on programmed weights: noise models, conductance converters, drift compensation
and the inference tile (reference §7)."""

from rpusim.inference.compensation import (
    BaseDriftCompensation,
    GlobalDriftCompensation,
    GlobalDriftCompensationWithExactReference,
    PerColumnDriftCompensation,
)
from rpusim.inference.converter import (
    BaseConductanceConverter,
    CustomPairConductanceConverter,
    DualPairConductanceConverter,
    NPairConductanceConverter,
    SingleDeviceConductanceConverter,
    SinglePairConductanceConverter,
)
from rpusim.inference.noise import (
    BaseNoiseModel,
    CustomDriftPCMLikeNoiseModel,
    PCMLikeNoiseModel,
    ReRamCMONoiseModel,
    ReRamWan2022NoiseModel,
    StateIndependentNoiseModel,
)

__all__ = [
    "BaseConductanceConverter",
    "BaseDriftCompensation",
    "BaseNoiseModel",
    "CustomDriftPCMLikeNoiseModel",
    "DualPairConductanceConverter",
    "GlobalDriftCompensation",
    "GlobalDriftCompensationWithExactReference",
    "NPairConductanceConverter",
    "PCMLikeNoiseModel",
    "PerColumnDriftCompensation",
    "ReRamWan2022NoiseModel",
    "SinglePairConductanceConverter",
    "StateIndependentNoiseModel",
    # aihwkit 1.1 ReRAM CMO model and converters
    "CustomPairConductanceConverter",
    "ReRamCMONoiseModel",
    "SingleDeviceConductanceConverter",
]

# The reference's names rpusim does not provide raise MissingFeatureError (branch api).
from rpusim._missing import missing_getattr as _missing_getattr  # noqa: E402

__getattr__ = _missing_getattr(
    __name__,
    {
        "drift_analog_weights": "rpusim.nn.base:drift_analog_weights",
        "program_analog_weights": "rpusim.nn.base:program_analog_weights",
    },
)
