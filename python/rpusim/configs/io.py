"""Forward/backward periphery parameters (``IOParameters``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rpusim.configs.encode import encode_fields
from rpusim.configs.enums import (
    AnalogMVType,
    BoundManagementType,
    NoiseManagementType,
    WeightNoiseType,
)


@dataclass
class IOParameters:
    """Non-idealities of one direction (forward or backward) of the analog MVM.

    Per input vector x: α = noise-management scale; u = clip(quantise(x/(α·r)), ±inp_bound)
    + inp_noise·ξ (DAC); v = W u − IR drop + weight noise + out_noise·ξ (analog product); ADC:
    quantise then clip to ±out_bound; bound management doubles r and re-reads saturated vectors
    (each re-read with its own IR drop); y = out_scale·α·r·v.

    Resolutions (``inp_res``, ``out_res``): ≤ 0 means no quantisation, ≤ 1 is a fraction of the
    full range 2·bound, > 1 a number of steps.
    """

    is_perfect: bool = False
    """Exact floating-point MVM; all other settings are ignored."""
    mv_type: AnalogMVType = AnalogMVType.ONE_PASS
    """MVM mode; ``ONE_PASS`` (and ``IDEAL``, exact) are supported."""
    inp_bound: float = 1.0
    """DAC range ±inp_bound (must be 1 with noise management)."""
    inp_res: float = 1 / (2**7 - 2)
    """DAC resolution (7 bit: step 2/126)."""
    inp_sto_round: bool = False
    """Stochastic rounding in the DAC."""
    inp_noise: float = 0.0
    """Std of Gaussian noise added to each DAC output."""
    inp_asymmetry: float = 0.0
    """Negative inputs × (1 − a) (two-pass MVM types only; not supported)."""
    out_bound: float = 12.0
    """ADC range ±out_bound (≤ 0: infinite)."""
    out_res: float = 1 / (2**9 - 2)
    """ADC resolution (9 bit: step 24/510)."""
    out_sto_round: bool = False
    """Stochastic rounding in the ADC."""
    out_noise: float = 0.06
    """Std of Gaussian noise added to each analog output (α-normalised units)."""
    out_noise_std: float = 0.0
    """Fixed per-output spread of out_noise (not supported)."""
    out_scale: float = 1.0
    """Extra digital output factor."""
    out_asymmetry: float = 0.0
    """Output asymmetry (two-pass MVM types only; not supported)."""
    noise_management: NoiseManagementType = NoiseManagementType.ABS_MAX
    """Input scaling per vector: ``ABS_MAX`` (α = max|x|), ``MAX``, ``CONSTANT``, ``NONE``."""
    bound_management: BoundManagementType = BoundManagementType.ITERATIVE
    """``ITERATIVE``: halve the input of saturated vectors and re-read (forward only)."""
    w_noise: float = 0.0
    """Strength of the output-referred weight noise."""
    w_noise_type: WeightNoiseType = WeightNoiseType.NONE
    """``ADDITIVE_CONSTANT``: adds w_noise·‖u‖₂·ξ to each output; ``PCM_READ``: adds
    w_noise·sqrt(Σ_j |w_ij|·u_j²)·ξ_i to output i (read noise growing with the line's current)."""
    ir_drop: float = 0.0
    """IR-drop scale (0: off). Deterministic: with a_i = (n/ir_drop_g_ratio)·Σ_j |w_ij||u_j| and
    c_i = a_i·(a_i·(0.05·a_i − 0.2) + 0.5), output i loses c_i·ir_drop·Σ_j w_ij·u_j·(1 − (1 − j/n)²)
    (n inputs; input 0 sees no drop, the last input the most), before the noise and the ADC."""
    ir_drop_g_ratio: float = 1 / 0.35 / 5e-6
    """Ratio of the wire conductance between neighbouring cells to a device's g_max (> 0)."""
    out_nonlinearity: float = 0.0
    """S-shaped output non-linearity (not supported)."""
    out_nonlinearity_std: float = 0.0
    """Spread of the output non-linearity (not supported)."""
    slope_calibration: float = 0.0
    """Calibration point of the output non-linearity (not supported)."""
    v_offset_std: float = 0.0
    """Per-output voltage offset (not supported)."""
    v_offset_w_min: float = -1.0
    """Implicit reference of the voltage offset."""
    r_series: float = 0.0
    """Series resistance (not supported)."""
    w_read_asymmetry_dtod: float = 0.0
    """Per-device read asymmetry (not supported)."""
    max_bm_factor: int = 1000
    """Bound management stops when the reduction exceeds this factor."""
    max_bm_res: float = 0.25
    """... or when the reduction exceeds max_bm_res / DAC step."""
    bm_test_negative_bound: bool = True
    """Negative saturation also triggers bound management."""
    nm_thres: float = 0.0
    """Cap of the noise-management scale (ABS_MAX/MAX) or the constant (CONSTANT)."""

    def to_core(self, prefix: str) -> dict[str, Any]:
        fields = encode_fields(self, prefix)
        fields["max_bm_factor"] = float(fields["max_bm_factor"])
        return fields


@dataclass
class PresetIOParameters(IOParameters):
    """The periphery used by the device presets: out_bound 20, out_noise 0.1."""

    out_bound: float = 20.0
    out_noise: float = 0.1


@dataclass
class IOParametersIRDropT(IOParameters):
    """The periphery of ``TorchInferenceRPUConfigIRDropT`` (aihwkit 1.1): the analog product is
    read with pulse-width-modulated inputs through a column with wire resistance, solved per time
    slice as a chain of Thevenin-equivalent segments (``rpusim.inference.ir_drop_t``). In eval
    mode only (as the reference: training reads W u); the rest of the periphery is
    ``IOParameters``' torch periphery.

    Not built (ConfigError when set to another value than the default): split-mode and bit-wise
    PWM (``mv_type`` SPLIT_MODE/BIT_WISE, ``split_mode_bit_shift``), the input-dependent PCM read
    noise (``apply_xdep_pcm_read_noise``, ``xdep_pcm_read_noise_scale``).
    """

    ir_drop: float = 1.0
    """Scale of the wire resistance (0: the read is W u)."""
    ir_drop_rs: float = 0.15
    """Wire resistance (Ω) between neighbouring rows of a column."""
    ir_drop_segments: int = 8
    """Thevenin segments a column is grouped into (must divide ``mapping.max_input_size``; as
    many as rows is the exact circuit)."""
    ir_drop_time_step_resolution_scale: float = 1.0
    """Scale of the number of time slices (1: one per DAC step of a positive input)."""
    ir_drop_v_read: float = 0.4005
    """Voltage (V) the ADC holds the column at."""
    split_mode_bit_shift: int = 3
    """Bits of the first phase of split-mode PWM (not supported: only the default)."""
    apply_xdep_pcm_read_noise: bool = False
    """Input-dependent PCM read noise (not supported: only False)."""
    xdep_pcm_read_noise_scale: float = 1.0
    """Scale of the input-dependent PCM read noise (not supported: only 1)."""
    adc_quantization: bool = True
    """Truncate the integrated charge to whole ticks of the ADC's oscillator."""
    adc_frequency: float = 6.24
    """Frequency (GHz) of the ADC's oscillator: a tick is 100/adc_frequency charge units."""
    ir_drop_integration_sum: bool = False
    """Integrate the column current by a plain sum over the slices (default: trapezoids)."""
