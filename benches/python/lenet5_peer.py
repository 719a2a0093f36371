"""LeNet5 on a slice of MNIST in rpusim or in the reference simulator (aihwkit 1.1), the same
network, data, order, optimizer and preset in both, to compare accuracy and time per image on
short runs (a full 15-epoch Tiki-Taka run in aihwkit takes days on 2 cores).

    OMP_WAIT_POLICY=PASSIVE python benches/python/lenet5_peer.py --package rpusim \\
        --device tiki-taka-reram-sb --train 2000 --test 2000 --epochs 2
    OMP_WAIT_POLICY=PASSIVE /tmp/peer-aihwkit/bin/python benches/python/lenet5_peer.py \\
        --package aihwkit ...

Runs under either interpreter: the MNIST idx files are read here (no rpusim import for
aihwkit). The network is the one of ``rpusim.examples.lenet5``; batch 8, SGD lr 0.01, seed 1.
Prints one JSON line per epoch.
"""

from __future__ import annotations

import argparse
import gzip
import json
import struct
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

PRESETS = {
    "constant-step": None,
    "reram-sb": "ReRamSBPreset",
    "tiki-taka-reram-sb": "TikiTakaReRamSBPreset",
    "ttv2-reram-sb": "TTv2ReRamSBPreset",
    "c-ttv2-reram-sb": "ChoppedTTv2ReRamSBPreset",
    "agad-reram-sb": "AGADReRamSBPreset",
}


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, "rb") as f:
        data = f.read()
    dims = data[3]
    shape = struct.unpack(">" + "I" * dims, data[4 : 4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def load(root: Path, split: str, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    prefix = "train" if split == "train" else "t10k"
    for folder in (root / "mnist", root / "MNIST" / "raw", root):
        images = folder / f"{prefix}-images-idx3-ubyte.gz"
        if images.exists():
            x = read_idx(images)[:n].astype(np.float32) / 255.0
            y = read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz")[:n].astype(np.int64)
            return torch.from_numpy(x).unsqueeze(1), torch.from_numpy(y)
    raise SystemExit(f"MNIST {split} files not found under {root}")


def build(package: str, device: str) -> tuple[nn.Module, Any]:
    if package == "aihwkit":
        from aihwkit.nn import AnalogConv2d, AnalogLinear, AnalogSequential
        from aihwkit.optim import AnalogSGD
        from aihwkit.simulator import presets
        from aihwkit.simulator.configs import ConstantStepDevice, SingleRPUConfig
    else:
        from rpusim import presets  # type: ignore[no-redef]
        from rpusim.configs import (  # type: ignore[no-redef]
            ConstantStepDevice,
            SingleRPUConfig,
        )
        from rpusim.nn import (  # type: ignore[no-redef]
            AnalogConv2d,
            AnalogLinear,
            AnalogSequential,
        )
        from rpusim.optim import AnalogSGD  # type: ignore[no-redef]
    name = PRESETS[device]

    def config() -> Any:
        if name is None:
            return SingleRPUConfig(device=ConstantStepDevice())
        return getattr(presets, name)()

    model = AnalogSequential(
        AnalogConv2d(1, 16, 5, rpu_config=config()),
        nn.Tanh(),
        nn.MaxPool2d(2),
        AnalogConv2d(16, 32, 5, rpu_config=config()),
        nn.Tanh(),
        nn.MaxPool2d(2),
        nn.Tanh(),
        nn.Flatten(),
        AnalogLinear(512, 128, rpu_config=config()),
        nn.Tanh(),
        AnalogLinear(128, 10, rpu_config=config()),
        nn.LogSoftmax(dim=1),
    )
    return model, AnalogSGD


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", required=True, choices=["rpusim", "aihwkit"])
    parser.add_argument("--device", default="tiki-taka-reram-sb", choices=sorted(PRESETS))
    parser.add_argument("--train", type=int, default=2000)
    parser.add_argument("--test", type=int, default=2000)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    default_data = Path(__file__).resolve().parents[3] / "shared" / "data"
    parser.add_argument("--data-dir", type=Path, default=default_data)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    x_train, y_train = load(args.data_dir, "train", args.train)
    x_test, y_test = load(args.data_dir, "test", args.test)
    torch.manual_seed(args.seed)
    model, sgd = build(args.package, args.device)
    optimizer = sgd(model.parameters(), lr=0.01)
    optimizer.regroup_param_groups(model)
    loss_fn = nn.CrossEntropyLoss()
    order_gen = torch.Generator().manual_seed(args.seed)
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(len(y_train), generator=order_gen)
        running = 0.0
        for k in range(0, len(order), 8):
            idx = order[k : k + 8]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
            running += float(loss.detach()) * len(idx)
        seconds = time.perf_counter() - start
        model.eval()
        with torch.no_grad():
            correct = sum(
                int((model(x_test[k : k + 500]).argmax(1) == y_test[k : k + 500]).sum())
                for k in range(0, len(y_test), 500)
            )
        model.train()
        row = {
            "package": args.package,
            "device": args.device,
            "epoch": epoch,
            "train_loss": running / len(order),
            "accuracy": correct / len(y_test),
            "seconds_per_1000": 1000 * seconds / len(order),
        }
        print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
