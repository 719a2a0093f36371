"""``AnalogMatrix``: a matrix programmed into an analog tile, multiplied through its periphery
(the reference's ``aihwkit.linalg.matrix.AnalogMatrix``)."""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from rpusim.configs.rpu_configs import RPUConfig
from rpusim.exceptions import ConfigError, ShapeError
from rpusim.tile_array import make_tile


class AnalogMatrix:
    """A ``[n, m]`` matrix A on an analog tile (split over several tiles as the config's mapping
    says).

    - ``A @ X`` for ``X [..., m]``: the analog forward pass, ``[..., n]`` (rows of X are the
      vectors, as in the reference);
    - ``D @ A`` for ``D [..., n]``: the analog transposed (backward) pass, ``[..., m]``;
    - ``A.ger(X, D, alpha)``: the rank update A += alpha · Σ_k d_k x_kᵀ with the config's
      pulsed update.

    numpy arrays in give numpy arrays out.

    Args:
        matrix: the matrix to store (a tensor or numpy array ``[n, m]``).
        rpu_config: the tile configuration.
        realistic: the reference programs the matrix with write noise when True; not supported
            (ConfigError): the matrix is written exactly, each device clipping it into its
            bounds.
        backend: ``"cpu"`` or ``"gpu"`` (the reference's ``device=`` keyword is accepted for
            torch devices; tensors stay on the CPU).
    """

    def __init__(
        self,
        matrix: Any,
        rpu_config: RPUConfig,
        realistic: bool = False,
        backend: Optional[str] = None,
        **to_kwargs: Any,
    ) -> None:
        if realistic:
            raise ConfigError(
                "realistic=True: programming the matrix with write noise is not supported"
            )
        device = to_kwargs.pop("device", None)
        if to_kwargs:
            raise TypeError(f"unexpected keyword argument(s): {', '.join(sorted(to_kwargs))}")
        if device is not None and torch.device(device).type != "cpu":
            raise ConfigError(
                f"device: rpusim tiles take CPU tensors (got {device}); pick the compute "
                f"backend with backend='gpu'"
            )
        tensor = torch.from_numpy(matrix) if type(matrix).__module__ == "numpy" else matrix
        if not isinstance(tensor, Tensor) or tensor.dim() != 2:
            raise ShapeError(f"matrix: expected a 2-d tensor or array, got {type(matrix).__name__}")
        out_size, in_size = tensor.shape
        self._tile = make_tile(int(out_size), int(in_size), rpu_config, backend)
        self._tile.set_weights(tensor.detach().to(torch.float32).cpu())
        self.realistic = realistic

    @property
    def tile(self) -> Any:
        """The analog tile holding the matrix."""
        return self._tile

    @property
    def shape(self) -> tuple[int, int]:
        """``(n, m)``."""
        return (self._tile.out_size, self._tile.in_size)

    @property
    def dtype(self) -> torch.dtype:
        """float32 (the tiles' compute type)."""
        return torch.float32

    def __matmul__(self, matrix: Any) -> Any:
        return self._tile @ matrix

    def __rmatmul__(self, matrix: Any) -> Any:
        return matrix @ self._tile

    def ger(self, x_matrix: Any, d_matrix: Any, alpha: float = 1.0) -> None:
        """Rank update A += alpha · Σ_k d_k x_kᵀ (pulsed, with the tile's noise and bounds)."""
        x = torch.from_numpy(x_matrix) if type(x_matrix).__module__ == "numpy" else x_matrix
        d = torch.from_numpy(d_matrix) if type(d_matrix).__module__ == "numpy" else d_matrix
        self._tile.set_learning_rate(alpha)
        self._tile.update(x, -d)

    def get_matrix(self) -> Tensor:
        """The stored matrix (a copy, as the devices hold it)."""
        return self._tile.get_weights()
