"""Median training step of a 512×512 constant-step layer (batch 64) after many steps, when most
devices sit at or near a bound and the pulsed update falls back to pulse-by-pulse replays: the
long-training counterpart of ../shared/tools/step_bench.py (which times steps 3-203). Same layer,
inputs and loss as step_bench.

    OMP_WAIT_POLICY=PASSIVE python benches/python/late_state_step.py rpusim --warm 1500 --steps 300
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("package", choices=["rpusim", "aihwkit"])
    parser.add_argument("--warm", type=int, default=1500, help="steps before timing")
    parser.add_argument("--steps", type=int, default=300, help="timed steps")
    args = parser.parse_args()
    torch.set_num_threads(2)
    if args.package == "aihwkit":
        from aihwkit.nn import AnalogLinear
        from aihwkit.optim import AnalogSGD
        from aihwkit.simulator.configs import ConstantStepDevice, SingleRPUConfig
    else:
        from rpusim.configs import ConstantStepDevice, SingleRPUConfig
        from rpusim.nn import AnalogLinear
        from rpusim.optim import AnalogSGD
    torch.manual_seed(0)
    n, batch = 512, 64
    layer = AnalogLinear(n, n, bias=False, rpu_config=SingleRPUConfig(device=ConstantStepDevice()))
    w0 = (torch.rand(n, n, generator=torch.Generator().manual_seed(1)) - 0.5) * 0.1
    if args.package == "aihwkit":
        layer.set_weights(w0)
    else:
        layer.set_weights(w0, None)
    opt = AnalogSGD(layer.parameters(), lr=0.01)
    opt.regroup_param_groups(layer)
    x = torch.randn(batch, n)

    def step() -> None:
        opt.zero_grad()
        layer(x).pow(2).sum().mul(0.1).backward()
        opt.step()

    for _ in range(args.warm):
        step()
    times = []
    for _ in range(args.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    weights = layer.get_weights()[0]
    near = (weights.abs() > 0.3).float().mean().item()
    print(
        f"{args.package} after {args.warm} steps: median {1e3 * statistics.median(times):.2f} ms "
        f"per step, {100 * near:.0f}% of |w| > 0.3"
    )


if __name__ == "__main__":
    main()
