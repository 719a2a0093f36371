"""Hardware-aware training of LeNet5 on MNIST in rpusim or in the reference simulator (aihwkit
1.1), with the settings of the reference's example 06 (hardware-aware LeNet5), then accuracy
after programming and drift.

    OMP_NUM_THREADS=1 PYTHONPATH=python python3 benches/python/hwa_lenet5_peer.py \\
        --package rpusim --epochs 1 --train 10000
    OMP_NUM_THREADS=1 PYTHONPATH=python /work/venvs/aihwkit/bin/python \\
        benches/python/hwa_lenet5_peer.py --package aihwkit --epochs 1 --train 10000

Config (both simulators): ``InferenceRPUConfig`` with ``pre_post.input_range.enable``, forward
noise and bound management NONE, out_bound 10, ``mapping.weight_scaling_omega`` 1,
``learn_out_scaling`` column-wise, digital bias, remap CHANNELWISE_SYMMETRIC, clip
LAYER_GAUSSIAN 2.5, modifier ADD_NORMAL 0.1, ``PCMLikeNoiseModel(g_max=25)``,
``GlobalDriftCompensation``; AnalogSGD lr 0.1, batch 50; seed 1; the same data and order
(MNIST idx files read with numpy, no simulator involved). After training: ``eval()``,
``program_analog_weights()``, and for t in 0, 1, 20, 1000, 1e5, 1e7 s ``drift_analog_weights(t)``
and the test accuracy, over ``--repeats`` programming seeds. Prints and (``--out``) merges one
JSON record per package into the output file.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rpusim.datasets import load as load_dataset

TIMES = [0.0, 1.0, 20.0, 1000.0, 1e5, 1e7]


def rpu_config(package: str) -> Any:
    if package == "aihwkit":
        from aihwkit.inference import GlobalDriftCompensation, PCMLikeNoiseModel
        from aihwkit.simulator.configs import InferenceRPUConfig
        from aihwkit.simulator.parameters.enums import (
            BoundManagementType,
            NoiseManagementType,
            WeightClipType,
            WeightModifierType,
            WeightRemapType,
        )
    else:
        from rpusim.configs import InferenceRPUConfig  # type: ignore[no-redef]
        from rpusim.configs.enums import (  # type: ignore[no-redef]
            BoundManagementType,
            NoiseManagementType,
            WeightClipType,
            WeightModifierType,
            WeightRemapType,
        )
        from rpusim.inference import (  # type: ignore[no-redef]
            GlobalDriftCompensation,
            PCMLikeNoiseModel,
        )
    config = InferenceRPUConfig()
    config.pre_post.input_range.enable = True
    config.forward.noise_management = NoiseManagementType.NONE
    config.forward.bound_management = BoundManagementType.NONE
    config.forward.out_bound = 10.0
    config.mapping.digital_bias = True
    config.mapping.weight_scaling_omega = 1.0
    config.mapping.learn_out_scaling = True
    config.mapping.out_scaling_columnwise = True
    config.remap.type = WeightRemapType.CHANNELWISE_SYMMETRIC
    config.clip.type = WeightClipType.LAYER_GAUSSIAN
    config.clip.sigma = 2.5
    config.modifier.type = WeightModifierType.ADD_NORMAL
    config.modifier.std_dev = 0.1
    config.noise_model = PCMLikeNoiseModel(g_max=25.0)
    config.drift_compensation = GlobalDriftCompensation()
    return config


def build(package: str) -> tuple[nn.Module, Any]:
    if package == "aihwkit":
        from aihwkit.nn import AnalogConv2d, AnalogLinear, AnalogSequential
        from aihwkit.optim import AnalogSGD
    else:
        from rpusim.nn import (  # type: ignore[no-redef]
            AnalogConv2d,
            AnalogLinear,
            AnalogSequential,
        )
        from rpusim.optim import AnalogSGD  # type: ignore[no-redef]
    model = AnalogSequential(
        AnalogConv2d(1, 16, 5, rpu_config=rpu_config(package)),
        nn.Tanh(),
        nn.MaxPool2d(2),
        AnalogConv2d(16, 32, 5, rpu_config=rpu_config(package)),
        nn.Tanh(),
        nn.MaxPool2d(2),
        nn.Tanh(),
        nn.Flatten(),
        AnalogLinear(512, 128, rpu_config=rpu_config(package)),
        nn.Tanh(),
        AnalogLinear(128, 10, rpu_config=rpu_config(package)),
        nn.LogSoftmax(dim=1),
    )
    return model, AnalogSGD


def images(root: Path, train: bool, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first n MNIST images as float32 ``[n, 1, 28, 28]`` in [0, 1], and their labels."""
    x, y = load_dataset(root, "mnist", train=train)
    return (x[:n].to(torch.float32) / 255.0).unsqueeze(1), y[:n]


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    with torch.no_grad():
        correct = sum(
            int((model(x[k : k + 1000]).argmax(1) == y[k : k + 1000]).sum())
            for k in range(0, len(y), 1000)
        )
    return correct / len(y)


def input_ranges(model: nn.Module) -> list[float]:
    values = []
    for name, tensor in list(model.named_parameters()) + list(model.named_buffers()):
        if name.endswith("input_range"):
            values.append(float(tensor.detach().reshape(-1)[0]))
    return values


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", required=True, choices=["rpusim", "aihwkit"])
    parser.add_argument("--train", type=int, default=10000)
    parser.add_argument("--test", type=int, default=10000)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, default=None)
    default_data = Path(__file__).resolve().parents[3] / "shared" / "data"
    parser.add_argument("--data-dir", type=Path, default=default_data)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    x_train, y_train = images(args.data_dir, True, args.train)
    x_test, y_test = images(args.data_dir, False, args.test)
    torch.manual_seed(args.seed)
    model, sgd = build(args.package)
    optimizer = sgd(model.parameters(), lr=0.1)
    optimizer.regroup_param_groups(model)
    loss_fn = nn.NLLLoss()
    order_gen = torch.Generator().manual_seed(args.seed)
    epochs = []
    start = time.perf_counter()
    for epoch in range(1, args.epochs + 1):
        model.train()
        order = torch.randperm(len(y_train), generator=order_gen)
        running = 0.0
        for k in range(0, len(order), 50):
            idx = order[k : k + 50]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
            running += float(loss.detach()) * len(idx)
        model.eval()
        epochs.append(
            {
                "epoch": epoch,
                "train_loss": running / len(order),
                "test_accuracy_before_programming": accuracy(model, x_test, y_test),
                "input_ranges": input_ranges(model),
            }
        )
        print(json.dumps(epochs[-1]), flush=True)
    train_seconds = time.perf_counter() - start
    model.eval()
    drift: dict[str, list[float]] = {str(t): [] for t in TIMES}
    for repeat in range(args.repeats):
        torch.manual_seed(1000 + repeat)
        model.program_analog_weights()
        for t in TIMES:
            model.drift_analog_weights(t)
            drift[str(t)].append(accuracy(model, x_test, y_test))
    record = {
        "package": args.package,
        "version": __import__(args.package).__version__,
        "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "epochs": epochs,
        "train_seconds": train_seconds,
        "drift_accuracy": {
            t: {
                "mean": statistics.mean(v),
                "std": statistics.pstdev(v),
                "values": v,
            }
            for t, v in drift.items()
        },
        "total_seconds": time.perf_counter() - start,
    }
    print(json.dumps(record), flush=True)
    if args.out is not None:
        existing = json.loads(args.out.read_text()) if args.out.exists() else {}
        existing[args.package] = record
        args.out.write_text(json.dumps(existing, indent=1) + "\n")


if __name__ == "__main__":
    main()
