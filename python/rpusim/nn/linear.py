"""``AnalogLinear``: a linear layer whose weights live in an analog tile."""

from __future__ import annotations

import math
from typing import Any, Optional

import torch
from torch import Tensor, nn

from rpusim.configs.rpu_configs import RPUConfig, SingleRPUConfig
from rpusim.exceptions import ConfigError, ShapeError
from rpusim.nn.base import AnalogLayerBase
from rpusim.optim.context import AnalogContext
from rpusim.tile_array import make_tile
from rpusim.tiles import AnalogTile, check_weights, config_label


class AnalogLinear(AnalogLayerBase, nn.Module):
    """Applies ``y = W x + b`` with ``W`` in an analog tile (``out_features × in_features``).

    The forward and backward products go through the tile's periphery; the weights change only
    by the tile's update, driven by ``AnalogSGD``. The bias is digital: an ordinary torch
    parameter added after the analog output and trained by the digital part of the optimizer.

    Args:
        in_features: size of each input sample.
        out_features: size of each output sample.
        bias: whether to add a (digital) bias.
        rpu_config: tile configuration; ``SingleRPUConfig(device=ConstantStepDevice())`` if None.
        backend: ``"cpu"`` (default ``$RPUSIM_BACKEND`` or cpu).

    Shape:
        - Input: ``[..., in_features]`` (any floating dtype; computed in float32).
        - Output: ``[..., out_features]`` in the input's dtype.

    Attributes:
        analog_tile: the ``AnalogTile`` holding the weights (an ``AnalogTileArray`` when the
            mapping splits the layer over several tiles).
        analog_ctx: the ``AnalogContext`` parameter the optimizer updates the tile through.
        bias: the digital bias ``[out_features]`` or None (also None with an analog bias).
        analog_bias: whether the bias is the tile's last column (``mapping.digital_bias=False``:
            an input fixed at 1 drives it, so it is read with the periphery's noise and trained
            by the pulsed update like any weight).

    Examples:
        >>> layer = AnalogLinear(20, 30)
        >>> layer(torch.randn(128, 20)).shape
        torch.Size([128, 30])
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        rpu_config: Optional[RPUConfig] = None,
        backend: Optional[str] = None,
    ) -> None:
        super().__init__()
        for name, value in (("in_features", in_features), ("out_features", out_features)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}: expected a positive int, got {value!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.rpu_config = rpu_config if rpu_config is not None else SingleRPUConfig()
        analog_bias = self._init_analog_bias(bias, self.rpu_config)
        self.analog_tile = self._make_tile(out_features, in_features + analog_bias, backend)
        self.analog_ctx = AnalogContext(self.analog_tile)
        self._init_out_scaling(self.analog_tile.out_size)
        self._init_input_range()
        if bias and not analog_bias:
            self.bias: Optional[nn.Parameter] = nn.Parameter(torch.empty(out_features))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _make_tile(self, out_size: int, in_size: int, backend: Optional[str]) -> AnalogTile:
        """The layer's tile (or tile array, as the mapping splits it)."""
        return make_tile(out_size, in_size, self.rpu_config, backend)

    def reset_parameters(self) -> None:
        """torch.nn.Linear's initialisation, written into the tile."""
        weight = torch.empty(self.out_features, self.in_features)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
        bias = None
        if self.bias is not None or self.analog_bias:
            bound = 1 / math.sqrt(self.in_features)
            bias = torch.empty(self.out_features).uniform_(-bound, bound)
        self.set_weights(weight, bias)

    def get_weights(self, **kwargs: Any) -> tuple[Tensor, Optional[Tensor]]:
        """``(weight [out, in], bias [out] or None)``, copies. ``apply_weight_scaling=False``
        returns what the devices hold, without the digital output scales."""
        weight, analog_bias = self._read_tile(**kwargs)
        if self.analog_bias:
            return weight, analog_bias
        bias = self.bias.detach().clone() if self.bias is not None else None
        return weight, bias

    def set_weights(self, weight: Tensor, bias: Optional[Tensor] = None, **kwargs: Any) -> None:
        """Writes the weights into the tile (clipped by the devices) and the bias (digital, or
        the tile's bias column with ``mapping.digital_bias=False``; ignored by a layer built with
        ``bias=False``, as in the reference). Keywords: ``apply_weight_scaling`` (default True),
        ``weight_scaling_omega`` (overrides the mapping's)."""
        bias = self._checked_bias(bias, self.out_features)
        check_weights(weight, self.out_features, self.in_features)
        self._write_tile(weight, bias, **kwargs)
        self._write_bias(bias)

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"input: expected a torch.Tensor, got {type(x).__name__}")
        if x.dim() == 0 or x.shape[-1] != self.in_features:
            raise ShapeError(
                f"input: expected shape [..., {self.in_features}], got {list(x.shape)}"
            )
        out = self._scale_output(self._analog_forward(x))
        if self.bias is not None:
            out = out + self.bias.to(out.dtype)
        return out

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, out_features={self.out_features}, "
            f"bias={self.bias is not None or self.analog_bias}, "
            + ("analog_bias=True, " if self.analog_bias else "")
            + f"device={config_label(self.rpu_config)}, "
            f"backend={self.analog_tile.backend!r}"
        )
