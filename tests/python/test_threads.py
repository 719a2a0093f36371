"""The CPU backend's pool: the importing (main) thread is worker 0 of it (rust/threads.rs).
Work from other Python threads must still run, with the same bits, at any thread count."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import torch

import rpusim
from rpusim.configs import SingleRPUConfig, SoftBoundsDevice
from rpusim.nn import AnalogLinear
from rpusim.optim import AnalogSGD

SCRIPT = """
import threading, torch, rpusim
from rpusim.configs import SingleRPUConfig, SoftBoundsDevice
from rpusim.nn import AnalogLinear
from rpusim.optim import AnalogSGD

def train():
    torch.manual_seed(3)
    layer = AnalogLinear(96, 80, rpu_config=SingleRPUConfig(device=SoftBoundsDevice()))
    opt = AnalogSGD(layer.parameters(), lr=0.05)
    x = torch.randn(32, 96)
    for _ in range(3):
        opt.zero_grad()
        layer(x).pow(2).sum().backward()
        opt.step()
    return layer.get_weights()[0]

main = train()
box = []
worker = threading.Thread(target=lambda: box.append(train()))
worker.start()
worker.join(60)
assert not worker.is_alive(), "a background thread's update did not finish"
assert torch.equal(main, box[0]), "a background thread's update gave other bits"
print(float(main.sum()))
"""


def _train() -> torch.Tensor:
    torch.manual_seed(3)
    layer = AnalogLinear(96, 80, rpu_config=SingleRPUConfig(device=SoftBoundsDevice()))
    opt = AnalogSGD(layer.parameters(), lr=0.05)
    x = torch.randn(32, 96)
    for _ in range(3):
        opt.zero_grad()
        layer(x).pow(2).sum().backward()
        opt.step()
    return layer.get_weights()[0]


def test_background_thread_runs_with_the_same_bits() -> None:
    main = _train()
    box: list[torch.Tensor] = []
    worker = threading.Thread(target=lambda: box.append(_train()))
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "a background thread's update did not finish"
    assert torch.equal(main, box[0])


def test_adopting_again_does_nothing() -> None:
    # The pool exists after the import (and the test above): a second call changes nothing.
    assert rpusim._core.adopt_calling_thread() is False


def test_thread_counts_agree_from_main_and_background_threads() -> None:
    sums = []
    for threads in ("1", "2", "3"):
        env = {**os.environ, "RAYON_NUM_THREADS": threads}
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr
        sums.append(out.stdout.strip())
    assert sums[0] == sums[1] == sums[2]
