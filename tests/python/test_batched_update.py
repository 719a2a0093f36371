"""``AnalogSGD.step`` runs the pulsed updates of all CPU tiles in one ``_core.update_tiles`` call,
side by side; every tile must end exactly where its own ``update`` call, one tile after another,
would leave it."""

from __future__ import annotations

import copy
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import rpusim
from rpusim import AnalogTile, presets
from rpusim.configs import ConstantStepDevice, InferenceRPUConfig, SingleRPUConfig
from rpusim.exceptions import InputError, ShapeError
from rpusim.nn import AnalogConv2d, AnalogLinear, AnalogSequential
from rpusim.optim import AnalogSGD


def model() -> AnalogSequential:
    """Pulsed tiles of several kinds: a convolution, a mapped layer (7 tiles of at most 5
    inputs), a Tiki-Taka compound, and an inference layer (its momentum SGD step is not a
    pulsed update)."""
    mapped = presets.ReRamSBPreset()
    mapped.mapping.max_input_size = 5
    return AnalogSequential(
        AnalogConv2d(1, 2, 3, rpu_config=SingleRPUConfig(device=ConstantStepDevice())),
        nn.Flatten(),
        AnalogLinear(2 * 4 * 4, 12, rpu_config=mapped),
        nn.Tanh(),
        AnalogLinear(12, 6, rpu_config=presets.TikiTakaReRamSBPreset()),
        nn.Tanh(),
        AnalogLinear(6, 3, rpu_config=InferenceRPUConfig()),
    )


def train(net: AnalogSequential, steps: int = 4) -> dict[str, Any]:
    opt = AnalogSGD(net.parameters(), lr=0.05, momentum=0.5)
    opt.regroup_param_groups(net)
    generator = torch.Generator().manual_seed(5)
    for _ in range(steps):
        x = torch.randn(6, 1, 6, 6, generator=generator)
        opt.zero_grad()
        net(x).pow(2).sum().backward()
        opt.step()
    return copy.deepcopy(net.state_dict())


def weights_in(state: Any) -> list[np.ndarray]:
    """The arrays saved under "weights", anywhere in a state."""
    if isinstance(state, dict):
        found = [state["weights"]] if isinstance(state.get("weights"), np.ndarray) else []
        return found + [w for k, v in state.items() if k != "weights" for w in weights_in(v)]
    if isinstance(state, (list, tuple)):
        return [w for v in state for w in weights_in(v)]
    return []


def assert_same(a: Any, b: Any, path: str = "state") -> None:
    """Equal bit for bit, through the nested dicts and lists of the tiles' saved states."""
    assert type(a) is type(b), path
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same(a[key], b[key], f"{path}[{key!r}]")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for k, (u, v) in enumerate(zip(a, b)):
            assert_same(u, v, f"{path}[{k}]")
    elif isinstance(a, torch.Tensor):
        assert torch.equal(a, b), path
    elif isinstance(a, np.ndarray):
        assert a.dtype == b.dtype and np.array_equal(a, b), path
    else:
        assert a == b, path


def test_batched_step_equals_one_update_per_tile(
    monkeypatch: pytest.MonkeyPatch, backend: str
) -> None:
    """On the cpu side by side; gpu tiles (queued updates) one after another in order."""
    torch.manual_seed(11)
    net = model().to_backend(backend)
    twin = copy.deepcopy(net)
    before = copy.deepcopy(net.state_dict())

    batches: list[int] = []
    batched = rpusim._core.update_tiles

    def counting(jobs: list[Any]) -> None:
        batches.append(len(jobs))
        batched(jobs)

    monkeypatch.setattr(rpusim._core, "update_tiles", counting)
    together = train(net)
    # conv 1 + mapped 7 + Tiki-Taka 1 tiles per step; the inference tile takes its SGD step.
    assert batches == [9] * 4

    def one_by_one(jobs: list[Any]) -> None:
        for tile, x, d, lr in reversed(jobs):  # any order: the tiles share nothing
            tile.update(x, d, lr)

    monkeypatch.setattr(rpusim._core, "update_tiles", one_by_one)
    alone = train(twin)
    assert_same(together, alone)
    # The comparison reaches every tile's weights (conv 1, mapped 7, Tiki-Taka 1, inference 1),
    # and training moved them all.
    old, new = weights_in(before), weights_in(together)
    assert len(old) == len(new) == 10
    assert all(not np.array_equal(u, v) for u, v in zip(old, new))


def test_tile_with_its_own_update_is_not_batched() -> None:
    class Counting(AnalogTile):
        calls = 0

        def update(self, x: Any, d: Any, lr: Any = None) -> None:
            Counting.calls += 1
            super().update(x, d, lr)

    tile = Counting(3, 4, SingleRPUConfig(device=ConstantStepDevice()))
    assert tile.batched_update(torch.ones(2, 4), torch.ones(2, 3), 0.1) is None
    patched = AnalogTile(3, 4, SingleRPUConfig(device=ConstantStepDevice()))
    patched.update = lambda x, d, lr=None: None  # type: ignore[method-assign]
    assert patched.batched_update(torch.ones(2, 4), torch.ones(2, 3), 0.1) is None
    plain = AnalogTile(3, 4, SingleRPUConfig(device=ConstantStepDevice()))
    calls = plain.batched_update(torch.ones(2, 4), torch.ones(2, 3), 0.1)
    assert calls is not None and len(calls) == 1


def core_tile(seed: int = 0) -> Any:
    """A constant-step tile's core (the same seed: the same devices and pulse trains)."""
    torch.manual_seed(seed)
    return AnalogTile(3, 4, SingleRPUConfig(device=ConstantStepDevice()))._tile


def arrays(batch: int, cols: int, rows: int, fill: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    return np.full((batch, cols), fill, np.float32), np.full((batch, rows), fill, np.float32)


@pytest.mark.parametrize(
    ("x_shape", "d_shape", "d_fill", "lr", "error", "names"),
    [
        ((2, 5), (2, 3), 0.5, 0.1, ShapeError, "x"),
        ((2, 4), (1, 3), 0.5, 0.1, ShapeError, "d"),
        ((2, 4), (2, 3), float("nan"), 0.1, InputError, "d"),
        ((2, 4), (2, 3), 0.5, -1.0, InputError, "lr"),
    ],
)
def test_update_tiles_names_bad_arguments(
    x_shape: tuple[int, int],
    d_shape: tuple[int, int],
    d_fill: float,
    lr: float,
    error: type,
    names: str,
) -> None:
    good = (core_tile(), *arrays(2, 4, 3), 0.1)
    x = np.full(x_shape, 0.5, np.float32)
    d = np.full(d_shape, d_fill, np.float32)
    with pytest.raises(error, match=f"^{names}"):
        rpusim._core.update_tiles([good, (core_tile(), x, d, lr)])


def test_a_tile_named_twice_updates_twice_in_order() -> None:
    a, b = core_tile(2), core_tile(2)
    assert a.seed == b.seed and np.array_equal(a.get_weights(), b.get_weights())
    x1, d1 = arrays(3, 4, 3, 0.7)
    x2, d2 = arrays(3, 4, 3, -0.4)
    rpusim._core.update_tiles([(a, x1, d1, 0.05), (a, x2, d2, 0.05)])
    b.update(x1, d1, 0.05)
    b.update(x2, d2, 0.05)
    assert np.array_equal(a.get_weights(), b.get_weights())
