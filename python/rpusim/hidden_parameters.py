"""The reference's ``get_hidden_parameters`` view of a saved tile state: per-device parameters
and hidden arrays, each ``[out_size, in_size]``, under the reference's key names.

The Rust tile state names its per-device arrays after the core (``step_up``, ``w_max``,
``decay_rate``, ...; unit cells prefix them with the array index, ``"1.w_max"``); this module
renames them and adds the reference's neutral arrays where an effect is off (decay scale 1,
diffusion rate 0, reset bias 0, drift exponent 0) so that every pulsed device lists the same
keys as in the reference.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor

# Core name → reference name.
RENAMES = {
    "w_max": "max_bound",
    "w_min": "min_bound",
    "step_up": "dwmin_up",
    "step_down": "dwmin_down",
    "diffusion_rate": "diffusion_rates",
    "reset_bias": "reset_bias",
    "drift_nu": "drift_nu",
    "slope_up": "slope_up",
    "slope_down": "slope_down",
    "pow_gamma_up": "gamma_up",
    "pow_gamma_down": "gamma_down",
}
# The reference's keys every pulsed device has, with the value of a switched-off effect.
BASE_KEYS = (
    ("max_bound", None),
    ("min_bound", None),
    ("dwmin_up", None),
    ("dwmin_down", None),
    ("decay_scales", 1.0),
    ("diffusion_rates", 0.0),
    ("reset_bias", 0.0),
    ("drift_nu", 0.0),
)
# Compound arrays: core name → reference name.
CELL_RENAMES = {"chi": "hidden_weights_chi", "buffer_0": "buffered_FP_weight_0"}


def _device_parameters(arrays: dict[str, Any], shape: tuple[int, int]) -> dict[str, Tensor]:
    """One device array's parameters (core names → reference names, neutral fill-ins)."""
    values = {k: torch.as_tensor(v).reshape(-1).clone() for k, v in arrays.items()}
    size = shape[0] * shape[1]
    full = {k: v.reshape(shape) for k, v in values.items() if v.numel() == size}
    out: dict[str, Tensor] = {}
    if "step_up" not in full:  # ideal or floating-point device: no per-device parameters
        return out
    if "decay_rate" in full:
        out["decay_scales"] = 1.0 - full["decay_rate"]
    for core, ref in RENAMES.items():
        if core in full:
            out[ref] = full[core]
    ordered: dict[str, Tensor] = {}
    for key, neutral in BASE_KEYS:
        if key in out:
            ordered[key] = out.pop(key)
        elif neutral is not None:
            ordered[key] = torch.full(shape, neutral)
    ordered.update(out)
    return ordered


def hidden_parameters(tile_state: dict[str, Any]) -> dict[str, Tensor]:
    """The reference-named hidden parameters of a Rust tile state (``AnalogTile.__getstate__()
    ["tile"]``)."""
    shape = (int(tile_state["out_size"]), int(tile_state["in_size"]))
    device: dict[str, Any] = dict(tile_state.get("device", {}))
    arrays = list(tile_state.get("arrays", []))
    result: dict[str, Tensor] = {}
    if len(arrays) > 1:
        for k, (visible, _persistent) in enumerate(arrays):
            prefix = f"{k}."
            own = {n[len(prefix) :]: v for n, v in device.items() if n.startswith(prefix)}
            for name, value in _device_parameters(own, shape).items():
                result[f"{name}_{k}"] = value
            result[f"hidden_weights_{k}"] = torch.as_tensor(visible).reshape(shape).clone()
    else:
        result.update(_device_parameters(device, shape))
    for name, value in dict(tile_state.get("cell", {})).items():
        result[str(CELL_RENAMES.get(name, name))] = torch.as_tensor(value).reshape(shape).clone()
    return result
