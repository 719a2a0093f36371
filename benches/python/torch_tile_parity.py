"""The torch forward periphery (``TorchInferenceRPUConfig``) against the Rust forward
(``InferenceRPUConfig``) on the same weights and inputs: per-output mean and spread of 20 000
reads of one input vector, for a few periphery settings. Writes ``results/torch_tile_parity.json``.

    OMP_NUM_THREADS=1 PYTHONPATH=python python3 benches/python/torch_tile_parity.py
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

import torch

from rpusim.configs import InferenceRPUConfig, IOParameters, TorchInferenceRPUConfig
from rpusim.configs.enums import BoundManagementType, NoiseManagementType, WeightNoiseType
from rpusim.inference.tile import InferenceTile
from rpusim.inference.torch_tile import TorchInferenceTile

SETTINGS = {
    "defaults (ABS_MAX, ITERATIVE, 7/9 bit, out_noise 0.06)": IOParameters(),
    "NM NONE, BM NONE, out_bound 10": IOParameters(
        noise_management=NoiseManagementType.NONE,
        bound_management=BoundManagementType.NONE,
        out_bound=10.0,
    ),
    "ADDITIVE_CONSTANT w_noise 0.05": IOParameters(
        w_noise=0.05, w_noise_type=WeightNoiseType.ADDITIVE_CONSTANT
    ),
}


def main() -> None:
    torch.manual_seed(0)
    rows = {}
    for name, forward in SETTINGS.items():
        w = torch.randn(16, 64) * 0.2
        rust = InferenceTile(16, 64, InferenceRPUConfig(forward=copy.deepcopy(forward)))
        torch_tile = TorchInferenceTile(
            16, 64, TorchInferenceRPUConfig(forward=copy.deepcopy(forward))
        )
        rust.set_weights(w)
        torch_tile.set_weights(w)
        x = (torch.rand(1, 64) * 2 - 1).expand(20000, 64).contiguous()
        a, b = rust.forward(x), torch_tile.forward(x)
        exact = x[0] @ w.T
        rows[name] = {
            "max_abs_mean_difference": float((a.mean(0) - b.mean(0)).abs().max()),
            "mean_std_rust": float(a.std(0).mean()),
            "mean_std_torch": float(b.std(0).mean()),
            "max_abs_bias_rust": float((a.mean(0) - exact).abs().max()),
            "max_abs_bias_torch": float((b.mean(0) - exact).abs().max()),
        }
    print(json.dumps(rows, indent=1))
    out = Path(__file__).resolve().parents[2] / "results" / "torch_tile_parity.json"
    out.write_text(json.dumps(rows, indent=1) + "\n")


if __name__ == "__main__":
    main()
