"""``aihwkit.simulator.tiles.torch_tile``: the torch-based tiles are not provided (their names
raise MissingFeatureError)."""

from rpusim._missing import missing_getattr

__getattr__ = missing_getattr(__name__)
