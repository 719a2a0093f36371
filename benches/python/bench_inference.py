"""The cost of inference tiles: a 512×512 AnalogLinear with the default ``InferenceRPUConfig``
(7-bit DAC, 9-bit ADC, output noise, ``PCMLikeNoiseModel``, global drift compensation) plus
hardware-aware training settings (``ADD_NORMAL`` weight noise 0.06, channel-wise remapping), in
rpusim and in aihwkit, alternating the packages case by case, and plain torch for scale.

- ``step``: one training step, batch 64 (forward with the modifier, exact backward, the update
  of the stored weights, remapping and the next modifier draw);
- ``eval``: one eval-mode forward, batch 64, after programming and drifting to one day;
- ``program-drift``: ``program_analog_weights()`` followed by ``drift_analog_weights(86400)``;
- ``torch-step``: the step of a plain ``torch.nn.Linear`` with SGD (rpusim's process only).

    OMP_WAIT_POLICY=PASSIVE python benches/python/bench_inference.py \\
        [--aihwkit-python /tmp/peer-aihwkit/bin/python] [--size 512] [--batch 64] \\
        [--seconds 4] [--repeat 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from typing import Any, Callable

CASES = ("step", "eval", "program-drift", "torch-step")


def build(package: str, size: int) -> tuple[Any, Any]:
    import torch

    if package == "aihwkit":
        from aihwkit.inference import GlobalDriftCompensation, PCMLikeNoiseModel
        from aihwkit.nn import AnalogLinear
        from aihwkit.optim import AnalogSGD
        from aihwkit.simulator.configs import (
            InferenceRPUConfig,
            WeightModifierParameter,
            WeightModifierType,
            WeightRemapParameter,
            WeightRemapType,
        )
    else:
        from rpusim.configs import (  # type: ignore[no-redef]
            InferenceRPUConfig,
            WeightModifierParameter,
            WeightModifierType,
            WeightRemapParameter,
            WeightRemapType,
        )
        from rpusim.inference import (  # type: ignore[no-redef]
            GlobalDriftCompensation,
            PCMLikeNoiseModel,
        )
        from rpusim.nn import AnalogLinear  # type: ignore[no-redef]
        from rpusim.optim import AnalogSGD  # type: ignore[no-redef]
    config = InferenceRPUConfig(
        noise_model=PCMLikeNoiseModel(),
        drift_compensation=GlobalDriftCompensation(),
        modifier=WeightModifierParameter(type=WeightModifierType.ADD_NORMAL, std_dev=0.06),
        remap=WeightRemapParameter(type=WeightRemapType.CHANNELWISE_SYMMETRIC),
    )
    torch.manual_seed(0)
    layer = AnalogLinear(size, size, bias=False, rpu_config=config)
    w0 = (torch.rand(size, size, generator=torch.Generator().manual_seed(1)) - 0.5) * 0.1
    if package == "aihwkit":
        layer.set_weights(w0)
    else:
        layer.set_weights(w0, None)
    opt = AnalogSGD(layer.parameters(), lr=0.01)
    opt.regroup_param_groups(layer)
    return layer, opt


def median_ms(run: Callable[[], None], seconds: float) -> float:
    for _ in range(2):
        run()
    times: list[float] = []
    end = time.perf_counter() + seconds
    while time.perf_counter() < end or len(times) < 3:
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def time_case(package: str, case: str, size: int, batch: int, seconds: float) -> float:
    """Median milliseconds of one run of ``case``."""
    import torch

    x = torch.randn(batch, size, generator=torch.Generator().manual_seed(2))
    r = torch.randn(batch, size, generator=torch.Generator().manual_seed(3))
    if case == "torch-step":
        linear = torch.nn.Linear(size, size, bias=False)
        sgd = torch.optim.SGD(linear.parameters(), lr=0.01)

        def torch_step() -> None:
            sgd.zero_grad()
            (linear(x) * r).sum().backward()
            sgd.step()

        return median_ms(torch_step, seconds)
    layer, opt = build(package, size)
    if case == "step":

        def step() -> None:
            opt.zero_grad()
            (layer(x) * r).sum().backward()
            opt.step()

        return median_ms(step, seconds)
    layer.eval()
    if case == "eval":
        layer.program_analog_weights()
        layer.drift_analog_weights(86400.0)

        @torch.no_grad()
        def forward() -> None:
            layer(x)

        return median_ms(forward, seconds)

    def program_drift() -> None:
        layer.program_analog_weights()
        layer.drift_analog_weights(86400.0)

    return median_ms(program_drift, seconds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--aihwkit-python", default=None)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1, help="rounds; medians are reported")
    parser.add_argument("--only", default=None, help="time one case of one package (JSON)")
    parser.add_argument("--package", default="rpusim")
    args = parser.parse_args()
    import torch

    torch.set_num_threads(args.threads)
    if args.only:
        ms = time_case(args.package, args.only, args.size, args.batch, args.seconds)
        print(json.dumps({"case": args.only, "package": args.package, "ms": ms}))
        return
    runs: dict[tuple[str, str], list[float]] = {}
    for round_ in range(args.repeat):
        for case in CASES:
            for package in ("rpusim", "aihwkit"):
                if package == "aihwkit" and (args.aihwkit_python is None or case == "torch-step"):
                    continue
                python = args.aihwkit_python if package == "aihwkit" else sys.executable
                cmd = [
                    python, __file__, "--only", case, "--package", package, "--size",
                    str(args.size), "--batch", str(args.batch), "--seconds", str(args.seconds),
                    "--threads", str(args.threads),
                ]  # fmt: skip
                done = subprocess.run(cmd, capture_output=True, text=True)
                if done.returncode != 0:
                    raise SystemExit(f"{case} {package} failed:\n{done.stderr}")
                ms = json.loads(done.stdout.strip().splitlines()[-1])["ms"]
                runs.setdefault((case, package), []).append(ms)
                print(f"round {round_ + 1} {case:13s} {package:8s} {ms:10.2f} ms", flush=True)
    results = {key: statistics.median(v) for key, v in runs.items()}
    print(
        f"\n{args.size}×{args.size}, batch {args.batch}, {args.threads} threads, "
        f"median of {args.repeat}"
    )
    print("| case | rpusim ms | aihwkit ms | aihwkit / rpusim |")
    print("|---|---|---|---|")
    for case in CASES:
        ours = results[(case, "rpusim")]
        peer = results.get((case, "aihwkit"))
        cells = f"{peer:.2f} | {peer / ours:.1f}×" if peer else "– | –"
        print(f"| {case} | {ours:.2f} | {cells} |")


if __name__ == "__main__":
    main()
