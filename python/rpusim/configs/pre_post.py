"""Digital pre- and post-processing of a tile's input (``rpu_config.pre_post``): the learned
input range of hardware-aware training (reference §7)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Optional

from rpusim.exceptions import ConfigError


@dataclass
class InputRangeParameter:
    """A static, learned clip of the tile input, replacing dynamic noise management.

    With ``enable`` each layer holds one range r (``input_range``, an ``nn.Parameter`` when
    ``learn_input_range``): the input is clipped to ±r and divided by r before the tile (so the
    DAC sees [−1, 1]; ``forward.inp_bound`` should be 1), and the tile output is multiplied by r.

    Gradient of r (per batch; x the layer input, g the gradient of the clipped input):
    ``Σ_{x ≥ r} min(g, 0) − Σ_{x ≤ −r} max(g, 0)`` — only the clipped inputs whose gradient asks
    for a larger range count — times ``r·gradient_scale`` when ``gradient_relative``; plus
    ``decay·r`` when the fraction of unclipped inputs (|x| < r) exceeds
    ``input_min_percentage``; minus ``(1 − p)·r`` when ``manage_output_clipping`` and the
    fraction p of unclipped tile outputs is below ``output_min_percentage``.

    In training mode, the first ``init_from_data`` batches set r to the running mean of
    ``init_std_alpha·std(x)`` (batches with std 0 are skipped).
    """

    enable: bool = False
    """Clip and scale the input by a (learned) range."""
    learn_input_range: bool = True
    """r is a trained parameter (else a buffer, e.g. set by calibration)."""
    init_value: float = 3.0
    """Initial r."""
    init_from_data: int = 100
    """Number of training batches r is initialised from (0: off)."""
    init_std_alpha: float = 3.0
    """Multiple of the input's std that the initialisation sets r to."""
    decay: float = 0.001
    """Relative shrinking of r per step while few inputs clip."""
    input_min_percentage: float = 0.95
    """The decay acts only while more than this fraction of inputs is unclipped."""
    manage_output_clipping: bool = False
    """Grow r while too many tile outputs hit the output bound."""
    output_min_percentage: float = 0.95
    """The growth acts only while fewer than this fraction of outputs is unclipped."""
    gradient_scale: float = 1.0
    """Factor on r's gradient (only with ``gradient_relative``, as in the reference)."""
    gradient_relative: bool = True
    """Make r's clip gradient relative to r (times r)."""
    calibration_info: Optional[str] = None
    """Set by post-training calibration (``calibrate_input_ranges``)."""

    def check(self, prefix: str = "pre_post.input_range") -> None:
        for name in ("enable", "learn_input_range", "manage_output_clipping", "gradient_relative"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"{prefix}.{name}: expected a bool, got {getattr(self, name)!r}")
        value = self.init_from_data
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"{prefix}.init_from_data: expected an int >= 0, got {value!r}")
        limits = {
            "init_value": (1e-30, math.inf),
            "init_std_alpha": (0.0, math.inf),
            "decay": (0.0, math.inf),
            "input_min_percentage": (0.0, 1.0),
            "output_min_percentage": (0.0, 1.0),
            "gradient_scale": (0.0, math.inf),
        }
        for name, (low, high) in limits.items():
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or not low <= value <= high
            ):
                raise ConfigError(
                    f"{prefix}.{name}: must be a number in [{low}, {high}], got {value!r}"
                )
        if self.calibration_info is not None and not isinstance(self.calibration_info, str):
            raise ConfigError(f"{prefix}.calibration_info: expected a str or None")


@dataclass
class PrePostProcessingParameter:
    """Digital processing around the tile: ``input_range``."""

    input_range: InputRangeParameter = field(default_factory=InputRangeParameter)
    """The learned input range."""

    def check(self, prefix: str = "pre_post") -> None:
        if not isinstance(self.input_range, InputRangeParameter):
            raise ConfigError(
                f"{prefix}.input_range: expected InputRangeParameter, got {self.input_range!r}"
            )
        self.input_range.check(f"{prefix}.input_range")


def check_pre_post(config: Any) -> None:
    """Checks ``config.pre_post``, and that ``manage_output_clipping`` has what it needs: a
    forward with an out_bound and noise and bound management NONE (ConfigError otherwise)."""
    from rpusim.configs.enums import BoundManagementType, NoiseManagementType

    pre_post = getattr(config, "pre_post", None)
    if not isinstance(pre_post, PrePostProcessingParameter):
        raise ConfigError(f"pre_post: expected PrePostProcessingParameter, got {pre_post!r}")
    pre_post.check()
    input_range = pre_post.input_range
    if not (input_range.enable and input_range.manage_output_clipping):
        return
    forward = getattr(config, "forward", None)
    if (
        forward is None
        or forward.is_perfect
        or BoundManagementType(forward.bound_management) != BoundManagementType.NONE
        or NoiseManagementType(forward.noise_management) != NoiseManagementType.NONE
        or forward.out_bound <= 0
    ):
        raise ConfigError(
            "pre_post.input_range.manage_output_clipping: needs a forward with an out_bound "
            "and noise_management = bound_management = NONE"
        )
