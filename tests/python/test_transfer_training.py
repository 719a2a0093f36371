"""The reason for the Tiki-Taka family: plain pulsed SGD on soft-bounds devices is pulled towards
each device's symmetry point when the per-sample gradients stay non-zero at the optimum (noisy
targets), and plateaus at a high loss; the transfer compounds keep the gradient on a fast array
and reach a loss several times lower. Residual learning (γ > 0) lowers their remaining bias.
(The same problem in the reference simulator: benches/python/transfer_regression.py, recorded in
results/transfer_regression.json.)"""

from __future__ import annotations

import pytest

from rpusim.configs import (
    BufferedTransferCompound,
    ChoppedTransferCompound,
    IOParameters,
    SingleRPUConfig,
    SoftBoundsDevice,
    SoftBoundsReferenceDevice,
    TransferCompound,
    UnitCellRPUConfig,
)

from helpers import noisy_regression


def _device(**kwargs: float) -> SoftBoundsDevice:
    # 600 states between the mean bounds; every device has its own symmetry point.
    return SoftBoundsDevice(dw_min=0.002, w_max=0.6, w_min=-0.6, up_down_dtod=0.05, **kwargs)


def _exact() -> IOParameters:
    return IOParameters(is_perfect=True)


def _cell(compound: object) -> UnitCellRPUConfig:
    return UnitCellRPUConfig(device=compound, forward=_exact(), backward=_exact())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def sgd_loss() -> float:
    config = SingleRPUConfig(device=_device(), forward=_exact(), backward=_exact())
    return noisy_regression(config, 10000, seed=1)[0]


@pytest.mark.parametrize(
    "compound",
    [
        TransferCompound(
            unit_cell_devices=[_device(), _device()], fast_lr=0.1, transfer_lr=0.5,
            units_in_mbatch=False,
        ),
        BufferedTransferCompound(unit_cell_devices=[_device(), _device()], fast_lr=0.1),
        ChoppedTransferCompound(
            unit_cell_devices=[_device(), _device()], fast_lr=0.1, in_chop_prob=0.01,
            auto_granularity=100,
        ),
    ],
    ids=["tiki-taka", "ttv2", "c-ttv2"],
)  # fmt: skip
def test_transfer_compounds_reach_a_several_times_lower_loss(
    compound: object, sgd_loss: float
) -> None:
    loss = noisy_regression(_cell(compound), 10000, seed=1)[0]
    # Measured here: SGD 0.092; Tiki-Taka 0.021, TTv2 0.014, c-TTv2 0.014.
    assert loss < sgd_loss / 2.5, f"{loss:.4f} vs SGD {sgd_loss:.4f}"


def test_residual_learning_lowers_the_stationary_bias() -> None:
    # Asymmetric devices; the fast array read against its symmetry point (so it holds the
    # gradient, not its device offsets). The time-averaged weight of plain SGD sits far from
    # the optimum; Tiki-Taka's much closer, and closer still with γ > 0, where the visible
    # weight includes the fast array that compensates the slow array's pull.
    def fast() -> SoftBoundsReferenceDevice:
        return SoftBoundsReferenceDevice(
            dw_min=0.002, w_max=0.6, w_min=-0.6, up_down=0.3, up_down_dtod=0.05,
            mult_noise=True, subtract_symmetry_point=True,
        )  # fmt: skip

    def run(gamma: float) -> float:
        compound = TransferCompound(
            unit_cell_devices=[fast(), _device(up_down=0.3)], fast_lr=0.05, transfer_lr=0.5,
            units_in_mbatch=False, gamma=gamma,
        )  # fmt: skip
        return noisy_regression(_cell(compound), 20000, seed=1, lr=0.05, noise=0.2)[1]

    sgd = SingleRPUConfig(device=_device(up_down=0.3), forward=_exact(), backward=_exact())
    sgd_bias = noisy_regression(sgd, 20000, seed=1, lr=0.05, noise=0.2)[1]
    plain, residual = run(0.0), run(0.5)
    # Measured here: SGD 0.071, γ = 0 0.013, γ = 0.5 0.011 (floating point: 0.003).
    assert plain < sgd_bias / 3, (plain, sgd_bias)
    assert residual < 0.9 * plain, (residual, plain)
