"""Statistical noise models of programmed analog weights (reference §7): programming noise once
at programming, then conductance drift and accumulated 1/f read noise at inference time t.

Every model works on the conductances of its converter, draws from torch's default generator
(``torch.manual_seed`` fixes the draws) and keeps conductances >= 0. Times are in seconds; t = 0
is the end of programming.
"""

from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import Tensor

from rpusim.exceptions import ConfigError, InputError
from rpusim.inference.converter import (
    BaseConductanceConverter,
    SingleDeviceConductanceConverter,
    SinglePairConductanceConverter,
)

# Relative conductances below this count as this (log of zero in the drift-exponent fit).
ZERO_CLIP = 1e-7


def check_time(t_inference: Any) -> float:
    """``t_inference`` must be a finite number of seconds >= 0."""
    if isinstance(t_inference, bool) or not isinstance(t_inference, (int, float)):
        raise TypeError(f"t_inference: expected a number of seconds, got {t_inference!r}")
    if not math.isfinite(t_inference) or t_inference < 0:
        raise InputError(f"t_inference: must be a finite time >= 0 s, got {t_inference!r}")
    return float(t_inference)


def _number(owner: str, name: str, value: Any, low: float, strict: bool = False) -> float:
    """A finite number >= low (> low when strict)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigError(f"{owner}.{name}: expected a finite number, got {value!r}")
    if value < low or (strict and value == low):
        raise ConfigError(f"{owner}.{name}: must be {'>' if strict else '>='} {low}, got {value}")
    return float(value)


def _coefficients(owner: str, name: str, value: Any) -> list[float]:
    if not isinstance(value, (list, tuple)) or not value:
        raise ConfigError(f"{owner}.{name}: expected a non-empty list of numbers, got {value!r}")
    return [_number(owner, name, c, -math.inf) for c in value]


def poly_sigma(g: Tensor, coeffs: list[float], g_max: float) -> Tensor:
    """σ(g) = c₀ + c₁ (g/g_max) + c₂ (g/g_max)² + … (in the coefficients' unit, µS)."""
    power = torch.ones_like(g)
    sigma = torch.full_like(g, coeffs[0])
    for c in coeffs[1:]:
        power = power * (g / g_max)
        sigma = sigma + c * power
    return sigma


class BaseNoiseModel:
    """A noise model on the conductances of ``g_converter`` (default: one device pair, 25 µS).

    Subclasses define the three per-conductance steps; the weight-level methods convert, apply
    them to each conductance of the cell and convert back.
    """

    g_converter: BaseConductanceConverter

    def __init__(self, g_converter: Optional[BaseConductanceConverter] = None) -> None:
        if g_converter is None:
            g_converter = SinglePairConductanceConverter()
        if not isinstance(g_converter, BaseConductanceConverter):
            raise ConfigError(
                f"{type(self).__name__}.g_converter: expected a conductance converter, "
                f"got {type(g_converter).__name__}"
            )
        self.g_converter = g_converter

    # Per-conductance physics.
    def apply_programming_noise_to_conductance(self, g_target: Tensor) -> Tensor:
        """The programmed conductance of a device whose target is ``g_target``."""
        raise NotImplementedError

    def generate_drift_coefficients(self, g_target: Tensor) -> Optional[Tensor]:
        """Per-device drift parameters, drawn once at programming (None: no drift)."""
        return None

    def apply_drift_noise_to_conductance(
        self, g_prog: Tensor, drift_noise_param: Optional[Tensor], t_inference: float
    ) -> Tensor:
        """The conductance read at ``t_inference`` seconds after programming."""
        raise NotImplementedError

    # Weight-level operations (a tile's weights as one matrix).
    @torch.no_grad()
    def apply_programming_noise(self, weights: Tensor) -> tuple[Tensor, list[Optional[Tensor]]]:
        """Programs ``weights``: the programmed weights and the per-conductance drift parameters
        (drawn from the target conductances)."""
        targets, params = self.g_converter.convert_to_conductances(weights)
        programmed, drift = [], []
        for g_target in targets:
            programmed.append(self.apply_programming_noise_to_conductance(g_target))
            drift.append(self.generate_drift_coefficients(g_target))
        return self.g_converter.convert_back_to_weights(programmed, params), drift

    @torch.no_grad()
    def apply_drift_noise(
        self, weights: Tensor, drift_noise_parameters: list[Optional[Tensor]], t_inference: float
    ) -> Tensor:
        """The programmed ``weights`` as read at ``t_inference``: they are converted to
        conductances again (scale from their own abs-max), drifted and read."""
        t_inference = check_time(t_inference)
        conductances, params = self.g_converter.convert_to_conductances(weights)
        if len(drift_noise_parameters) != len(conductances):
            raise ConfigError(
                f"drift_noise_parameters: expected {len(conductances)} (one per conductance), "
                f"got {len(drift_noise_parameters)}"
            )
        read = [
            self.apply_drift_noise_to_conductance(g, p, t_inference)
            for g, p in zip(conductances, drift_noise_parameters)
        ]
        return self.g_converter.convert_back_to_weights(read, params)

    @torch.no_grad()
    def apply_noise(self, weights: Tensor, t_inference: float) -> Tensor:
        """Programming and reading in one go, with freshly drawn drift parameters."""
        programmed, drift = self.apply_programming_noise(weights)
        return self.apply_drift_noise(programmed, drift, t_inference)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({fields})"


def _converter_g_max(owner: str, g_converter: Any, g_max: Optional[float]) -> Any:
    """The converter to use: the given one, else a single pair at ``g_max`` (default 25 µS)."""
    if g_converter is not None:
        if g_max is not None and g_max != getattr(g_converter, "g_max", g_max):
            raise ConfigError(
                f"{owner}.g_max: {g_max} differs from the g_converter's g_max {g_converter.g_max}"
            )
        return g_converter
    return SinglePairConductanceConverter(g_max=g_max)


class PCMLikeNoiseModel(BaseNoiseModel):
    """Phase-change memory (Nandakumar et al. 2019), as in the reference.

    * Programming: G_prog = max(0, G + prog_noise_scale·σ(G)·ξ), σ(G) = (c₀ + c₁ G/g_max +
      c₂ (G/g_max)²)·g_max/prog_coeff_g_max_reference.
    * Drift exponent per device, from g_r = max(|G_target|/g_max, 1e-7):
      ν = drift_scale·|μ_ν + σ_ν ξ|, μ_ν = clip(−0.0155 ln g_r + 0.0244, 0.049, 0.1),
      σ_ν = clip(−0.0125 ln g_r − 0.0059, 0.008, 0.045).
    * At time t (t' = t + t_0): G_drift = G_prog (t'/t_0)^(−ν); read noise
      Q = min(0.2, 0.0088/max(1e-3, (|G_prog|/g_max)^0.65)), σ = Q √ln((t' + t_read)/(2 t_read));
      G = max(0, G_drift + |G_drift|·read_noise_scale·σ·ξ).

    Args:
        prog_coeff: programming-noise polynomial c₀, c₁, c₂ (µS); default [0.26348, 1.9650,
            −1.1731], fitted at 25 µS.
        g_converter: conductance converter (default: single pair at ``g_max``).
        g_max: largest conductance (µS, default 25); taken from ``g_converter`` when given.
        t_read: read duration of the 1/f fit (s, default 250 ns).
        t_0: first-read time of the drift fit (s, default 20).
        prog_noise_scale, read_noise_scale, drift_scale: scales of the three effects (1).
        prog_coeff_g_max_reference: g_max at which ``prog_coeff`` were fitted (default 25 for the
            default coefficients, else ``g_max``).
    """

    def __init__(
        self,
        prog_coeff: Optional[list[float]] = None,
        g_converter: Optional[BaseConductanceConverter] = None,
        g_max: Optional[float] = None,
        t_read: float = 250.0e-9,
        t_0: float = 20.0,
        prog_noise_scale: float = 1.0,
        read_noise_scale: float = 1.0,
        drift_scale: float = 1.0,
        prog_coeff_g_max_reference: Optional[float] = None,
    ) -> None:
        owner = type(self).__name__
        super().__init__(_converter_g_max(owner, g_converter, g_max))
        self.g_max = _number(owner, "g_max", self.g_converter.g_max, 0.0, strict=True)
        if prog_coeff is None:
            self.prog_coeff = [0.26348, 1.9650, -1.1731]
            reference = 25.0 if prog_coeff_g_max_reference is None else prog_coeff_g_max_reference
        else:
            self.prog_coeff = _coefficients(owner, "prog_coeff", prog_coeff)
            reference = (
                self.g_max if prog_coeff_g_max_reference is None else (prog_coeff_g_max_reference)
            )
        self.prog_coeff_g_max_reference = _number(
            owner, "prog_coeff_g_max_reference", reference, 0.0, strict=True
        )
        self.t_read = _number(owner, "t_read", t_read, 0.0, strict=True)
        self.t_0 = _number(owner, "t_0", t_0, 0.0, strict=True)
        self.prog_noise_scale = _number(owner, "prog_noise_scale", prog_noise_scale, 0.0)
        self.read_noise_scale = _number(owner, "read_noise_scale", read_noise_scale, 0.0)
        self.drift_scale = _number(owner, "drift_scale", drift_scale, 0.0)

    def programming_sigma(self, g_target: Tensor) -> Tensor:
        """σ of the programming noise (µS) at target conductance ``g_target``."""
        scale = self.g_max / self.prog_coeff_g_max_reference
        return poly_sigma(g_target, self.prog_coeff, self.g_max) * scale

    def apply_programming_noise_to_conductance(self, g_target: Tensor) -> Tensor:
        noise = torch.randn_like(g_target)
        return (g_target + self.prog_noise_scale * self.programming_sigma(g_target) * noise).clamp(
            min=0.0
        )

    def drift_mean_std(self, g_target: Tensor) -> tuple[Tensor, Tensor]:
        """μ_ν and σ_ν of the drift exponent at target conductance ``g_target``."""
        log_g = torch.log((g_target / self.g_max).abs().clamp(min=ZERO_CLIP))
        mu = (-0.0155 * log_g + 0.0244).clamp(min=0.049, max=0.1)
        sigma = (-0.0125 * log_g - 0.0059).clamp(min=0.008, max=0.045)
        return mu, sigma

    def generate_drift_coefficients(self, g_target: Tensor) -> Tensor:
        mu, sigma = self.drift_mean_std(g_target)
        return (mu + sigma * torch.randn_like(g_target)).abs() * self.drift_scale

    def read_noise_q(self, g_prog: Tensor) -> Tensor:
        """Q of the accumulated 1/f read noise at programmed conductance ``g_prog``."""
        relative = ((g_prog.abs() / self.g_max) ** 0.65).clamp(min=1e-3)
        return (0.0088 / relative).clamp(max=0.2)

    def apply_drift_noise_to_conductance(
        self, g_prog: Tensor, drift_noise_param: Optional[Tensor], t_inference: float
    ) -> Tensor:
        t = t_inference + self.t_0
        g_drift = g_prog
        if t > self.t_0 and drift_noise_param is not None:
            g_drift = g_prog * (t / self.t_0) ** (-drift_noise_param)
        sigma = self.read_noise_q(g_prog) * math.sqrt(
            math.log((t + self.t_read) / (2 * self.t_read))
        )
        noise = torch.randn_like(g_prog)
        return (g_drift + g_drift.abs() * self.read_noise_scale * sigma * noise).clamp(min=0.0)


class CustomDriftPCMLikeNoiseModel(PCMLikeNoiseModel):
    """``PCMLikeNoiseModel`` with a measured drift-exponent table (N. Li et al. 2023): ν's mean
    and std are interpolated linearly in ``custom_drift_model`` = {"g_lst": conductances
    ascending (µS), "nu_mean_lst": ..., "nu_std_lst": ...} at the target conductance (clipped
    to the table's range); ν = drift_scale·|mean + std·ξ|. Other arguments as
    :class:`PCMLikeNoiseModel`.
    """

    def __init__(self, custom_drift_model: dict[str, list[float]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        owner = type(self).__name__
        if not isinstance(custom_drift_model, dict):
            raise ConfigError(f"{owner}.custom_drift_model: expected a dict of three lists")
        table = {}
        for key in ("g_lst", "nu_mean_lst", "nu_std_lst"):
            if key not in custom_drift_model:
                raise ConfigError(f"{owner}.custom_drift_model: missing {key!r}")
            table[key] = _coefficients(
                owner, f"custom_drift_model[{key!r}]", custom_drift_model[key]
            )
        lengths = {len(v) for v in table.values()}
        if len(lengths) != 1 or lengths.pop() < 2:
            raise ConfigError(
                f"{owner}.custom_drift_model: the three lists need the same length >= 2"
            )
        g = table["g_lst"]
        if any(b <= a for a, b in zip(g, g[1:])) or g[0] < 0:
            raise ConfigError(f"{owner}.custom_drift_model: g_lst must be >= 0 and ascending")
        if any(s < 0 for s in table["nu_std_lst"]):
            raise ConfigError(f"{owner}.custom_drift_model: nu_std_lst must be >= 0")
        self.custom_drift_model = table

    def drift_mean_std(self, g_target: Tensor) -> tuple[Tensor, Tensor]:
        table = self.custom_drift_model
        g = g_target.clamp(min=table["g_lst"][0], max=table["g_lst"][-1])
        return _interp(g, table["g_lst"], table["nu_mean_lst"]), _interp(
            g, table["g_lst"], table["nu_std_lst"]
        )


def _interp(x: Tensor, xs: list[float], ys: list[float]) -> Tensor:
    """Piecewise-linear interpolation of the table (xs ascending) at ``x`` (inside its range)."""
    grid = torch.tensor(xs, dtype=x.dtype, device=x.device)
    values = torch.tensor(ys, dtype=x.dtype, device=x.device)
    right = torch.searchsorted(grid, x.contiguous(), right=True).clamp(1, len(xs) - 1)
    x0, x1 = grid[right - 1], grid[right]
    y0, y1 = values[right - 1], values[right]
    return y0 + (y1 - y0) * (x - x0) / (x1 - x0)


class StateIndependentNoiseModel(BaseNoiseModel):
    """Conductance-independent drift and read noise, as in the reference.

    * Programming: G_prog = max(0, G + prog_noise_scale·σ(G)·ξ), σ the polynomial
      ``prog_coeff`` in G/g_max (µS; default constant 0.2 µS).
    * ν = drift_scale·|drift_nu_mean + drift_nu_std·ξ| per device.
    * At t (t' = t + t_0): G_drift = G_prog (t'/t_0)^(−ν),
      G = max(0, G_drift + read_noise_scale·|G_drift/g_max|·√ln((t' + t_read)/(2 t_read))·ξ).
    """

    def __init__(
        self,
        g_converter: Optional[BaseConductanceConverter] = None,
        g_max: Optional[float] = None,
        prog_coeff: Optional[list[float]] = None,
        prog_noise_scale: float = 1.0,
        drift_nu_mean: float = 0.1,
        drift_nu_std: float = 0.05,
        drift_scale: float = 1.0,
        t_0: float = 20.0,
        read_noise_scale: float = 1.0,
        t_read: float = 250.0e-9,
    ) -> None:
        owner = type(self).__name__
        super().__init__(_converter_g_max(owner, g_converter, g_max))
        self.g_max = _number(owner, "g_max", self.g_converter.g_max, 0.0, strict=True)
        self.prog_coeff = _coefficients(
            owner, "prog_coeff", [0.2, 0.0, 0.0] if prog_coeff is None else prog_coeff
        )
        self.prog_noise_scale = _number(owner, "prog_noise_scale", prog_noise_scale, 0.0)
        self.drift_nu_mean = _number(owner, "drift_nu_mean", drift_nu_mean, -math.inf)
        self.drift_nu_std = _number(owner, "drift_nu_std", drift_nu_std, 0.0)
        self.drift_scale = _number(owner, "drift_scale", drift_scale, 0.0)
        self.t_0 = _number(owner, "t_0", t_0, 0.0, strict=True)
        self.read_noise_scale = _number(owner, "read_noise_scale", read_noise_scale, 0.0)
        self.t_read = _number(owner, "t_read", t_read, 0.0, strict=True)

    def apply_programming_noise_to_conductance(self, g_target: Tensor) -> Tensor:
        sigma = poly_sigma(g_target, self.prog_coeff, self.g_max)
        noise = torch.randn_like(g_target)
        return (g_target + self.prog_noise_scale * sigma * noise).clamp(min=0.0)

    def generate_drift_coefficients(self, g_target: Tensor) -> Tensor:
        nu = (self.drift_nu_mean + self.drift_nu_std * torch.randn_like(g_target)).abs()
        return nu * self.drift_scale

    def apply_drift_noise_to_conductance(
        self, g_prog: Tensor, drift_noise_param: Optional[Tensor], t_inference: float
    ) -> Tensor:
        t = t_inference + self.t_0
        g_drift = g_prog
        if t > self.t_0 and drift_noise_param is not None:
            g_drift = g_prog * (t / self.t_0) ** (-drift_noise_param)
        sigma = math.sqrt(math.log((t + self.t_read) / (2 * self.t_read)))
        noise = torch.randn_like(g_drift)
        read = (g_drift / self.g_max).abs() * self.read_noise_scale * sigma * noise
        return (g_drift + read).clamp(min=0.0)


class ReRamWan2022NoiseModel(BaseNoiseModel):
    """ReRAM after Wan et al., Nature 2022: Gaussian conductance errors whose σ is a 4th-order
    polynomial in G/g_max, fitted at 1 s (programming), 1 day and 2 days. ReRAM has no
    power-law drift: at time t the target conductance gets the σ of that time's fit (t must be
    a key of ``coeff_dic``).

    σ(G) = (Σ_i c_i (G/g_max)^i)·noise_scale·g_max/coeff_g_max_reference, G = max(0, G_target +
    σ ξ).

    Args:
        coeff_dic: {time in s: [c₀, c₁, …] in µS}; default the published fit at 1 s, 86400 s and
            172800 s (fitted at 40 µS).
        g_converter: conductance converter (default: single pair at ``g_max``).
        g_max: largest conductance (µS, default 25).
        noise_scale: scale of the noise.
        coeff_g_max_reference: g_max of the fit (default 40 µS for the default coefficients,
            else ``g_max``). The reference simulator means the same but, through a slip, uses
            ``g_max`` also for its default table, so its σ is 40/25 = 1.6× ours at 25 µS.
    """

    DEFAULT_COEFFS = {
        1.0: [0.348, 16.030, -43.853, 45.393, -16.815],
        86400.0: [0.701, 22.086, -50.773, 47.095, -16.458],
        172800.0: [0.782, 20.274, -43.507, 37.062, -11.934],
    }

    def __init__(
        self,
        coeff_dic: Optional[dict[float, list[float]]] = None,
        g_converter: Optional[BaseConductanceConverter] = None,
        g_max: Optional[float] = None,
        noise_scale: float = 1.0,
        coeff_g_max_reference: Optional[float] = None,
    ) -> None:
        owner = type(self).__name__
        super().__init__(_converter_g_max(owner, g_converter, g_max))
        self.g_max = _number(owner, "g_max", self.g_converter.g_max, 0.0, strict=True)
        if coeff_dic is None:
            table = {k: list(v) for k, v in self.DEFAULT_COEFFS.items()}
            reference = 40.0 if coeff_g_max_reference is None else coeff_g_max_reference
        else:
            if not isinstance(coeff_dic, dict) or not coeff_dic:
                raise ConfigError(f"{owner}.coeff_dic: expected {{time: coefficients}}")
            table = {
                check_time(t): _coefficients(owner, f"coeff_dic[{t}]", c)
                for t, c in coeff_dic.items()
            }
            reference = self.g_max if coeff_g_max_reference is None else coeff_g_max_reference
        self.coeff_dic = table
        self.coeff_g_max_reference = _number(
            owner, "coeff_g_max_reference", reference, 0.0, strict=True
        )
        self.noise_scale = _number(owner, "noise_scale", noise_scale, 0.0)

    def _noisy(self, g_target: Tensor, coeffs: list[float]) -> Tensor:
        sigma = poly_sigma(g_target, coeffs, self.g_max) * (self.g_max / self.coeff_g_max_reference)
        noise = torch.randn_like(g_target)
        return (g_target + self.noise_scale * sigma * noise).clamp(min=0.0)

    def apply_programming_noise_to_conductance(self, g_target: Tensor) -> Tensor:
        return self._noisy(g_target, self.coeff_dic[min(self.coeff_dic)])

    def generate_drift_coefficients(self, g_target: Tensor) -> Tensor:
        # Later reads scatter around the target, not around the programmed value.
        return g_target.clone()

    def apply_drift_noise_to_conductance(
        self, g_prog: Tensor, drift_noise_param: Optional[Tensor], t_inference: float
    ) -> Tensor:
        if t_inference not in self.coeff_dic:
            times = ", ".join(f"{t:g}" for t in sorted(self.coeff_dic))
            raise InputError(
                f"t_inference: ReRamWan2022NoiseModel has fits only at t = {times} s, "
                f"got {t_inference:g}"
            )
        target = g_prog if drift_noise_param is None else drift_noise_param
        return self._noisy(target, self.coeff_dic[t_inference])


class ReRamCMONoiseModel(BaseNoiseModel):
    """Conductive-metal-oxide (CMO)/HfOx ReRAM of IBM Research Zurich (aihwkit 1.1
    ``inference/noise/reram.py``), one bidirectional device per weight
    (:class:`SingleDeviceConductanceConverter` at ``g_max``, ``g_min``).

    * Programming (program-and-verify to ``acceptance_range`` %): G_prog = G_target +
      prog_noise_scale·(c₀ + c₁·G_target)·ξ, with [c₀, c₁] = ``coeff_dict[acceptance_range]``
      in µS (G in µS, not normalised; no clipping). An ``acceptance_range`` that is not a key of
      ``coeff_dict`` falls back to the smallest key (so the default 2e-2 uses the 0.2 % fit).
    * At t > 0 s (ln natural): conductance relaxation independent of G,
      G_drift = G_prog + drift_scale·(m₀ ln t + (s₀ ln t + s₁)·ξ), [m₀] = decay_dict["mean"],
      [s₀, s₁] = decay_dict["std"]; then read noise
      σ_read = K·log₁₀(G_drift)·√ln((t + t_read)/(2 t_read)) (K, t_read of ``read_dict``),
      G = clip(G_drift + read_noise_scale·σ_read·ξ', g_min, g_max). At t = 0 the programmed
      conductance is returned. Two guards where aihwkit would give NaN: log₁₀ of
      max(G_drift, 1e-7 µS), and ln((t + t_read)/(2 t_read)) taken as 0 when negative (t < t_read).

    Args:
        coeff_dict: {acceptance range (%): [c₀, c₁] in µS}; default {0.2: [0.00081107,
            0.00106879], 2: [0.0112185391, 0.01129027418]}.
        g_max: conductance of the largest weight (µS, default 88.199997).
        g_min: conductance of the smallest weight (µS, default 9).
        prog_noise_scale, read_noise_scale, drift_scale: scales of the three effects (1).
        decay_dict: {"mean": [m₀], "std": [s₀, s₁]} (µS); default m₀ = −0.08900206,
            s = [0.04201137, 0.41183342].
        read_dict: {"K": ..., "t_read": ... s}; default K = 0.0277316483, t_read = 1e-6 s.
        acceptance_range: key of ``coeff_dict`` to use (default 2e-2, see above).
    """

    DEFAULT_COEFFS = {0.2: [0.00081107, 0.00106879], 2.0: [0.0112185391, 0.01129027418]}
    DEFAULT_DECAY = {"mean": [-0.08900206], "std": [0.04201137, 0.41183342]}
    DEFAULT_READ = {"K": 0.0277316483, "t_read": 1e-6}

    def __init__(
        self,
        coeff_dict: Optional[dict[float, list[float]]] = None,
        g_max: Optional[float] = None,
        g_min: Optional[float] = None,
        prog_noise_scale: float = 1.0,
        read_noise_scale: float = 1.0,
        drift_scale: float = 1.0,
        decay_dict: Optional[dict[str, list[float]]] = None,
        read_dict: Optional[dict[str, float]] = None,
        acceptance_range: float = 2e-2,
    ) -> None:
        owner = type(self).__name__
        super().__init__(SingleDeviceConductanceConverter(g_max=g_max, g_min=g_min))
        self.g_max = self.g_converter.g_max
        self.g_min = self.g_converter.g_min
        if coeff_dict is None:
            coeff_dict = {k: list(v) for k, v in self.DEFAULT_COEFFS.items()}
        if not isinstance(coeff_dict, dict) or not coeff_dict:
            raise ConfigError(f"{owner}.coeff_dict: expected {{acceptance range: [c0, c1]}}")
        self.coeff_dict = {
            _number(owner, "coeff_dict", key, 0.0): _coefficients(owner, f"coeff_dict[{key}]", c)
            for key, c in coeff_dict.items()
        }
        decay = {k: list(v) for k, v in (decay_dict or self.DEFAULT_DECAY).items()}
        if not isinstance(decay_dict or {}, dict) or set(decay) != {"mean", "std"}:
            raise ConfigError(f"{owner}.decay_dict: expected the keys 'mean' and 'std'")
        self.decay_dict = {
            "mean": _coefficients(owner, "decay_dict['mean']", decay["mean"]),
            "std": _coefficients(owner, "decay_dict['std']", decay["std"]),
        }
        if len(self.decay_dict["std"]) < 2:
            raise ConfigError(f"{owner}.decay_dict['std']: expected [slope, offset]")
        read = dict(read_dict or self.DEFAULT_READ)
        if set(read) != {"K", "t_read"}:
            raise ConfigError(f"{owner}.read_dict: expected the keys 'K' and 't_read'")
        self.read_dict = {
            "K": _number(owner, "read_dict['K']", read["K"], -math.inf),
            "t_read": _number(owner, "read_dict['t_read']", read["t_read"], 0.0, strict=True),
        }
        self.prog_noise_scale = _number(owner, "prog_noise_scale", prog_noise_scale, 0.0)
        self.read_noise_scale = _number(owner, "read_noise_scale", read_noise_scale, 0.0)
        self.drift_scale = _number(owner, "drift_scale", drift_scale, 0.0)
        acceptance = _number(owner, "acceptance_range", acceptance_range, 0.0)
        self.acceptance_range = (
            acceptance if acceptance in self.coeff_dict else min(self.coeff_dict)
        )

    def programming_sigma(self, g_target: Tensor) -> Tensor:
        """σ of the programming noise (µS): the polynomial of the acceptance range in G (µS)."""
        coeffs = self.coeff_dict[self.acceptance_range]
        sigma = torch.full_like(g_target, coeffs[0])
        power = torch.ones_like(g_target)
        for c in coeffs[1:]:
            power = power * g_target
            sigma = sigma + c * power
        return sigma

    def apply_programming_noise_to_conductance(self, g_target: Tensor) -> Tensor:
        noise = torch.randn_like(g_target)
        return g_target + self.prog_noise_scale * self.programming_sigma(g_target) * noise

    def generate_drift_coefficients(self, g_target: Tensor) -> Tensor:
        # The relaxation does not depend on the conductance; kept for the interface.
        return g_target.clone()

    def relaxation_mean_std(self, t_inference: float) -> tuple[float, float]:
        """Mean shift and std (µS, before drift_scale) of the relaxation at t > 0 s."""
        log_t = math.log(t_inference)
        mean = self.decay_dict["mean"][0] * log_t
        std = self.decay_dict["std"][0] * log_t + self.decay_dict["std"][1]
        return mean, std

    def read_sigma(self, g_drift: Tensor, t_inference: float) -> Tensor:
        """σ of the accumulated read noise (µS) at the relaxed conductance ``g_drift``."""
        t_read = self.read_dict["t_read"]
        span = max(math.log((t_inference + t_read) / (2 * t_read)), 0.0)
        return self.read_dict["K"] * torch.log10(g_drift.clamp(min=ZERO_CLIP)) * math.sqrt(span)

    def apply_drift_noise_to_conductance(
        self, g_prog: Tensor, drift_noise_param: Optional[Tensor], t_inference: float
    ) -> Tensor:
        t_inference = check_time(t_inference)
        if t_inference == 0:
            return g_prog
        mean, std = self.relaxation_mean_std(t_inference)
        g_drift = g_prog + mean * self.drift_scale
        g_drift = g_drift + torch.randn_like(g_prog) * std * self.drift_scale
        read = self.read_sigma(g_drift, t_inference) * torch.randn_like(g_prog)
        return (g_drift + read * self.read_noise_scale).clamp(min=self.g_min, max=self.g_max)
