"""Turns configuration dataclasses into the JSON the Rust core reads, checking every field's type
on the way so that a wrong value is reported with its full name (e.g. ``device.dw_min``)."""

from __future__ import annotations

import dataclasses
import inspect
import json
import math
from enum import Enum
from typing import Any

from rpusim.exceptions import ConfigError

# Magnitudes a float parameter may have (or be 0): beyond them products and quotients of
# parameters (steps, slopes, bounds with their spreads) leave float32's range.
SMALLEST = 1e-30
LARGEST = 1e15


def _encode_value(name: str, value: Any, default: Any) -> Any:
    if isinstance(default, Enum):
        if isinstance(value, str):
            try:
                value = type(default)[value]
            except KeyError:
                options = ", ".join(m.name for m in type(default))
                raise ConfigError(f"{name}: unknown value {value!r} (one of {options})") from None
        if not isinstance(value, type(default)):
            raise ConfigError(f"{name}: expected a {type(default).__name__}, got {value!r}")
        return value.value
    if isinstance(default, bool):
        if not isinstance(value, bool):
            raise ConfigError(f"{name}: expected a bool, got {value!r}")
        return value
    if isinstance(default, int):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name}: expected an int, got {value!r}")
        return value
    if isinstance(default, float):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}: expected a number, got {value!r}")
        value = float(value)
        if not math.isfinite(value):
            raise ConfigError(f"{name}: must be a finite number, got {value!r}")
        if value != 0 and not SMALLEST <= abs(value) <= LARGEST:
            raise ConfigError(
                f"{name}: must be 0 or of magnitude {SMALLEST:g} to {LARGEST:g} (the device draws "
                f"and updates are float32 and would overflow), got {value!r}"
            )
        return value
    if dataclasses.is_dataclass(default):
        # A nested parameter set (e.g. a device's drift): any of the family, encoded by itself.
        family = [c for c in inspect.getmro(type(default)) if dataclasses.is_dataclass(c)][-1]
        if not isinstance(value, family) or not hasattr(value, "to_core"):
            raise ConfigError(f"{name}: expected a {family.__name__}, got {value!r}")
        return value.to_core(name)
    raise ConfigError(f"{name}: cannot encode {value!r}")


def encode_fields(obj: Any, prefix: str, skip: tuple[str, ...] = ()) -> dict[str, Any]:
    """The dataclass's fields as JSON-ready values, type-checked against their defaults."""
    out: dict[str, Any] = {}
    defaults = type(obj)()
    for field in dataclasses.fields(obj):
        if field.name in skip or field.name.startswith("_"):
            continue
        out[field.name] = _encode_value(
            f"{prefix}.{field.name}", getattr(obj, field.name), getattr(defaults, field.name)
        )
    return out


def to_json(payload: dict[str, Any]) -> str:
    return json.dumps(payload, allow_nan=False)
