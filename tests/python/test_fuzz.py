"""The fuzz test: a few thousand randomized bad calls across the public API (``fuzz_api.py``),
in batches, each in its own subprocess with a time limit, so that an abort (a signal), a hang (the
limit) or a panic is seen. Every call must return or raise a documented exception naming what
was wrong, and nothing stored may hold NaN or Inf afterwards."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

DRIVER = Path(__file__).with_name("fuzz_api.py")
BATCHES = 8
CALLS = int(os.environ.get("RPUSIM_FUZZ_CALLS", "400"))
LIMIT_S = 240


def _last_label(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line[:1].isdigit() and ": " in line]
    return lines[-1] if lines else "(before the first call)"


@pytest.mark.parametrize("seed", range(BATCHES))
def test_fuzz_batch(seed: int) -> None:
    env = {**os.environ, "RUST_BACKTRACE": "0"}
    try:
        run = subprocess.run(
            [sys.executable, str(DRIVER), str(seed), str(CALLS)],
            capture_output=True,
            text=True,
            timeout=LIMIT_S,
            env=env,
        )
    except subprocess.TimeoutExpired as err:
        stderr = err.stderr.decode() if isinstance(err.stderr, bytes) else (err.stderr or "")
        pytest.fail(f"hang: batch {seed} ran past {LIMIT_S} s at call {_last_label(stderr)}")
    if run.returncode != 0:
        pytest.fail(
            f"abort: batch {seed} ended with code {run.returncode} at call "
            f"{_last_label(run.stderr)}\n{run.stderr[-2000:]}"
        )
    report = json.loads(run.stdout.strip().splitlines()[-1])
    counts = report["counts"]
    print(f"fuzz batch {seed}: {counts}")
    assert counts["accepted"] + counts["refused"] + counts["unclear"] == CALLS
    assert counts["unclear"] == 0, "\n".join(report["examples"]["unclear"])
    assert counts["non_finite"] == 0, "\n".join(report["examples"]["non_finite"])
