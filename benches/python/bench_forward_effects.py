"""Cost of the forward effects added for issue 13, on the cpu backend: IR drop and PCM_READ
weight noise in the analog forward, the saturation mask of the backward, and the torch inference
tile against the Rust one. Medians of alternated repeats, in one sitting.

    OMP_NUM_THREADS=1 OMP_WAIT_POLICY=PASSIVE python3 benches/python/bench_forward_effects.py
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch

from rpusim.configs import InferenceRPUConfig, IOParameters, WeightNoiseType
from rpusim.configs.torch_inference import TorchInferenceRPUConfig
from rpusim.nn import AnalogLinear


def forward_configs() -> dict[str, IOParameters]:
    return {
        "default forward": IOParameters(),
        "+ ir_drop 1": IOParameters(ir_drop=1.0),
        "+ PCM_READ 0.0175": IOParameters(w_noise=0.0175, w_noise_type=WeightNoiseType.PCM_READ),
        "+ both": IOParameters(ir_drop=1.0, w_noise=0.0175, w_noise_type=WeightNoiseType.PCM_READ),
    }


def timed(fn: Callable[[], object], repeats: int) -> list[float]:
    fn()  # warm-up
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    n, b = args.size, args.batch
    x = torch.rand(b, n)
    layers: dict[str, AnalogLinear] = {}
    for label, forward in forward_configs().items():
        layers[label] = AnalogLinear(n, n, rpu_config=InferenceRPUConfig(forward=forward))
    layers["torch tile, default forward"] = AnalogLinear(n, n, rpu_config=TorchInferenceRPUConfig())
    for layer in layers.values():
        layer.eval()

    def forward_of(layer: AnalogLinear) -> Callable[[], object]:
        def run() -> object:
            with torch.no_grad():
                return layer(x)

        return run

    def train_step_of(layer: AnalogLinear) -> Callable[[], object]:
        xg = x.clone().requires_grad_(True)

        def run() -> object:
            layer.train()
            out = layer(xg)
            out.backward(torch.ones_like(out))
            layer.analog_ctx.reset()
            return out

        return run

    results: dict[str, list[float]] = {}
    for _ in range(args.rounds):  # alternate the cases within each round
        for label, layer in layers.items():
            results.setdefault(f"forward, {label}", []).extend(
                timed(forward_of(layer), args.repeats)
            )
        for label in ("default forward", "torch tile, default forward"):
            results.setdefault(f"forward+backward, {label}", []).extend(
                timed(train_step_of(layers[label]), args.repeats)
            )
    out = layers["default forward"](x).detach()
    results["saturation mask alone (|y| >= bound)"] = timed(
        lambda: out.abs() >= 11.988, args.repeats * args.rounds
    )
    print(f"{n}x{n}, batch {b}, torch threads {torch.get_num_threads()}: median ms")
    for label, values in results.items():
        print(f"  {label:45s} {1e3 * statistics.median(values):8.3f}")


if __name__ == "__main__":
    main()
