"""Times forward, forward+backward and a full training step of one linear layer in rpusim, plain
torch and (when available) aihwkit, case by case in one run, and prints a markdown table.

Setup as ../shared/tools/step_bench.py: weights U(-0.05, 0.05), x ~ N(0, 1), loss 0.1·Σy²,
lr 0.01, ConstantStepDevice with default parameters (realistic pulse counts, k ≈ 10-20). Torch is
`nn.Linear` with `torch.optim.SGD` (the floating-point reference).

    OMP_WAIT_POLICY=PASSIVE python benches/python/bench_training.py \\
        [--aihwkit-python /tmp/peer-aihwkit/bin/python] [--threads 2] \\
        [--sizes 256,512,1024] [--batches 1,16,128] [--seconds 1.0] [--backend cpu|gpu]

aihwkit is timed in-process when importable, else through `--aihwkit-python` (a venv made by
../shared/tools/setup_aihwkit.sh), one subprocess per case, interleaved with the other packages.
`--only PACKAGE` prints one JSON line per case for that package (used for the subprocesses).
`--backend gpu` runs rpusim's tiles on the wgpu backend; its timed steps end with the device
synchronized. Torch runs on CUDA when `--torch-device cuda` is given (synchronized likewise).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

MEASURES = ("forward", "forward_backward", "step")


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


def weights(size: int):  # noqa: ANN201
    import torch

    return (torch.rand(size, size, generator=torch.Generator().manual_seed(1)) - 0.5) * 0.1


BACKEND = "cpu"
TORCH_DEVICE = "cpu"


def build(package: str, size: int) -> tuple[Any, Any]:
    import torch

    if package == "torch":
        layer = torch.nn.Linear(size, size, bias=False, device=TORCH_DEVICE)
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
    config = SingleRPUConfig(device=ConstantStepDevice())
    if package == "aihwkit":
        layer = AnalogLinear(size, size, bias=False, rpu_config=config)
    else:
        layer = AnalogLinear(size, size, bias=False, rpu_config=config, backend=BACKEND)
    if package == "aihwkit":
        layer.set_weights(weights(size))
    else:
        layer.set_weights(weights(size), None)
    opt = AnalogSGD(layer.parameters(), lr=0.01)
    opt.regroup_param_groups(layer)
    return layer, opt


def time_case(package: str, size: int, batch: int, seconds: float) -> dict[str, float]:
    import torch

    torch.manual_seed(0)
    layer, opt = build(package, size)
    # The input needs a gradient, as inside a network: every package runs its backward MVM.
    device = TORCH_DEVICE if package == "torch" else "cpu"
    x = torch.randn(batch, size, device=device, requires_grad=True)

    def sync() -> None:
        # Queued work counts: gpu updates are asynchronous, as are CUDA kernels.
        if package == "rpusim":
            layer.analog_tile.synchronize()
        elif device == "cuda":
            torch.cuda.synchronize()

    def forward() -> None:
        with torch.no_grad():
            layer(x)
        sync()

    def forward_backward() -> None:
        x.grad = None
        layer(x).pow(2).sum().mul(0.1).backward()
        for group in opt.param_groups:  # drop the (x, d) pairs analog layers record
            for p in group["params"]:
                for name in ("analog_input", "analog_grad_output"):
                    if isinstance(getattr(p, name, None), list):
                        getattr(p, name).clear()
        sync()

    def step() -> None:
        x.grad = None
        opt.zero_grad()
        layer(x).pow(2).sum().mul(0.1).backward()
        opt.step()
        sync()

    return {
        "forward": median_ms(forward, seconds),
        "forward_backward": median_ms(forward_backward, seconds),
        "step": median_ms(step, seconds),
    }


def aihwkit_importable() -> bool:
    try:
        import aihwkit  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", choices=["rpusim", "aihwkit", "torch"])
    parser.add_argument("--aihwkit-python", default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--sizes", default="256,512,1024")
    parser.add_argument("--batches", default="1,16,128")
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--backend", default="cpu", choices=["cpu", "gpu"])
    parser.add_argument("--torch-device", default="cpu", choices=["cpu", "cuda"])
    args = parser.parse_args()
    global BACKEND, TORCH_DEVICE
    BACKEND, TORCH_DEVICE = args.backend, args.torch_device

    import torch

    torch.set_num_threads(args.threads)
    cases = [
        (s, b) for s in map(int, args.sizes.split(",")) for b in map(int, args.batches.split(","))
    ]
    if args.only:
        for size, batch in cases:
            row = {"size": size, "batch": batch, **time_case(args.only, size, batch, args.seconds)}
            print(json.dumps(row), flush=True)
        return

    def aihwkit_case(size: int, batch: int) -> dict[str, float] | None:
        if aihwkit_importable():
            return time_case("aihwkit", size, batch, args.seconds)
        if not args.aihwkit_python:
            return None
        cmd = [args.aihwkit_python, __file__, "--only", "aihwkit", "--threads", str(args.threads)]
        cmd += ["--sizes", str(size), "--batches", str(batch), "--seconds", str(args.seconds)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        return json.loads(out.splitlines()[-1])

    print(
        f"threads {args.threads}, torch {torch.__version__} on {args.torch_device}, "
        f"rpusim backend {args.backend}, times in ms (median)\n"
    )
    header = "| size | batch | measure | rpusim | torch | aihwkit | rpusim/torch | aihwkit/rpusim |"
    print(header)
    print("|" + "---|" * 8)
    for size, batch in cases:
        results = {
            "rpusim": time_case("rpusim", size, batch, args.seconds),
            "torch": time_case("torch", size, batch, args.seconds),
            "aihwkit": aihwkit_case(size, batch),
        }
        for measure in MEASURES:
            r, t = results["rpusim"][measure], results["torch"][measure]
            a = results["aihwkit"][measure] if results["aihwkit"] else None
            a_text = f"{a:.3f}" if a is not None else "-"
            ratio = f"{a / r:.1f}x" if a is not None else "-"
            print(
                f"| {size} | {batch} | {measure} | {r:.3f} | {t:.3f} | {a_text} "
                f"| {r / t:.2f} | {ratio} |",
                flush=True,
            )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
