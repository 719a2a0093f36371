"""Conductance converters: how a tile's weights map onto device conductances (in µS) and back.

A noise model works on conductances (programming noise, drift and read noise are device
physics); the converter decides how many devices one weight uses and at which conductance each
sits. The scale is per tile: the largest |w| maps to the full conductance range.
"""

from __future__ import annotations

import math
from typing import Any

import torch
from torch import Tensor

from rpusim.exceptions import ConfigError

# Smallest abs-max used for the scale, so that an all-zero tile maps to zero conductances.
ZERO_CLIP = 1e-7


def _check_range(name: str, g_max: Any, g_min: Any) -> tuple[float, float]:
    for label, value in (("g_max", g_max), ("g_min", g_min)):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}.{label}: expected a number, got {value!r}")
        if not math.isfinite(value) or value < 0:
            raise ConfigError(f"{name}.{label}: must be a finite number >= 0, got {value!r}")
    if g_min >= g_max:
        raise ConfigError(f"{name}: g_min ({g_min}) must be smaller than g_max ({g_max})")
    return float(g_max), float(g_min)


class BaseConductanceConverter:
    """Maps weights to a list of conductance tensors (each shaped like the weights) and back."""

    g_max: float
    g_min: float

    def convert_to_conductances(self, weights: Tensor) -> tuple[list[Tensor], dict[str, Any]]:
        """Target conductances of every device of the cell, and what ``convert_back`` needs."""
        raise NotImplementedError

    def convert_back_to_weights(self, conductances: list[Tensor], params: dict[str, Any]) -> Tensor:
        """The weights that the (possibly perturbed) conductances represent."""
        raise NotImplementedError

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.__dict__ == other.__dict__

    def __repr__(self) -> str:
        fields = ", ".join(f"{k}={v!r}" for k, v in self.__dict__.items())
        return f"{type(self).__name__}({fields})"


class SinglePairConductanceConverter(BaseConductanceConverter):
    """One device pair per weight: G⁺ carries positive weights, G⁻ negative ones; the other
    device of the pair sits at ``g_min``.

    scale = (g_max − g_min)/max|W|; G⁺ = clip(W·scale, 0, g_max) + g_min,
    G⁻ = clip(−W·scale, 0, g_max) + g_min; back: W = (G⁺ − G⁻)/scale.

    Args:
        g_max: conductance (µS) the largest |w| maps to (default 25).
        g_min: conductance (µS) of a logical zero (default 0).
    """

    def __init__(self, g_max: float | None = None, g_min: float | None = None) -> None:
        self.g_max, self.g_min = _check_range(
            type(self).__name__, 25.0 if g_max is None else g_max, 0.0 if g_min is None else g_min
        )

    def convert_to_conductances(self, weights: Tensor) -> tuple[list[Tensor], dict[str, Any]]:
        scale = (self.g_max - self.g_min) / weights.abs().max().clamp(min=ZERO_CLIP)
        scaled = weights * scale
        g_plus = scaled.clamp(min=0.0, max=self.g_max) + self.g_min
        g_minus = (-scaled).clamp(min=0.0, max=self.g_max) + self.g_min
        return [g_plus, g_minus], {"scale_ratio": scale}

    def convert_back_to_weights(self, conductances: list[Tensor], params: dict[str, Any]) -> Tensor:
        if len(conductances) != 2:
            raise ConfigError(
                f"conductances: a single pair has 2 conductances, got {len(conductances)}"
            )
        g_plus, g_minus = conductances
        return (g_plus - g_minus) / params["scale_ratio"]


class NPairConductanceConverter(BaseConductanceConverter):
    """Several device pairs per weight with significance factors F (``f_lst``, lowest first):
    W = Σ_k F_k (G⁺_k − G⁻_k)/scale. A more significant pair is used only once the range of the
    less significant ones is exhausted, so small weights avoid the amplified errors of a large F.

    scale = Σ_k F_k (g_max − g_min)/max|W|; with w = W·scale (in µS) and L_k = Σ_{j<k} F_j
    (g_max − g_min): G⁺_k = clip((max(w, 0) − L_k)/F_k + g_min, g_min, g_max), G⁻_k likewise
    with max(−w, 0).

    Args:
        f_lst: significance factors of the pairs, lowest first (each > 0).
        g_max: largest conductance of a device (µS, default 25).
        g_min: conductance of a logical zero (µS, default 0).
    """

    def __init__(
        self, f_lst: list[float], g_max: float | None = None, g_min: float | None = None
    ) -> None:
        name = type(self).__name__
        if not isinstance(f_lst, (list, tuple)) or not f_lst:
            raise ConfigError(f"{name}.f_lst: expected a non-empty list of factors, got {f_lst!r}")
        for value in f_lst:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{name}.f_lst: expected numbers, got {f_lst!r}")
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"{name}.f_lst: every factor must be > 0, got {f_lst!r}")
        self.f_lst = [float(f) for f in f_lst]
        self.g_max, self.g_min = _check_range(
            name, 25.0 if g_max is None else g_max, 0.0 if g_min is None else g_min
        )

    def convert_to_conductances(self, weights: Tensor) -> tuple[list[Tensor], dict[str, Any]]:
        span = self.g_max - self.g_min
        scale = sum(f * span for f in self.f_lst) / weights.abs().max().clamp(min=ZERO_CLIP)
        w_us = weights * scale
        positive, negative = w_us.clamp(min=0.0), (-w_us).clamp(min=0.0)
        lower = 0.0
        conductances = []
        for factor in self.f_lst:
            for part in (positive, negative):
                g = (part - lower) / factor + self.g_min
                conductances.append(g.clamp(min=self.g_min, max=self.g_max))
            lower += factor * span
        return conductances, {"scale_ratio": scale}

    def convert_back_to_weights(self, conductances: list[Tensor], params: dict[str, Any]) -> Tensor:
        if len(conductances) != 2 * len(self.f_lst):
            raise ConfigError(
                f"conductances: {len(self.f_lst)} pairs have {2 * len(self.f_lst)} "
                f"conductances, got {len(conductances)}"
            )
        weights = torch.zeros_like(conductances[0])
        for k, factor in enumerate(self.f_lst):
            weights += factor * (conductances[2 * k] - conductances[2 * k + 1])
        return weights / params["scale_ratio"]


class DualPairConductanceConverter(NPairConductanceConverter):
    """Two device pairs per weight (``f_lst`` of two significance factors, e.g. ``[1.0, 3.0]``);
    see :class:`NPairConductanceConverter`."""

    def __init__(
        self, f_lst: list[float], g_max: float | None = None, g_min: float | None = None
    ) -> None:
        if not isinstance(f_lst, (list, tuple)) or len(f_lst) != 2:
            raise ConfigError(
                f"DualPairConductanceConverter.f_lst: expected two factors, got {f_lst!r}"
            )
        super().__init__(list(f_lst), g_max, g_min)
