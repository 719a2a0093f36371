"""rpusim: fast analog in-memory computing (crossbar tile) simulation for PyTorch."""

from __future__ import annotations

import threading as _threading

from rpusim import _core

# The main thread joins the CPU backend's pool as worker 0 and runs parallel loops itself
# instead of waking a worker and sleeping (rust/threads.rs); a thread that may end must not.
if _threading.current_thread() is _threading.main_thread():
    _core.adopt_calling_thread()

from rpusim import configs, exceptions, inference, nn, optim
from rpusim._core import __version__
from rpusim._core import backends as _backends
from rpusim._core import gpu_unavailable_reason as _gpu_unavailable_reason
from rpusim.inference import reference_paths as _reference_paths  # noqa: F401 - the reference's paths
from rpusim.nn.container import to_backend
from rpusim.tiles import AnalogTile


def backends() -> dict[str, str]:
    """The available compute backends, name → description, e.g.
    ``{"cpu": "rayon, 2 threads", "gpu": "Vulkan / llvmpipe (LLVM 15.0.6, 256 bits) (Cpu, ...)"}``.

    ``"gpu"`` is listed when wgpu finds an adapter (Vulkan, Metal or DX12; the environment
    variable ``RPUSIM_GPU_ADAPTER`` picks one by a substring of its name); see
    :func:`gpu_unavailable_reason`.
    """
    return dict(_backends())


def gpu_unavailable_reason() -> str | None:
    """Why the ``"gpu"`` backend is not available (no adapter, no driver), or None when it is."""
    return _gpu_unavailable_reason()


__all__ = [
    "AnalogTile",
    "__version__",
    "backends",
    "gpu_unavailable_reason",
    "configs",
    "exceptions",
    "inference",
    "nn",
    "optim",
    "to_backend",
]
