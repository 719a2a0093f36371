"""Same torch seed ⇒ same weights after 50 training steps, on 1 and on 2 rayon threads."""

from __future__ import annotations

import os
import subprocess
import sys

SCRIPT = r"""
import hashlib, torch
from rpusim import _core
from rpusim.nn import AnalogLinear, AnalogSequential
from rpusim.optim import AnalogSGD
torch.manual_seed(5)
model = AnalogSequential(AnalogLinear(40, 30), torch.nn.Tanh(), AnalogLinear(30, 10))
opt = AnalogSGD(model.parameters(), lr=0.05)
opt.regroup_param_groups(model)
for _ in range(50):
    x = torch.randn(16, 40)
    y = torch.randint(0, 10, (16,))
    opt.zero_grad()
    torch.nn.functional.cross_entropy(model(x), y).backward()
    opt.step()
h = hashlib.sha256()
for layer in model.analog_layers():
    w, b = layer.get_weights()
    h.update(w.numpy().tobytes()); h.update(b.numpy().tobytes())
print(_core.num_threads(), h.hexdigest())
"""


def _run(threads: int) -> tuple[str, str]:
    env = {**os.environ, "RAYON_NUM_THREADS": str(threads)}
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    return out[0], out[1]


def test_weights_identical_on_one_and_two_threads() -> None:
    (t1, h1), (t2, h2) = _run(1), _run(2)
    assert (t1, t2) == ("1", "2")
    assert h1 == h2
    assert _run(2)[1] == h2
