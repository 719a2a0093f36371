"""Where the time of a LeNet5 training step goes (batch 8, MNIST images, or uniform random
inputs with ``--random``): the analog network against the same network in plain torch layers, and
per analog layer the time in the tile's forward, backward and update (the rest is torch and
Python). MNIST matters: four in five of its pixels are 0, and a zero fires no pulses.

    OMP_WAIT_POLICY=PASSIVE python benches/python/bench_lenet5.py [--steps 300] [--device NAME]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rpusim.datasets import MNIST
from rpusim.examples.lenet5 import build_model
from rpusim.optim import AnalogSGD
from rpusim.tiles import AnalogTile

OPS = ("forward_saturated", "backward", "update")
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def inputs(steps: int, batch: int, data_dir: str | None) -> tuple[torch.Tensor, torch.Tensor]:
    """``steps`` batches of MNIST training images (``data_dir``), or of uniform noise (None)."""
    gen = torch.Generator().manual_seed(0)
    if data_dir is None:
        x = torch.rand(steps, batch, 1, 28, 28, generator=gen)
        y = torch.randint(0, 10, (steps, batch), generator=gen)
        return x, y
    images, labels = MNIST(data_dir, train=True).tensors()
    pick = torch.randperm(len(labels), generator=gen)[: steps * batch]
    return images[pick].reshape(steps, batch, 1, 28, 28), labels[pick].reshape(steps, batch)


def run(
    device: str, steps: int, batch: int, timings: dict[Any, float] | None, data_dir: str | None
) -> float:
    """Median seconds per training step."""
    torch.manual_seed(1)
    model = build_model(device, None)
    if device == "float":
        opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    else:
        opt = AnalogSGD(model.parameters(), lr=0.01)
        opt.regroup_param_groups(model)
    x, y = inputs(steps, batch, data_dir)
    loss_fn = nn.CrossEntropyLoss()
    times = []
    for k in range(steps):
        if k == steps // 5 and timings is not None:
            timings.clear()  # warm-up done
        start = time.perf_counter()
        opt.zero_grad()
        loss_fn(model(x[k]), y[k]).backward()
        opt.step()
        times.append(time.perf_counter() - start)
    return statistics.median(times[steps // 5 :])


def instrument(timings: dict[Any, float]) -> None:
    """Accumulates the wall time of every tile call per (tile shape, operation)."""
    for op in OPS:
        original = getattr(AnalogTile, op)

        def timed(self: AnalogTile, *args: Any, _op: str = op, _f: Any = original) -> Any:
            start = time.perf_counter()
            result = _f(self, *args)
            timings[(self.out_size, self.in_size, _op)] += time.perf_counter() - start
            return result

        setattr(AnalogTile, op, timed)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--device", default="constant-step")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--random", action="store_true", help="uniform noise instead of MNIST")
    parser.add_argument(
        "--data-dir",
        default=os.environ.get("RPUSIM_DATA", str(SHARED_DATA)),
        help="folder with MNIST's idx .gz files",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    data = None if args.random else args.data_dir
    float_step = run("float", args.steps, args.batch, None, data)
    analog_step = run(args.device, args.steps, args.batch, None, data)
    timings: dict[Any, float] = defaultdict(float)
    instrument(timings)
    run(args.device, args.steps, args.batch, timings, data)
    measured = args.steps - args.steps // 5
    source = "uniform noise" if data is None else "MNIST"
    print(
        f"threads {args.threads}, batch {args.batch}, {args.steps} steps of {source}, "
        "medians per step"
    )
    print(
        f"float torch: {1e3 * float_step:.2f} ms   analog ({args.device}): "
        f"{1e3 * analog_step:.2f} ms   ratio {analog_step / float_step:.2f}"
    )
    print("\n| tile (out × in) | forward ms | backward ms | update ms |")
    print("|---|---|---|---|")
    total = 0.0
    for shape in sorted({(o, i) for o, i, _ in timings}):
        row = [1e3 * timings[(shape[0], shape[1], op)] / measured for op in OPS]
        total += sum(row)
        print(f"| {shape[0]} × {shape[1]} | {row[0]:.2f} | {row[1]:.2f} | {row[2]:.2f} |")
    print(
        f"\ntile calls: {total:.2f} ms of {1e3 * analog_step:.2f} ms per step; the rest is "
        f"torch (unfold, activations, autograd) and Python"
    )


if __name__ == "__main__":
    main()
