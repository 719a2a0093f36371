"""``aihwkit.simulator.tiles.inference_torch``: the torch inference tile
(``TorchInferenceRPUConfig``)."""

from rpusim._missing import missing_getattr
from rpusim.inference.torch_tile import TorchInferenceTile as TorchInferenceTile

__getattr__ = missing_getattr(__name__)
