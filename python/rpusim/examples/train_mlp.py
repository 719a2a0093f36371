"""Train an analog MLP on scikit-learn's bundled 8×8 digits (offline) and print the test
accuracy after every epoch.

    python -m rpusim.examples.train_mlp [--epochs 30] [--device constant-step|ideal|float]
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import nn
from tqdm import tqdm

from rpusim.configs import (
    ConstantStepDevice,
    FloatingPointRPUConfig,
    IdealDevice,
    SingleRPUConfig,
)
from rpusim.examples.common import add_thread_argument, set_torch_threads
from rpusim.nn import AnalogLinear, AnalogSequential
from rpusim.optim import AnalogSGD


def load_digits_split(seed: int = 0) -> tuple[torch.Tensor, ...]:
    """1437 training and 360 test images (stratified), pixels scaled to [0, 1]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    x = torch.tensor(data.data, dtype=torch.float32) / 16.0
    y = torch.tensor(data.target, dtype=torch.int64)
    idx_train, idx_test = train_test_split(
        torch.arange(len(y)).numpy(), test_size=0.2, random_state=seed, stratify=y.numpy()
    )
    return x[idx_train], y[idx_train], x[idx_test], y[idx_test]


def make_config(device: str):  # noqa: ANN201
    if device == "constant-step":
        return SingleRPUConfig(device=ConstantStepDevice())
    if device == "ideal":
        return SingleRPUConfig(device=IdealDevice())
    if device == "float":
        return FloatingPointRPUConfig()
    raise SystemExit(f"--device: unknown device {device!r}")


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    with torch.no_grad():
        pred = model(x).argmax(dim=1)
    model.train()
    return float((pred == y).float().mean())


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--batch-size", type=int, default=10)
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument(
        "--device", default="constant-step", choices=["constant-step", "ideal", "float"]
    )
    parser.add_argument("--seed", type=int, default=1)
    add_thread_argument(parser)
    args = parser.parse_args(argv)
    set_torch_threads(args.torch_threads)

    torch.manual_seed(args.seed)
    x_train, y_train, x_test, y_test = load_digits_split()
    config = make_config(args.device)
    model = AnalogSequential(
        AnalogLinear(64, args.hidden, rpu_config=config),
        nn.Sigmoid(),
        AnalogLinear(args.hidden, 10, rpu_config=config),
    )
    optimizer = AnalogSGD(model.parameters(), lr=args.lr)
    optimizer.regroup_param_groups(model)
    loss_fn = nn.CrossEntropyLoss()
    print(
        f"analog MLP 64-{args.hidden}-10 on sklearn digits, {args.device}, "
        f"lr {args.lr}, batch {args.batch_size}, {args.epochs} epochs"
    )

    accuracy = 0.0
    for epoch in range(1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(len(y_train))
        total = 0.0
        batches = range(0, len(order), args.batch_size)
        for b in tqdm(batches, desc=f"epoch {epoch:2d}", leave=False, unit="batch"):
            idx = order[b : b + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        accuracy = evaluate(model, x_test, y_test)
        tqdm.write(
            f"epoch {epoch:2d}  train loss {total / len(order):.4f}  "
            f"test accuracy {100 * accuracy:.2f}%  ({time.perf_counter() - start:.2f} s)"
        )
    print(f"final test accuracy {100 * accuracy:.2f}%")
    return accuracy


if __name__ == "__main__":
    main()
