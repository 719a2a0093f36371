"""``InferenceTile``: a tile for inference on programmed weights and hardware-aware training.

The tile keeps the trained weights in floating point (``stored_weights``, updated exactly by
``AnalogSGD``) and reads through a Rust tile whose weights are whatever the analog array holds
at the moment:

* training mode: the stored weights, or a draw of the weight modifier (new after every step);
* eval mode before programming: the stored weights (the modifier only with
  ``enable_during_test``);
* eval mode after ``program_weights()`` / ``drift_weights(t)``: the programmed (and drifted)
  weights of the noise model, the output times the drift-compensation scale α.

The forward pass always goes through the configured periphery (DAC/ADC, noise, bounds); the
backward pass is exact with the weights the forward saw. Changing the stored weights (an update
that moves them, ``set_weights``) discards the programmed state: it belonged to the old weights.
"""

from __future__ import annotations

from typing import Any, Optional

import torch
from torch import Tensor

from rpusim.configs.enums import WeightClipType, WeightRemapType
from rpusim.configs.inference import InferenceRPUConfig
from rpusim.exceptions import ConfigError, InputError, StateError
from rpusim.inference.modifier import clip_weights_, modify_weights, remap_weights_
from rpusim.inference.noise import BaseNoiseModel, check_time
from rpusim.tiles import (
    AnalogTile,
    as_float32_2d,
    check_state_tensor,
    saved_sizes,
    update_arguments,
)

# What the Rust tile holds.
STORED, MODIFIED, PROGRAMMED = "stored", "modified", "programmed"


class InferenceTile(AnalogTile):
    """An ``out_size × in_size`` inference tile (``InferenceRPUConfig``); same interface as
    :class:`AnalogTile` plus :meth:`program_weights` and :meth:`drift_weights`.

    Attributes:
        stored_weights: the trained floating-point weights ``[out, in]`` (before the mapping
            scales).
        programmed_weights: the weights after programming noise (None before programming).
        drifted_weights: the weights as read at the last ``drift_weights`` time (or the
            programmed ones).
        alpha: the drift-compensation output scale (None: 1).
        training: whether the tile is read as in training (set by the layer's ``train()``).
    """

    rpu_config: InferenceRPUConfig
    # The optimizer may apply a full SGD step (momentum, weight decay) to these weights.
    digital_weights = True

    def __init__(
        self,
        out_size: int,
        in_size: int,
        rpu_config: Optional[InferenceRPUConfig] = None,
        backend: Optional[str] = None,
        seed: Optional[int] = None,
    ) -> None:
        if rpu_config is None:
            rpu_config = InferenceRPUConfig()
        if not isinstance(rpu_config, InferenceRPUConfig):
            raise ConfigError(
                f"rpu_config: InferenceTile needs an InferenceRPUConfig, "
                f"got {type(rpu_config).__name__}"
            )
        self._build(out_size, in_size, rpu_config, backend, seed)
        self.stored_weights = torch.zeros(out_size, in_size)
        self.mapping_scales = self._initial_scales()
        self.training = True
        self.reference_weights: Optional[Tensor] = None
        self.programmed_weights: Optional[Tensor] = None
        self.drifted_weights: Optional[Tensor] = None
        self.drift_noise_parameters: Optional[list[Optional[Tensor]]] = None
        self.drift_baseline: Optional[Tensor] = None
        self.alpha: Optional[Tensor] = None
        self.modified_weights: Optional[Tensor] = None
        self._modifier_stale = True
        self._loaded = STORED

    def _initial_scales(self) -> Optional[Tensor]:
        if self.rpu_config.remap.type != WeightRemapType.NONE:
            return torch.ones(self.out_size)
        return None

    # What the array holds.
    def set_training(self, mode: bool) -> None:
        self.training = bool(mode)

    def _wanted(self) -> str:
        if not self.training and self.drifted_weights is not None:
            return PROGRAMMED
        modifier = self.rpu_config.modifier
        if modifier.is_active() and (self.training or modifier.enable_during_test):
            return MODIFIED
        return STORED

    def _write(self, weights: Tensor, kind: str) -> None:
        self._tile.set_weights(weights.contiguous().numpy())
        self._loaded = kind

    def _load(self) -> None:
        """Puts the weights of the current mode into the Rust tile (only when they changed)."""
        wanted = self._wanted()
        if wanted == MODIFIED and (self._modifier_stale or self.modified_weights is None):
            self.modified_weights = modify_weights(self.stored_weights, self.rpu_config.modifier)
            self._modifier_stale = False
            self._write(self.modified_weights, MODIFIED)
        elif wanted != self._loaded:
            source = {
                STORED: self.stored_weights,
                MODIFIED: self.modified_weights,
                PROGRAMMED: self.drifted_weights,
            }[wanted]
            assert source is not None
            self._write(source, wanted)

    def _stored_changed(self) -> None:
        """The trained weights moved: a new modifier draw, and the programming is void."""
        self._modifier_stale = True
        self.reference_weights = None
        self.programmed_weights = None
        self.drifted_weights = None
        self.drift_noise_parameters = None
        self.drift_baseline = None
        self.alpha = None
        if self._loaded != MODIFIED:
            self._loaded = ""  # rewrite before the next read

    # The tile interface.
    def forward_saturated(self, x: Tensor) -> tuple[Tensor, Any]:
        self._load()
        flat, lead = as_float32_2d("x", x, self.in_size)
        out = torch.empty(flat.shape[0], self.out_size, dtype=torch.float32)
        saturated = self._forward_raw(flat, out)
        if self.mapping_scales is not None:
            out *= self.mapping_scales
        if not self.training and self._loaded == PROGRAMMED and self.alpha is not None:
            out *= self.alpha
        return out.reshape(*lead, self.out_size).to(device=x.device, dtype=x.dtype), saturated

    def backward(self, d: Tensor, saturated: Any = None) -> Tensor:
        self._load()
        return super().backward(d, saturated)

    def update(self, x: Tensor, d: Tensor, lr: Optional[float] = None) -> None:
        """SGD step of the layer's weights s⊙W (s the output scales): W −= lr·Σ_n (d_n/s) x_nᵀ,
        so that s⊙W moves by exactly −lr·Σ_n d_n x_nᵀ however remapping splits it between W
        and s (the reference's d/α). Without ``lr`` the tile's own learning rate."""
        self.sgd_step(x, d, self.get_learning_rate() if lr is None else lr, {})

    def sgd_step(
        self,
        x: Tensor,
        d: Tensor,
        lr: float,
        state: dict[str, Any],
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
    ) -> None:
        """``torch.optim.SGD``'s step (momentum, dampening, weight decay, Nesterov) on the
        layer's weights s⊙W with the gradient Σ_n d_n x_nᵀ; ``state`` keeps the momentum buffer
        between steps (the optimizer's state of this tile)."""
        xf, df, lr = update_arguments(x, d, lr, self.in_size, self.out_size)
        if lr == 0:
            return
        grad = df.T @ xf
        if weight_decay != 0:
            grad = grad.add(self.get_weights(), alpha=weight_decay)
        buffer = None
        if momentum != 0:
            buffer = state.get("momentum_buffer")
            buffer = (
                grad.clone()
                if buffer is None
                else buffer.mul(momentum).add(grad, alpha=1 - dampening)
            )
            grad = grad.add(buffer, alpha=momentum) if nesterov else buffer
        if self.mapping_scales is not None:
            grad = grad / self.mapping_scales[:, None]
        weights = self.stored_weights.sub(grad, alpha=lr)
        # Nothing is stored before the step is known to be finite (an overflowing lr·gradient).
        if not bool(torch.isfinite(weights).all()):
            raise InputError(
                f"lr: the step lr·gradient (lr = {lr}, max|gradient| = "
                f"{float(grad.abs().max())}) makes the weights overflow float32"
            )
        if buffer is not None:
            state["momentum_buffer"] = buffer
        self.stored_weights = weights
        self._stored_changed()

    def post_update_step(self) -> None:
        """Clipping and remapping of the stored weights, and a new modifier draw for the next
        mini-batch (once per optimizer step)."""
        config = self.rpu_config
        before = None
        if config.clip.type != WeightClipType.NONE or config.remap.type != WeightRemapType.NONE:
            before = self.stored_weights.clone()
        if config.clip.type != WeightClipType.NONE:
            clip_weights_(self.stored_weights, config.clip)
        if config.remap.type != WeightRemapType.NONE:
            if self.mapping_scales is None:
                self.mapping_scales = torch.ones(self.out_size)
            remap_weights_(self.stored_weights, self.mapping_scales, config.remap)
        if before is not None and not torch.equal(before, self.stored_weights):
            self._stored_changed()
        self._modifier_stale = True

    def remap_weights(self) -> None:
        """Applies the config's remapping to the stored weights now (e.g. right after converting
        a trained float model, before programming), the factors moving into the output scales.
        """
        remap = self.rpu_config.remap
        if remap.type == WeightRemapType.NONE:
            raise ConfigError("remap.type: is NONE; set the remap type to remap the weights")
        if self.mapping_scales is None:
            self.mapping_scales = torch.ones(self.out_size)
        before = self.stored_weights.clone()
        remap_weights_(self.stored_weights, self.mapping_scales, remap)
        if not torch.equal(before, self.stored_weights):
            self._stored_changed()

    def program_weights(self, noise_model: Optional[BaseNoiseModel] = None) -> None:
        """Programs the stored weights into the devices: programming noise of the noise model
        (``noise_model`` replaces the config's), drift exponents drawn, and the reference
        readout of the drift compensation taken."""
        if noise_model is not None:
            if not isinstance(noise_model, BaseNoiseModel):
                raise ConfigError(
                    f"noise_model: expected a noise model, got {type(noise_model).__name__}"
                )
            self.rpu_config.noise_model = noise_model
        self.reference_weights = self.stored_weights.clone()
        programmed, drift = self.rpu_config.noise_model.apply_programming_noise(
            self.reference_weights
        )
        self.programmed_weights = programmed.to(torch.float32)
        self.drifted_weights = self.programmed_weights
        self.drift_noise_parameters = drift
        self.alpha = None
        self._write(self.programmed_weights, PROGRAMMED)
        compensation = self.rpu_config.drift_compensation
        self.drift_baseline = None
        if compensation is not None:
            if compensation.exact_reference:
                readout = compensation.get_readout_tensor(self.in_size) @ self.reference_weights.T
            else:
                readout = self._read_identity()
            self.drift_baseline = compensation.readout(readout)

    def drift_weights(self, t_inference: float = 0.0) -> None:  # type: ignore[override]
        """The programmed weights as read ``t_inference`` seconds after programming (drift and
        accumulated read noise of the noise model; programs first if needed), and the drift
        compensation's output scale α for them."""
        t_inference = check_time(t_inference)
        if self.programmed_weights is None or self.drift_noise_parameters is None:
            self.program_weights()
        assert self.programmed_weights is not None and self.drift_noise_parameters is not None
        drifted = self.rpu_config.noise_model.apply_drift_noise(
            self.programmed_weights, self.drift_noise_parameters, t_inference
        )
        self.drifted_weights = drifted.to(torch.float32)
        self._write(self.drifted_weights, PROGRAMMED)
        compensation = self.rpu_config.drift_compensation
        if compensation is not None and self.drift_baseline is not None:
            self.alpha = compensation.apply(self._read_identity(), self.drift_baseline)

    def _read_identity(self) -> Tensor:
        """The analog array read with one-hot inputs through the forward periphery
        ``[in_size, out_size]`` (no digital scales)."""
        assert self.rpu_config.drift_compensation is not None
        inputs = self.rpu_config.drift_compensation.get_readout_tensor(self.in_size)
        flat = inputs.to(torch.float32).contiguous()
        out = torch.empty(flat.shape[0], self.out_size, dtype=torch.float32)
        self._tile.forward(flat.numpy(), out.numpy())
        return out

    def check_finite(self) -> None:
        """The Rust tile's arrays and every floating-point tensor of the inference state."""
        super().check_finite()
        for key, value in self.get_hidden_weights().items():
            check_state_tensor(f"inference.{key}", value)
        for key in ("alpha", "drift_baseline"):
            value = getattr(self, key)
            if value is not None:
                check_state_tensor(f"inference.{key}", value)

    def get_weights(self, apply_weight_scaling: bool = True) -> Tensor:
        """The trained weights ``[out_size, in_size]`` (a copy), times the output scales (unless
        ``apply_weight_scaling`` is False)."""
        w = self.stored_weights.clone()
        if apply_weight_scaling and self.mapping_scales is not None:
            w = w * self.mapping_scales[:, None]
        return w

    def get_hidden_weights(self) -> dict[str, Tensor]:
        """``stored`` (trained weights), and when present ``modified`` (last modifier draw),
        ``programmed``, ``drifted``, ``reference`` (the weights that were programmed) and
        ``nu_k`` (per-conductance drift parameters), each ``[out_size, in_size]``."""
        hidden = {"stored": self.stored_weights.clone()}
        for key, value in (
            ("modified", self.modified_weights),
            ("programmed", self.programmed_weights),
            ("drifted", self.drifted_weights),
            ("reference", self.reference_weights),
        ):
            if value is not None:
                hidden[key] = value.clone()
        for k, nu in enumerate(self.drift_noise_parameters or []):
            if nu is not None:
                hidden[f"nu_{k}"] = nu.clone()
        return hidden

    def set_weights(
        self,
        weights: Tensor,
        apply_weight_scaling: bool = True,
        weight_scaling_omega: Optional[float] = None,
    ) -> None:
        """Sets the trained weights (with ``mapping.weight_scaling_omega`` the output scales as
        for :class:`AnalogTile`); any programming is discarded."""
        super().set_weights(weights, apply_weight_scaling, weight_scaling_omega)
        self.stored_weights = torch.from_numpy(self._tile.get_weights()).clone()
        if self.mapping_scales is None:
            self.mapping_scales = self._initial_scales()
        self._stored_changed()
        self._loaded = STORED

    # Saved state: the Rust tile (its RNG and the weights it holds) plus everything above.
    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state["inference"] = {
            "stored_weights": self.stored_weights.clone(),
            "training": self.training,
            "reference_weights": self.reference_weights,
            "programmed_weights": self.programmed_weights,
            "drifted_weights": self.drifted_weights,
            "drift_noise_parameters": self.drift_noise_parameters,
            "drift_baseline": self.drift_baseline,
            "alpha": self.alpha,
            "modified_weights": self.modified_weights,
            "modifier_stale": self._modifier_stale,
            "loaded": self._loaded,
        }
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "inference" not in state:
            raise StateError("state: not the state of an inference tile")
        saved = state["inference"]
        keys = (
            "stored_weights",
            "training",
            "reference_weights",
            "programmed_weights",
            "drifted_weights",
            "drift_noise_parameters",
            "drift_baseline",
            "alpha",
            "modified_weights",
            "modifier_stale",
            "loaded",
        )
        missing = [k for k in keys if not isinstance(saved, dict) or k not in saved]
        if missing:
            raise StateError(f"state: inference is missing {', '.join(missing)}")
        if saved["loaded"] not in (STORED, MODIFIED, PROGRAMMED, ""):
            raise StateError(f"state: inference.loaded is not a known value: {saved['loaded']!r}")
        for key in ("training", "modifier_stale"):
            if not isinstance(saved[key], bool):
                raise StateError(f"state: inference.{key} must be a bool, got {saved[key]!r}")
        nus = saved["drift_noise_parameters"]
        if nus is not None and not isinstance(nus, (list, tuple)):
            raise StateError("state: inference.drift_noise_parameters must be a list or None")
        shape = saved_sizes(state)
        check_state_tensor("inference.stored_weights", saved.get("stored_weights"), shape)
        for key in (
            "reference_weights",
            "programmed_weights",
            "drifted_weights",
            "modified_weights",
        ):
            if saved.get(key) is not None:
                check_state_tensor(f"inference.{key}", saved[key], shape)
        for key in ("drift_baseline", "alpha"):
            if saved.get(key) is not None:
                check_state_tensor(f"inference.{key}", saved[key])
        for k, nu in enumerate(saved.get("drift_noise_parameters") or []):
            if nu is not None:
                check_state_tensor(f"inference.drift_noise_parameters[{k}]", nu, shape)
        super().__setstate__(state)
        self.stored_weights = saved["stored_weights"].clone()
        self.training = saved["training"]
        self.reference_weights = saved["reference_weights"]
        self.programmed_weights = saved["programmed_weights"]
        self.drifted_weights = saved["drifted_weights"]
        self.drift_noise_parameters = saved["drift_noise_parameters"]
        self.drift_baseline = saved["drift_baseline"]
        self.alpha = saved["alpha"]
        self.modified_weights = saved["modified_weights"]
        self._modifier_stale = saved["modifier_stale"]
        self._loaded = saved["loaded"]

    @classmethod
    def _config_types(cls) -> tuple[type, ...]:
        return (InferenceRPUConfig,)

    def __repr__(self) -> str:
        return (
            f"InferenceTile(out_size={self.out_size}, in_size={self.in_size}, "
            f"noise_model={type(self.rpu_config.noise_model).__name__}, "
            f"backend={self.backend!r})"
        )
