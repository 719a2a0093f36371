"""Drift compensation: a digital output scale that undoes the average conductance decay.

At programming the tile is read once with one-hot inputs (the identity matrix) through its noisy
periphery and a reference value is kept; after drifting it is read the same way and the output
scale becomes α = reference/current, applied to the tile's output in eval mode.
"""

from __future__ import annotations

import torch
from torch import Tensor

# Readouts below this are clamped (a dead tile must not give an infinite α).
MIN_READOUT = 1e-4


class BaseDriftCompensation:
    """How the readout of a tile is summarised and turned into an output scale."""

    # Whether the reference readout is the exact product with the target weights.
    exact_reference = False

    def get_readout_tensor(self, in_size: int) -> Tensor:
        """The inputs of a readout: one-hot vectors, ``[in_size, in_size]``."""
        return torch.eye(in_size)

    def readout(self, out_tensor: Tensor) -> Tensor:
        """The summary of the readout outputs ``[in_size, out_size]``."""
        raise NotImplementedError

    def apply(self, out_tensor: Tensor, reference: Tensor) -> Tensor:
        """The output scale α = reference/readout(out_tensor)."""
        return reference / self.readout(out_tensor)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class GlobalDriftCompensation(BaseDriftCompensation):
    """One scale per tile: the mean |output| of the readout."""

    def readout(self, out_tensor: Tensor) -> Tensor:
        return out_tensor.abs().mean().clamp(min=MIN_READOUT)


class GlobalDriftCompensationWithExactReference(GlobalDriftCompensation):
    """Like :class:`GlobalDriftCompensation`, but the reference is the exact (noise-free)
    product with the target weights instead of a noisy read of the programmed ones."""

    exact_reference = True


class PerColumnDriftCompensation(BaseDriftCompensation):
    """One scale per output: the mean |output| of each output over the readout."""

    def readout(self, out_tensor: Tensor) -> Tensor:
        return out_tensor.abs().mean(dim=0).clamp(min=MIN_READOUT)
