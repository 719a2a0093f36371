"""The cost of the transfer compounds: one training step (forward, backward, pulsed update and
transfers) of a 512×512 AnalogLinear, batch 64, against the step with a single device, in rpusim
and in aihwkit, alternating the packages case by case.

Setup as ../shared/tools/step_bench.py: weights U(-0.05, 0.05), x ~ N(0, 1), loss 0.1·Σy², SGD
lr 0.01, SoftBoundsDevice with default parameters. The cases:

- ``sgd``: a single SoftBoundsDevice at lr 0.01;
- ``sgd-lr1``: the same device at lr 1, the gradient pulses Tiki-Taka's fast array gets at
  fast_lr 1 (the compounds' default);
- ``tt``: TransferCompound of 2 SoftBoundsDevice, transfer_every 1, n_reads_per_transfer 1
  (fast_lr 1: step_bench.py's "tt");
- ``tt-lr``: the same with fast_lr 0.01 (the fast array gets the pulses of ``sgd``);
- ``cttv2``: ChoppedTransferCompound of 2 SoftBoundsDevice (a transfer after every vector,
  fast_lr 1);
- ``cttv2-lr``: the same with fast_lr 0.01.

    OMP_WAIT_POLICY=PASSIVE python benches/python/bench_compounds.py \\
        [--aihwkit-python /tmp/peer-aihwkit/bin/python] [--size 512] [--batch 64] [--seconds 5] \\
        [--loss square|linear] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any

CASES = ("sgd", "sgd-lr1", "tt", "tt-lr", "cttv2", "cttv2-lr")


def build(package: str, case: str, size: int) -> Any:
    import torch

    if package == "aihwkit":
        from aihwkit.nn import AnalogLinear
        from aihwkit.optim import AnalogSGD
        from aihwkit.simulator.configs import (
            ChoppedTransferCompound,
            SingleRPUConfig,
            SoftBoundsDevice,
            TransferCompound,
            UnitCellRPUConfig,
        )
    else:
        from rpusim.configs import (  # type: ignore[no-redef]
            ChoppedTransferCompound,
            SingleRPUConfig,
            SoftBoundsDevice,
            TransferCompound,
            UnitCellRPUConfig,
        )
        from rpusim.nn import AnalogLinear  # type: ignore[no-redef]
        from rpusim.optim import AnalogSGD  # type: ignore[no-redef]
    fast_lr = 0.01 if case.endswith("-lr") else 1.0
    if case.startswith("sgd"):
        config: Any = SingleRPUConfig(device=SoftBoundsDevice())
    elif case.startswith("tt"):
        config = UnitCellRPUConfig(
            device=TransferCompound(
                unit_cell_devices=[SoftBoundsDevice(), SoftBoundsDevice()],
                transfer_every=1,
                n_reads_per_transfer=1,
                fast_lr=fast_lr,
            )
        )
    else:
        config = UnitCellRPUConfig(
            device=ChoppedTransferCompound(
                unit_cell_devices=[SoftBoundsDevice(), SoftBoundsDevice()], fast_lr=fast_lr
            )
        )
    torch.manual_seed(0)
    layer = AnalogLinear(size, size, bias=False, rpu_config=config)
    w0 = (torch.rand(size, size, generator=torch.Generator().manual_seed(1)) - 0.5) * 0.1
    if package == "aihwkit":
        layer.set_weights(w0)
    else:
        layer.set_weights(w0, None)
    opt = AnalogSGD(layer.parameters(), lr=1.0 if case == "sgd-lr1" else 0.01)
    opt.regroup_param_groups(layer)
    return layer, opt


def time_case(
    package: str, case: str, size: int, batch: int, seconds: float, loss: str = "square"
) -> float:
    """Median milliseconds of one training step."""
    import torch

    layer, opt = build(package, case, size)
    x = torch.randn(batch, size, generator=torch.Generator().manual_seed(2))
    # "linear": the loss Σ y·r with r = 0.2·x·W0ᵀ, the first gradient of "square" kept for every
    # step, so that each step carries the same pulses (with 0.1·Σy² the weights shrink toward 0
    # as training goes on, and with them the pulses, at a different pace in each case).
    w0 = (torch.rand(size, size, generator=torch.Generator().manual_seed(1)) - 0.5) * 0.1
    r = 0.2 * x @ w0.T

    def step() -> None:
        opt.zero_grad()
        y = layer(x)
        (y.pow(2).sum().mul(0.1) if loss == "square" else (y * r).sum()).backward()
        opt.step()

    for _ in range(2):
        step()
    times: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 3:
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aihwkit-python", default=None)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument(
        "--loss",
        default="square",
        choices=["square", "linear"],
        help="square: 0.1·Σy² as step_bench.py; linear: a fixed gradient (same pulses each step)",
    )
    parser.add_argument("--repeat", type=int, default=1, help="rounds; medians are reported")
    parser.add_argument("--only", default=None, help="time one case of one package (JSON)")
    parser.add_argument("--package", default="rpusim")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.only:
        ms = time_case(args.package, args.only, args.size, args.batch, args.seconds, args.loss)
        print(json.dumps({"case": args.only, "package": args.package, "ms": ms}))
        return
    runs: dict[tuple[str, str], list[float]] = {}
    for round_ in range(args.repeat):
        for case in CASES:
            for package in ("rpusim", "aihwkit"):
                if package == "aihwkit" and args.aihwkit_python is None:
                    continue
                python = args.aihwkit_python if package == "aihwkit" else sys.executable
                cmd = [
                    python, __file__, "--only", case, "--package", package, "--size",
                    str(args.size), "--batch", str(args.batch), "--seconds", str(args.seconds),
                    "--threads", str(args.threads), "--loss", args.loss,
                ]  # fmt: skip
                out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
                ms = json.loads(out.strip().splitlines()[-1])["ms"]
                runs.setdefault((case, package), []).append(ms)
                print(f"round {round_ + 1} {case:9s} {package:8s} {ms:10.1f} ms", flush=True)
    # Medians over the rounds (each round alternates the packages case by case).
    results = {key: statistics.median(v) for key, v in runs.items()}
    shape = f"{args.size}×{args.size}, batch {args.batch}"
    print(f"\n{shape}, {args.threads} threads, {args.loss} loss, median of {args.repeat}")
    print("| case | rpusim ms | vs sgd | vs sgd-lr1 | aihwkit ms | aihwkit / rpusim |")
    print("|---|---|---|---|---|---|")
    for case in CASES:
        r = results[(case, "rpusim")]
        a = results.get((case, "aihwkit"))
        peer = f"{a:.1f} | {a / r:.1f}×" if a else "– | –"
        print(
            f"| {case} | {r:.1f} | {r / results[('sgd', 'rpusim')]:.2f} | "
            f"{r / results[('sgd-lr1', 'rpusim')]:.2f} | {peer} |"
        )


if __name__ == "__main__":
    main()
