"""Time-dependent IR drop of a crossbar read with pulse-width-modulated inputs (the analog product
of ``TorchInferenceRPUConfigIRDropT``, aihwkit 1.1's ``AnalogMVMIRDropT`` in ONE_PASS mode).

Physical picture (units: conductances in µS, resistances in MΩ, voltages in V, currents in µA):

* Input j drives its row with a pulse of length |u_j| (u_j ∈ [−1, 1], the DAC output): while
  t < |u_j| a device pair (G⁺, G⁻) sees 0.6 V on the device of the input's sign and 0.2 V on the
  other; otherwise both sit at the idle 0.4 V. The column is held at ``ir_drop_v_read`` by its ADC.
* Time is sliced into T = int((inp_bound/res + 2)/2 · ir_drop_time_step_resolution_scale) points
  t_k = k/(T−1) on [0, 1] (res the DAC step fraction), at which the circuit is solved as a DC one.
* The ``max_input_size`` physical rows (the logical rows sit in the middle, zero rows padded
  symmetrically) are grouped into ``ir_drop_segments`` segments of R rows. A segment is one
  Thevenin source: conductance G_s = Σ g (+1e-12), open voltage V_s = Σ g·V / G_s.
* Along the column the segments are joined by wire pieces of R·ir_drop·ir_drop_rs Ω: walking from
  the far end towards the ADC, the equivalent so far in series with one wire piece is put in
  parallel with the next segment; half a wire piece more leads to the ADC.
* Even output columns are read by ADCs at the end of the last row, odd ones by ADCs at the other
  end (the row order reverses for them).
* The column current (V_th − v_read)/R_th is integrated over the slices: by default the trapezoid
  rule with unit spacing on the samples with the first one repeated (Σ_{k<T−1} i_k + (i_0 +
  i_{T−1})/2), or the plain sum (``ir_drop_integration_sum``); ``adc_quantization`` then truncates
  the charge to whole ADC ticks of 100/``adc_frequency``.
* The charge becomes a weight-unit output: divided by the converter's scale (µS per weight unit),
  by 0.2 V and by (inp_bound/res)/2; several device pairs add with their significance factors.

Without wire resistance this gives W u up to the time slicing (about half a DAC step more per
non-zero input). The circuit is linear: the relative drop grows with the wire resistance, the
conductances and the distance of the driven rows from the ADC, not with the input amplitude.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from rpusim.configs.enums import AnalogMVType
from rpusim.configs.io import IOParameters, IOParametersIRDropT
from rpusim.exceptions import ConfigError, ShapeError

# Row voltages (V) of the PWM read: the device of the input's sign, the other one, idle.
V_DRIVE = 0.6
V_COUNTER = 0.2
V_IDLE = 0.4
# The conductance-to-weight normalisation of the read (the drive difference, V).
V_SWING = 0.2
# Regularises the Thevenin conductance of a segment with no conducting device (µS).
G_FLOOR = 1e-12
# Bound on the elements of one per-segment intermediate (memory of a large batch).
CHUNK_ELEMENTS = 1 << 22

# Options of IOParametersIRDropT that are not built: (field, default, what it is).
_NOT_BUILT = (
    ("split_mode_bit_shift", 3, "split-mode PWM (mv_type SPLIT_MODE)"),
    ("apply_xdep_pcm_read_noise", False, "the input-dependent PCM read noise"),
    ("xdep_pcm_read_noise_scale", 1.0, "the input-dependent PCM read noise"),
)


def dac_fraction(io: IOParameters) -> float:
    """The DAC step as a fraction of the range (``inp_res`` ≤ 1 itself, else 1/inp_res)."""
    return 1.0 / io.inp_res if io.inp_res > 1 else float(io.inp_res)


def time_slices(io: IOParametersIRDropT) -> int:
    """Number of time points of the PWM read (``int((inp_bound/res + 2)/2 · scale)``)."""
    steps = io.inp_bound / dac_fraction(io) + 2
    return int(steps / 2 * io.ir_drop_time_step_resolution_scale)


def check_ir_drop_t(io: IOParameters, prefix: str = "forward") -> None:
    """Raises ConfigError naming the first value of an ``IOParametersIRDropT`` that is invalid or
    not built (the torch periphery's own checks run separately)."""
    if not isinstance(io, IOParametersIRDropT):
        raise ConfigError(
            f"{prefix}: TorchInferenceRPUConfigIRDropT needs IOParametersIRDropT, "
            f"got {type(io).__name__}"
        )
    for name, default, what in _NOT_BUILT:
        value = getattr(io, name)
        if value != default or isinstance(value, bool) != isinstance(default, bool):
            raise ConfigError(
                f"{prefix}.{name}: {what} is not supported by this version of rpusim "
                f"(only the default {default!r}), got {value!r}"
            )
    if io.mv_type not in (AnalogMVType.ONE_PASS, AnalogMVType.IDEAL) and not io.is_perfect:
        raise ConfigError(
            f"{prefix}.mv_type: {getattr(io.mv_type, 'name', io.mv_type)} (split-mode / bit-wise "
            f"PWM) is not supported by the time-dependent IR drop of this version of rpusim "
            f"(ONE_PASS)"
        )
    for name in ("ir_drop", "ir_drop_rs", "ir_drop_v_read"):
        value = getattr(io, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= 0:
            raise ConfigError(f"{prefix}.{name}: must be a number >= 0, got {value!r}")
    for name in ("ir_drop_time_step_resolution_scale", "adc_frequency"):
        value = getattr(io, name)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigError(f"{prefix}.{name}: must be a number > 0, got {value!r}")
    segments = io.ir_drop_segments
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
        raise ConfigError(f"{prefix}.ir_drop_segments: must be an int >= 1, got {segments!r}")
    for name in ("adc_quantization", "ir_drop_integration_sum"):
        if not isinstance(getattr(io, name), bool):
            raise ConfigError(f"{prefix}.{name}: expected a bool, got {getattr(io, name)!r}")
    if io.is_perfect or io.mv_type == AnalogMVType.IDEAL:
        return
    if not io.inp_res > 0:
        raise ConfigError(
            f"{prefix}.inp_res: the time-sliced read needs a DAC resolution > 0, got {io.inp_res!r}"
        )
    if time_slices(io) < 2:
        raise ConfigError(
            f"{prefix}.ir_drop_time_step_resolution_scale: gives fewer than 2 time slices "
            f"({time_slices(io)}) for inp_res {io.inp_res!r}"
        )


def _segment_thevenin(
    u: Tensor, g_plus: Tensor, g_minus: Tensor, times: Tensor, segments: int
) -> tuple[Tensor, Tensor]:
    """Per segment and time slice the Thevenin conductance and voltage of the rows.

    ``u [N, P]`` physical-row inputs, ``g_± [P, C]`` conductances, ``times [T]``; returns
    ``(G, V)`` of shape ``[N, S, C, T]``."""
    n, rows = u.shape
    per_segment = rows // segments
    on = u[:, :, None] > times  # [N, P, T]: the positive pulse is still on
    on_negative = u[:, :, None] < -times
    idle = ~(on | on_negative)

    def by_segment(mask: Tensor, g: Tensor) -> Tensor:
        # Σ over the rows of each segment of mask·g, as [N, S, C, T].
        masks = mask.to(g.dtype).reshape(n, segments, per_segment, -1)
        return torch.einsum("nsrt,src->nsct", masks, g.reshape(segments, per_segment, -1))

    g_drive = by_segment(on, g_plus) + by_segment(on_negative, g_minus)
    g_counter = by_segment(on, g_minus) + by_segment(on_negative, g_plus)
    g_idle = by_segment(idle, g_plus + g_minus)
    conductance = g_drive + g_counter + g_idle + G_FLOOR
    voltage = (V_DRIVE * g_drive + V_COUNTER * g_counter + V_IDLE * g_idle) / conductance
    return conductance, voltage


def _column_thevenin(conductance: Tensor, voltage: Tensor, wire: float) -> tuple[Tensor, Tensor]:
    """Collapses the segments ``[N, S, C, T]`` (index S−1 next to the ADC) joined by wire pieces
    of ``wire`` MΩ into the column's Thevenin resistance and voltage ``[N, C, T]``."""
    resistance = 1.0 / conductance[:, 0]
    source = voltage[:, 0]
    for segment in range(1, conductance.shape[1]):
        upstream = resistance + wire
        local = 1.0 / conductance[:, segment]
        resistance = upstream * local / (upstream + local)
        source = (source / upstream + voltage[:, segment] / local) * resistance
    return resistance + 0.5 * wire, source


def _integrate(current: Tensor, io: IOParametersIRDropT) -> Tensor:
    """The charge of the column currents ``[..., T]`` (see the module docstring)."""
    if io.ir_drop_integration_sum:
        charge = current.sum(dim=-1)
    else:
        charge = current[..., :-1].sum(dim=-1) + 0.5 * (current[..., 0] + current[..., -1])
    if io.adc_quantization:
        tick = 100.0 / io.adc_frequency
        charge = torch.trunc(charge / tick) * tick
    return charge


def _column_charge(
    u: Tensor, g_plus: Tensor, g_minus: Tensor, times: Tensor, io: IOParametersIRDropT, wire: float
) -> Tensor:
    """Integrated ADC charge ``[N, C]`` of columns read at the end of the last row."""
    conductance, voltage = _segment_thevenin(u, g_plus, g_minus, times, io.ir_drop_segments)
    resistance, source = _column_thevenin(conductance, voltage, wire)
    return _integrate((source - io.ir_drop_v_read) / resistance, io)


@torch.no_grad()
def ir_drop_t_matmul(
    io: IOParametersIRDropT,
    weights: Tensor,
    u: Tensor,
    g_converter: Any,
    physical_rows: Optional[int] = None,
) -> Tensor:
    """The analog product ``[N, out]`` of DAC outputs ``u [N, in]`` and ``W [out, in]`` with
    time-dependent IR drop (``io.ir_drop > 0``; see the module docstring). ``physical_rows`` is
    the tile's row count (``mapping.max_input_size``; default: in)."""
    out_size, in_size = weights.shape
    rows = in_size if physical_rows is None else int(physical_rows)
    if rows < in_size:
        raise ShapeError(
            f"mapping.max_input_size: the physical tile has {rows} rows, fewer than the "
            f"{in_size} inputs of the tile"
        )
    segments = io.ir_drop_segments
    if rows % segments != 0:
        raise ConfigError(
            f"forward.ir_drop_segments: {segments} does not divide the {rows} physical rows "
            f"(mapping.max_input_size or the tile's inputs)"
        )
    before = (rows - in_size) // 2
    after = rows - in_size - before
    work = torch.float32 if weights.dtype != torch.float64 else torch.float64
    u_rows = torch.nn.functional.pad(u.to(work), (before, after))
    w_rows = torch.nn.functional.pad(weights.to(work).T, (0, 0, before, after))  # [P, out]
    conductances, params = g_converter.convert_to_conductances(w_rows)
    factors = list(getattr(g_converter, "f_lst", [1.0]))
    if len(conductances) != 2 * len(factors):
        raise ConfigError(
            f"noise_model.g_converter: {type(g_converter).__name__} gives {len(conductances)} "
            f"conductances for {len(factors)} significance factors"
        )
    wire = 1e-6 * io.ir_drop * io.ir_drop_rs * (rows // segments)  # MΩ per segment
    times = torch.linspace(0.0, 1.0, time_slices(io), dtype=work, device=u.device)
    charge = u_rows.new_zeros((u_rows.shape[0], out_size))
    # Inputs per chunk so that one [N, S, C, T] intermediate stays near 4M elements.
    chunk = max(1, CHUNK_ELEMENTS // (segments * ((out_size + 1) // 2) * times.numel()))
    for start in range(0, u_rows.shape[0], chunk):
        part = u_rows[start : start + chunk]
        for k, factor in enumerate(factors):
            g_plus, g_minus = conductances[2 * k], conductances[2 * k + 1]
            # Even columns: ADC next to the last row; odd columns: ADC next to the first row.
            charge[start : start + chunk, 0::2] += factor * _column_charge(
                part, g_plus[:, 0::2], g_minus[:, 0::2], times, io, wire
            )
            if out_size > 1:
                charge[start : start + chunk, 1::2] += factor * _column_charge(
                    part.flip(-1),
                    g_plus[:, 1::2].flip(0),
                    g_minus[:, 1::2].flip(0),
                    times,
                    io,
                    wire,
                )
    bit_steps = io.inp_bound / dac_fraction(io)
    return (charge / params["scale_ratio"] / V_SWING / (bit_steps / 2)).to(u.dtype)
