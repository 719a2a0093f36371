"""Train the LeNet5-like network of the reference simulator's notebook on MNIST with analog
convolutions and linear layers, and report train loss, test loss, test error and accuracy per
epoch (plus a JSON file and a PNG of the curves).

    python -m rpusim.examples.lenet5 --device constant-step --epochs 15 [--data-dir DIR]
        [--dataset mnist|fashion-mnist] [--download] [--backend cpu|gpu] [--limit N]
        [--out DIR] [--checkpoint FILE]

The data folder is ``--data-dir``, else ``$RPUSIM_DATA``, else ``./data``; ``--download`` fetches
missing files into it. Results go to ``--out`` (default ``runs/``).

With ``--checkpoint FILE`` the full training state (weights, hidden arrays, device parameters,
RNG positions, data order, history) is saved after every epoch and a rerun resumes from it: a run
split over several sessions gives the same numbers bit for bit as one that never stopped. The JSON
file is rewritten after every epoch, so a stopped run still leaves its finished epochs.

The network: AnalogConv2d(1, 16, 5), Tanh, MaxPool2d(2), AnalogConv2d(16, 32, 5), Tanh,
MaxPool2d(2), Tanh, Flatten, AnalogLinear(512, 128), Tanh, AnalogLinear(128, 10), LogSoftmax;
CrossEntropyLoss, AnalogSGD lr 0.01, batch 8, torch.manual_seed(1). ``--device float`` trains the
same network in plain torch layers (the floating-point reference, for timing and accuracy).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm import tqdm

from rpusim import presets
from rpusim.configs import (
    ConstantStepDevice,
    FloatingPointRPUConfig,
    SingleRPUConfig,
    SoftBoundsDevice,
)
from rpusim.datasets import default_root
from rpusim.examples.common import (
    DEFAULT_OUT,
    add_data_arguments,
    add_thread_argument,
    load_data,
    set_torch_threads,
)
from rpusim.nn import AnalogConv2d, AnalogLinear, AnalogSequential
from rpusim.optim import AnalogSGD

# --device choices: a config preset each (single devices, the one-sided PCM pair, the Tiki-Taka
# family on ReRAM and ECRAM, mixed precision); "float" trains plain torch layers.
CONFIGS: dict[str, Any] = {
    "constant-step": lambda: SingleRPUConfig(device=ConstantStepDevice()),
    "soft-bounds": lambda: SingleRPUConfig(device=SoftBoundsDevice()),
    "idealized": presets.IdealizedPreset,
    "gokmen-vlasov": presets.GokmenVlasovPreset,
    "capacitor": presets.CapacitorPreset,
    "ecram": presets.EcRamPreset,
    "ecram-mo": presets.EcRamMOPreset,
    "reram-es": presets.ReRamESPreset,
    "reram-sb": presets.ReRamSBPreset,
    "pcm": presets.PCMPreset,
    "tiki-taka-reram-sb": presets.TikiTakaReRamSBPreset,
    "ttv2-reram-sb": presets.TTv2ReRamSBPreset,
    "c-ttv2-reram-sb": presets.ChoppedTTv2ReRamSBPreset,
    "agad-reram-sb": presets.AGADReRamSBPreset,
    "mixed-precision-reram-sb": presets.MixedPrecisionReRamSBPreset,
    "tiki-taka-ecram": presets.TikiTakaEcRamPreset,
    "c-ttv2-ecram": presets.ChoppedTTv2EcRamPreset,
    "floating-point": FloatingPointRPUConfig,
}
DEVICES = (*CONFIGS, "float")


def default_data_dir() -> str:
    """``$RPUSIM_DATA``, else ``data``: where ``--data-dir`` points when not given."""
    return str(default_root())


def make_config(device: str) -> Any:
    if device not in CONFIGS:
        raise SystemExit(f"--device: unknown device {device!r} (choices: {', '.join(DEVICES)})")
    return CONFIGS[device]()


def build_model(device: str, backend: str | None) -> nn.Module:
    conv1: nn.Module
    conv2: nn.Module
    fc1: nn.Module
    fc2: nn.Module
    if device == "float":
        conv1, conv2 = nn.Conv2d(1, 16, 5), nn.Conv2d(16, 32, 5)
        fc1, fc2 = nn.Linear(512, 128), nn.Linear(128, 10)
    else:
        config = make_config(device)
        conv1 = AnalogConv2d(1, 16, 5, rpu_config=config, backend=backend)
        conv2 = AnalogConv2d(16, 32, 5, rpu_config=config, backend=backend)
        fc1 = AnalogLinear(512, 128, rpu_config=config, backend=backend)
        fc2 = AnalogLinear(128, 10, rpu_config=config, backend=backend)
    return AnalogSequential(
        conv1,
        nn.Tanh(),
        nn.MaxPool2d(2),
        conv2,
        nn.Tanh(),
        nn.MaxPool2d(2),
        nn.Tanh(),
        nn.Flatten(),
        fc1,
        nn.Tanh(),
        fc2,
        nn.LogSoftmax(dim=1),
    )


def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int) -> tuple[float, float]:
    """(mean loss, accuracy) on a test set."""
    loss_fn = nn.CrossEntropyLoss(reduction="sum")
    model.eval()
    total, correct = 0.0, 0
    with torch.no_grad():
        for k in range(0, len(y), batch):
            out = model(x[k : k + batch])
            total += float(loss_fn(out, y[k : k + batch]))
            correct += int((out.argmax(1) == y[k : k + batch]).sum())
    model.train()
    return total / len(y), correct / len(y)


def save_plot(history: list[dict[str, float]], title: str, path: Path) -> bool:
    try:
        from rpusim.plot import plot_training_curves

        plot_training_curves(history, title, str(path))
    except ImportError:
        print("matplotlib is not installed: no plot (pip install 'rpusim[plot]')")
        return False
    return True


# Arguments that change the trajectory: a checkpoint only resumes a run that agrees on all of them.
RUN_DEFINING = ("device", "batch_size", "lr", "seed", "dataset", "limit", "backend")


def write_summary(
    out: Path, label: str, args: argparse.Namespace, history: list[dict[str, float]]
) -> None:
    out.mkdir(parents=True, exist_ok=True)
    summary = {"args": vars(args), "torch": torch.__version__, "history": history}
    (out / f"{label}.json").write_text(json.dumps(summary, indent=1))


def save_checkpoint(
    path: Path,
    args: argparse.Namespace,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    order_gen: torch.Generator,
    history: list[dict[str, float]],
) -> None:
    state = {
        "run": {key: getattr(args, key) for key in RUN_DEFINING},
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "torch_rng": torch.get_rng_state(),
        "order_rng": order_gen.get_state(),
        "history": history,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    torch.save(state, partial)
    partial.replace(path)  # never leave a half-written checkpoint behind


def resume(
    path: Path,
    args: argparse.Namespace,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    order_gen: torch.Generator,
) -> list[dict[str, float]]:
    state = torch.load(path, weights_only=False)
    run = {key: getattr(args, key) for key in RUN_DEFINING}
    if state["run"] != run:
        raise ValueError(f"checkpoint {path} is of another run: {state['run']} != {run}")
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    torch.set_rng_state(state["torch_rng"])
    order_gen.set_state(state["order_rng"])
    return list(state["history"])


def main(argv: list[str] | None = None) -> list[dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="constant-step", choices=DEVICES)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--lr", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=1)
    add_data_arguments(parser)
    parser.add_argument("--backend", default=None, choices=["cpu", "gpu"])
    parser.add_argument("--limit", type=int, default=0, help="use only the first N train images")
    parser.add_argument(
        "--out", default=DEFAULT_OUT, help=f"folder for the JSON and PNG files ({DEFAULT_OUT})"
    )
    parser.add_argument("--no-progress", action="store_true")
    parser.add_argument("--checkpoint", default=None, help="save after every epoch; resume from it")
    add_thread_argument(parser)
    args = parser.parse_args(argv)
    set_torch_threads(args.torch_threads)

    x_train, y_train, x_test, y_test = load_data(args)
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]

    torch.manual_seed(args.seed)
    model = build_model(args.device, args.backend)
    if args.device == "float":
        optimizer: torch.optim.Optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    else:
        optimizer = AnalogSGD(model.parameters(), lr=args.lr)
        optimizer.regroup_param_groups(model)
    loss_fn = nn.CrossEntropyLoss()
    order_gen = torch.Generator().manual_seed(args.seed)
    history: list[dict[str, float]] = []
    label = f"lenet5_{args.dataset}_{args.device}"
    print(f"{label}: {len(y_train)} train / {len(y_test)} test images, batch {args.batch_size}")
    checkpoint = Path(args.checkpoint) if args.checkpoint else None
    if checkpoint is not None and checkpoint.exists():
        history = resume(checkpoint, args, model, optimizer, order_gen)
        print(f"resumed from {checkpoint} after epoch {len(history)}")
    out = Path(args.out)
    for epoch in range(len(history) + 1, args.epochs + 1):
        start = time.perf_counter()
        order = torch.randperm(len(y_train), generator=order_gen)
        running = 0.0
        batches = range(0, len(order), args.batch_size)
        bar = tqdm(batches, desc=f"epoch {epoch}", disable=args.no_progress, leave=False)
        for k in bar:
            idx = order[k : k + args.batch_size]
            optimizer.zero_grad()
            loss = loss_fn(model(x_train[idx]), y_train[idx])
            loss.backward()
            optimizer.step()
            running += float(loss.detach()) * len(idx)
        train_time = time.perf_counter() - start
        test_loss, accuracy = evaluate(model, x_test, y_test, 1000)
        row = {
            "epoch": epoch,
            "train_loss": running / len(order),
            "test_loss": test_loss,
            "test_error": 1.0 - accuracy,
            "accuracy": accuracy,
            "train_seconds": train_time,
            "seconds_per_1000": 1000 * train_time / len(order),
        }
        history.append(row)
        print(
            f"epoch {epoch:2d}  train loss {row['train_loss']:.4f}  test loss {test_loss:.4f}  "
            f"test error {100 * row['test_error']:.2f}%  accuracy {100 * accuracy:.2f}%  "
            f"({train_time:.1f} s, {row['seconds_per_1000']:.2f} s / 1000 images)",
            flush=True,
        )
        write_summary(out, label, args, history)
        if checkpoint is not None:
            save_checkpoint(checkpoint, args, model, optimizer, order_gen, history)
    write_summary(out, label, args, history)
    if save_plot(history, label, out / f"{label}.png"):
        print(f"wrote {out / label}.json and .png")
    return history


if __name__ == "__main__":
    main()
