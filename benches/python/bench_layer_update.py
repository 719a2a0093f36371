"""One LeNet5 layer's tile call on (x, d) pairs recorded from MNIST training: 40 training steps
record the layer's pairs, then the last 20 are replayed through ``tile.update`` (or the forward /
backward pass) and the median call time is printed. Isolates one layer's update from torch and
Python; convolution layers carry many short vectors (conv1: 4 608 per step, mostly zeros).

    RAYON_NUM_THREADS=1 python benches/python/bench_layer_update.py 32x400 update [--calls 400]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path
from typing import Any

import torch

from rpusim.datasets import MNIST
from rpusim.examples.lenet5 import build_model
from rpusim.optim import AnalogSGD
from rpusim.optim.context import AnalogContext

SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def record_pairs(
    shape: tuple[int, int], data_dir: str
) -> list[tuple[Any, torch.Tensor, torch.Tensor]]:
    """(tile, x, d) of every update of the layer with tile shape ``shape`` in 40 training steps."""
    torch.manual_seed(1)
    model = build_model("constant-step", None)
    opt = AnalogSGD(model.parameters(), lr=0.01)
    opt.regroup_param_groups(model)
    x, y = MNIST(data_dir, train=True).tensors()
    loss_fn = torch.nn.CrossEntropyLoss()
    pairs = []
    original = AnalogContext.record

    def record(self: AnalogContext, x_flat: torch.Tensor, d_flat: torch.Tensor) -> None:
        tile = self.analog_tile
        if (tile.out_size, tile.in_size) == shape:
            pairs.append((tile, x_flat.clone(), d_flat.clone()))
        original(self, x_flat, d_flat)

    AnalogContext.record = record  # type: ignore[method-assign]
    try:
        for k in range(40):
            opt.zero_grad()
            loss_fn(model(x[k * 8 : (k + 1) * 8]), y[k * 8 : (k + 1) * 8]).backward()
            opt.step()
    finally:
        AnalogContext.record = original  # type: ignore[method-assign]
    return pairs[-20:]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("shape", help="tile shape OUTxIN: 16x25, 32x400, 128x512, 10x128")
    parser.add_argument("op", choices=("update", "forward", "backward"))
    parser.add_argument("--calls", type=int, default=400)
    parser.add_argument("--data-dir", default=os.environ.get("RPUSIM_DATA", str(SHARED_DATA)))
    args = parser.parse_args()
    out_size, in_size = (int(v) for v in args.shape.split("x"))
    pairs = record_pairs((out_size, in_size), args.data_dir)
    if not pairs:
        raise SystemExit(f"no LeNet5 layer has a {args.shape} tile")
    tile = pairs[0][0]
    times = []
    for call in range(args.calls):
        _, x, d = pairs[call % len(pairs)]
        start = time.perf_counter()
        if args.op == "update":
            tile.update(x, d, 0.01)
        elif args.op == "forward":
            tile.forward_saturated(x)
        else:
            tile.backward(d)
        times.append(time.perf_counter() - start)
    print(f"{args.shape} {args.op}: median {1e3 * statistics.median(times):.3f} ms per call")


if __name__ == "__main__":
    main()
