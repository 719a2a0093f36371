"""Analog neural-network modules."""

from rpusim.nn.base import (
    AnalogLayerBase,
    check_analog_state,
    drift_analog_weights,
    program_analog_weights,
    remap_analog_weights,
)
from rpusim.nn.container import AnalogSequential, analog_tiles, to_backend
from rpusim.nn.conv import AnalogConv1d, AnalogConv2d, AnalogConv3d
from rpusim.nn.conversion import convert_to_analog, convert_to_digital
from rpusim.nn.linear import AnalogLinear

# Recurrent layers (rpusim.nn.rnn).
from rpusim.nn.rnn import (
    AnalogBidirRNNLayer,
    AnalogGRUCell,
    AnalogLSTMCell,
    AnalogLSTMCellCombinedWeight,
    AnalogRNN,
    AnalogRNNLayer,
    AnalogVanillaRNNCell,
)

__all__ = [
    "AnalogConv1d",
    "AnalogConv2d",
    "AnalogConv3d",
    "AnalogLayerBase",
    "AnalogLinear",
    "AnalogSequential",
    "analog_tiles",
    "check_analog_state",
    "convert_to_analog",
    "convert_to_digital",
    "drift_analog_weights",
    "program_analog_weights",
    "remap_analog_weights",
    "to_backend",
    # Recurrent layers.
    "AnalogBidirRNNLayer",
    "AnalogGRUCell",
    "AnalogLSTMCell",
    "AnalogLSTMCellCombinedWeight",
    "AnalogRNN",
    "AnalogRNNLayer",
    "AnalogVanillaRNNCell",
]

# The reference's mapped layers, containers and module paths (branch api).
from rpusim.nn.container import AnalogContainerBase, AnalogWrapper  # noqa: E402
from rpusim.nn.conv_mapped import (  # noqa: E402
    AnalogConv1dMapped,
    AnalogConv2dMapped,
    AnalogConv3dMapped,
)
from rpusim.nn.linear_mapped import AnalogLinearMapped  # noqa: E402

__all__ += [
    "AnalogContainerBase",
    "AnalogConv1dMapped",
    "AnalogConv2dMapped",
    "AnalogConv3dMapped",
    "AnalogLinearMapped",
    "AnalogWrapper",
]

# The reference's names rpusim does not provide raise MissingFeatureError (branch api).
from rpusim._missing import missing_getattr as _missing_getattr  # noqa: E402

__getattr__ = _missing_getattr(__name__)
