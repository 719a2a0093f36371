"""Runs ../shared/tools/step_bench.py for rpusim.

step_bench.py imports the Tiki-Taka names (UnitCellRPUConfig, SoftBoundsDevice, TransferCompound)
that rpusim does not have yet; this runner gives them placeholders that make the 'transfer' case
fail loudly, so only the 'constant' (ConstantStepDevice) case can be timed.

    OMP_WAIT_POLICY=PASSIVE python benches/python/run_step_bench.py ROWS COLS BATCH
"""

import runpy
import sys
from pathlib import Path

import rpusim.configs as configs


class _Missing:
    def __init__(self, *args: object, **kwargs: object) -> None:
        raise SystemExit(
            "this rpusim build has no Tiki-Taka compounds yet: use the 'constant' case"
        )


for name in ("UnitCellRPUConfig", "SoftBoundsDevice", "TransferCompound"):
    if not hasattr(configs, name):
        setattr(configs, name, _Missing)

script = Path(__file__).resolve().parents[3] / "shared" / "tools" / "step_bench.py"
sys.argv = [str(script), "rpusim", *sys.argv[1:]]
runpy.run_path(str(script), run_name="__main__")
