"""The `opt.step()` of one bench_compounds.py case timed in a loop (linear loss: the same pulses
every step): median and minimum of the update alone and of the whole step. For A/B runs of the
pulsed update, where the whole-step median of bench_compounds.py moves with the VM's noise.

    OMP_WAIT_POLICY=PASSIVE python benches/python/compound_step_loop.py tt --steps 25
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from bench_compounds import CASES, build


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("case", choices=CASES)
    parser.add_argument("--steps", type=int, default=25, help="timed steps (after 2 untimed)")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    layer, opt = build("rpusim", args.case, args.size)
    x = torch.randn(args.batch, args.size, generator=torch.Generator().manual_seed(2))
    w0 = (torch.rand(args.size, args.size, generator=torch.Generator().manual_seed(1)) - 0.5) * 0.1
    r = 0.2 * x @ w0.T  # bench_compounds.py's linear loss
    steps: list[float] = []
    updates: list[float] = []
    for n in range(args.steps + 2):
        start = time.perf_counter()
        opt.zero_grad()
        (layer(x) * r).sum().backward()
        backward_done = time.perf_counter()
        opt.step()
        end = time.perf_counter()
        if n >= 2:
            steps.append(end - start)
            updates.append(end - backward_done)
    print(
        f"{args.case}: opt.step() median {statistics.median(updates) * 1e3:.1f} ms, "
        f"min {min(updates) * 1e3:.1f} ms; whole step median "
        f"{statistics.median(steps) * 1e3:.1f} ms, min {min(steps) * 1e3:.1f} ms"
    )


if __name__ == "__main__":
    main()
