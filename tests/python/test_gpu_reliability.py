"""The gpu backend's reliability: empty batches as on the cpu, clean errors for sizes beyond the
adapter, no memory growth from repeated calls, and a silent probe."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import torch

import rpusim
from rpusim import AnalogTile
from rpusim.configs import ConstantStepDevice, SingleRPUConfig
from rpusim.exceptions import BackendError, RpusimError
from rpusim.presets import TikiTakaReRamSBPreset


@pytest.fixture
def gpu() -> str:
    reason = rpusim.gpu_unavailable_reason()
    if reason is not None:
        pytest.skip(f"gpu backend unavailable: {reason}")
    return "gpu"


def _exact_counts_config() -> SingleRPUConfig:
    # No noise, no variation: each weight is an integer number of dw_min steps.
    device = ConstantStepDevice(
        dw_min_std=0.0, dw_min_dtod=0.0, up_down_dtod=0.0, w_max_dtod=0.0, w_min_dtod=0.0
    )
    return SingleRPUConfig(device=device)


@pytest.mark.parametrize("config", [None, _exact_counts_config(), TikiTakaReRamSBPreset()])
def test_empty_batches_match_the_cpu(gpu: str, config: object) -> None:
    tiles = [AnalogTile(6, 5, config, backend=b, seed=3) for b in ("cpu", gpu)]
    gen = torch.Generator().manual_seed(2)
    for step in range(4):
        x, d = torch.randn(8, 5, generator=gen), 0.2 * torch.randn(8, 6, generator=gen)
        for tile in tiles:
            assert tile.forward(torch.zeros(0, 5)).shape == (0, 6)
            assert tile.backward(torch.zeros(0, 6)).shape == (0, 5)
            tile.update(torch.zeros(0, 5), torch.zeros(0, 6), 0.1)
            tile.update(x, d, 0.1)
            tile.post_update_step()
            if step == 3:
                tile.forward(x)
    cpu, gpu_tile = (t.__getstate__()["tile"] for t in tiles)
    # The step counters (which index the random streams) advance exactly as on the cpu.
    assert cpu["counters"] == gpu_tile["counters"]
    wc, wg = (t.get_weights() for t in tiles)
    assert wc.abs().sum() > 0
    torch.testing.assert_close(wg, wc, atol=1e-5, rtol=0)


def test_empty_batch_of_a_perfect_tile(gpu: str) -> None:
    config = SingleRPUConfig()
    config.forward.is_perfect = True
    config.backward.is_perfect = True
    tile = AnalogTile(3, 2, config, backend=gpu, seed=1)
    assert tile.forward(torch.zeros(0, 2)).shape == (0, 3)
    assert tile.backward(torch.zeros(0, 3)).shape == (0, 2)


def test_absurd_tile_sizes_raise_instead_of_aborting(gpu: str) -> None:
    # Construction on the cpu may refuse first; either way an error, never an abort.
    with pytest.raises(RpusimError):
        AnalogTile(2**62 + 1, 4).to_backend(gpu)
    with pytest.raises(RpusimError):
        AnalogTile(2**62 + 1, 4, backend=gpu)


def test_row_beyond_the_binding_limit_names_size_and_limit(gpu: str) -> None:
    env = dict(os.environ, RPUSIM_GPU_BINDING_LIMIT="4096")
    script = (
        "from rpusim import AnalogTile\n"
        "from rpusim.exceptions import BackendError\n"
        "try:\n"
        "    AnalogTile(2, 512, backend='gpu')\n"
        "except BackendError as e:\n"
        "    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    # 512 devices x 16 bytes (four planes) = 8192 bytes in one binding, limit 4096.
    assert "8192 bytes" in out.stdout and "allows 4096" in out.stdout, out.stdout


def test_huge_batches_raise_backend_error_naming_the_limit(gpu: str) -> None:
    env = dict(os.environ, RPUSIM_GPU_BINDING_LIMIT="65536")
    script = (
        "import torch\n"
        "from rpusim import AnalogTile\n"
        "from rpusim.exceptions import BackendError\n"
        "tile = AnalogTile(4, 8, backend='gpu')\n"
        "for call in (lambda: tile.forward(torch.zeros(4096, 8)),\n"
        "             lambda: tile.backward(torch.zeros(8192, 4)),\n"
        "             lambda: tile.update(torch.ones(4096, 8), torch.ones(4096, 4), 0.1)):\n"
        "    try:\n"
        "        call()\n"
        "        print('no error')\n"
        "    except BackendError as e:\n"
        "        print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 3, out.stdout
    for line in lines:
        assert "bytes in one GPU storage binding" in line and "allows 65536" in line, line


def test_workgroup_limit_of_a_huge_batch(gpu: str) -> None:
    # 2^24 + 7 vectors of one input: 64 MiB fits the binding, but the product needs more than
    # 65535 workgroups of 64 along one dimension.
    tile = AnalogTile(1, 1, backend=gpu, seed=1)
    with pytest.raises(BackendError, match="workgroups"):
        tile.forward(torch.zeros(2**24 + 7, 1))
    # The tile still works after the error.
    assert tile.forward(torch.ones(2, 1)).shape == (2, 1)


def _rss_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc (Linux)")
def test_writes_without_compute_do_not_accumulate(gpu: str) -> None:
    # wgpu keeps each queued write (its staging copy and its destination buffer) until the next
    # submission; creating tiles or setting weights without a forward used to grow ~18 KB and
    # ~2 KB per call at 8x8 (benches/python/bench_gpu_memory.py).
    w = torch.randn(8, 8) * 0.1
    tile = AnalogTile(8, 8, backend=gpu, seed=1)

    def create() -> None:
        AnalogTile(8, 8, backend=gpu, seed=1)

    for call, calls, budget_kb in ((create, 400, 2048), (lambda: tile.set_weights(w), 3000, 2048)):
        for _ in range(100):
            call()
        start = _rss_kb()
        for _ in range(calls):
            call()
        assert _rss_kb() - start < budget_kb


def test_probing_prints_nothing() -> None:
    # Mesa's device_select layer used to connect to the Wayland display because wgpu enabled
    # VK_KHR_wayland_surface; without XDG_RUNTIME_DIR libwayland printed an error twice.
    env = {k: v for k, v in os.environ.items() if k != "XDG_RUNTIME_DIR"}
    env["WAYLAND_DISPLAY"] = "wayland-0"
    script = "import rpusim; rpusim.backends(); rpusim.gpu_unavailable_reason()"
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
