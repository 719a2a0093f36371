"""Device response plots with the reference's names (``aihwkit.utils.visualization``):
``plot_device`` and ``plot_device_compact`` for pulsed devices and unit cells, and the
functions under them. matplotlib is an optional extra (``pip install 'rpusim[plot]'``).

The response: ``n_traces`` devices (one device-to-device draw each) start at ``w_init`` (the
device's ``w_min``) and get one pulse per step, up for ``n_steps`` steps and down for
``n_steps``, ``n_loops`` times. With ``w_noise`` > 0 each weight is read through a forward pass
with additive weight noise of that std (no other periphery effect), as the reference reads it.
"""

from __future__ import annotations

import copy
from typing import Any, Optional, Union

import numpy as np
import torch

from rpusim.configs import IOParameters
from rpusim.configs.compounds import UnitCell
from rpusim.configs.devices import PulsedDevice
from rpusim.configs.enums import BoundManagementType, NoiseManagementType, WeightNoiseType
from rpusim.exceptions import ConfigError
from rpusim.plot import _pyplot, response_tile
from rpusim.tiles import AnalogTile

Device = Union[PulsedDevice, UnitCell]


def _read_periphery(w_noise: float) -> IOParameters:
    """A forward pass that reads the weights with additive weight noise only."""
    return IOParameters(
        out_noise=0.0,
        w_noise=float(w_noise),
        w_noise_type=WeightNoiseType.ADDITIVE_CONSTANT if w_noise > 0 else WeightNoiseType.NONE,
        inp_res=-1.0,
        out_res=-1.0,
        out_bound=100.0,
        bound_management=BoundManagementType.NONE,
        noise_management=NoiseManagementType.NONE,
    )


def _first_device(device: Device) -> Any:
    devices = getattr(device, "unit_cell_devices", None)
    if devices:
        return devices[0]
    return getattr(device, "device", device)


def estimate_n_steps(device: Device) -> int:
    """Pulses from ``w_min`` to ``w_max`` at ``dw_min`` each (a pulsed device); 1000 for unit
    cells."""
    if not isinstance(device, PulsedDevice):
        return 1000
    return max(1, int(round((device.w_max - device.w_min) / device.dw_min)))


def get_tile_for_plotting(
    device: Device,
    n_traces: int,
    w_noise: float = 0.0,
    noise_free: bool = False,
    w_init: Optional[float] = None,
    seed: Optional[int] = 0,
) -> AnalogTile:
    """A ``n_traces × 1`` tile of ``device`` set to ``w_init`` (default: the device's
    ``w_min``); ``noise_free`` removes the cycle-to-cycle step noise (``dw_min_std`` = 0)."""
    device = copy.deepcopy(device)
    if noise_free:
        for dev in [device, *getattr(device, "unit_cell_devices", [])]:
            if hasattr(dev, "dw_min_std"):
                dev.dw_min_std = 0.0
    tile = response_tile(device, n_traces, seed, _read_periphery(w_noise))
    if w_init is None:
        w_init = float(getattr(_first_device(device), "w_min", -1.0))
    tile.set_weights(torch.full((n_traces, 1), float(w_init)))
    return tile


def compute_pulse_response(
    analog_tile: AnalogTile, direction: Any, use_forward: bool = False
) -> np.ndarray:
    """The weights ``[len(direction), out_size, in_size]`` after each pulse of sign
    ``direction[i]`` (+1 up, −1 down) to every device; read through the forward pass (with its
    read noise) when ``use_forward``, exactly otherwise."""
    out_size, in_size = analog_tile.out_size, analog_tile.in_size
    steps = np.asarray(direction, dtype=np.float32).reshape(-1)
    trace = np.zeros((len(steps), out_size, in_size), dtype=np.float32)
    x = torch.ones(1, in_size)
    eye = torch.eye(in_size)
    for i, sign in enumerate(steps):
        analog_tile.update(x, torch.full((1, out_size), -float(sign)), 1.0)
        if use_forward:
            trace[i] = analog_tile.forward(eye).T.numpy()
        else:
            trace[i] = analog_tile.get_weights().numpy()
    return trace


def _directions(n_steps: int, n_loops: int) -> np.ndarray:
    return np.tile(np.concatenate([np.ones(n_steps), -np.ones(n_steps)]), n_loops)


def _mean_steps(trace: np.ndarray, direction: np.ndarray, nodes: np.ndarray, up: bool) -> Any:
    """Mean weight change of the up (or down) pulses starting in each weight bin, per trace."""
    before = np.concatenate([trace[:1] * np.nan, trace[:-1]])
    change = trace - before
    chosen = direction > 0 if up else direction < 0
    result = np.full((len(nodes) - 1, trace.shape[1]), np.nan)
    for k in range(trace.shape[1]):
        w, dw = before[chosen, k], change[chosen, k]
        bins = np.digitize(w, nodes) - 1
        for b in range(len(nodes) - 1):
            values = dw[(bins == b) & np.isfinite(dw)]
            if values.size:
                result[b, k] = values.mean()
    return result


def plot_device_compact(
    device: Device,
    w_noise: float = 0.0,
    n_steps: Optional[int] = None,
    n_traces: int = 3,
    n_loops: int = 2,
    w_init: Optional[float] = None,
    use_cuda: bool = False,
    axes: Any = None,
    **plot_kwargs: Any,
) -> Any:
    """The response of ``device`` over ``n_loops`` up/down cycles of ``n_steps`` pulses (read
    with ``w_noise``), with the mean up and down step size against the weight beside it (from a
    noise-free run). Returns the figure, or ``axes`` when given (then only the response is
    drawn). ``use_cuda`` is refused (ConfigError): pick a backend for tiles instead."""
    if use_cuda:
        raise ConfigError("use_cuda: rpusim has no CUDA tiles")
    plt = _pyplot()
    steps = estimate_n_steps(device) if n_steps is None else int(n_steps)
    direction = _directions(steps, n_loops)
    tile = get_tile_for_plotting(device, n_traces, w_noise, w_init=w_init)
    trace = compute_pulse_response(tile, direction, use_forward=True).reshape(-1, n_traces)
    figure = None
    if axes is None:
        figure = plt.figure(figsize=(12, 4))
        grid = figure.add_gridspec(1, 3, width_ratios=(1, 6, 1), wspace=0.05)
        left, axes, right = (figure.add_subplot(grid[0, k]) for k in range(3))
    plot_kwargs.setdefault("linewidth", 1)
    axes.plot(trace, **plot_kwargs)
    axes.set_title(type(device).__name__)
    axes.set_xlabel("pulse number")
    limit = float(np.abs(trace).max()) * 1.2 or 1.0
    axes.set_ylim(-limit, limit)
    if figure is None:
        return axes
    quiet = get_tile_for_plotting(device, n_traces, 0.0, noise_free=True, w_init=w_init)
    one_loop = _directions(steps, 1)
    exact = compute_pulse_response(quiet, one_loop).reshape(-1, n_traces)
    nodes = np.linspace(exact.min(), exact.max(), min(steps, 100) + 1)
    centers = (nodes[:-1] + nodes[1:]) / 2
    for side, up in ((left, True), (right, False)):
        side.plot(np.abs(_mean_steps(exact, one_loop, nodes, up)), centers)
        side.set_ylim(-limit, limit)
        side.set_xlabel("up pulse size" if up else "down pulse size")
    left.set_ylabel("weight")
    axes.set_yticks([])
    right.set_yticks([])
    return figure


def plot_device(device: Device, w_noise: float = 0.0, **kwargs: Any) -> Any:
    """The response overview of ``device`` (a pulsed device or a unit cell): the compact plot
    of :func:`plot_device_compact` (``kwargs``: ``n_steps``, ``n_traces``, ``n_loops``,
    ``w_init``). Returns the figure."""
    return plot_device_compact(device, w_noise=w_noise, **kwargs)


__all__ = [
    "compute_pulse_response",
    "estimate_n_steps",
    "get_tile_for_plotting",
    "plot_device",
    "plot_device_compact",
]
