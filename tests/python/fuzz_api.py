"""Randomized bad calls across rpusim's public API (run by ``test_fuzz.py``, one batch per
subprocess, so that an abort or a hang is seen as what it is).

``python fuzz_api.py SEED COUNT`` makes COUNT calls drawn from SEED and prints one JSON line with
the count of each outcome:

* ``accepted``: the call returned;
* ``refused``: it raised a documented exception (an rpusim error, ``ValueError``, ``TypeError``,
  ``MemoryError``) whose message names what was wrong;
* ``unclear``: it raised something else (``AttributeError``, ``KeyError``, an internal error of the
  core, ...), or an rpusim message naming nothing;
* ``non_finite``: after the call some object's stored state (weights, per-device arrays, hidden
  arrays, buffers, digital scales, biases) holds NaN or Inf. After an optimizer step the digital
  parameters are left out: torch's SGD owns them (a finite but huge learning rate overflows a
  bias in plain torch too); a NaN, infinite or negative learning rate is refused before it.

Before every call the driver prints (flushed) the call's label to stderr, so that the parent can
name the call that aborted or hung.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import os
import random
import sys
import traceback
from enum import Enum
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

import rpusim
from rpusim import AnalogTile
from rpusim.configs import (
    BufferedTransferCompound,
    ChoppedTransferCompound,
    ConstantStepDevice,
    DigitalRankUpdateRPUConfig,
    DynamicTransferCompound,
    ExpStepDevice,
    FloatingPointRPUConfig,
    InferenceRPUConfig,
    LinearStepDevice,
    MixedPrecisionCompound,
    OneSidedUnitCell,
    PiecewiseStepDevice,
    PowStepDevice,
    SingleRPUConfig,
    SoftBoundsDevice,
    SoftBoundsReferenceDevice,
    TransferCompound,
    UnitCellRPUConfig,
    VectorUnitCell,
)
from rpusim.exceptions import RpusimError
from rpusim.inference.tile import InferenceTile
from rpusim.nn import AnalogConv1d, AnalogConv2d, AnalogLinear, AnalogSequential
from rpusim.optim import AnalogSGD

GPU = rpusim.gpu_unavailable_reason() is None and os.environ.get("RPUSIM_FUZZ_GPU", "1") == "1"

BAD_NUMBERS: list[Any] = [
    -1,
    -1.0,
    0,
    0.0,
    1e-45,
    -1e-45,
    1e38,
    -1e38,
    3.4e38,
    float("nan"),
    float("inf"),
    -float("inf"),
    2**31,
    2**40,
    2**63,
    -(2**63),
    2**64,
    True,
    None,
    "1",
    [0.1],
    (1, 2),
    {},
    1.5,
]
BAD_SIZES: list[Any] = [-1, 0, 2**31, 2**32, 2**62 + 1, 2**63, 2**64, 1.5, None, "3", True]
if os.environ.get("RPUSIM_FUZZ_SMALL") == "1":  # to look past the size findings while fixing
    BAD_SIZES = [v for v in BAD_SIZES if not isinstance(v, int) or v < 2**20]
GOOD_SIZES = [1, 2, 3, 5, 8]


def make_config(rng: random.Random) -> Any:
    """A random valid config of any family."""
    devices = [
        ConstantStepDevice,
        SoftBoundsDevice,
        LinearStepDevice,
        ExpStepDevice,
        PowStepDevice,
        PiecewiseStepDevice,
        SoftBoundsReferenceDevice,
    ]
    kind = rng.randrange(8)
    if kind <= 2:
        return SingleRPUConfig(device=rng.choice(devices)())
    if kind == 3:
        return FloatingPointRPUConfig()
    if kind == 4:
        return InferenceRPUConfig()
    if kind == 5:
        return DigitalRankUpdateRPUConfig(device=MixedPrecisionCompound(device=SoftBoundsDevice()))
    compound = rng.choice(
        [
            TransferCompound,
            BufferedTransferCompound,
            ChoppedTransferCompound,
            DynamicTransferCompound,
            VectorUnitCell,
            OneSidedUnitCell,
        ]
    )
    pair = [SoftBoundsDevice(), SoftBoundsDevice()]
    return UnitCellRPUConfig(device=compound(unit_cell_devices=pair))


def leaf_fields(obj: Any, path: str = "") -> list[tuple[Any, str, str]]:
    """(owner, field name, dotted path) of every scalar or list field of a config tree."""
    out: list[tuple[Any, str, str]] = []
    if not dataclasses.is_dataclass(obj):
        return out
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        name = f"{path}.{f.name}" if path else f.name
        if dataclasses.is_dataclass(value):
            out.append((obj, f.name, name))
            out += leaf_fields(value, name)
        elif isinstance(value, list) and value and dataclasses.is_dataclass(value[0]):
            for k, item in enumerate(value):
                out += leaf_fields(item, f"{name}[{k}]")
        else:
            out.append((obj, f.name, name))
    return out


def bad_value(rng: random.Random, current: Any) -> Any:
    """A value of the wrong type, sign or size for a field currently holding ``current``."""
    if isinstance(current, Enum) and rng.random() < 0.5:
        return rng.choice(list(type(current)))  # a legal but maybe unsupported member
    if isinstance(current, (int, float)) and not isinstance(current, bool) and rng.random() < 0.4:
        scale = rng.choice([-1.0, 1e-30, 1e30, -1e30, 0.0, 1e6, -1e6, 1e-6])
        return type(current)(current * scale) if math.isfinite(current * scale) else current
    return copy.deepcopy(rng.choice(BAD_NUMBERS))


def bad_tensor(rng: random.Random, shape: tuple[int, ...]) -> Any:
    """A tensor that is wrong in one way (or, sometimes, fine)."""
    kind = rng.randrange(14)
    base = torch.randn(*shape)
    if kind == 0 and base.numel():
        base.view(-1)[rng.randrange(base.numel())] = float("nan")
    elif kind == 1 and base.numel():
        base.view(-1)[rng.randrange(base.numel())] = float("inf")
    elif kind == 2:
        base = base * 1e19
    elif kind == 3:
        base = base * 1e38
    elif kind == 4:
        return torch.ones(*shape, dtype=torch.int64)
    elif kind == 5:
        return torch.ones(*shape, dtype=torch.complex64)
    elif kind == 6:
        return torch.randn(*shape[:-1], shape[-1] + 1) if shape else torch.randn(1)
    elif kind == 7:
        return torch.randn(0, *shape[1:])
    elif kind == 8:
        return torch.tensor(1.0)
    elif kind == 9:
        return base.tolist()
    elif kind == 10:
        return torch.randn(*reversed(shape)).T  # non-contiguous, right shape
    elif kind == 11:
        return base.to(rng.choice([torch.float64, torch.float16, torch.bfloat16]))
    elif kind == 12:
        return np.asarray(base)
    return base


class Fuzzer:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        torch.manual_seed(seed)
        self.objects: list[Any] = []
        self.counts = {"accepted": 0, "refused": 0, "unclear": 0, "non_finite": 0}
        self.examples: dict[str, list[str]] = {"unclear": [], "non_finite": []}
        self.note = ""
        self.digital_owned_by_torch = False

    # The calls.
    def new_tile(self) -> Any:
        rng = self.rng
        out_size = rng.choice(GOOD_SIZES) if rng.random() < 0.7 else rng.choice(BAD_SIZES)
        in_size = rng.choice(GOOD_SIZES) if rng.random() < 0.7 else rng.choice(BAD_SIZES)
        config = make_config(rng)
        if rng.random() < 0.6:
            owner, name, _ = rng.choice(leaf_fields(config))
            setattr(owner, name, bad_value(rng, getattr(owner, name)))
        backend = "gpu" if GPU and rng.random() < 0.1 else "cpu"
        if rng.random() < 0.1:
            backend = rng.choice(["", 0, "tpu", None, "GPU"])
        seed = rng.choice([None, None, 5, -1, 2**64, 2**63, 1.5])
        if isinstance(config, InferenceRPUConfig):
            tile = InferenceTile(out_size, in_size, config, backend, seed)
        else:
            tile = AnalogTile(out_size, in_size, config, backend, seed)
        self.objects.append(tile)
        if len(self.objects) > 12:
            self.objects.pop(0)
        return tile

    def new_layer(self) -> Any:
        rng = self.rng
        config = make_config(rng)
        if rng.random() < 0.3:
            owner, name, _ = rng.choice(leaf_fields(config))
            setattr(owner, name, bad_value(rng, getattr(owner, name)))
        kind = rng.randrange(3)
        if kind == 0:
            sizes = [rng.choice(GOOD_SIZES) if rng.random() < 0.8 else rng.choice(BAD_SIZES)]
            layer: Any = AnalogLinear(
                sizes[0], rng.choice(GOOD_SIZES), bias=rng.random() < 0.7, rpu_config=config
            )
        else:
            cls = AnalogConv1d if kind == 1 else AnalogConv2d
            kwargs: dict[str, Any] = {}
            for key, pool in (
                ("stride", [1, 2, 0, -1, (1,)]),
                ("padding", [0, 1, "same", "valid", "full", -1]),
                ("dilation", [1, 2, 0]),
                ("groups", [1, 2, 0, 3]),
                ("padding_mode", ["zeros", "reflect", "circular", "mirror"]),
            ):
                if rng.random() < 0.3:
                    kwargs[key] = rng.choice(pool)
            layer = cls(
                rng.choice([2, 4]),
                rng.choice([2, 4]),
                rng.choice([1, 2, 3, 0, -2]),
                rpu_config=config,
                **kwargs,
            )
        self.objects.append(layer)
        if len(self.objects) > 12:
            self.objects.pop(0)
        return layer

    def tile_call(self, tile: Any) -> Any:
        rng = self.rng
        batch = rng.choice([1, 3])
        op = rng.randrange(9)
        self.note = f"tile op {op}"
        if op == 0:
            return tile.forward(bad_tensor(rng, (batch, tile.in_size)))
        if op == 1:
            return tile.backward(bad_tensor(rng, (batch, tile.out_size)))
        if op == 2:
            lr = rng.choice([0.1, 0.01, -1.0, float("nan"), float("inf"), 1e38, "x", 0.0])
            x = bad_tensor(rng, (batch, tile.in_size))
            d = bad_tensor(rng, (batch, tile.out_size))
            return tile.update(x, d, lr)
        if op == 3:
            return tile.set_weights(bad_tensor(rng, (tile.out_size, tile.in_size)))
        if op == 4:
            return tile.drift_weights(rng.choice([1.0, 0.0, -1.0, float("nan"), 1e38, "1"]))
        if op == 5:
            return self.corrupt_state(tile)
        if op == 6:
            return tile.to_backend(rng.choice(["cpu", "gpu" if GPU else "cpu", "", 0, None]))
        if op == 7:
            return tile.post_update_step()
        return tile.get_weights()

    def corrupt_state(self, tile: Any) -> None:
        """Restores a randomly damaged copy of the tile's own state into it."""
        rng = self.rng
        state = copy.deepcopy(tile.__getstate__())
        paths: list[tuple[Any, Any]] = []

        def walk(node: Any) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    paths.append((node, k))
                    walk(v)
            elif isinstance(node, list):
                for k, v in enumerate(node):
                    paths.append((node, k))
                    walk(v)

        walk(state)
        for _ in range(rng.choice([1, 1, 2])):
            owner, key = rng.choice(paths)
            if isinstance(owner, dict) and key not in owner:
                continue  # deleted by the previous damage
            value = owner[key]
            choice = rng.randrange(7)
            if isinstance(value, np.ndarray) and value.size and choice < 3:
                value = value.copy()
                value.flat[rng.randrange(value.size)] = rng.choice([np.nan, np.inf, -np.inf])
                owner[key] = value
            elif isinstance(value, torch.Tensor) and value.numel() and choice < 3:
                value = value.clone().float()
                value.view(-1)[rng.randrange(value.numel())] = float("nan")
                owner[key] = value
            elif isinstance(value, np.ndarray) and value.ndim == 2 and choice == 3:
                owner[key] = np.ascontiguousarray(value.T)
            elif choice == 4 and isinstance(owner, dict):
                del owner[key]
            elif choice == 5:
                owner[key] = rng.choice([None, 0, "x", (1, 2), [], {}])
            else:
                owner[key] = bad_value(rng, value) if not isinstance(value, dict) else None
        tile.__setstate__(state)

    def layer_call(self, layer: Any) -> Any:
        rng = self.rng
        op = rng.randrange(6)
        self.note = f"layer op {op}"
        if isinstance(layer, AnalogLinear):
            shape: tuple[int, ...] = (rng.choice([1, 4]), layer.in_features)
        else:
            shape = (2, layer.in_channels, *([6] * layer.dims))
        if op <= 1:
            x = bad_tensor(rng, shape)
            out = layer(x)
            if isinstance(out, torch.Tensor) and out.requires_grad:
                grad = bad_tensor(rng, tuple(out.shape)) if rng.random() < 0.4 else None
                # (a complex gradient is refused by torch's autograd before rpusim sees it)
                if (
                    isinstance(grad, torch.Tensor)
                    and grad.shape == out.shape
                    and not grad.is_complex()
                ):
                    out.backward(grad.to(out.dtype) if grad.is_floating_point() else grad)
                else:
                    out.sum().backward()
            return out
        if op == 2:
            lr = rng.choice([0.1, 0.01, -1.0, float("nan"), float("inf"), 1e38, 0.0])
            opt = AnalogSGD(layer.parameters(), lr=0.1, momentum=rng.choice([0.0, 0.9]))
            opt.regroup_param_groups(layer)
            layer(torch.randn(*shape)).sum().backward()
            opt.param_groups[0]["lr"] = lr
            self.note += f" lr={lr}"
            self.digital_owned_by_torch = True
            try:
                return opt.step()
            finally:
                # torch's SGD may overflow a bias: drop the layer so later scans don't count it.
                if any(not bool(torch.isfinite(p).all()) for p in layer.parameters() if p.numel()):
                    self.objects.remove(layer)
        if op == 3:
            weight, _ = layer.get_weights()
            bias = bad_tensor(rng, (weight.shape[0],)) if rng.random() < 0.5 else None
            return layer.set_weights(bad_tensor(rng, tuple(weight.shape)), bias)
        if op == 4:
            state = layer.state_dict()
            key = rng.choice(list(state))
            if isinstance(state[key], torch.Tensor):
                state[key] = state[key].clone()
                if state[key].numel():
                    state[key].view(-1)[0] = float("nan")
            elif isinstance(state[key], dict):
                self.corrupt_state_dict(state[key])
            return layer.load_state_dict(state)
        return AnalogSequential(layer).to_backend(rng.choice(["cpu", "", None, 0]))

    def corrupt_state_dict(self, state: dict[str, Any]) -> None:
        tile_state = state.get("tile")
        if isinstance(tile_state, dict) and isinstance(tile_state.get("weights"), np.ndarray):
            w = tile_state["weights"].copy()
            choice = self.rng.randrange(3)
            if choice == 0:
                w.flat[0] = np.nan
            elif choice == 1:
                w = np.ascontiguousarray(w.T)
            else:
                w = w.astype(np.float64)
            tile_state["weights"] = w

    # Running and judging.
    def stored_values(self, obj: Any) -> list[tuple[str, Any]]:
        """Every array/tensor an object keeps (its saved state and parameters), with its path."""
        if isinstance(obj, torch.nn.Module):
            values: list[tuple[str, Any]] = []
            if not self.digital_owned_by_torch:
                values += [(name, p.detach()) for name, p in obj.named_parameters() if p.numel()]
            for module in obj.modules():
                tile = getattr(module, "analog_tile", None)
                if tile is not None:
                    values += self.stored_values(tile)
            return values
        found: list[tuple[str, Any]] = []

        def walk(node: Any, path: str) -> None:
            if isinstance(node, dict):
                for k, v in node.items():
                    walk(v, f"{path}/{k}")
            elif isinstance(node, (list, tuple)):
                for k, v in enumerate(node):
                    walk(v, f"{path}/{k}")
            elif isinstance(node, (np.ndarray, torch.Tensor)):
                found.append((path, node))

        walk(obj.__getstate__(), type(obj).__name__)
        return found

    def non_finite(self) -> str:
        """The path of the first stored value that is NaN or Inf ('' when all are finite)."""
        for obj in self.objects:
            for path, value in self.stored_values(obj):
                if isinstance(value, torch.Tensor):
                    if value.is_floating_point() and not bool(torch.isfinite(value).all()):
                        return path
                elif value.dtype.kind == "f" and not bool(np.isfinite(value).all()):
                    return path
        return ""

    def one(self, label: str, call: Callable[..., Any]) -> None:
        print(label, file=sys.stderr, flush=True)
        self.note = ""
        self.digital_owned_by_torch = False
        try:
            call()
            outcome = "accepted"
        except (RpusimError, ValueError, TypeError, MemoryError) as err:
            message = str(err)
            internal = "internal error" in message
            named = ":" in message or isinstance(err, MemoryError) or "expected" in message
            outcome = "refused" if named and not internal else "unclear"
            if outcome == "unclear" and len(self.examples["unclear"]) < 20:
                self.examples["unclear"].append(
                    f"{label} [{self.note}]: {type(err).__name__}: {message}"
                )
        except Exception as err:  # noqa: BLE001 - every other exception is a finding
            outcome = "unclear"
            where = traceback.extract_tb(err.__traceback__)[-1]
            label = f"{label} at {Path(where.filename).name}:{where.lineno}"
            if len(self.examples["unclear"]) < 20:
                self.examples["unclear"].append(
                    f"{label} [{self.note}]: {type(err).__name__}: {err}"
                )
        self.counts[outcome] += 1
        label = f"{label} [{self.note}]"
        try:
            bad = self.non_finite()
        except Exception as err:  # noqa: BLE001 - a state that cannot be read is a finding
            bad = f"state unreadable: {type(err).__name__}: {err}"
        if bad:
            label = f"{label} -> {bad}"
            self.counts["non_finite"] += 1
            if len(self.examples["non_finite"]) < 20:
                self.examples["non_finite"].append(label)
            # Drop the objects so one finding is counted once.
            self.objects.clear()

    def run(self, count: int) -> None:
        for k in range(count):
            kind = self.rng.random()
            if kind < 0.25 or not self.objects:
                self.one(f"{k}: new tile", self.new_tile)
            elif kind < 0.4:
                self.one(f"{k}: new layer", self.new_layer)
            else:
                obj = self.rng.choice(self.objects)
                if isinstance(obj, torch.nn.Module):
                    self.one(
                        f"{k}: layer call on {type(obj).__name__}",
                        lambda obj=obj: self.layer_call(obj),
                    )
                else:
                    self.one(f"{k}: tile call on {obj!r}", lambda obj=obj: self.tile_call(obj))


def main() -> None:
    seed, count = int(sys.argv[1]), int(sys.argv[2])
    fuzzer = Fuzzer(seed)
    fuzzer.run(count)
    print(json.dumps({"counts": fuzzer.counts, "examples": fuzzer.examples}))


if __name__ == "__main__":
    main()
