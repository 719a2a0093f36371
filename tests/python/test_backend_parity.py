"""The gpu backend against the cpu backend through the torch API: same seed ⇒ same pulses, the
same weights to float rounding; moving a model between backends continues training exactly."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

import rpusim
from rpusim import AnalogTile
from rpusim.configs import ConstantStepDevice, SingleRPUConfig
from rpusim.nn import AnalogLinear, AnalogSequential
from rpusim.optim import AnalogSGD


@pytest.fixture
def gpu() -> str:
    reason = rpusim.gpu_unavailable_reason()
    if reason is not None:
        pytest.skip(f"gpu backend unavailable: {reason}")
    return "gpu"


def _model(backend: str) -> AnalogSequential:
    torch.manual_seed(7)
    return AnalogSequential(
        AnalogLinear(12, 10, backend=backend), torch.nn.Tanh(), AnalogLinear(10, 4, backend=backend)
    )


def _train(model: AnalogSequential, steps: int, switch: dict[int, str] | None = None) -> None:
    opt = AnalogSGD(model.parameters(), lr=0.1)
    opt.regroup_param_groups(model)
    gen = torch.Generator().manual_seed(3)
    for step in range(steps):
        if switch and step in switch:
            model.to_backend(switch[step])
        x = torch.randn(8, 12, generator=gen)
        y = torch.randint(0, 4, (8,), generator=gen)
        opt.zero_grad()
        torch.nn.functional.cross_entropy(model(x), y).backward()
        opt.step()


def _weights(model: AnalogSequential) -> list[torch.Tensor]:
    return [layer.get_weights()[0] for layer in model.analog_layers()]


def test_training_matches_the_cpu_backend(gpu: str) -> None:
    cpu_model, gpu_model = _model("cpu"), _model(gpu)
    _train(cpu_model, 10)
    _train(gpu_model, 10)
    for wc, wg in zip(_weights(cpu_model), _weights(gpu_model)):
        assert wc.abs().sum() > 0
        torch.testing.assert_close(wg, wc, atol=1e-5, rtol=0)


def test_pulse_counts_are_identical(gpu: str) -> None:
    # No noise, no variation: each weight is an integer number of dw_min steps.
    device = ConstantStepDevice(
        dw_min_std=0.0, dw_min_dtod=0.0, up_down_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0
    )
    config = SingleRPUConfig(device=device)
    tiles = [AnalogTile(20, 30, config, backend=b, seed=9) for b in ("cpu", gpu)]
    gen = torch.Generator().manual_seed(1)
    for _ in range(5):
        x, d = torch.randn(16, 30, generator=gen), 0.2 * torch.randn(16, 20, generator=gen)
        for tile in tiles:
            tile.update(x, d, 0.1)
    counts = [torch.round(t.get_weights() / device.dw_min) for t in tiles]
    assert counts[0].abs().sum() > 100
    assert torch.equal(counts[0], counts[1])


def test_moving_backends_mid_training_continues_exactly(gpu: str) -> None:
    reference = _model("cpu")
    _train(reference, 9)
    moved = _model("cpu")
    _train(moved, 9, switch={3: gpu, 6: "cpu"})
    assert all(layer.analog_tile.backend == "cpu" for layer in moved.analog_layers())
    for wr, wm in zip(_weights(reference), _weights(moved)):
        torch.testing.assert_close(wm, wr, atol=1e-5, rtol=0)


def test_to_backend_on_a_plain_torch_container(gpu: str) -> None:
    model = torch.nn.Sequential(AnalogLinear(4, 3), torch.nn.ReLU(), AnalogLinear(3, 2))
    x = torch.randn(5, 4)
    before = model(x)
    rpusim.to_backend(model, gpu)
    assert {m.analog_tile.backend for m in model if isinstance(m, AnalogLinear)} == {"gpu"}
    assert model(x).shape == before.shape


def test_state_saved_on_gpu_loads_on_cpu(gpu: str) -> None:
    source = _model(gpu)
    _train(source, 3)
    target = _model("cpu")
    target.load_state_dict(source.state_dict())
    for ws, wt in zip(_weights(source), _weights(target)):
        assert torch.equal(ws, wt)
    assert all(layer.analog_tile.backend == "cpu" for layer in target.analog_layers())


def test_environment_variable_selects_the_default_backend(gpu: str) -> None:
    script = "from rpusim import AnalogTile; print(AnalogTile(2, 3).backend)"
    env = dict(os.environ, RPUSIM_BACKEND=gpu)
    out = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "gpu"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="torch has no CUDA device here")
def test_cuda_tensors_are_accepted_and_returned_on_cuda(backend: str) -> None:
    layer = AnalogLinear(6, 3, backend=backend)
    x = torch.randn(4, 6, device="cuda")
    y = layer(x)
    assert y.device.type == "cuda"
    y.sum().backward()


BANDS_SCRIPT = r"""
import torch
from rpusim.nn import AnalogLinear
from rpusim.optim import AnalogSGD
from rpusim.exceptions import BackendError

def train(backend):
    torch.manual_seed(2)
    layer = AnalogLinear(40, 30, backend=backend)
    opt = AnalogSGD(layer.parameters(), lr=0.1)
    opt.regroup_param_groups(layer)
    gen = torch.Generator().manual_seed(4)
    for _ in range(4):
        x = torch.randn(3, 40, generator=gen)
        opt.zero_grad()
        layer(x).pow(2).sum().backward()
        opt.step()
    return layer.get_weights()[0]

# 30 rows x 40 columns = 4800 bytes of weights in bindings of at most 2048: 3 row bands.
torch.testing.assert_close(train("gpu"), train("cpu"), atol=1e-5, rtol=0)
try:
    AnalogLinear(40, 30, backend="gpu")(torch.randn(100, 40))
except BackendError as e:
    assert "storage binding" in str(e), e
else:
    raise SystemExit("a 16000-byte input fitted a 2048-byte binding")
print("ok")
"""


def test_tiles_beyond_the_binding_limit_are_split_into_row_bands(gpu: str) -> None:
    env = dict(os.environ, RPUSIM_GPU_BINDING_LIMIT="2048")
    out = subprocess.run(
        [sys.executable, "-c", BANDS_SCRIPT], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_gpu_training_repeats_bit_for_bit(gpu: str) -> None:
    runs = []
    for _ in range(2):
        model = _model(gpu)
        _train(model, 6)
        runs.append(_weights(model))
    for a, b in zip(*runs):
        assert torch.equal(a, b)
