"""Device presets with the reference simulator's values (reference §5.1): a device model with
measured or idealized parameters. Every preset is a dataclass with changed defaults, so single
fields can still be overridden: ``EcRamPresetDevice(dw_min_std=0.5)``."""

from __future__ import annotations

from dataclasses import dataclass

from rpusim.configs.devices import (
    ConstantStepDevice,
    ExpStepDevice,
    LinearStepDevice,
    SoftBoundsReferenceDevice,
)


@dataclass
class IdealizedPresetDevice(ConstantStepDevice):
    """Idealized symmetric device with about 10 000 states (dw_min 0.0002 over [−1, 1])."""

    dw_min: float = 0.0002
    dw_min_dtod: float = 0.3
    dw_min_std: float = 0.3
    up_down_dtod: float = 0.0
    w_max: float = 1.0
    w_min: float = -1.0
    w_max_dtod: float = 0.3
    w_min_dtod: float = 0.3


@dataclass
class GokmenVlasovPresetDevice(ConstantStepDevice):
    """The device of Gokmen & Vlasov (2016): about 1 200 states (dw_min 0.0016 over [−1, 1])."""

    dw_min: float = 0.0016
    dw_min_dtod: float = 0.3
    dw_min_std: float = 0.3
    up_down_dtod: float = 0.01
    w_max: float = 1.0
    w_min: float = -1.0
    w_max_dtod: float = 0.3
    w_min_dtod: float = 0.3


@dataclass
class CapacitorPresetDevice(LinearStepDevice):
    """Capacitor-based cell: nearly linear steps (γ 0.05), additive noise, and leakage
    (lifetime 10⁶ mini-batches)."""

    dw_min: float = 0.005
    dw_min_dtod: float = 0.1
    dw_min_std: float = 0.3
    up_down_dtod: float = 0.06
    w_max: float = 1.0
    w_min: float = -1.0
    w_max_dtod: float = 0.07
    w_min_dtod: float = 0.07
    gamma_up: float = 0.05
    gamma_down: float = 0.05
    gamma_up_dtod: float = 0.01
    gamma_down_dtod: float = 0.01
    mean_bound_reference: bool = True
    mult_noise: bool = False
    lifetime: float = 1e6
    lifetime_dtod: float = 0.3


@dataclass
class EcRamPresetDevice(LinearStepDevice):
    """Electro-chemical RAM (Li-ion): asymmetric linear steps, about 1 000 states."""

    dw_min: float = 0.002
    dw_min_dtod: float = 0.1
    dw_min_std: float = 0.3
    up_down_dtod: float = 0.01
    w_max: float = 1.1724
    w_min: float = -0.8276
    w_max_dtod: float = 0.05
    w_min_dtod: float = 0.05
    gamma_up: float = 0.1153
    gamma_down: float = 0.5085
    gamma_up_dtod: float = 0.05
    gamma_down_dtod: float = 0.05
    mult_noise: bool = True


@dataclass
class EcRamMOPresetDevice(LinearStepDevice):
    """Metal-oxide ECRAM: many small, noisy, asymmetric linear steps."""

    dw_min: float = 2.8214e-4
    dw_min_dtod: float = 0.1
    dw_min_std: float = 2.0
    up_down_dtod: float = 0.01
    w_max: float = 1.1714
    w_min: float = -0.8286
    w_max_dtod: float = 0.05
    w_min_dtod: float = 0.05
    gamma_up: float = 0.4152
    gamma_down: float = 0.7342
    gamma_up_dtod: float = 0.05
    gamma_down_dtod: float = 0.05
    mult_noise: bool = True


@dataclass
class ReRamSBPresetDevice(SoftBoundsReferenceDevice):
    """ReRAM fitted with soft bounds (about 1 000 states, asymmetric bounds, large additive
    cycle-to-cycle noise, write noise of 56 × dw_min on the visible weight). The Tiki-Taka
    presets use it with ``subtract_symmetry_point=True``."""

    dw_min: float = 0.002
    dw_min_dtod: float = 0.3
    dw_min_std: float = 3.75
    up_down: float = 0.0
    up_down_dtod: float = 0.01
    w_max: float = 1.25
    w_min: float = -0.75
    w_max_dtod: float = 0.3 / 1.25
    w_min_dtod: float = 0.3 / 0.75
    mult_noise: bool = False
    write_noise_std: float = 56.0


@dataclass
class ReRamESPresetDevice(ExpStepDevice):
    """ReRAM fitted with the exponential step (about 1 000 states, large cycle-to-cycle noise,
    write noise of 75 × dw_min on the visible weight)."""

    dw_min: float = 0.00135
    dw_min_dtod: float = 0.2
    dw_min_std: float = 5.0
    up_down: float = 0.259359
    up_down_dtod: float = 0.05
    w_max: float = 1.0
    w_min: float = -1.0
    w_max_dtod: float = 0.3
    w_min_dtod: float = 0.3
    A_up: float = -1.18445  # noqa: N815
    A_down: float = -0.081404  # noqa: N815
    gamma_up: float = 5.0
    gamma_down: float = 5.0
    a: float = -0.5
    b: float = -0.5
    write_noise_std: float = 75.0


@dataclass
class PCMPresetDevice(ExpStepDevice):
    """Phase-change memory: uni-directional, exp-step fit with additive noise (the device of the
    reference's ``PCMPresetUnitCell``, a one-sided pair)."""

    dw_min: float = 0.01
    dw_min_dtod: float = 0.2
    dw_min_std: float = 0.6
    up_down: float = 0.0
    up_down_dtod: float = 0.05
    w_max: float = 2.0
    w_min: float = 0.0
    w_max_dtod: float = 0.1
    w_min_dtod: float = 0.0
    A_up: float = -27.235  # noqa: N815
    A_down: float = -2.235  # noqa: N815
    gamma_up: float = 2.5
    gamma_down: float = 2.5
    a: float = -1.0
    b: float = 0.0
    dw_min_std_add: float = 0.042
    dw_min_std_slope: float = 0.108
    reset: float = 0.01
    reset_dtod: float = 0.02


@dataclass
class ReRamArrayOMPresetDevice(SoftBoundsReferenceDevice):
    """ReRAM array (oxide-metal stack) fitted with soft bounds on a reference: few large,
    log-normally spread steps (about 20 states), write noise 1.41 × dw_min, the symmetry point
    subtracted and a reference spread of 0.05."""

    enforce_consistency: bool = True
    dw_min_dtod_log_normal: bool = True
    dw_min: float = 0.0949
    up_down: float = 0.0
    w_max: float = 1.0
    w_min: float = -1.0
    mult_noise: bool = False
    dw_min_dtod: float = 0.7829
    up_down_dtod: float = 0.01
    w_max_dtod: float = 0.3499
    w_min_dtod: float = 0.5695
    dw_min_std: float = 0.4158
    write_noise_std: float = 1.4113
    corrupt_devices_range: float = 0.01
    corrupt_devices_prob: float = 0.0
    subtract_symmetry_point: bool = True
    reference_std: float = 0.05


@dataclass
class ReRamArrayHfO2PresetDevice(SoftBoundsReferenceDevice):
    """ReRAM array (HfO2) fitted with soft bounds on a reference: very few, log-normally spread
    steps (about 4 states), write noise 0.58 × dw_min, the symmetry point subtracted and a
    reference spread of 0.05."""

    enforce_consistency: bool = True
    dw_min_dtod_log_normal: bool = True
    dw_min: float = 0.4622
    up_down: float = 0.0
    w_max: float = 1.0
    w_min: float = -1.0
    mult_noise: bool = False
    dw_min_dtod: float = 0.7125
    up_down_dtod: float = 0.01
    w_max_dtod: float = 0.4295
    w_min_dtod: float = 0.5990
    dw_min_std: float = 0.2174
    write_noise_std: float = 0.5841
    corrupt_devices_range: float = 0.01
    corrupt_devices_prob: float = 0.0
    subtract_symmetry_point: bool = True
    reference_std: float = 0.05
