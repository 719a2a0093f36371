"""``AnalogTile``: the torch-facing wrapper of one Rust tile.

Tensors cross to Rust without copies when they are contiguous float32 on the CPU (numpy views
of the tensor memory); other floating dtypes are converted to float32 and results are returned
in the input's dtype and on the input's device. The GIL is released while Rust computes.
"""

from __future__ import annotations

import math
import os
from typing import Any, Optional

import torch
from torch import Tensor

from rpusim import _core
from rpusim.configs.mapping import MappingParameter
from rpusim.configs.rpu_configs import (
    DigitalRankUpdateRPUConfig,
    FloatingPointRPUConfig,
    RPUConfig,
    SingleRPUConfig,
    UnitCellRPUConfig,
)
from rpusim.exceptions import (
    BackendError,
    ConfigError,
    DTypeError,
    InputError,
    ShapeError,
    StateError,
)

RPU_CONFIGS = (
    SingleRPUConfig,
    UnitCellRPUConfig,
    DigitalRankUpdateRPUConfig,
    FloatingPointRPUConfig,
)


def default_backend() -> str:
    """The backend new tiles use: ``$RPUSIM_BACKEND`` or ``"cpu"``."""
    return os.environ.get("RPUSIM_BACKEND", "cpu")


BACKENDS = ("cpu", "gpu")


def check_backend(backend: Any) -> Optional[str]:
    """``backend`` must be None (the default) or the name of a backend."""
    if backend is None:
        return None
    if not isinstance(backend, str):
        raise BackendError(
            f"backend: expected one of {BACKENDS} or None, got {type(backend).__name__} {backend!r}"
        )
    if backend not in BACKENDS:
        raise BackendError(f"backend: unknown backend {backend!r} (one of {BACKENDS}, or None)")
    return backend


def check_seed(seed: Any) -> int:
    """A tile seed is an int in [0, 2**64)."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**64:
        raise ConfigError(f"seed: expected an int in [0, 2**64), got {seed!r}")
    return seed


def check_finite(name: str, tensor: Tensor) -> None:
    """Raises InputError when ``tensor`` holds NaN or ±Inf, naming ``name`` and the first index."""
    finite = torch.isfinite(tensor)
    if not bool(finite.all()):
        index = int((~finite).reshape(-1).nonzero()[0])
        raise InputError(f"{name}: contains NaN or Inf (first at flat index {index})")


def draw_seed() -> int:
    """A tile seed from torch's default generator, so ``torch.manual_seed`` fixes a whole run."""
    return int(torch.randint(0, 2**62, (1,), dtype=torch.int64).item())


def as_float32_2d(name: str, tensor: Any, width: int) -> tuple[Tensor, tuple[int, ...]]:
    """Validates ``tensor`` (``[..., width]``, floating) and returns a contiguous float32 CPU
    ``[batch, width]`` view or copy, with the original leading shape."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a torch.Tensor, got {type(tensor).__name__}")
    # The common case (what the layers pass on every call) with the fewest tensor calls.
    if (
        tensor.dtype is torch.float32
        and tensor.ndim == 2
        and tensor.shape[1] == width
        and tensor.is_cpu
        and not tensor.requires_grad
        and tensor.is_contiguous()
    ):
        return tensor, (tensor.shape[0],)
    if not tensor.is_floating_point():
        raise DTypeError(f"{name}: expected a floating-point tensor, got dtype {tensor.dtype}")
    if tensor.dim() == 0 or tensor.shape[-1] != width:
        raise ShapeError(f"{name}: expected shape [..., {width}], got {list(tensor.shape)}")
    lead = tuple(tensor.shape[:-1])
    flat = tensor.detach().reshape(-1, width)
    if flat.device.type != "cpu":
        flat = flat.cpu()
    if flat.dtype != torch.float32:
        flat = flat.to(torch.float32)
    return flat.contiguous(), lead


# The largest learning rate an analog update takes (the core refuses more as well): beyond it
# lr·d·x leaves float32 in accumulators and buffers for any realistic gradient.
MAX_LEARNING_RATE = 1e15


def check_learning_rate(name: str, lr: Any) -> float:
    """A learning rate: a number (or one-value tensor) in [0, MAX_LEARNING_RATE]."""
    if isinstance(lr, Tensor) and lr.numel() == 1:
        lr = float(lr)
    if (
        isinstance(lr, bool)
        or not isinstance(lr, (int, float))
        or not math.isfinite(lr)
        or not 0.0 <= lr <= MAX_LEARNING_RATE
    ):
        raise InputError(
            f"{name}: the learning rate must be a finite number in [0, {MAX_LEARNING_RATE:g}], "
            f"got {lr!r}"
        )
    return float(lr)


def update_arguments(
    x: Any, d: Any, lr: Any, in_size: int, out_size: int
) -> tuple[Tensor, Tensor, float]:
    """Checks the arguments of an update: ``x [..., in_size]`` and ``d [..., out_size]`` with the
    same batch, ``0 <= lr <= MAX_LEARNING_RATE``; returns them as float32 ``[batch, width]``
    and a float."""
    lr = check_learning_rate("lr", lr)
    xf, _ = as_float32_2d("x", x, in_size)
    df, _ = as_float32_2d("d", d, out_size)
    if xf.shape[0] != df.shape[0]:
        raise ShapeError(
            f"d: batch size {df.shape[0]} differs from the batch size {xf.shape[0]} of x"
        )
    return xf, df, float(lr)


# One call of the core's update: (core tile, x [batch, in], d [batch, out], lr).
CoreUpdate = tuple[Any, Any, Any, float]

# The reference tile's learning rate before any set_learning_rate.
DEFAULT_TILE_LEARNING_RATE = 0.1


def check_runtime(rpu_config: Any) -> None:
    """``rpu_config.runtime.data_type``: tiles compute in float32. FLOAT runs as is; HALF
    (the reference's half-precision build) runs in float32 with outputs in the input's dtype,
    more precise than the reference; DOUBLE is refused (its point, more precision than float32,
    is not available)."""
    runtime = getattr(rpu_config, "runtime", None)
    if runtime is None:
        return
    data_type = getattr(runtime, "data_type", None)
    name = getattr(data_type, "name", None)
    if name == "DOUBLE":
        raise ConfigError(
            "runtime.data_type: RPUDataType.DOUBLE is not supported (rpusim tiles compute in "
            "float32; use RPUDataType.FLOAT)"
        )
    if name not in ("FLOAT", "HALF"):
        raise ConfigError(
            f"runtime.data_type: expected an RPUDataType (FLOAT or HALF), got {data_type!r}"
        )


def check_omega(omega: Any) -> float:
    """A weight-scaling ω given to ``set_weights``: a finite number >= 0."""
    if (
        isinstance(omega, bool)
        or not isinstance(omega, (int, float))
        or not math.isfinite(omega)
        or omega < 0
    ):
        raise ConfigError(f"weight_scaling_omega: expected a finite number >= 0, got {omega!r}")
    return float(omega)


def config_label(rpu_config: Any) -> str:
    """The device model's class name of a config (the config's own for inference configs)."""
    return type(getattr(rpu_config, "device", rpu_config)).__name__


def check_weights(weights: Any, out_size: int, in_size: int) -> None:
    """``weights`` must be a tensor of shape ``[out_size, in_size]``."""
    if not isinstance(weights, Tensor):
        raise TypeError(f"weights: expected a torch.Tensor, got {type(weights).__name__}")
    if tuple(weights.shape) != (out_size, in_size):
        raise ShapeError(
            f"weights: expected shape [{out_size}, {in_size}], got {list(weights.shape)}"
        )


def check_state_tensor(name: str, value: Any, shape: Optional[tuple[int, ...]] = None) -> None:
    """A tensor of a saved state: the expected shape, finite values (StateError otherwise)."""
    if not isinstance(value, Tensor):
        raise StateError(f"state: {name} must be a tensor, got {type(value).__name__}")
    if shape is not None and tuple(value.shape) != shape:
        raise StateError(f"state: {name} must have shape {list(shape)}, got {list(value.shape)}")
    if value.is_floating_point() and not bool(torch.isfinite(value).all()):
        raise StateError(f"state: {name} contains NaN or Inf")


def saved_sizes(state: dict[str, Any]) -> tuple[int, int]:
    """``(out_size, in_size)`` of a saved tile state (StateError if missing or not ints)."""
    sizes = (state.get("out_size"), state.get("in_size"))
    if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in sizes):
        raise StateError(f"state: out_size/in_size must be positive ints, got {sizes}")
    return sizes  # type: ignore[return-value]


class AnalogTile:
    """One analog crossbar array with ``out_size`` rows (outputs) and ``in_size`` columns (inputs).

    Args:
        out_size: number of outputs (rows of W).
        in_size: number of inputs (columns of W).
        rpu_config: ``SingleRPUConfig`` (default), ``UnitCellRPUConfig`` (unit cells and transfer
            compounds), ``DigitalRankUpdateRPUConfig`` or ``FloatingPointRPUConfig``.
        backend: ``"cpu"`` or ``"gpu"`` (default: ``$RPUSIM_BACKEND``, else ``"cpu"``).
        seed: tile seed; drawn from torch's default generator when None.
    """

    rpu_config: RPUConfig

    def __init__(
        self,
        out_size: int,
        in_size: int,
        rpu_config: Optional[RPUConfig] = None,
        backend: Optional[str] = None,
        seed: Optional[int] = None,
    ) -> None:
        if rpu_config is None:
            rpu_config = SingleRPUConfig()
        from rpusim.configs.inference import InferenceRPUConfig

        if isinstance(rpu_config, InferenceRPUConfig):
            raise ConfigError(
                "rpu_config: an InferenceRPUConfig needs an InferenceTile "
                "(rpusim.inference.InferenceTile); layers pick it by themselves"
            )
        if not isinstance(rpu_config, RPU_CONFIGS):
            raise ConfigError(
                f"rpu_config: expected SingleRPUConfig, UnitCellRPUConfig, "
                f"DigitalRankUpdateRPUConfig or FloatingPointRPUConfig, "
                f"got {type(rpu_config).__name__}"
            )
        self._build(out_size, in_size, rpu_config, backend, seed)

    def _build(
        self,
        out_size: int,
        in_size: int,
        rpu_config: Any,
        backend: Optional[str],
        seed: Optional[int],
    ) -> None:
        """Checks the sizes and creates the Rust tile of a checked config."""
        for name, value in (("out_size", out_size), ("in_size", in_size)):
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value < 2**63:
                raise ConfigError(f"{name}: expected an int in [1, 2**63), got {value!r}")
        backend = check_backend(backend)
        seed = draw_seed() if seed is None else check_seed(seed)
        mapping = getattr(rpu_config, "mapping", None)
        if not isinstance(mapping, MappingParameter):
            raise ConfigError(f"mapping: expected a MappingParameter, got {mapping!r}")
        mapping.check()
        check_runtime(rpu_config)
        self.rpu_config = rpu_config
        self.out_size = out_size
        self.in_size = in_size
        self.mapping_scales: Optional[Tensor] = None
        self._tile = _core.Tile(
            out_size, in_size, rpu_config.to_json(), seed, backend or default_backend()
        )

    @property
    def seed(self) -> int:
        return int(self._tile.seed)

    @property
    def backend(self) -> str:
        return str(self._tile.backend)

    def forward(self, x: Tensor) -> Tensor:
        """``y = periphery(W x)`` for ``x`` of shape ``[..., in_size]`` (times the mapping
        scales, with weight scaling)."""
        return self.forward_saturated(x)[0]

    def saturation_bound(self) -> Optional[float]:
        """The output magnitude at which the forward ADC counts as saturated: the reference's
        0.999·out_scale·out_bound, compared with the tile output before the digital scales
        (with noise management NONE this is exactly the clipping); None when the forward does
        not clip (``out_bound ≤ 0`` or ``is_perfect``)."""
        io = getattr(self.rpu_config, "forward", None)
        if io is None or io.is_perfect or io.out_bound <= 0:
            return None
        return 0.999 * io.out_scale * io.out_bound

    def forward_saturated(self, x: Tensor) -> tuple[Tensor, Any]:
        """``forward(x)`` and the saturation mask ``[N, out_size]`` of its outputs (None when the
        forward does not clip), for :meth:`backward`: the reference's analog layers pass no
        gradient back through a saturated output."""
        flat, lead = as_float32_2d("x", x, self.in_size)
        out = torch.empty(flat.shape[0], self.out_size, dtype=torch.float32)
        saturated = self._forward_raw(flat, out)
        if self.mapping_scales is not None:
            out *= self.mapping_scales
        return out.reshape(*lead, self.out_size).to(device=x.device, dtype=x.dtype), saturated

    def _forward_raw(self, flat: Tensor, out: Tensor) -> Optional[Tensor]:
        """Writes the tile's output of ``flat`` into ``out`` and returns its saturation mask,
        None when nothing saturated (the core counts the saturated outputs, so the common case
        builds no mask)."""
        bound = self.saturation_bound()
        count = self._tile.forward(flat.numpy(), out.numpy(), bound)
        if bound is None or count == 0:
            return None
        return out.abs() >= bound

    def backward(self, d: Tensor, saturated: Any = None) -> Tensor:
        """``z = periphery(Wᵀ d)`` for ``d`` of shape ``[..., out_size]``; entries of ``d``
        whose forward output was saturated (``saturated`` from :meth:`forward_saturated`) are
        zeroed first."""
        flat, lead = as_float32_2d("d", d, self.out_size)
        if saturated is not None:
            flat = flat.masked_fill(saturated, 0.0)
        if self.mapping_scales is not None:
            flat = (flat * self.mapping_scales).contiguous()
        out = torch.empty(flat.shape[0], self.in_size, dtype=torch.float32)
        self._tile.backward(flat.numpy(), out.numpy())
        return out.reshape(*lead, self.in_size).to(device=d.device, dtype=d.dtype)

    def update(self, x: Tensor, d: Tensor, lr: Optional[float] = None) -> None:
        """Applies ``W -= lr · Σ_n d_n x_nᵀ`` to the layer's weights α⊙W with the configured
        (pulsed) update, ``d`` the gradient of the tile's output: as in the reference the tile
        gets d/α at lr, or with ``weight_scaling_lr_compensation`` d·mean(α)/α at lr/mean(α)
        (the same product; it moves the split between pulse probabilities and lr). Without
        ``lr`` the tile's own learning rate (``set_learning_rate``, as the reference's
        ``tile.update(x, d)``)."""
        if lr is None:
            lr = self.get_learning_rate()
        for core, xs, ds, rate in self._core_updates(x, d, lr):
            core.update(xs, ds, rate)

    def _core_updates(self, x: Any, d: Any, lr: Any) -> list[CoreUpdate]:
        """``update(x, d, lr)`` as calls of the core: (core tile, x, d, lr)."""
        xf, df, lr = update_arguments(x, d, lr, self.in_size, self.out_size)
        scales = self.mapping_scales
        if scales is not None:
            if self.rpu_config.mapping.weight_scaling_lr_compensation:
                mean = float(scales.mean())
                df = (df * (mean / scales)).contiguous()
                lr = lr / mean
            else:
                df = (df / scales).contiguous()
        return [(self._tile, xf.numpy(), df.numpy(), lr)]

    def batched_update(self, x: Tensor, d: Tensor, lr: float) -> Optional[list[CoreUpdate]]:
        """The core calls of ``update(x, d, lr)``, for ``_core.update_tiles`` to run with other
        tiles' side by side (``AnalogSGD.step``); None where ``update`` is more than them (an
        ``update`` of a subclass or set on the instance)."""
        if getattr(self.update, "__func__", None) is not AnalogTile.update:
            return None
        return self._core_updates(x, d, lr)

    def post_update_step(self) -> None:
        """Decay and diffusion of one mini-batch (``AnalogSGD.step`` calls it once per step)."""
        self._tile.post_update_step()

    def set_training(self, mode: bool) -> None:
        """Training or eval mode (the layer's ``train()``); only inference tiles read
        differently in the two modes."""

    def program_weights(self, noise_model: Any = None) -> None:
        """Programming noise is a feature of inference tiles (``InferenceRPUConfig``)."""
        raise ConfigError(
            f"program_weights: needs an InferenceRPUConfig, this tile has a "
            f"{type(self.rpu_config).__name__}"
        )

    def remap_weights(self) -> None:
        """Remapping is a feature of inference tiles (``InferenceRPUConfig.remap``)."""
        raise ConfigError(
            f"remap_weights: needs an InferenceRPUConfig, this tile has a "
            f"{type(self.rpu_config).__name__}"
        )

    def drift_weights(self, delta_t: float = 1.0) -> None:
        """Drifts the weights once (the devices' ``drift`` parameters; nothing for devices
        without drift). ``delta_t`` is the time since the previous call, in the units of the
        drift's ``t_0`` (the clock advances by delta_t/t_0). Devices not written since the
        previous call follow w₀·(t/t₀)^(−ν) from the weight w₀ of their last write; written ones
        restart their clock."""
        if isinstance(delta_t, bool) or not isinstance(delta_t, (int, float)):
            raise TypeError(f"delta_t: expected a number, got {delta_t!r}")
        self._tile.drift_weights(float(delta_t))

    def synchronize(self) -> None:
        """Waits until the backend has finished queued work (gpu updates are asynchronous;
        every read of results waits by itself). For timing."""
        self._tile.synchronize()

    # The reference's tile-level API (aihwkit ``SimulatorTileWrapper``/``TileWithPeriphery``).
    def get_learning_rate(self) -> float:
        """The learning rate ``update(x, d)`` uses without an explicit ``lr`` (the reference's
        default 0.1; ``AnalogSGD`` passes its group's lr explicitly)."""
        return float(self.__dict__.get("_learning_rate", DEFAULT_TILE_LEARNING_RATE))

    def set_learning_rate(self, learning_rate: Optional[float]) -> None:
        """Sets the tile's learning rate (None keeps the current one, as the reference)."""
        if learning_rate is None:
            return
        self._learning_rate = check_learning_rate("learning_rate", learning_rate)

    def get_analog_ctx(self) -> Any:
        """The ``AnalogContext`` parameter that stands for this tile in an optimizer (the layer's
        ``analog_ctx``; created on first use for a tile outside a layer)."""
        ctx = self.__dict__.get("_analog_ctx")
        if ctx is None:
            from rpusim.optim.context import AnalogContext

            ctx = AnalogContext(self)
        return ctx

    def get_hidden_parameters(self) -> dict[str, Tensor]:
        """The per-device parameters and hidden arrays, each ``[out_size, in_size]``, under the
        reference's names (``rpusim.hidden_parameters``): ``max_bound``/``min_bound`` (w_max,
        w_min), ``dwmin_up``/``dwmin_down`` (step sizes), ``decay_scales`` (1 − 1/lifetime),
        ``diffusion_rates``, ``reset_bias``, ``drift_nu``, the shape parameters of the device
        (``slope_up``/``slope_down``, ``gamma_up``/``gamma_down``) and, for unit cells and
        compounds, each of those per device array with suffix ``_k`` plus ``hidden_weights_k``.
        A copy: changing it changes nothing."""
        from rpusim.hidden_parameters import hidden_parameters

        return hidden_parameters(self.__getstate__()["tile"])

    def get_hidden_parameter_names(self) -> list[str]:
        """The keys of :meth:`get_hidden_parameters`, in order."""
        return list(self.get_hidden_parameters())

    def __matmul__(self, x: Any) -> Any:
        """``tile @ x``: the analog forward pass of ``x [..., in_size]`` (a tensor or numpy array;
        numpy in, numpy out), as the reference's ``AnalogMatrix``."""
        return self._as_matrix_op(self.forward, x)

    def __rmatmul__(self, d: Any) -> Any:
        """``d @ tile``: the analog backward (transposed) pass of ``d [..., out_size]``."""
        return self._as_matrix_op(self.backward, d)

    @staticmethod
    def _as_matrix_op(op: Any, value: Any) -> Any:
        is_numpy = type(value).__module__ == "numpy"
        tensor = torch.from_numpy(value) if is_numpy else value
        with torch.no_grad():
            out = op(tensor)
        return out.numpy() if is_numpy else out

    def get_weights(self, apply_weight_scaling: bool = True) -> Tensor:
        """The weights ``[out_size, in_size]`` (a copy): the visible weight Σ_k γ_k W_k of a unit
        cell or compound, times the mapping scales (without them when ``apply_weight_scaling``
        is False: what the devices hold)."""
        w = torch.from_numpy(self._tile.get_weights())
        if apply_weight_scaling and self.mapping_scales is not None:
            w = w * self.mapping_scales[:, None]
        return w

    def check_finite(self) -> None:
        """Health check: raises StateError naming the first array (weights, per-device
        parameters, hidden and persistent weights, compound buffers, digital scales) that holds
        NaN or Inf; returns None when everything is finite."""
        if self.mapping_scales is not None:
            check_state_tensor("mapping_scales", self.mapping_scales)
        self._tile.check_finite()

    def get_hidden_weights(self) -> dict[str, Tensor]:
        """The hidden state, each ``[out_size, in_size]``: ``array_k`` the weights of device array
        k (for a transfer compound array 0 is the fast array A, the last one C),
        ``persistent_k`` the persistent weights of arrays with write noise, and the compound's own
        arrays (``buffer_k`` of the buffered transfers, ``running_mean``/``past_mean`` of AGAD,
        ``chi`` of mixed precision)."""
        return {k: torch.from_numpy(v) for k, v in self._tile.hidden_weights().items()}

    @property
    def array_count(self) -> int:
        """Number of device arrays (1 for a single device)."""
        return int(self._tile.arrays)

    def set_weights(
        self,
        weights: Tensor,
        apply_weight_scaling: bool = True,
        weight_scaling_omega: Optional[float] = None,
    ) -> None:
        """Writes weights ``[out_size, in_size]``; each device clips them into its bounds. With
        ``mapping.weight_scaling_omega`` = ω > 0 (or ``weight_scaling_omega`` given here) the
        tile gets W/α, α = max|W|/ω (per row when columnwise), and α becomes the digital output
        scale. ``apply_weight_scaling=False`` writes W as given and keeps the current scales."""
        check_weights(weights, self.out_size, self.in_size)
        flat, _ = as_float32_2d("weights", weights, self.in_size)
        if not apply_weight_scaling:
            self._tile.set_weights(flat.numpy())
            return
        mapping = getattr(self.rpu_config, "mapping", None)
        omega = float(mapping.weight_scaling_omega) if mapping is not None else 0.0
        if weight_scaling_omega is not None:
            omega = check_omega(weight_scaling_omega)
        if mapping is not None and omega > 0:
            if mapping.weight_scaling_columnwise:
                peak = flat.abs().amax(dim=1)
            else:
                peak = flat.abs().amax().expand(self.out_size)
            scales = (peak / omega).clone()
            scales[scales == 0] = 1.0
            if not bool(torch.isfinite(scales).all()):
                raise ConfigError(
                    f"mapping.weight_scaling_omega: {omega!r} makes the weight scale "
                    f"max|W|/omega = {float(scales.max())} overflow float32"
                )
            self.mapping_scales = scales
            flat = (flat / scales[:, None]).contiguous()
        else:
            self.mapping_scales = None
        self._tile.set_weights(flat.numpy())

    def to_backend(self, name: str) -> None:
        """Moves the tile with its full state (weights, device draws, RNG position)."""
        backend = check_backend(name)
        if backend is None:
            raise BackendError(f"backend: expected one of {BACKENDS}, got None")
        self._tile.to_backend(backend)

    # Saved state: everything the Rust tile holds plus the Python config.
    def __getstate__(self) -> dict[str, Any]:
        return {
            "rpu_config": self.rpu_config,
            "out_size": self.out_size,
            "in_size": self.in_size,
            "backend": self.backend,
            "tile": dict(self._tile.get_state()),
            "mapping_scales": self.mapping_scales,
            "learning_rate": self.get_learning_rate(),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        if not isinstance(state, dict) or "tile" not in state:
            raise StateError("state: a split tile array's state cannot restore a single tile")
        # Everything is checked and rebuilt before the first attribute changes.
        out_size, in_size = saved_sizes(state)
        scales = state.get("mapping_scales")
        if scales is not None:
            check_state_tensor("mapping_scales", scales, (out_size,))
        rpu_config = state.get("rpu_config")
        if not isinstance(rpu_config, self._config_types()):
            raise StateError(
                f"state: rpu_config must be one of "
                f"{', '.join(t.__name__ for t in self._config_types())}, "
                f"got {type(rpu_config).__name__}"
            )
        backend = check_backend(state.get("backend", "cpu")) or "cpu"
        try:
            learning_rate = check_learning_rate(
                "learning_rate", state.get("learning_rate", DEFAULT_TILE_LEARNING_RATE)
            )
        except InputError as err:
            raise StateError(f"state: {err}") from None
        if not isinstance(state["tile"], dict):
            raise StateError(f"state: tile must be a dict, got {type(state['tile']).__name__}")
        tile = _core.Tile.from_state(state["tile"], backend)
        if (tile.out_size, tile.in_size) != (out_size, in_size):
            raise StateError(
                f"state: out_size/in_size {out_size}x{in_size} differ from the saved tile's "
                f"{tile.out_size}x{tile.in_size}"
            )
        self.rpu_config = rpu_config  # type: ignore[assignment]
        self.out_size = out_size
        self.in_size = in_size
        self.mapping_scales = scales
        self._tile = tile
        self._learning_rate = learning_rate

    @classmethod
    def _config_types(cls) -> tuple[type, ...]:
        """The configs this tile class takes (checked when a state is restored)."""
        return RPU_CONFIGS

    def __repr__(self) -> str:
        return (
            f"AnalogTile(out_size={self.out_size}, in_size={self.in_size}, "
            f"device={config_label(self.rpu_config)}, backend={self.backend!r})"
        )
