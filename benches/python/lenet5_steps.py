"""Median wall and CPU time of a LeNet5 training step on MNIST (batch 8, the first images in
order), without per-layer timers: the A/B measurement between builds (run it with each build's
Python, alternating). Set the thread counts in the environment, e.g. one thread:

    RAYON_NUM_THREADS=1 OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE \
        python benches/python/lenet5_steps.py constant-step --steps 400
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import torch

from rpusim.datasets import MNIST
from rpusim.examples.lenet5 import build_model
from rpusim.optim import AnalogSGD

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("device", help="a device of rpusim.examples.lenet5, or float")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--data-dir", default=os.environ.get("RPUSIM_DATA", str(SHARED_DATA)))
    args = parser.parse_args()
    torch.manual_seed(1)
    model = build_model(args.device, None)
    if args.device == "float":
        opt: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    else:
        opt = AnalogSGD(model.parameters(), lr=0.01)
        opt.regroup_param_groups(model)
    x, y = MNIST(args.data_dir, train=True).tensors()
    loss_fn = torch.nn.CrossEntropyLoss()
    wall, cpu = [], []
    for k in range(args.steps):
        w0, c0 = time.perf_counter(), time.process_time()
        opt.zero_grad()
        loss_fn(model(x[k * 8 : (k + 1) * 8]), y[k * 8 : (k + 1) * 8]).backward()
        opt.step()
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    skip = args.steps // 5  # warm-up

    def median_ms(values: list[float]) -> float:
        return 1e3 * statistics.median(values[skip:])

    print(f"{args.device}: wall {median_ms(wall):.2f} ms, cpu {median_ms(cpu):.2f} ms per step")


if __name__ == "__main__":
    main()
