"""End-to-end PCM inference comparison of rpusim with the reference simulator (IBM aihwkit 1.1.0)
on LeNet5 / MNIST: accuracy after programming and drift, with and without drift compensation.

What it does:

1. Trains ONE floating-point LeNet5 exactly as ``rpusim.examples.inference_pcm`` does
   (``build_model("float")``, SGD lr 0.05 momentum 0.9, batch 32, seed 1) and reports its test
   accuracy.
2. Converts copies of that float model in both simulators with the equivalent config: the
   reference's default ``InferenceRPUConfig`` (default forward ``IOParameters``,
   ``PCMLikeNoiseModel()``, ``GlobalDriftCompensation()`` or ``drift_compensation=None``) and the
   weights remapped to max|w| = 1 per output row, the factor kept as a digital output scale.

   * rpusim: ``remap=WeightRemapParameter(type=CHANNELWISE_SYMMETRIC)`` and
     ``model.remap_analog_weights()`` (the example's ``to_inference``).
   * aihwkit: ``mapping.weight_scaling_omega = 1.0`` with
     ``mapping.weight_scaling_columnwise = True``. ``convert_to_analog`` sets the weights with
     ``apply_weight_scaling=True``, which divides every output row by its max|w| (ω = 1) and keeps
     that max as the per-output mapping scale, multiplied onto the tile output digitally
     (``TileWithPeriphery.apply_weight_scaling`` / ``post_forward``);
     ``model.remap_analog_weights()`` (ω = 1, column-wise from the mapping) is then called as in
     rpusim and re-applies the same scaling (idempotent). ``remap`` is also set to
     ``CHANNELWISE_SYMMETRIC`` so that the configs read the same, but in aihwkit it only acts in
     ``post_update_step`` (training), which is never called here.

   Right after conversion, copies with ``forward.is_perfect = True`` in both simulators are
   checked against the float model's outputs (and the two analog weight/scale sets against each
   other).
3. For each simulator × {compensated, uncompensated} and seeds 1000 … 1000+n−1:
   ``torch.manual_seed(seed)``; ``model.eval()``; ``program_analog_weights()``; then for
   t = 1 s, 1 h, 1 day, 1 year: ``drift_analog_weights(t)`` and the test accuracy (batches of
   1000); mean ± std over the seeds per t, and the mean drift-compensation α of the first tile.
   Both simulators draw the noise-model noise from torch's default generator in the same order,
   so the programmed/drifted weights of one seed are the same in both (checked for the first
   seed); the forward (periphery) noise uses each simulator's own RNG, so the accuracies agree
   only statistically.
4. Prints a table (rows: t; columns: rpusim comp, aihwkit comp, rpusim no-comp, aihwkit no-comp)
   and writes a JSON file (args, versions, float accuracy, conversion checks, sweeps, seconds
   per sweep).

Run from the repository root, in the reference's venv (rpusim needs only numpy and torch)::

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE PYTHONPATH=python /tmp/peer-aihwkit/bin/python \\
        benches/python/inference_peer.py --data-dir /work/shared/data [--float-epochs 3] \\
        [--seeds 5] [--test-limit 2000] [--out results/inference_peer_lenet5_mnist.json]
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import time
from pathlib import Path
from typing import Any, Callable

import torch
from torch import Tensor, nn

import rpusim
from rpusim.configs import (
    InferenceRPUConfig,
    IOParameters,
    WeightRemapParameter,
    WeightRemapType,
)
from rpusim.datasets import MNIST
from rpusim.examples.inference_pcm import accuracy, train
from rpusim.examples.lenet5 import build_model, default_data_dir
from rpusim.inference import GlobalDriftCompensation, PCMLikeNoiseModel
from rpusim.nn import AnalogSequential, analog_tiles, convert_to_analog

TIME_LABELS = {1.0: "1 s", 3600.0: "1 h", 86400.0: "1 day", 31536000.0: "1 year"}
SIMULATORS = ("rpusim", "aihwkit")
COMPENSATIONS = (("compensated", True), ("uncompensated", False))


# ---------------------------------------------------------------------------------------------
# Conversion in both simulators
# ---------------------------------------------------------------------------------------------


def rpusim_model(float_model: nn.Module, compensate: bool, perfect: bool = False) -> nn.Module:
    """The float model on rpusim inference tiles, rows remapped to max|w| = 1 (the example's
    ``to_inference``; ``perfect`` makes the forward periphery ideal)."""
    config = InferenceRPUConfig(
        forward=IOParameters(is_perfect=perfect),
        noise_model=PCMLikeNoiseModel(),
        drift_compensation=GlobalDriftCompensation() if compensate else None,
        remap=WeightRemapParameter(type=WeightRemapType.CHANNELWISE_SYMMETRIC),
    )
    model = convert_to_analog(copy.deepcopy(float_model), config)
    assert isinstance(model, AnalogSequential)
    model.remap_analog_weights()
    return model


def aihwkit_model(float_model: nn.Module, compensate: bool, perfect: bool = False) -> nn.Module:
    """The float model on aihwkit inference tiles with per-output-row weight scaling to
    max|w| = 1 (ω = 1, column-wise), the scales applied digitally to the outputs."""
    from aihwkit.inference import GlobalDriftCompensation as AhGlobalDriftCompensation
    from aihwkit.inference import PCMLikeNoiseModel as AhPCMLikeNoiseModel
    from aihwkit.nn.conversion import convert_to_analog as ah_convert_to_analog
    from aihwkit.simulator.configs import InferenceRPUConfig as AhInferenceRPUConfig
    from aihwkit.simulator.configs import WeightRemapParameter as AhWeightRemapParameter
    from aihwkit.simulator.configs import WeightRemapType as AhWeightRemapType

    config = AhInferenceRPUConfig()
    config.forward.is_perfect = perfect
    config.noise_model = AhPCMLikeNoiseModel()
    config.drift_compensation = AhGlobalDriftCompensation() if compensate else None
    config.remap = AhWeightRemapParameter(type=AhWeightRemapType.CHANNELWISE_SYMMETRIC)
    config.mapping.weight_scaling_omega = 1.0
    config.mapping.weight_scaling_columnwise = True
    # A plain torch Sequential of (copies of) the same layers: aihwkit converts it to its own
    # AnalogSequential.
    plain = nn.Sequential(*(copy.deepcopy(layer) for layer in float_model.children()))
    model = ah_convert_to_analog(plain, config)
    model.remap_analog_weights()
    return model


def tiles_of(simulator: str, model: nn.Module) -> list[Any]:
    """The analog tiles of a converted model, in layer order."""
    if simulator == "rpusim":
        return list(analog_tiles(model))
    return list(model.analog_tiles())  # type: ignore[operator]


def tile_state(simulator: str, tile: Any) -> tuple[Tensor, Tensor]:
    """(weights the array holds [out, in] without the digital scales, output scales [out])."""
    if simulator == "rpusim":
        weights = tile.drifted_weights if tile.drifted_weights is not None else tile.stored_weights
        return weights.detach().clone(), tile.mapping_scales.detach().clone()
    weights, _ = tile.get_weights(apply_weight_scaling=False)
    return weights.detach().clone(), tile.get_scales().detach().flatten().clone()


def time_key(t: float) -> str:
    """A JSON key for a time in seconds: '31536000', not '3.1536e+07'."""
    return str(int(t)) if float(t).is_integer() else repr(float(t))


def max_abs(a: Tensor, b: Tensor) -> float:
    return float((a.double() - b.double()).abs().max())


def conversion_checks(float_model: nn.Module, x: Tensor) -> dict[str, Any]:
    """With ``forward.is_perfect = True``: each analog model's outputs vs the float model's, the
    weights/scales of the two simulators vs each other, and max|w| per row of the arrays."""
    float_model.eval()
    with torch.no_grad():
        reference = float_model(x)
    checks: dict[str, Any] = {
        "n_images": len(x),
        "max_abs_float_output": float(reference.abs().max()),
    }
    perfect = {
        "rpusim": rpusim_model(float_model, True, perfect=True),
        "aihwkit": aihwkit_model(float_model, True, perfect=True),
    }
    for simulator, model in perfect.items():
        model.eval()
        with torch.no_grad():
            out = model(x)
        tiles = tiles_of(simulator, model)
        row_max = [float(tile_state(simulator, t)[0].abs().amax(1).max()) for t in tiles]
        row_min = [float(tile_state(simulator, t)[0].abs().amax(1).min()) for t in tiles]
        checks[simulator] = {
            "max_abs_diff_vs_float": max_abs(out, reference),
            "same_predictions": bool(torch.equal(out.argmax(1), reference.argmax(1))),
            "n_tiles": len(tiles),
            "row_max_abs_w": {"max": max(row_max), "min": min(row_min)},
            "scale_shapes": [list(tile_state(simulator, t)[1].shape) for t in tiles],
        }
    weight_diff, scale_diff = 0.0, 0.0
    for ours, ref in zip(
        tiles_of("rpusim", perfect["rpusim"]), tiles_of("aihwkit", perfect["aihwkit"])
    ):
        (w_ours, s_ours), (w_ref, s_ref) = tile_state("rpusim", ours), tile_state("aihwkit", ref)
        weight_diff = max(weight_diff, max_abs(w_ours, w_ref))
        scale_diff = max(scale_diff, max_abs(s_ours, s_ref))
    checks["rpusim_vs_aihwkit"] = {
        "max_abs_diff_weights": weight_diff,
        "max_abs_diff_scales": scale_diff,
    }
    return checks


# ---------------------------------------------------------------------------------------------
# Drift sweeps
# ---------------------------------------------------------------------------------------------


def first_alpha(simulator: str, model: nn.Module) -> float | None:
    """The drift-compensation output scale α of the first tile (None: none)."""
    tile = tiles_of(simulator, model)[0]
    if tile.rpu_config.drift_compensation is None:
        return None
    alpha = getattr(tile, "alpha", None)
    return None if alpha is None else float(torch.as_tensor(alpha).flatten()[0])


def drift_sweep(
    simulator: str,
    model: nn.Module,
    times: list[float],
    seeds: list[int],
    x: Tensor,
    y: Tensor,
    on_first_program: Callable[[nn.Module], None] | None = None,
) -> dict[str, Any]:
    """Per time: accuracies over the seeds (one programming per seed, every time drifted from
    that programmed state) and the first tile's α."""
    acc: dict[float, list[float]] = {t: [] for t in times}
    alphas: dict[float, list[float]] = {t: [] for t in times}
    for k, seed in enumerate(seeds):
        torch.manual_seed(seed)
        model.eval()
        model.program_analog_weights()  # type: ignore[operator]
        for t in times:
            model.drift_analog_weights(t)  # type: ignore[operator]
            if k == 0 and t == times[0] and on_first_program is not None:
                on_first_program(model)
            alpha = first_alpha(simulator, model)
            if alpha is not None:
                alphas[t].append(alpha)
            acc[t].append(accuracy(model, x, y))
    out: dict[str, Any] = {}
    for t in times:
        runs = acc[t]
        out[time_key(t)] = {
            "mean": statistics.fmean(runs),
            "std": statistics.stdev(runs) if len(runs) > 1 else 0.0,
            "runs": runs,
            "alpha_first_tile_mean": statistics.fmean(alphas[t]) if alphas[t] else None,
            "alpha_first_tile_runs": alphas[t],
        }
    return out


def drifted_weights(simulator: str, model: nn.Module) -> list[Tensor]:
    return [tile_state(simulator, t)[0] for t in tiles_of(simulator, model)]


# ---------------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------------


def cell(result: dict[str, Any]) -> str:
    return f"{100 * result['mean']:6.2f}±{100 * result['std']:4.2f}"


def print_table(sweeps: dict[str, dict[str, Any]], times: list[float], float_acc: float) -> None:
    columns = [(sim, comp) for comp, _ in COMPENSATIONS for sim in SIMULATORS]
    names = [f"{sim} {'comp' if comp == 'compensated' else 'no-comp'}" for sim, comp in columns]
    print(f"\ntest accuracy (%), mean±std over seeds; float model {100 * float_acc:.2f}%")
    print(f"{'t':>7} | " + " | ".join(f"{n:>15}" for n in names))
    print("-" * (10 + 18 * len(names)))
    for t in times:
        key = time_key(t)
        label = TIME_LABELS.get(t, f"{key} s")
        cells = [cell(sweeps[sim][comp][key]) for sim, comp in columns]
        print(f"{label:>7} | " + " | ".join(f"{c:>15}" for c in cells))
    print("\nmean α of the first tile (compensated):")
    for t in times:
        key = time_key(t)
        parts = []
        for sim in SIMULATORS:
            alpha = sweeps[sim]["compensated"][key]["alpha_first_tile_mean"]
            parts.append(f"{sim} {alpha:.4f}" if alpha is not None else f"{sim} -")
        print(f"  {TIME_LABELS.get(t, key):>7}: " + ", ".join(parts))


def agreement(sweeps: dict[str, dict[str, Any]], times: list[float]) -> list[dict[str, Any]]:
    """Per compensation and time: the difference of the means, the larger std, the standard
    error of the difference, and whether |Δ| is within the larger std."""
    rows = []
    for comp, _ in COMPENSATIONS:
        for t in times:
            key = time_key(t)
            ours, ref = sweeps["rpusim"][comp][key], sweeps["aihwkit"][comp][key]
            n = len(ours["runs"])
            delta = ours["mean"] - ref["mean"]
            spread = max(ours["std"], ref["std"])
            stderr = ((ours["std"] ** 2 + ref["std"] ** 2) / max(n, 1)) ** 0.5
            rows.append(
                {
                    "compensation": comp,
                    "t": key,
                    "delta_mean": delta,
                    "max_std": spread,
                    "stderr_delta": stderr,
                    "within_std": abs(delta) <= spread,
                }
            )
    return rows


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", default=default_data_dir())
    parser.add_argument("--float-epochs", type=int, default=3)
    parser.add_argument("--float-lr", type=float, default=0.05)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--seeds", type=int, default=5, help="noise seeds per time")
    parser.add_argument("--times", default="1,3600,86400,31536000", help="seconds, comma-separated")
    parser.add_argument("--limit", type=int, default=0, help="use only the first N train images")
    parser.add_argument("--test-limit", type=int, default=2000, help="first N test images")
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--out", default="results/inference_peer_lenet5_mnist.json")
    args = parser.parse_args(argv)
    times = [float(t) for t in args.times.split(",")]
    torch.set_num_threads(args.threads)

    import aihwkit

    x_train, y_train = MNIST(args.data_dir, True, False).tensors()
    x_test, y_test = MNIST(args.data_dir, False, False).tensors()
    if args.limit:
        x_train, y_train = x_train[: args.limit], y_train[: args.limit]
    if args.test_limit:
        x_test, y_test = x_test[: args.test_limit], y_test[: args.test_limit]

    # 1. The float model, exactly as the example trains it.
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
    print(f"float accuracy {100 * float_acc:.2f}% ({len(y_test)} test images)", flush=True)

    # 2. Conversion check with ideal periphery.
    checks = conversion_checks(float_model, x_test[:1000])
    for simulator in SIMULATORS:
        c = checks[simulator]
        print(
            f"perfect forward {simulator}: max|out − float| = {c['max_abs_diff_vs_float']:.2e} "
            f"(max|float out| {checks['max_abs_float_output']:.1f}), "
            f"same predictions {c['same_predictions']}, {c['n_tiles']} tiles, row max|w| in "
            f"[{c['row_max_abs_w']['min']:.6f}, {c['row_max_abs_w']['max']:.6f}]",
            flush=True,
        )
    print(
        "rpusim vs aihwkit after conversion: max|Δw| = "
        f"{checks['rpusim_vs_aihwkit']['max_abs_diff_weights']:.2e}, max|Δscale| = "
        f"{checks['rpusim_vs_aihwkit']['max_abs_diff_scales']:.2e}",
        flush=True,
    )

    # 3. Drift sweeps.
    seeds = list(range(1000, 1000 + args.seeds))
    builders = {"rpusim": rpusim_model, "aihwkit": aihwkit_model}
    sweeps: dict[str, dict[str, Any]] = {sim: {} for sim in SIMULATORS}
    seconds: dict[str, dict[str, float]] = {sim: {} for sim in SIMULATORS}
    first_weights: dict[str, list[Tensor]] = {}
    for comp, compensate in COMPENSATIONS:
        for simulator in SIMULATORS:
            model = builders[simulator](float_model, compensate)

            def keep(m: nn.Module, sim: str = simulator, c: str = comp) -> None:
                if c == "compensated":
                    first_weights[sim] = drifted_weights(sim, m)

            start = time.perf_counter()
            sweeps[simulator][comp] = drift_sweep(
                simulator, model, times, seeds, x_test, y_test, keep
            )
            seconds[simulator][comp] = time.perf_counter() - start
            cells = ", ".join(
                f"{TIME_LABELS.get(float(t), t + ' s')}: {cell(r)}%"
                for t, r in sweeps[simulator][comp].items()
            )
            print(f"{simulator} {comp}: {cells} ({seconds[simulator][comp]:.1f} s)", flush=True)
    same_draws = max(
        max_abs(a, b) for a, b in zip(first_weights["rpusim"], first_weights["aihwkit"])
    )
    print(
        f"programmed+drifted weights (seed {seeds[0]}, t = {times[0]:g} s), rpusim vs aihwkit: "
        f"max|Δ| = {same_draws:.2e}"
    )

    # 4. Report.
    print_table(sweeps, times, float_acc)
    rows = agreement(sweeps, times)
    print("\nrpusim − aihwkit (percentage points): Δmean, max std, stderr of Δ, |Δ| ≤ max std")
    for r in rows:
        print(
            f"  {r['compensation']:>13} {TIME_LABELS.get(float(r['t']), r['t']):>7}: "
            f"{100 * r['delta_mean']:+6.2f}  {100 * r['max_std']:5.2f}  "
            f"{100 * r['stderr_delta']:5.2f}  {r['within_std']}"
        )
    print("\nseconds per sweep:")
    for simulator in SIMULATORS:
        parts = ", ".join(f"{comp} {s:.1f}" for comp, s in seconds[simulator].items())
        print(f"  {simulator}: {parts}")

    summary: dict[str, Any] = {
        "label": "inference_peer_lenet5_mnist",
        "args": vars(args),
        "versions": {
            "torch": torch.__version__,
            "aihwkit": aihwkit.__version__,
            "rpusim": getattr(rpusim, "__version__", "unknown"),
            "python": platform.python_version(),
        },
        "test_images": len(y_test),
        "seeds": seeds,
        "times": times,
        "float_accuracy": float_acc,
        "float_seconds_per_epoch": float_seconds,
        "conversion_checks": checks,
        "noise_draws_identical_max_abs_diff": same_draws,
        "sweeps": sweeps,
        "agreement": rows,
        "seconds_per_sweep": seconds,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(summary, indent=1))
    print(f"wrote {out}")
    return summary


if __name__ == "__main__":
    main()
