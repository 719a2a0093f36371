"""``AnalogConv1d`` / ``AnalogConv2d`` / ``AnalogConv3d``: convolutions on an analog tile.

The input is unfolded into patches (one row of ``in_channels · Π kernel_size`` values per output
position), every patch goes through the tile as one vector (so each patch is one (x, d) pair of
the pulsed update, as in the reference simulator), and the outputs are folded back into
``[N, out_channels, *spatial]``. The tile holds the kernel as ``[out_channels, in_channels ·
Π kernel_size]``, the layout of ``torch.nn.ConvNd.weight.reshape(out_channels, -1)``.
"""

from __future__ import annotations

import math
from typing import Any, Optional, Union, cast

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from rpusim import _core
from rpusim.configs.rpu_configs import RPUConfig, SingleRPUConfig
from rpusim.exceptions import ConfigError, ShapeError
from rpusim.nn.base import AnalogLayerBase
from rpusim.optim.context import AnalogContext
from rpusim.tile_array import make_tile
from rpusim.tiles import AnalogTile, config_label

SizeArg = Union[int, tuple[int, ...]]
PADDING_MODES = ("zeros", "reflect", "replicate", "circular")


def _tuple(name: str, value: SizeArg, dims: int, minimum: int) -> tuple[int, ...]:
    values = (value,) * dims if isinstance(value, int) and not isinstance(value, bool) else value
    if (
        not isinstance(values, tuple)
        or len(values) != dims
        or not all(isinstance(v, int) and not isinstance(v, bool) and v >= minimum for v in values)
    ):
        raise ConfigError(
            f"{name}: expected an int >= {minimum} or a tuple of {dims} of them, got {value!r}"
        )
    return values


class Conv2dPatches(torch.autograd.Function):
    """The patches ``[N · OH · OW, C · KH · KW]`` of a float32 CPU 2-D convolution input
    ``[N, C, H, W]`` (padded), built by the core (``patches.rs``): the values of torch's
    ``unfold`` views copied, faster, and a backward that sums each input element's patch
    gradients in a fixed order. ``geometry``: (N, C, H, W, KH, KW, stride h, stride w,
    dilation h, dilation w); ``out``: (OH, OW)."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, x: Tensor, geometry: tuple[int, ...], out: tuple[int, int]
    ) -> Tensor:
        n, c, h, w, kh, kw = geometry[:6]
        patches = torch.empty(n * out[0] * out[1], c * kh * kw)
        flat = x.detach().contiguous().reshape(n * c, h * w)
        _core.conv2d_patches(flat.numpy(), patches.numpy(), geometry)
        ctx.geometry = geometry
        return patches

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Optional[Tensor], None, None]:  # type: ignore[override]
        n, c, h, w = ctx.geometry[:4]
        out = torch.empty(n * c, h * w)
        _core.conv2d_patches_backward(
            grad.to(torch.float32).contiguous().numpy(), out.numpy(), ctx.geometry
        )
        return out.reshape(n, c, h, w), None, None


def conv2d_patches(
    x: Tensor, kernel: tuple[int, ...], stride: tuple[int, ...], dilation: tuple[int, ...]
) -> tuple[Tensor, tuple[int, ...]]:
    """:class:`Conv2dPatches` of ``x`` and the output's spatial shape (OH, OW)."""
    n, c, h, w = x.shape
    out = tuple(
        (size - dl * (k - 1) - 1) // s + 1
        for size, k, s, dl in zip((h, w), kernel, stride, dilation)
    )
    geometry = (n, c, h, w, *kernel, *stride, *dilation)
    return Conv2dPatches.apply(x, geometry, out), out


class _AnalogConvNd(AnalogLayerBase, nn.Module):
    dims = 0

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
        backend: Optional[str] = None,
    ) -> None:
        super().__init__()
        d = self.dims
        for name, value in (("in_channels", in_channels), ("out_channels", out_channels)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise ConfigError(f"{name}: expected a positive int, got {value!r}")
        if isinstance(groups, bool) or not isinstance(groups, int) or groups < 1:
            raise ConfigError(f"groups: expected a positive int, got {groups!r}")
        if in_channels % groups or out_channels % groups:
            raise ConfigError(
                f"groups: {groups} must divide in_channels ({in_channels}) and out_channels "
                f"({out_channels})"
            )
        if padding_mode not in PADDING_MODES:
            raise ConfigError(
                f"padding_mode: expected one of {PADDING_MODES}, got {padding_mode!r}"
            )
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.kernel_size = _tuple("kernel_size", kernel_size, d, 1)
        self.stride = _tuple("stride", stride, d, 1)
        self.dilation = _tuple("dilation", dilation, d, 1)
        if padding == "valid":
            self.padding: Union[tuple[int, ...], str] = "valid"
            self._pads: tuple[tuple[int, int], ...] = ((0, 0),) * d
        elif padding == "same":
            if any(s != 1 for s in self.stride):
                raise ConfigError(f"padding: 'same' needs stride 1, got stride={stride!r}")
            # torch's split: total dilation·(k−1), the smaller half before, the rest after.
            self.padding = "same"
            self._pads = tuple(
                (dl * (k - 1) // 2, dl * (k - 1) - dl * (k - 1) // 2)
                for dl, k in zip(self.dilation, self.kernel_size)
            )
        elif isinstance(padding, str):
            raise ConfigError(
                f"padding: expected an int, a tuple, 'valid' or 'same', got {padding!r}"
            )
        else:
            self.padding = _tuple("padding", padding, d, 0)
            self._pads = tuple((p, p) for p in self.padding)
        self.groups = groups
        self.padding_mode = padding_mode
        self.rpu_config = rpu_config if rpu_config is not None else SingleRPUConfig()
        # Per group: in_channels / groups inputs per patch (torch's grouped weight shape).
        self.in_features = in_channels // groups * math.prod(self.kernel_size)
        analog_bias = self._init_analog_bias(bias, self.rpu_config)
        if analog_bias and groups > 1:
            raise ConfigError(
                "mapping.digital_bias=False: an analog bias column is not supported with "
                f"groups > 1 (got groups={groups})"
            )
        if groups == 1:
            self.analog_tile = self._make_tile(
                out_channels, self.in_features + analog_bias, backend
            )
            self.analog_ctx = AnalogContext(self.analog_tile)
            self._init_out_scaling(self.analog_tile.out_size)
            self._init_input_range()
        else:
            # One layer (its own tile) per group: group g maps its input channels to its output
            # channels only, so no device ever sees another group's inputs.
            self.group_layers = nn.ModuleList(
                type(self)(
                    in_channels // groups,
                    out_channels // groups,
                    kernel_size,
                    stride=stride,
                    padding=padding,
                    dilation=dilation,
                    bias=False,
                    padding_mode=padding_mode,
                    rpu_config=self.rpu_config,
                    backend=backend,
                )
                for _ in range(groups)
            )
            self.register_parameter("out_scaling_alpha", None)
            self.register_parameter("input_range", None)
        if bias and not analog_bias:
            self.bias: Optional[nn.Parameter] = nn.Parameter(torch.empty(out_channels))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def _make_tile(self, out_size: int, in_size: int, backend: Optional[str]) -> AnalogTile:
        """The layer's tile (or tile array, as the mapping splits it)."""
        return make_tile(out_size, in_size, self.rpu_config, backend)

    def reset_parameters(self) -> None:
        """torch.nn.ConvNd's initialisation, written into the tile."""
        weight = torch.empty(self.out_channels, self.in_channels // self.groups, *self.kernel_size)
        nn.init.kaiming_uniform_(weight, a=math.sqrt(5))
        bias = None
        if self.bias is not None or self.analog_bias:
            bound = 1 / math.sqrt(self.in_features)
            bias = torch.empty(self.out_channels).uniform_(-bound, bound)
        self.set_weights(weight, bias)

    def get_weights(self, **kwargs: Any) -> tuple[Tensor, Optional[Tensor]]:
        """``(weight [out_channels, in_channels / groups, *kernel_size], bias or None)``,
        copies. ``apply_weight_scaling=False``: without the digital output scales."""
        if self.groups > 1:
            weight = torch.cat([layer.get_weights(**kwargs)[0] for layer in self._groups()])
            analog_bias = None
        else:
            flat, analog_bias = self._read_tile(**kwargs)
            weight = flat.reshape(self.out_channels, self.in_channels, *self.kernel_size)
        if self.analog_bias:
            return weight, analog_bias
        bias = self.bias.detach().clone() if self.bias is not None else None
        return weight, bias

    def set_weights(self, weight: Tensor, bias: Optional[Tensor] = None, **kwargs: Any) -> None:
        """Writes the kernel (``[out, in, *kernel_size]`` or ``[out, in · Π kernel_size]``) into
        the tile (clipped by the devices) and the bias (digital, or the tile's bias column with
        ``mapping.digital_bias=False``; ignored without a bias). Keywords as
        ``AnalogLinear.set_weights``."""
        if not isinstance(weight, Tensor):
            raise TypeError(f"weight: expected a torch.Tensor, got {type(weight).__name__}")
        shapes = [
            (self.out_channels, self.in_channels // self.groups, *self.kernel_size),
            (self.out_channels, self.in_features),
        ]
        if tuple(weight.shape) not in shapes:
            raise ShapeError(f"weight: expected shape {list(shapes[0])}, got {list(weight.shape)}")
        bias = self._checked_bias(bias, self.out_channels)
        if self.groups > 1:
            for layer, part in zip(self._groups(), weight.chunk(self.groups)):
                layer.set_weights(part, **kwargs)
        else:
            self._write_tile(weight.reshape(self.out_channels, self.in_features), bias, **kwargs)
        self._write_bias(bias)

    def _pad(self, x: Tensor) -> Tensor:
        if not any(left or right for left, right in self._pads):
            return x
        # F.pad takes (last dim first) (left, right) pairs.
        pads: list[int] = []
        for left, right in reversed(self._pads):
            pads += [left, right]
        if self.padding_mode == "zeros":
            return F.pad(x, pads)
        return F.pad(x, pads, mode=self.padding_mode)

    def unfold(self, x: Tensor) -> tuple[Tensor, tuple[int, ...]]:
        """Patches ``[N · L, in_channels · Π kernel_size]`` of ``x`` and the output's spatial
        shape (``L`` = its product)."""
        d = self.dims
        x = self._pad(x)
        if d == 2 and x.dtype == torch.float32 and x.device.type == "cpu":
            return conv2d_patches(x, self.kernel_size, self.stride, self.dilation)
        for axis, (k, s, dl) in enumerate(zip(self.kernel_size, self.stride, self.dilation)):
            x = x.unfold(2 + axis, dl * (k - 1) + 1, s)
            if dl > 1:
                x = x[..., ::dl]
        # [N, C, L1..Ld, k1..kd] → [N, L1..Ld, C, k1..kd]
        spatial = tuple(x.shape[2 : 2 + d])
        order = [0, *range(2, 2 + d), 1, *range(2 + d, 2 + 2 * d)]
        patches = x.permute(order).reshape(-1, self.in_features)
        return patches, spatial

    def forward(self, x: Tensor) -> Tensor:
        if not isinstance(x, Tensor):
            raise TypeError(f"input: expected a torch.Tensor, got {type(x).__name__}")
        d = self.dims
        batched = x.dim() == d + 2
        if not batched and x.dim() == d + 1:
            x = x.unsqueeze(0)
        if x.dim() != d + 2 or x.shape[1] != self.in_channels:
            raise ShapeError(
                f"input: expected [N, {self.in_channels}, {d} spatial dims] or without N, "
                f"got {list(x.shape)}"
            )
        padded = [s + left + right for s, (left, right) in zip(x.shape[2:], self._pads)]
        reach = [dl * (k - 1) + 1 for dl, k in zip(self.dilation, self.kernel_size)]
        if any(p < r for p, r in zip(padded, reach)):
            raise ShapeError(
                f"input: spatial size {list(x.shape[2:])} (padded {padded}) is smaller than the "
                f"kernel's reach {reach}"
            )
        if self.groups > 1:
            parts = x.chunk(self.groups, dim=1)
            out = torch.cat([layer(part) for layer, part in zip(self._groups(), parts)], 1)
            if self.bias is not None:
                out = out + self.bias.to(out.dtype).reshape(-1, *([1] * d))
            return out if batched else out.squeeze(0)
        patches, spatial = self.unfold(x)
        out = self._scale_output(self._analog_forward(patches))
        if self.bias is not None:
            out = out + self.bias.to(out.dtype)
        out = out.reshape(x.shape[0], *spatial, self.out_channels)
        out = out.permute(0, d + 1, *range(1, d + 1))
        return out if batched else out.squeeze(0)

    def extra_repr(self) -> str:
        return (
            f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}, dilation={self.dilation}, "
            + (f"groups={self.groups}, " if self.groups > 1 else "")
            + f"bias={self.bias is not None or self.analog_bias}, "
            + ("analog_bias=True, " if self.analog_bias else "")
            + f"device={config_label(self.rpu_config)}, "
            f"backend={self.tiles_backend()!r}"
        )

    def _groups(self) -> list[_AnalogConvNd]:
        return [cast(_AnalogConvNd, layer) for layer in self.group_layers]

    def tiles_backend(self) -> str:
        """The backend of this layer's tile (of its groups' tiles with ``groups`` > 1)."""
        return next(iter(self.analog_tiles())).backend


class AnalogConv1d(_AnalogConvNd):
    """``torch.nn.Conv1d`` on an analog tile (input ``[N, C, L]``); see the module docstring."""

    dims = 1


class AnalogConv2d(_AnalogConvNd):
    """``torch.nn.Conv2d`` on an analog tile (input ``[N, C, H, W]``); see the module docstring.

    Examples:
        >>> conv = AnalogConv2d(1, 16, kernel_size=5)
        >>> conv(torch.randn(8, 1, 28, 28)).shape
        torch.Size([8, 16, 24, 24])
    """

    dims = 2


class AnalogConv3d(_AnalogConvNd):
    """``torch.nn.Conv3d`` on an analog tile (input ``[N, C, D, H, W]``)."""

    dims = 3
