"""``convert_to_analog`` / ``convert_to_digital``: swap the Linear and Conv layers of any torch
model for their analog counterparts (weights and biases copied) and back."""

from __future__ import annotations

import copy
from typing import Any, Callable, Optional

import torch
from torch import nn

from rpusim.configs.rpu_configs import RPUConfig
from rpusim.exceptions import ConfigError
from rpusim.nn.base import AnalogLayerBase
from rpusim.nn.container import AnalogSequential, AnalogWrapper, analog_wrapper_class
from rpusim.nn.conv import AnalogConv1d, AnalogConv2d, AnalogConv3d, _AnalogConvNd
from rpusim.nn.conv_mapped import AnalogConv1dMapped, AnalogConv2dMapped, AnalogConv3dMapped
from rpusim.nn.linear import AnalogLinear
from rpusim.nn.linear_mapped import AnalogLinearMapped

# Digital class → analog class; the reference's default conversion map.
__all__ = [
    "AnalogWrapper",
    "DEFAULT_CONVERSION_MAP",
    "DEFAULT_MAPPED_CONVERSION_MAP",
    "convert_to_analog",
    "convert_to_digital",
    "specific_rpu_config_id",
]

DEFAULT_CONVERSION_MAP: dict[type[nn.Module], type[nn.Module]] = {
    nn.Linear: AnalogLinear,
    nn.Conv1d: AnalogConv1d,
    nn.Conv2d: AnalogConv2d,
    nn.Conv3d: AnalogConv3d,
    nn.Sequential: AnalogSequential,
}

# The reference's map to the mapped layers (tiles split as its *Mapped layers split them).
DEFAULT_MAPPED_CONVERSION_MAP: dict[type[nn.Module], type[nn.Module]] = {
    nn.Linear: AnalogLinearMapped,
    nn.Conv1d: AnalogConv1dMapped,
    nn.Conv2d: AnalogConv2dMapped,
    nn.Conv3d: AnalogConv3dMapped,
    nn.Sequential: AnalogSequential,
}

DIGITAL_CLASSES: dict[type[nn.Module], type[nn.Module]] = {
    AnalogLinear: nn.Linear,
    AnalogConv1d: nn.Conv1d,
    AnalogConv2d: nn.Conv2d,
    AnalogConv3d: nn.Conv3d,
    AnalogLinearMapped: nn.Linear,
    AnalogConv1dMapped: nn.Conv1d,
    AnalogConv2dMapped: nn.Conv2d,
    AnalogConv3dMapped: nn.Conv3d,
}


def _analog_copy(
    module: nn.Module, analog_cls: type[nn.Module], rpu_config: RPUConfig, backend: Optional[str]
) -> nn.Module:
    if isinstance(module, nn.Sequential):
        return AnalogSequential(*module.children()) if analog_cls is AnalogSequential else module
    if isinstance(module, nn.Linear):
        layer: Any = analog_cls(
            module.in_features,
            module.out_features,
            bias=module.bias is not None,
            rpu_config=rpu_config,
            backend=backend,
        )
    elif isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        layer = analog_cls(
            module.in_channels,
            module.out_channels,
            module.kernel_size,
            stride=module.stride,
            padding=module.padding,
            dilation=module.dilation,
            groups=module.groups,
            bias=module.bias is not None,
            padding_mode=module.padding_mode,
            rpu_config=rpu_config,
            backend=backend,
        )
    else:
        raise ConfigError(f"conversion_map: no rule to convert {type(module).__name__}")
    bias = module.bias.detach() if module.bias is not None else None
    layer.set_weights(module.weight.detach(), bias)
    layer.train(module.training)
    return layer


def specific_rpu_config_id(module_name: str, module: nn.Module, rpu_config: RPUConfig) -> RPUConfig:
    """The reference's default ``specific_rpu_config_fun``: every layer gets ``rpu_config``."""
    return rpu_config


def convert_to_analog(
    module: nn.Module,
    rpu_config: RPUConfig,
    conversion_map: Optional[dict[type[nn.Module], type[nn.Module]]] = None,
    specific_rpu_config_fun: Optional[Callable[[str, nn.Module, RPUConfig], RPUConfig]] = None,
    module_name: str = "",
    ensure_analog_root: bool = True,
    exclude_modules: Optional[list[str]] = None,
    inplace: bool = False,
    verbose: bool = False,
    backend: Optional[str] = None,
) -> nn.Module:
    """Replaces every module whose class is in ``conversion_map`` (default: Linear, Conv1d/2d/3d,
    Sequential) by its analog counterpart with the same weights, recursively.

    Args:
        module: any torch model (copied first unless ``inplace``).
        rpu_config: the tile configuration of the new layers.
        specific_rpu_config_fun: ``f(name, module, rpu_config) -> rpu_config`` per layer.
        module_name: prefix of the names passed to ``specific_rpu_config_fun`` and matched by
            ``exclude_modules``.
        ensure_analog_root: give the returned root the analog helpers (``analog_tiles()``,
            ``analog_layers()``, ``to_backend()``, ...), wrapping it if needed.
        exclude_modules: names of modules (as in ``named_modules()``) left digital.
        backend: backend of the new tiles (default ``$RPUSIM_BACKEND`` or cpu).
    """
    if not isinstance(module, nn.Module):
        raise TypeError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    if not inplace:
        module = copy.deepcopy(module)
    mapping = DEFAULT_CONVERSION_MAP if conversion_map is None else conversion_map
    excluded = set(exclude_modules or [])

    def convert(name: str, child: nn.Module) -> nn.Module:
        if name in excluded:
            return child
        for grand_name, grand in list(child.named_children()):
            full = f"{name}.{grand_name}" if name else grand_name
            setattr(child, grand_name, convert(full, grand))
        analog_cls = mapping.get(type(child))
        if analog_cls is None or isinstance(child, AnalogLayerBase):
            return child
        config = rpu_config
        if specific_rpu_config_fun is not None:
            config = specific_rpu_config_fun(name, child, rpu_config)
        converted = _analog_copy(child, analog_cls, config, backend)
        if verbose and converted is not child:
            print(
                f"convert_to_analog: {name or '<root>'}: {type(child).__name__} -> "
                f"{type(converted).__name__}"
            )
        return converted

    root = convert(module_name, module)
    if ensure_analog_root and not isinstance(root, AnalogLayerBase):
        # In place (the same object, as inplace=True promises): an AnalogWrapper<cls>.
        root.__class__ = analog_wrapper_class(type(root))
    return root


def analog_root_class(cls: type) -> type:
    """``cls`` with the analog container helpers mixed in (``AnalogWrapper<cls>``)."""
    return analog_wrapper_class(cls)


def convert_to_digital(module: nn.Module, inplace: bool = False) -> nn.Module:
    """Replaces every analog Linear/Conv layer by the torch layer with its current weights (as
    read from the tile) and bias; ``AnalogSequential`` becomes ``nn.Sequential``."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
    if not inplace:
        module = copy.deepcopy(module)

    def convert(child: nn.Module) -> nn.Module:
        if not isinstance(child, _AnalogConvNd):  # a grouped conv's groups stay inside it
            for grand_name, grand in list(child.named_children()):
                setattr(child, grand_name, convert(grand))
        if isinstance(child, AnalogSequential):
            return nn.Sequential(*child.children())
        digital_cls = DIGITAL_CLASSES.get(type(child))
        if digital_cls is None:
            return child
        weight, bias = child.get_weights()  # type: ignore[operator]
        if isinstance(child, AnalogLinear):
            layer: Any = nn.Linear(child.in_features, child.out_features, bias=bias is not None)
        else:
            assert isinstance(child, _AnalogConvNd)
            layer = digital_cls(
                child.in_channels,
                child.out_channels,
                child.kernel_size,
                stride=child.stride,
                padding=child.padding,
                dilation=child.dilation,
                groups=child.groups,
                bias=bias is not None,
                padding_mode=child.padding_mode,
            )
        with torch.no_grad():
            layer.weight.copy_(weight.reshape(layer.weight.shape))
            if bias is not None:
                layer.bias.copy_(bias)
        layer.train(child.training)
        return layer

    return convert(module)
