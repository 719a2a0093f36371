"""``AnalogConv1dMapped`` / ``AnalogConv2dMapped`` / ``AnalogConv3dMapped``: convolutions laid
out on tiles as the reference's mapped convolutions: the kernel matrix ``[out_channels,
in_channels · Π kernel_size]`` is split by whole input channels (every tile holds complete
kernels) into column groups of at most ``mapping.max_input_size`` inputs and into row groups of
at most ``max_output_size`` outputs; one group only, zero padding, digital bias."""

from __future__ import annotations

import math
from typing import Any, Optional, Union

from torch import nn

from rpusim.configs.rpu_configs import RPUConfig
from rpusim.exceptions import ConfigError
from rpusim.nn.conv import PADDING_MODES, SizeArg, _AnalogConvNd
from rpusim.nn.linear_mapped import mapped_tile
from rpusim.tiles import AnalogTile


class _AnalogConvNdMapped(_AnalogConvNd):
    TILE_MODULE_NAME = ""  # the reference names these tiles "array.<i>.<o>"

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: SizeArg,
        stride: SizeArg = 1,
        padding: Union[SizeArg, str] = 0,
        dilation: SizeArg = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: str = "zeros",
        rpu_config: Optional[RPUConfig] = None,
        tile_module_class: Any = None,
        use_indexed: Optional[bool] = None,
        backend: Optional[str] = None,
    ) -> None:
        if groups != 1:
            raise ConfigError(
                f"groups: the mapped convolutions support groups=1 only, got {groups}"
            )
        if padding_mode != "zeros":
            raise ConfigError(
                f"padding_mode: the mapped convolutions support 'zeros' only, got "
                f"{padding_mode!r} (of {PADDING_MODES})"
            )
        if tile_module_class is not None:
            raise ConfigError("tile_module_class: custom tile classes are not supported")
        # use_indexed picks the reference's GPU kernel for the same result; nothing to choose.
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride,
            padding,
            dilation,
            groups,
            bias,
            padding_mode,
            rpu_config,
            backend,
        )

    def _make_tile(self, out_size: int, in_size: int, backend: Optional[str]) -> AnalogTile:
        kernel = math.prod(self.kernel_size)
        return mapped_tile(out_size, in_size, self.rpu_config, backend, in_group=kernel)

    @classmethod
    def from_digital(
        cls, module: nn.Module, rpu_config: RPUConfig, tile_module_class: Any = None
    ) -> _AnalogConvNdMapped:
        """A mapped copy of the torch convolution ``module`` (weights and bias)."""
        layer = cls(
            module.in_channels,  # type: ignore[arg-type]
            module.out_channels,  # type: ignore[arg-type]
            module.kernel_size,  # type: ignore[arg-type]
            stride=module.stride,  # type: ignore[arg-type]
            padding=module.padding,  # type: ignore[arg-type]
            dilation=module.dilation,  # type: ignore[arg-type]
            groups=module.groups,  # type: ignore[arg-type]
            bias=module.bias is not None,
            padding_mode=module.padding_mode,  # type: ignore[arg-type]
            rpu_config=rpu_config,
            tile_module_class=tile_module_class,
        )
        bias = module.bias.detach() if module.bias is not None else None  # type: ignore[operator]
        layer.set_weights(module.weight.detach(), bias)  # type: ignore[operator]
        return layer


class AnalogConv1dMapped(_AnalogConvNdMapped):
    """``torch.nn.Conv1d`` on tiles split by whole input channels (see the module docstring)."""

    dims = 1


class AnalogConv2dMapped(_AnalogConvNdMapped):
    """``torch.nn.Conv2d`` on tiles split by whole input channels (see the module docstring)."""

    dims = 2


class AnalogConv3dMapped(_AnalogConvNdMapped):
    """``torch.nn.Conv3d`` on tiles split by whole input channels (see the module docstring)."""

    dims = 3
