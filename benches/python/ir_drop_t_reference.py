"""Writes ``tests/python/reference/ir_drop_t_aihwkit.json``: outputs of aihwkit 1.1's
time-dependent IR-drop MVM (``AnalogMVMIRDropT.matmul`` in test mode, ONE_PASS) on a few small
fixed cases with every noise off, for ``tests/python/test_ir_drop_t.py``.

Run in a Python environment with aihwkit 1.1 installed (not rpusim's):

    /work/venvs/aihwkit/bin/python benches/python/ir_drop_t_reference.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
from aihwkit.inference.converter.conductance import (
    DualPairConductanceConverter,
    SinglePairConductanceConverter,
)
from aihwkit.simulator.parameters.enums import BoundManagementType, NoiseManagementType
from aihwkit.simulator.parameters.io import IOParametersIRDropT
from aihwkit.simulator.tiles.analog_mvm_irdrop_t import AnalogMVMIRDropT

OUTPUT = Path(__file__).resolve().parents[2] / "tests/python/reference/ir_drop_t_aihwkit.json"

# (name, out, in, physical rows, io overrides, converter f_lst or None, seed)
CASES = [
    ("defaults_no_adc", 6, 16, 16, {"ir_drop": 20.0, "adc_quantization": False}, None, 1),
    (
        "padded_segments4",
        4,
        24,
        32,
        {"ir_drop": 50.0, "ir_drop_segments": 4, "adc_quantization": False},
        None,
        2,
    ),
    (
        "sum_half_time",
        6,
        16,
        16,
        {
            "ir_drop": 30.0,
            "ir_drop_integration_sum": True,
            "ir_drop_time_step_resolution_scale": 0.5,
            "adc_quantization": False,
            "inp_res": 1 / 62,
        },
        None,
        3,
    ),
    (
        "rows_as_segments",
        4,
        8,
        8,
        {
            "ir_drop": 100.0,
            "ir_drop_segments": 8,
            "adc_quantization": False,
            "ir_drop_v_read": 0.41,
            "noise_management": NoiseManagementType.NONE,
        },
        None,
        4,
    ),
    ("dual_pair", 4, 16, 16, {"ir_drop": 40.0, "adc_quantization": False}, [1.0, 3.0], 5),
    ("adc_quantized", 6, 16, 16, {"ir_drop": 20.0}, None, 6),
]


def main() -> None:
    cases = []
    for name, out_size, in_size, rows, overrides, f_lst, seed in CASES:
        generator = torch.Generator().manual_seed(seed)
        weights = (torch.rand(out_size, in_size, generator=generator) - 0.5) * 0.8
        inputs = (torch.rand(3, in_size, generator=generator) - 0.5) * 1.6
        io = IOParametersIRDropT(
            out_noise=0.0,
            out_res=-1.0,
            out_bound=0.0,
            bound_management=BoundManagementType.NONE,
        )
        for key, value in overrides.items():
            setattr(io, key, value)
        converter = (
            SinglePairConductanceConverter()
            if f_lst is None
            else DualPairConductanceConverter(f_lst)
        )
        output = AnalogMVMIRDropT.matmul(
            weights,
            inputs,
            io,
            False,
            True,
            phys_input_size=rows,
            g_converter=converter,
            out_noise_values=None,
        )
        io_json = {k: (v.name if hasattr(v, "name") else v) for k, v in overrides.items()}
        cases.append(
            {
                "name": name,
                "physical_rows": rows,
                "f_lst": f_lst,
                "io": {
                    "out_noise": 0.0,
                    "out_res": -1.0,
                    "out_bound": 0.0,
                    "bound_management": "NONE",
                    **io_json,
                },
                "weights": weights.tolist(),
                "inputs": inputs.tolist(),
                "output": output.tolist(),
            }
        )
    OUTPUT.write_text(
        json.dumps(
            {
                "generator": "benches/python/ir_drop_t_reference.py",
                "reference": "aihwkit 1.1 AnalogMVMIRDropT.matmul (is_test=True)",
                "python": sys.version.split()[0],
                "torch": torch.__version__,
                "cases": cases,
            },
            indent=1,
        )
        + "\n"
    )


if __name__ == "__main__":
    main()
