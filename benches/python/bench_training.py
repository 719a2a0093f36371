"""Times forward, forward+backward and a full training step of one linear layer in rpusim,
aihwkit (when importable) and plain torch, on the same machine.

Setup as ../shared/tools/step_bench.py: weights U(-0.05, 0.05), x ~ N(0, 1), loss 0.1·Σy²,
lr 0.01, ConstantStepDevice with default parameters (realistic pulse counts, k ≈ 10-20).

    OMP_WAIT_POLICY=PASSIVE python benches/python/bench_training.py rpusim|aihwkit|torch \
        [--threads 2] [--sizes 256,512,1024] [--batches 1,16,128] [--seconds 1.0]

Prints one JSON object per case: median milliseconds of `forward`, `forward_backward`, `step`.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from typing import Callable


def median_ms(fn: Callable[[], object], seconds: float) -> float:
    for _ in range(2):
        fn()
    times: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 5:
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def build(package: str, size: int):  # noqa: ANN201
    import torch

    if package == "torch":
        layer = torch.nn.Linear(size, size, bias=False)
        with torch.no_grad():
            layer.weight.copy_(weights(size))
        return layer, torch.optim.SGD(layer.parameters(), lr=0.01)
    if package == "aihwkit":
        from aihwkit.nn import AnalogLinear
        from aihwkit.optim import AnalogSGD
        from aihwkit.simulator.configs import ConstantStepDevice, SingleRPUConfig
    else:
        from rpusim.configs import ConstantStepDevice, SingleRPUConfig
        from rpusim.nn import AnalogLinear
        from rpusim.optim import AnalogSGD
    layer = AnalogLinear(
        size, size, bias=False, rpu_config=SingleRPUConfig(device=ConstantStepDevice())
    )
    if package == "aihwkit":
        layer.set_weights(weights(size))
    else:
        layer.set_weights(weights(size), None)
    opt = AnalogSGD(layer.parameters(), lr=0.01)
    opt.regroup_param_groups(layer)
    return layer, opt


def weights(size: int):  # noqa: ANN201
    import torch

    return (torch.rand(size, size, generator=torch.Generator().manual_seed(1)) - 0.5) * 0.1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("package", choices=["rpusim", "aihwkit", "torch"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", default="256,512,1024")
    parser.add_argument("--batches", default="1,16,128")
    parser.add_argument("--seconds", type=float, default=1.0)
    args = parser.parse_args()

    import torch

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    for size in map(int, args.sizes.split(",")):
        for batch in map(int, args.batches.split(",")):
            print(json.dumps(time_case(args.package, size, batch, args.seconds)), flush=True)


def time_case(package: str, size: int, batch: int, seconds: float) -> dict[str, object]:
    import torch

    layer, opt = build(package, size)
    x = torch.randn(batch, size)

    def forward() -> None:
        with torch.no_grad():
            layer(x)

    def forward_backward() -> None:
        layer(x).pow(2).sum().mul(0.1).backward()
        for group in opt.param_groups:  # drop the (x, d) pairs analog layers record
            for p in group["params"]:
                for name in ("analog_input", "analog_grad_output"):
                    if isinstance(getattr(p, name, None), list):
                        getattr(p, name).clear()

    def step() -> None:
        opt.zero_grad()
        layer(x).pow(2).sum().mul(0.1).backward()
        opt.step()

    return {
        "package": package,
        "threads": torch.get_num_threads(),
        "size": size,
        "batch": batch,
        "forward": median_ms(forward, seconds),
        "forward_backward": median_ms(forward_backward, seconds),
        "step": median_ms(step, seconds),
    }


if __name__ == "__main__":
    main()
