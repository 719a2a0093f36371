"""Inference on PCM: train LeNet5 in floating point on MNIST, convert it to analog inference tiles,
optionally fine-tune it hardware-aware (and, as a control, as long without the weight noise),
then program it into PCM and measure the test accuracy at t = 1 s, 1 h, 1 day and 1 year after
programming, with and without global drift compensation, over several noise seeds (mean ± std).
Writes a JSON file and a PNG of accuracy vs time.

    python -m rpusim.examples.inference_pcm [--data-dir DIR] [--download] [--float-epochs 3]
        [--hwa-epochs 1] [--seeds 5] [--times 1,3600,86400,31536000] [--limit N] [--test-limit N]
        [--out DIR]

Data and output folders as in ``rpusim.examples.lenet5`` (``--data-dir``, else ``$RPUSIM_DATA``,
else ``./data``; results in ``--out``, default ``runs/``).

The analog config is the reference's default ``InferenceRPUConfig`` (7-bit DAC, 9-bit ADC,
output noise 0.06, ``PCMLikeNoiseModel`` at g_max 25 µS) with channel-wise remapping of the
weights to ±1 (the factors become digital output scales, so the crossbar uses its full
conductance range). Hardware-aware fine-tuning adds Gaussian weight noise (``ADD_NORMAL``,
``--hwa-std`` of the largest weight) to every training forward.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from rpusim.configs import (
    InferenceRPUConfig,
    WeightModifierParameter,
    WeightModifierType,
    WeightRemapParameter,
    WeightRemapType,
)
from rpusim.examples.common import (
    DEFAULT_OUT,
    add_data_arguments,
    add_thread_argument,
    load_data,
    set_torch_threads,
)
from rpusim.examples.lenet5 import build_model
from rpusim.inference import GlobalDriftCompensation, PCMLikeNoiseModel
from rpusim.nn import AnalogSequential, analog_tiles, convert_to_analog
from rpusim.optim import AnalogSGD

TIME_LABELS = {1.0: "1 s", 3600.0: "1 h", 86400.0: "1 day", 31536000.0: "1 year"}


def inference_config(hwa_std: float, compensate: bool) -> InferenceRPUConfig:
    """The deployment config; ``hwa_std`` > 0 adds the training-time weight noise."""
    modifier = WeightModifierParameter()
    if hwa_std > 0:
        modifier = WeightModifierParameter(type=WeightModifierType.ADD_NORMAL, std_dev=hwa_std)
    return InferenceRPUConfig(
        noise_model=PCMLikeNoiseModel(),
        drift_compensation=GlobalDriftCompensation() if compensate else None,
        remap=WeightRemapParameter(type=WeightRemapType.CHANNELWISE_SYMMETRIC),
        modifier=modifier,
    )


def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    correct = 0
    with torch.no_grad():
        for k in range(0, len(y), batch):
            correct += int((model(x[k : k + batch]).argmax(1) == y[k : k + batch]).sum())
    return correct / len(y)


def train(
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int,
    batch: int,
    seed: int,
    label: str,
) -> list[float]:
    """Plain epochs of cross-entropy training; the seconds per epoch."""
    loss_fn = nn.NLLLoss()
    order_gen = torch.Generator().manual_seed(seed)
    seconds = []
    for epoch in range(1, epochs + 1):
        model.train()
        start = time.perf_counter()
        order = torch.randperm(len(y), generator=order_gen)
        total = 0.0
        for k in range(0, len(order), batch):
            idx = order[k : k + batch]
            optimizer.zero_grad()
            loss = loss_fn(model(x[idx]), y[idx])
            loss.backward()
            optimizer.step()
            total += float(loss.detach()) * len(idx)
        seconds.append(time.perf_counter() - start)
        print(
            f"{label} epoch {epoch}: train loss {total / len(order):.4f} ({seconds[-1]:.1f} s)",
            flush=True,
        )
    return seconds


def to_inference(float_model: nn.Module, hwa_std: float, compensate: bool) -> AnalogSequential:
    """The float model on inference tiles, weights remapped to ±1 per output channel."""
    analog = convert_to_analog(copy.deepcopy(float_model), inference_config(hwa_std, compensate))
    assert isinstance(analog, AnalogSequential)
    analog.remap_analog_weights()
    return analog


def drift_sweep(
    model: AnalogSequential,
    times: list[float],
    seeds: list[int],
    x: torch.Tensor,
    y: torch.Tensor,
) -> dict[str, dict[str, Any]]:
    """Per time: mean and std of the accuracy over the seeds (programming per seed; each time
    read from the same programmed state)."""
    results: dict[float, list[float]] = {t: [] for t in times}
    for seed in seeds:
        torch.manual_seed(seed)
        model.eval()
        model.program_analog_weights()
        for t in times:
            model.drift_analog_weights(t)
            results[t].append(accuracy(model, x, y))
    return {
        f"{t:g}": {
            "mean": statistics.fmean(v),
            "std": statistics.stdev(v) if len(v) > 1 else 0.0,
            "runs": v,
        }
        for t, v in results.items()
    }


def save_plot(summary: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot (pip install 'rpusim[plot]')")
        return False
    fig, ax = plt.subplots(figsize=(6.4, 4.2))
    styles = {
        "float_to_analog": ("converted float", "tab:blue"),
        "fine_tuned_no_noise": ("fine-tuned, no weight noise", "tab:green"),
        "hwa": ("hardware-aware fine-tuned", "tab:red"),
    }
    for model_key, (name, color) in styles.items():
        if model_key not in summary["sweeps"]:
            continue
        for comp_key, line in (("compensated", "-"), ("uncompensated", "--")):
            sweep = summary["sweeps"][model_key][comp_key]
            times = [float(t) for t in sweep]
            means = [100 * sweep[t]["mean"] for t in sweep]
            stds = [100 * sweep[t]["std"] for t in sweep]
            ax.errorbar(
                times,
                means,
                yerr=stds,
                fmt=line + "o",
                color=color,
                capsize=3,
                label=f"{name}, {'global drift comp.' if line == '-' else 'no comp.'}",
            )
    ax.axhline(100 * summary["float_accuracy"], color="gray", lw=1, label="floating point")
    ax.set_xscale("log")
    ax.set_xlabel("time after programming (s)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(summary["label"])
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_data_arguments(parser)
    parser.add_argument("--float-epochs", type=int, default=3)
    parser.add_argument("--float-lr", type=float, default=0.05)
    parser.add_argument("--hwa-epochs", type=int, default=1, help="0: no fine-tuning")
    parser.add_argument("--hwa-lr", type=float, default=0.01)
    parser.add_argument("--hwa-std", type=float, default=0.06)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=5, help="noise seeds per time")
    parser.add_argument("--times", default="1,3600,86400,31536000", help="seconds, comma-separated")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N train images")
    parser.add_argument("--test-limit", type=int, default=0, help="only the first N test images")
    parser.add_argument(
        "--out", default=DEFAULT_OUT, help=f"folder for the JSON and PNG files ({DEFAULT_OUT})"
    )
    add_thread_argument(parser)
    args = parser.parse_args(argv)
    set_torch_threads(args.torch_threads)
    times = [float(t) for t in args.times.split(",")]
    if any(t < 0 for t in times):
        raise SystemExit("--times: times after programming must be >= 0")

    x_train, y_train, x_test, y_test = load_data(args)
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    if args.test_limit:
        x_test, y_test = x_test[: args.test_limit], y_test[: args.test_limit]
    label = f"inference_pcm_lenet5_{args.dataset}"

    torch.manual_seed(args.seed)
    float_model = build_model("float", None)
    float_seconds = train(
        float_model,
        torch.optim.SGD(float_model.parameters(), lr=args.float_lr, momentum=0.9),
        x_train,
        y_train,
        args.float_epochs,
        args.batch_size,
        args.seed,
        "float",
    )
    float_acc = accuracy(float_model, x_test, y_test)
    print(f"float accuracy {100 * float_acc:.2f}%", flush=True)

    seeds = list(range(args.seed * 1000, args.seed * 1000 + args.seeds))
    sweeps: dict[str, dict[str, Any]] = {}
    hwa_seconds: list[float] = []
    # The control fine-tunes as long on the same analog forward, without the weight noise: what
    # the noise adds, apart from the extra epochs.
    models = {"float_to_analog": (0, 0.0)}
    if args.hwa_epochs > 0:
        models["fine_tuned_no_noise"] = (args.hwa_epochs, 0.0)
        models["hwa"] = (args.hwa_epochs, args.hwa_std)
    for model_key, (hwa_epochs, hwa_std) in models.items():
        tuned = None
        if hwa_epochs:
            torch.manual_seed(args.seed)
            tuned = to_inference(float_model, hwa_std, True)
            optimizer = AnalogSGD(tuned.parameters(), lr=args.hwa_lr)
            optimizer.regroup_param_groups(tuned)
            seconds = train(
                tuned,
                optimizer,
                x_train,
                y_train,
                hwa_epochs,
                args.batch_size,
                args.seed,
                model_key,
            )
            if hwa_std > 0:
                hwa_seconds = seconds
        sweeps[model_key] = {}
        for comp_key, compensate in (("compensated", True), ("uncompensated", False)):
            if tuned is not None:
                model = copy.deepcopy(tuned)
                for tile in analog_tiles(model):
                    tile.rpu_config.drift_compensation = (  # type: ignore[union-attr]
                        GlobalDriftCompensation() if compensate else None
                    )
            else:
                model = to_inference(float_model, 0.0, compensate)
            start = time.perf_counter()
            sweeps[model_key][comp_key] = drift_sweep(model, times, seeds, x_test, y_test)
            cells = ", ".join(
                f"{TIME_LABELS.get(float(t), t + ' s')}: {100 * r['mean']:.2f}±"
                f"{100 * r['std']:.2f}%"
                for t, r in sweeps[model_key][comp_key].items()
            )
            print(
                f"{model_key} {comp_key}: {cells} ({time.perf_counter() - start:.1f} s)",
                flush=True,
            )

    summary = {
        "label": label,
        "args": vars(args),
        "torch": torch.__version__,
        "float_accuracy": float_acc,
        "float_seconds_per_epoch": float_seconds,
        "hwa_seconds_per_epoch": hwa_seconds,
        "sweeps": sweeps,
    }
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    (out / f"{label}.json").write_text(json.dumps(summary, indent=1))
    if save_plot(summary, out / f"{label}.png"):
        print(f"wrote {out / label}.json and .png")
    return summary


if __name__ == "__main__":
    main()
