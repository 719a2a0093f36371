"""Shared fixtures: a fixed torch seed per test, the available backends and the MNIST folder."""

from __future__ import annotations

import os
from pathlib import Path

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


# The MNIST / Fashion-MNIST idx files: $RPUSIM_DATA, else ../shared/data beside the checkout.
DATA = Path(
    os.environ.get("RPUSIM_DATA") or Path(__file__).resolve().parents[3] / "shared" / "data"
)


@pytest.fixture
def data_root() -> Path:
    """The data folder, with both datasets under ``mnist/`` and ``fashion-mnist/``; skipped when
    the MNIST files are not there."""
    if not (DATA / "mnist" / "t10k-labels-idx1-ubyte.gz").is_file():
        pytest.skip(f"no MNIST files under {DATA} (set RPUSIM_DATA)")
    return DATA
