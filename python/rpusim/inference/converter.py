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


def _interp_table(x: Tensor, xs: Tensor, ys: Tensor) -> Tensor:
    """Piecewise-linear interpolation of the table (xs ascending) at ``x``, held constant
    outside the table's range (as numpy's ``interp``)."""
    flat = x.reshape(-1).clamp(min=float(xs[0]), max=float(xs[-1]))
    right = torch.searchsorted(xs, flat.contiguous(), right=True).clamp(1, len(xs) - 1)
    x0, x1 = xs[right - 1], xs[right]
    y0, y1 = ys[right - 1], ys[right]
    return (y0 + (y1 - y0) * (flat - x0) / (x1 - x0)).reshape(x.shape)


class CustomPairConductanceConverter(BaseConductanceConverter):
    """Device pairs with significance factors ``f_lst`` whose conductances follow measured or
    designed tables ``g_lst`` (aihwkit 1.1 ``inference/converter/conductance.py``).

    ``g_lst`` holds 2·len(f_lst) lists of one length L: G⁺ and G⁻ of each pair at L weights
    spaced evenly from −max|W| to +max|W|. The table's weight in µS is
    w_us[l] = Σ_k f_k (G⁺_k[l] − G⁻_k[l]); scale = max_l |w_us[l]| / max|W|. A weight W is
    programmed by linear interpolation of each table at W (held constant beyond the ends); back:
    W = Σ_k f_k (G⁺_k − G⁻_k)/scale. The mapping must be invertible: with
    ``invertibility_test`` (default) five weights in [−1, 1] must come back within 1e-4.

    Args:
        f_lst: significance factor of each pair.
        g_lst: the conductance tables (µS, each >= 0), G⁺ then G⁻ of each pair.
        g_max: largest conductance (µS, default 25; the tables must lie within [g_min, g_max]).
        g_min: smallest conductance (µS, default 0).
        invertibility_test: check the round trip at construction.
    """

    def __init__(
        self,
        f_lst: list[float],
        g_lst: list[list[float]],
        g_max: float | None = None,
        g_min: float | None = None,
        invertibility_test: bool = True,
    ) -> None:
        name = type(self).__name__
        self.g_max, self.g_min = _check_range(
            name, 25.0 if g_max is None else g_max, 0.0 if g_min is None else g_min
        )
        if not isinstance(f_lst, list) or not f_lst:
            raise ConfigError(f"{name}.f_lst: expected a non-empty list of factors, got {f_lst!r}")
        for value in f_lst:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ConfigError(f"{name}.f_lst: expected numbers, got {f_lst!r}")
            if not math.isfinite(value):
                raise ConfigError(f"{name}.f_lst: factors must be finite, got {f_lst!r}")
        if not isinstance(g_lst, list) or not all(isinstance(g, list) for g in g_lst):
            raise ConfigError(f"{name}.g_lst: expected a list of lists, got {g_lst!r}")
        if len(g_lst) != 2 * len(f_lst):
            raise ConfigError(
                f"{name}.g_lst: needs one (G+, G-) pair of tables per factor of f_lst "
                f"({2 * len(f_lst)} lists), got {len(g_lst)}"
            )
        lengths = {len(g) for g in g_lst}
        if len(lengths) != 1 or min(lengths) < 2:
            raise ConfigError(f"{name}.g_lst: the tables need one length >= 2, got {lengths}")
        for table in g_lst:
            for value in table:
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise ConfigError(f"{name}.g_lst: expected numbers, got {value!r}")
                if not math.isfinite(value) or not self.g_min <= value <= self.g_max:
                    raise ConfigError(
                        f"{name}.g_lst: conductances must lie in [g_min, g_max] = "
                        f"[{self.g_min}, {self.g_max}], got {value!r}"
                    )
        self.f_lst = [float(f) for f in f_lst]
        self.g_lst = [[float(g) for g in table] for table in g_lst]
        if self._table_weights().abs().max() == 0:
            raise ConfigError(f"{name}.g_lst: the tables represent only the weight 0")
        if invertibility_test:
            self.invertibility_test()

    def _table_weights(self) -> Tensor:
        """w_us at the table's points (float64)."""
        tables = torch.tensor(self.g_lst, dtype=torch.float64)
        factors = torch.tensor(self.f_lst, dtype=torch.float64)
        return (factors[:, None] * (tables[0::2] - tables[1::2])).sum(dim=0)

    def invertibility_test(self) -> None:
        """Raises ConfigError when weights do not survive the round trip through the tables."""
        weights = torch.linspace(-1.0, 1.0, 5, dtype=torch.float64)
        back = self.convert_back_to_weights(*self.convert_to_conductances(weights))
        if not torch.allclose(back, weights, rtol=0.0, atol=1e-4):
            raise ConfigError(
                f"{type(self).__name__}.g_lst: the tables are not invertible (weights "
                f"{weights.tolist()} come back as {back.tolist()})"
            )

    def convert_to_conductances(self, weights: Tensor) -> tuple[list[Tensor], dict[str, Any]]:
        w_us = self._table_weights()
        max_us = w_us.abs().max()
        scale = max_us / weights.abs().max().double().clamp(min=ZERO_CLIP)
        grid = torch.linspace(
            -float(max_us), float(max_us), len(self.g_lst[0]), dtype=torch.float64
        )
        grid = grid / scale
        flat = weights.double()
        conductances = [
            _interp_table(flat, grid, torch.tensor(table, dtype=torch.float64)).to(weights.dtype)
            for table in self.g_lst
        ]
        return conductances, {"scale_ratio": scale.to(weights.dtype), "f_lst": list(self.f_lst)}

    def convert_back_to_weights(self, conductances: list[Tensor], params: dict[str, Any]) -> Tensor:
        factors = params.get("f_lst", self.f_lst)
        if len(conductances) != 2 * len(factors):
            raise ConfigError(
                f"conductances: {len(factors)} pairs have {2 * len(factors)} conductances, "
                f"got {len(conductances)}"
            )
        weights = torch.zeros_like(conductances[0])
        for k, factor in enumerate(factors):
            weights += factor * (conductances[2 * k] - conductances[2 * k + 1])
        return weights / params["scale_ratio"]


class SingleDeviceConductanceConverter(BaseConductanceConverter):
    """One bidirectional device per weight (aihwkit 1.1 ``inference/converter/conductance.py``):
    the weight range [min W, max W] maps linearly onto [g_min, g_max].

    scale = (g_max − g_min)/(max W − min W); G = (W − min W)·scale + g_min; back:
    W = min W + (G − g_min)/scale. A constant matrix (max W = min W) maps to g_min.

    Args:
        g_max: conductance (µS) of the largest weight (default 88.199997).
        g_min: conductance (µS) of the smallest weight (default 9).
    """

    def __init__(self, g_max: float | None = None, g_min: float | None = None) -> None:
        self.g_max, self.g_min = _check_range(
            type(self).__name__,
            88.199997 if g_max is None else g_max,
            9.0 if g_min is None else g_min,
        )

    def convert_to_conductances(self, weights: Tensor) -> tuple[list[Tensor], dict[str, Any]]:
        w_min, w_max = weights.min(), weights.max()
        scale = (self.g_max - self.g_min) / (w_max - w_min).clamp(min=ZERO_CLIP)
        return [(weights - w_min) * scale + self.g_min], {"scale_ratio": scale, "min": w_min}

    def convert_back_to_weights(self, conductances: list[Tensor], params: dict[str, Any]) -> Tensor:
        if len(conductances) != 1:
            raise ConfigError(
                f"conductances: a single device has 1 conductance, got {len(conductances)}"
            )
        return params["min"] + (conductances[0] - self.g_min) / params["scale_ratio"]
