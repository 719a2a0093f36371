"""The main example trains an analog MLP on the bundled digits to >= 90% test accuracy."""

from __future__ import annotations

from rpusim.examples import train_mlp


def test_train_mlp_reaches_ninety_percent() -> None:
    accuracy = train_mlp.main(["--epochs", "20"])
    assert accuracy >= 0.90
