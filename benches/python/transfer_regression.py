"""Linear regression on soft-bounds devices: plain analog SGD against the Tiki-Taka family, in
rpusim or in the reference simulator (aihwkit), on the same problem.

    python benches/python/transfer_regression.py rpusim|aihwkit [--steps N] [--seeds 1 2 3]

An 8×8 AnalogLinear layer (no bias, exact forward/backward so that only the update differs)
learns y = W* x + 0.1·ξ from x ~ U(−1, 1), batch 1, lr 0.1, on SoftBoundsDevice (dw_min 0.002,
600 states between the mean bounds ±0.6; device-to-device spread of steps, asymmetry and bounds,
so every device has its own symmetry point). The noise keeps per-sample gradients non-zero at the
optimum, which is when SGD's pull towards the symmetry points shows. Prints one JSON line per
algorithm: mean test loss ‖(W − W*)x‖² over the last 20 % of steps, per seed.

The algorithms: plain SGD; Tiki-Taka (fast_lr 0.1, transfer_lr 0.5, a transfer after every
vector); TTv2 (BufferedTransferCompound, fast_lr 0.1); c-TTv2 (ChoppedTransferCompound, fast_lr
0.1, chopper probability 0.01, auto_granularity 100); AGAD (DynamicTransferCompound, fast_lr 0.1).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch


def configs(pkg: str) -> dict[str, object]:
    if pkg == "aihwkit":
        from aihwkit.simulator.configs import (
            BufferedTransferCompound,
            ChoppedTransferCompound,
            DynamicTransferCompound,
            IOParameters,
            SingleRPUConfig,
            SoftBoundsDevice,
            TransferCompound,
            UnitCellRPUConfig,
        )
    else:
        from rpusim.configs import (  # type: ignore[no-redef]
            BufferedTransferCompound,
            ChoppedTransferCompound,
            DynamicTransferCompound,
            IOParameters,
            SingleRPUConfig,
            SoftBoundsDevice,
            TransferCompound,
            UnitCellRPUConfig,
        )

    def device():  # type: ignore[no-untyped-def]
        return SoftBoundsDevice(dw_min=0.002, w_max=0.6, w_min=-0.6, up_down_dtod=0.05)

    def io():  # type: ignore[no-untyped-def]
        return IOParameters(is_perfect=True)

    def unit(cell):  # type: ignore[no-untyped-def]
        return UnitCellRPUConfig(device=cell, forward=io(), backward=io())

    return {
        "sgd": SingleRPUConfig(device=device(), forward=io(), backward=io()),
        "tiki-taka": unit(
            TransferCompound(
                unit_cell_devices=[device(), device()],
                fast_lr=0.1,
                transfer_lr=0.5,
                transfer_every=1,
                units_in_mbatch=False,
            )
        ),
        "ttv2": unit(BufferedTransferCompound(unit_cell_devices=[device(), device()], fast_lr=0.1)),
        "c-ttv2": unit(
            ChoppedTransferCompound(
                unit_cell_devices=[device(), device()],
                fast_lr=0.1,
                in_chop_prob=0.01,
                auto_granularity=100,
            )
        ),
        "agad": unit(DynamicTransferCompound(unit_cell_devices=[device(), device()], fast_lr=0.1)),
    }


def run(pkg: str, config: object, steps: int, seed: int) -> float:
    if pkg == "aihwkit":
        from aihwkit.nn import AnalogLinear
        from aihwkit.optim import AnalogSGD
    else:
        from rpusim.nn import AnalogLinear  # type: ignore[no-redef]
        from rpusim.optim import AnalogSGD  # type: ignore[no-redef]
    gen = torch.Generator().manual_seed(seed)
    n = 8
    w_true = (torch.rand(n, n, generator=gen) - 0.5) * 0.8
    torch.manual_seed(seed)
    layer = AnalogLinear(n, n, bias=False, rpu_config=config)
    if pkg == "aihwkit":
        layer.set_weights(torch.zeros(n, n))
    else:
        layer.set_weights(torch.zeros(n, n), None)
    opt = AnalogSGD(layer.parameters(), lr=0.1)
    opt.regroup_param_groups(layer)
    x_test = torch.rand(512, n, generator=gen) * 2 - 1
    losses = []
    for s in range(steps):
        x = torch.rand(1, n, generator=gen) * 2 - 1
        y = x @ w_true.T + 0.1 * torch.randn(1, n, generator=gen)
        opt.zero_grad()
        loss = 0.5 * ((layer(x) - y) ** 2).sum()
        loss.backward()
        opt.step()
        if s >= steps * 4 // 5 and s % 10 == 0:
            w = layer.get_weights()[0]
            losses.append(float(((x_test @ (w - w_true).T) ** 2).sum(1).mean()))
    return sum(losses) / len(losses)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("pkg", choices=["rpusim", "aihwkit"])
    parser.add_argument("--steps", type=int, default=20000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--only", nargs="*")
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name, config in configs(args.pkg).items():
        if args.only and name not in args.only:
            continue
        t0 = time.perf_counter()
        losses = [run(args.pkg, config, args.steps, s) for s in args.seeds]
        print(
            json.dumps(
                {
                    "pkg": args.pkg,
                    "algorithm": name,
                    "steps": args.steps,
                    "loss": losses,
                    "mean": sum(losses) / len(losses),
                    "seconds": round(time.perf_counter() - t0, 1),
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    sys.exit(main())
