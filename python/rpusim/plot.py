"""Plots (matplotlib, an optional extra: ``pip install 'rpusim[plot]'``): the pulse response of a
device model, as the reference simulator's device plots, and training curves.

    from rpusim.configs import ConstantStepDevice
    from rpusim.plot import plot_device
    plot_device(ConstantStepDevice(), n_steps=1000, path="constant_step.png")
"""

from __future__ import annotations

from typing import Any, Optional, Sequence, cast

import torch

from rpusim.configs import SingleRPUConfig, UnitCellRPUConfig, UpdateParameters
from rpusim.configs.compounds import UnitCell
from rpusim.configs.devices import PulsedDevice
from rpusim.exceptions import ConfigError
from rpusim.tiles import AnalogTile


def _pyplot() -> Any:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("rpusim.plot needs matplotlib: pip install 'rpusim[plot]'") from e
    return plt


def pulse_response(
    device: Any, n_steps: int = 1000, n_traces: int = 3, seed: int = 0
) -> torch.Tensor:
    """Weights of ``n_traces`` devices or unit cells (each its own device-to-device draw) after
    each of ``n_steps`` up pulses followed by ``n_steps`` down pulses, from w = 0: ``[2·n_steps +
    1, n_traces]``. One update call delivers exactly one pulse to each device: x = 1, d = ∓1,
    lr = 1 with a train of length 1 fires with probability 1 (a unit cell pulses its devices as
    its update policy says)."""
    for name, value in (("n_steps", n_steps), ("n_traces", n_traces)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name}: expected a positive int, got {value!r}")
    tile = response_tile(device, n_traces, seed)
    x = torch.ones(1, 1)
    trace = [tile.get_weights()[:, 0]]
    for direction in (-1.0, 1.0):  # d < 0 moves the weight up (W -= lr · d · x)
        d = torch.full((1, n_traces), direction)
        for _ in range(n_steps):
            tile.update(x, d, 1.0)
            trace.append(tile.get_weights()[:, 0])
    return torch.stack(trace)


def response_tile(
    device: Any, n_traces: int, seed: Optional[int] = 0, forward: Any = None
) -> AnalogTile:
    """A ``n_traces × 1`` tile of ``device`` (a pulsed device or a unit cell) whose every
    ``update(x=1, d=∓1, lr=1)`` is exactly one pulse per device (train length 1, firing
    probability 1, no update management); ``forward`` the periphery of noisy reads."""
    update = UpdateParameters(desired_bl=1, update_management=False, update_bl_management=False)
    extra: dict[str, Any] = {} if forward is None else {"forward": forward}
    if isinstance(device, PulsedDevice):
        config: Any = SingleRPUConfig(device=cast(Any, device), update=update, **extra)
    elif isinstance(device, UnitCell):
        config = UnitCellRPUConfig(device=device, update=update, **extra)
    else:
        raise ConfigError(
            f"device: expected a pulsed device or a unit cell, got {type(device).__name__}"
        )
    return AnalogTile(n_traces, 1, config, seed=seed)


def plot_device(
    device: Any,
    n_steps: int = 1000,
    n_traces: int = 3,
    seed: int = 0,
    path: Optional[str] = None,
    axes: Any = None,
) -> Any:
    """Plots :func:`pulse_response` (weight against pulse number, up then down) and, where
    ``path`` is given, saves it as PNG. Returns the matplotlib figure."""
    plt = _pyplot()
    trace = pulse_response(device, n_steps, n_traces, seed)
    if axes is None:
        fig, axes = plt.subplots(figsize=(6, 3.5))
    else:
        fig = axes.figure
    axes.plot(trace.numpy(), lw=1)
    axes.axvline(n_steps, color="gray", ls=":", lw=1)
    axes.set_xlabel(f"pulse number ({n_steps} up, then {n_steps} down)")
    axes.set_ylabel("weight")
    axes.set_title(type(device).__name__)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def plot_training_curves(
    history: Sequence[dict[str, float]],
    title: str = "",
    path: Optional[str] = None,
    labels: Optional[Sequence[str]] = None,
    histories: Optional[Sequence[Sequence[dict[str, float]]]] = None,
) -> Any:
    """Train/test loss and test error per epoch from rows with ``epoch``, ``train_loss``,
    ``test_loss`` and ``test_error`` (as the examples write). ``histories`` with ``labels``
    compares several runs (test error only). Saves a PNG where ``path`` is given."""
    plt = _pyplot()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.5))
    runs = list(histories) if histories is not None else [history]
    names = list(labels) if labels is not None else [""] * len(runs)
    if len(names) != len(runs):
        raise ConfigError(f"labels: expected {len(runs)} labels, got {len(names)}")
    for run, name in zip(runs, names):
        epochs = [row["epoch"] for row in run]
        ax1.plot(epochs, [row["train_loss"] for row in run], "o-", label=f"{name} train".strip())
        ax1.plot(epochs, [row["test_loss"] for row in run], "s--", label=f"{name} test".strip())
        ax2.plot(epochs, [100 * row["test_error"] for row in run], "o-", label=name or None)
    ax1.set_xlabel("epoch")
    ax1.set_ylabel("loss")
    ax1.legend(fontsize=8)
    ax2.set_xlabel("epoch")
    ax2.set_ylabel("test error (%)")
    if any(names):
        ax2.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


__all__ = ["plot_device", "plot_training_curves", "pulse_response"]
