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
