"""Shared fixtures: a fixed torch seed per test and the available backends."""

from __future__ import annotations

import pytest
import torch

import rpusim


@pytest.fixture(autouse=True)
def _seed() -> None:
    torch.manual_seed(1234)


@pytest.fixture(params=["cpu", "gpu"])
def backend(request: pytest.FixtureRequest) -> str:
    """Every backend of this build; the ones that are not available are skipped with a reason."""
    name = request.param
    if name == "gpu":
        reason = rpusim.gpu_unavailable_reason()
        if reason is not None:
            pytest.skip(f"gpu backend unavailable: {reason}")
    return name
