"""Analog containers: ``AnalogSequential`` (``torch.nn.Sequential`` with the analog helpers) and
``AnalogWrapper`` (any torch module given the analog helpers), as the reference's
``AnalogContainerBase`` subclasses."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from typing import Any, Optional

from torch import Tensor, nn

from rpusim.exceptions import ConfigError
from rpusim.nn.base import AnalogLayerBase, named_analog_layers
from rpusim.tiles import AnalogTile


def analog_tiles(module: nn.Module) -> Iterator[AnalogTile]:
    """The analog tiles of the layers inside any torch module (one per layer: a split layer's
    ``AnalogTileArray`` as a whole)."""
    for child in module.modules():
        tile = getattr(child, "analog_tile", None)
        if isinstance(tile, AnalogTile):
            yield tile


def to_backend(module: nn.Module, name: str) -> nn.Module:
    """Moves every analog tile inside ``module`` (any torch container) to backend ``name``."""
    for tile in analog_tiles(module):
        tile.to_backend(name)
    return module


def _tile_key(layer_name: str) -> str:
    return f"{layer_name}.analog_module" if layer_name else "analog_module"


class AnalogContainerBase(AnalogLayerBase):
    """The analog helpers for modules that hold analog layers rather than a tile: weights of
    all layers at once, by the name of each layer's tile."""

    IS_CONTAINER = True

    def get_weights(self, **kwargs: Any) -> OrderedDict[str, tuple[Tensor, Optional[Tensor]]]:  # type: ignore[override]
        """``{"<layer>.analog_module": (weight, bias)}`` for every analog layer (the reference's
        keys; a split layer is one entry with its whole weight). ``kwargs`` go to each layer's
        ``get_weights``."""
        return OrderedDict(
            (_tile_key(name), layer.get_weights(**kwargs))  # type: ignore[operator]
            for name, layer in named_analog_layers(self)  # type: ignore[arg-type]
        )

    def set_weights(  # type: ignore[override]
        self, weights_dic: dict[str, tuple[Tensor, Optional[Tensor]]], **kwargs: Any
    ) -> None:
        """Writes ``{"<layer>.analog_module": (weight, bias)}`` (as ``get_weights`` returns) into
        every analog layer; each must be present (ConfigError naming the first missing)."""
        layers = list(named_analog_layers(self))  # type: ignore[arg-type]
        missing = [_tile_key(name) for name, _ in layers if _tile_key(name) not in weights_dic]
        if missing:
            raise ConfigError(f"set_weights: no weights given for {missing[0]}")
        for name, layer in layers:
            layer.set_weights(*weights_dic[_tile_key(name)], **kwargs)  # type: ignore[operator]

    def to_backend(self, name: str) -> Any:
        return to_backend(self, name)  # type: ignore[arg-type]


class AnalogSequential(AnalogContainerBase, nn.Sequential):
    """A ``Sequential`` whose analog layers can be listed, moved, programmed and drifted
    together.

    Examples:
        >>> model = AnalogSequential(AnalogLinear(4, 3), nn.Tanh(), AnalogLinear(3, 2))
        >>> model.analog_tile_count()
        2
    """

    @classmethod
    def from_digital(cls, module: nn.Sequential, *args: Any, **kwargs: Any) -> AnalogSequential:
        """An ``AnalogSequential`` with the children of ``module`` (shared, not copied)."""
        return cls(OrderedDict(module.named_children()))

    @classmethod
    def to_digital(cls, module: AnalogSequential, *args: Any, **kwargs: Any) -> nn.Sequential:
        """An ``nn.Sequential`` with the children of ``module`` (shared, not copied)."""
        return nn.Sequential(OrderedDict(module.named_children()))


_WRAPPED_CLASSES: dict[type, type] = {}


def analog_wrapper_class(cls: type) -> type:
    """``AnalogWrapper`` mixed into ``cls`` (one class per ``cls``, named
    ``AnalogWrapper<cls>`` as in the reference). Instances pickle as the original class plus a
    re-mix on load, so the generated class never needs to be importable."""
    if cls not in _WRAPPED_CLASSES:

        def __reduce_ex__(self: Any, protocol: Any) -> Any:  # noqa: N807
            # Module.__getstate__ is torch >= 2.2, object.__getstate__ Python >= 3.11.
            getstate = getattr(self, "__getstate__", None)
            return (_restore_wrapped, (cls, getstate() if getstate else self.__dict__.copy()))

        _WRAPPED_CLASSES[cls] = type(
            f"AnalogWrapper{cls.__name__}", (AnalogWrapper, cls), {"__reduce_ex__": __reduce_ex__}
        )
    return _WRAPPED_CLASSES[cls]


def _restore_wrapped(cls: type[nn.Module], state: dict[str, Any]) -> nn.Module:
    module = cls.__new__(cls)
    module.__setstate__(state)
    module.__class__ = analog_wrapper_class(cls)
    return module


class AnalogWrapper(AnalogContainerBase):
    """Gives any torch module the analog container helpers (``analog_tiles()``,
    ``analog_layers()``, ``get_weights()``, ``load_state_dict(load_rpu_config=...)``,
    ``program_analog_weights()``, ...): ``AnalogWrapper(model)`` is an instance of a class
    derived from both ``AnalogWrapper`` and ``type(model)`` that shares the state of ``model``
    (its parameters and submodules are the same objects, as in the reference: keep using the
    wrapper, not the original).

    Examples:
        >>> wrapped = AnalogWrapper(MyNet())
        >>> isinstance(wrapped, MyNet), wrapped.analog_tile_count()
    """

    def __new__(cls, module: Optional[nn.Module] = None, **_: Any) -> Any:
        if module is None:  # copy/pickle machinery
            return super().__new__(cls)
        if not isinstance(module, nn.Module):
            raise TypeError(f"module: expected a torch.nn.Module, got {type(module).__name__}")
        base = type(module)
        if isinstance(module, AnalogWrapper):
            base = type(module).__bases__[1]
        return super().__new__(analog_wrapper_class(base))

    def __init__(self, module: nn.Module) -> None:
        # The wrapper takes over the module's state (parameters, submodules, hooks).
        self.__dict__.update(module.__dict__)

    @classmethod
    def from_digital(cls, module: nn.Module, *args: Any, **kwargs: Any) -> AnalogWrapper:
        """``AnalogWrapper(module)``."""
        return cls(module)

    @classmethod
    def to_digital(cls, module: AnalogWrapper, *args: Any, **kwargs: Any) -> nn.Module:
        """The wrapped module as an instance of its own class again (state shared)."""
        digital_cls: Any = type(module).__bases__[1]
        plain = digital_cls.__new__(digital_cls)
        plain.__dict__ = module.__dict__
        return plain  # type: ignore[no-any-return]
