"""The pulsed updates of LeNet5's four tiles, timed apart and together: records the (x, d)
pairs of real training steps (batch 8, the first images in order), then replays them through
each tile's ``update`` and through one ``update_tiles`` call (what ``AnalogSGD.step`` makes),
alternating. Medians per call. Set the thread counts in the environment:

    OMP_WAIT_POLICY=PASSIVE RAYON_NUM_THREADS=2 python benches/python/lenet5_updates.py
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

import rpusim.optim.analog_sgd as analog_sgd
from rpusim import _core
from rpusim.datasets import MNIST
from rpusim.examples.lenet5 import build_model
from rpusim.optim import AnalogSGD

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def recorded_updates(device: str, steps: int, data_dir: str) -> list[list[Any]]:
    """The ``update_tiles`` calls of ``steps`` training steps (copies of their arrays)."""
    torch.manual_seed(1)
    model = build_model(device, None)
    opt = AnalogSGD(model.parameters(), lr=0.01)
    opt.regroup_param_groups(model)
    x, y = MNIST(data_dir, train=True).tensors()
    loss_fn = torch.nn.CrossEntropyLoss()
    calls: list[list[Any]] = []
    update_tiles = _core.update_tiles

    def record(jobs: list[Any]) -> None:
        calls.append([(core, np.array(a), np.array(b), lr) for core, a, b, lr in jobs])
        update_tiles(jobs)

    analog_sgd._core.update_tiles = record  # type: ignore[attr-defined]
    try:
        for k in range(steps):
            opt.zero_grad()
            loss_fn(model(x[k * 8 : (k + 1) * 8]), y[k * 8 : (k + 1) * 8]).backward()
            opt.step()
    finally:
        analog_sgd._core.update_tiles = update_tiles  # type: ignore[attr-defined]
    return calls


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="constant-step")
    parser.add_argument("--steps", type=int, default=60, help="steps recorded (a third warm up)")
    parser.add_argument("--repeat", type=int, default=5, help="replays of the recorded calls")
    parser.add_argument("--data-dir", default=os.environ.get("RPUSIM_DATA", str(SHARED_DATA)))
    args = parser.parse_args()
    calls = recorded_updates(args.device, args.steps, args.data_dir)[args.steps // 3 :]
    times: dict[Any, list[float]] = {}
    for _ in range(args.repeat):
        for jobs in calls:
            for k, (core, a, b, lr) in enumerate(jobs):
                t = time.perf_counter()
                core.update(a, b, lr)
                times.setdefault(k, []).append(time.perf_counter() - t)
            t = time.perf_counter()
            _core.update_tiles(jobs)
            times.setdefault("all", []).append(time.perf_counter() - t)
    for k, (_, a, b, _) in enumerate(calls[0]):
        print(f"tile {k} x {a.shape} d {b.shape}: {1e6 * statistics.median(times[k]):.0f} us")
    print(f"update_tiles: {1e6 * statistics.median(times['all']):.0f} us")


if __name__ == "__main__":
    main()
