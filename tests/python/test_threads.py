"""The CPU backend's pool: the importing (main) thread is worker 0 of it, or at one thread the
only worker of a private pool (rust/threads.rs). Work from other Python threads must still run,
with the same bits, at any thread count."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path

import torch

import rpusim
from rpusim.configs import SingleRPUConfig, SoftBoundsDevice
from rpusim.nn import AnalogLinear
from rpusim.optim import AnalogSGD


def train() -> torch.Tensor:
    """Three soft-bounds training steps of a fixed layer; the weights after them."""
    torch.manual_seed(3)
    layer = AnalogLinear(96, 80, rpu_config=SingleRPUConfig(device=SoftBoundsDevice()))
    opt = AnalogSGD(layer.parameters(), lr=0.05)
    x = torch.randn(32, 96)
    for _ in range(3):
        opt.zero_grad()
        layer(x).pow(2).sum().backward()
        opt.step()
    return layer.get_weights()[0]


def main_and_background() -> tuple[torch.Tensor, torch.Tensor]:
    """The weights of ``train`` run on this thread and on a background thread."""
    main = train()
    box: list[torch.Tensor] = []
    worker = threading.Thread(target=lambda: box.append(train()))
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "a background thread's update did not finish"
    return main, box[0]


# Run in a fresh process (its own thread count); prints a hash of the weights.
SCRIPT = f"""
import hashlib
import sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
import torch
from test_threads import main_and_background
main, background = main_and_background()
assert torch.equal(main, background), "a background thread's update gave other bits"
print(hashlib.sha256(main.numpy().tobytes()).hexdigest())
"""


def test_background_thread_runs_with_the_same_bits() -> None:
    main, background = main_and_background()
    assert torch.equal(main, background)


def test_adopting_again_does_nothing() -> None:
    # The pool exists after the import (and the test above): a second call changes nothing.
    assert rpusim._core.adopt_calling_thread() is False


def test_thread_counts_agree_from_main_and_background_threads() -> None:
    hashes = []
    for threads in ("1", "2", "3"):
        env = {**os.environ, "RAYON_NUM_THREADS": threads}
        out = subprocess.run(
            [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, timeout=300
        )
        assert out.returncode == 0, out.stderr
        hashes.append(out.stdout.strip())
    assert len(hashes[0]) == 64 and hashes[0] == hashes[1] == hashes[2]
