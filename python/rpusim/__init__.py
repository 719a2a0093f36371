"""rpusim: fast analog in-memory computing (crossbar tile) simulation for PyTorch."""

from rpusim import configs, exceptions, nn, optim
from rpusim._core import __version__
from rpusim._core import backends as _backends
from rpusim.nn.container import to_backend
from rpusim.tiles import AnalogTile


def backends() -> dict[str, str]:
    """The available compute backends, name → description (e.g. ``{"cpu": "rayon, 2 threads"}``)."""
    return dict(_backends())


__all__ = [
    "AnalogTile",
    "__version__",
    "backends",
    "configs",
    "exceptions",
    "nn",
    "optim",
    "to_backend",
]
