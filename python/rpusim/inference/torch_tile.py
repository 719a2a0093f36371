"""``TorchInferenceTile``: the inference tile of ``TorchInferenceRPUConfig``.

Everything but the forward pass is ``InferenceTile``'s (stored float weights, modifier draws,
clipping, remapping, programming, drift, drift compensation, saved state). The forward pass is
the torch periphery of ``rpusim.inference.torch_periphery`` on the weights the tile holds in
the current mode; layers call :meth:`forward_autograd`, whose graph reaches the layer input (and
the learned input range), and whose backward records the (u, d) pairs of the weight update.
"""

from __future__ import annotations

from typing import Optional

import torch
from torch import Tensor

from rpusim.configs.torch_inference import TorchInferenceRPUConfig, TorchInferenceRPUConfigIRDropT
from rpusim.exceptions import ConfigError
from rpusim.inference.ir_drop_t import ir_drop_t_matmul
from rpusim.inference.tile import MODIFIED, PROGRAMMED, STORED, InferenceTile
from rpusim.inference.torch_periphery import ArrayRead, analog_mvm
from rpusim.optim.context import AnalogContext
from rpusim.tiles import as_float32_2d


class TorchInferenceTile(InferenceTile):
    """An ``out_size × in_size`` tile of ``TorchInferenceRPUConfig`` (random numbers of the
    forward from torch's default generator)."""

    rpu_config: TorchInferenceRPUConfig

    def __init__(
        self,
        out_size: int,
        in_size: int,
        rpu_config: Optional[TorchInferenceRPUConfig] = None,
        backend: Optional[str] = None,
        seed: Optional[int] = None,
    ) -> None:
        if rpu_config is None:
            rpu_config = TorchInferenceRPUConfig()
        if not isinstance(rpu_config, TorchInferenceRPUConfig):
            raise ConfigError(
                f"rpu_config: TorchInferenceTile needs a TorchInferenceRPUConfig, "
                f"got {type(rpu_config).__name__}"
            )
        rpu_config.check()
        super().__init__(out_size, in_size, rpu_config, backend, seed)

    def current_weights(self) -> Tensor:
        """The weights the array holds in the current mode (stored, modifier draw, or
        programmed and drifted)."""
        self._load()
        source = {
            STORED: self.stored_weights,
            MODIFIED: self.modified_weights,
            PROGRAMMED: self.drifted_weights,
        }[self._loaded]
        assert source is not None
        return source

    def forward_autograd(self, x: Tensor, analog_ctx: Optional[AnalogContext] = None) -> Tensor:
        """``y [..., out]`` of ``x [..., in]``, differentiable in x. The backward records, on
        ``analog_ctx``, pairs (u, d) with Σ dᵀu the gradient of the layer's weights s⊙W times
        s (the form ``InferenceTile.sgd_step`` takes)."""
        if not isinstance(x, Tensor) or x.dim() == 0 or x.shape[-1] != self.in_size:
            as_float32_2d("x", x, self.in_size)  # raises the right error
        lead = tuple(x.shape[:-1])
        flat = x.reshape(-1, self.in_size).to(torch.float32)
        weights = self.current_weights()
        scales = self.mapping_scales

        def record(u: Tensor, d: Tensor) -> None:
            if analog_ctx is not None:
                # d is the gradient at W u; the digital factors after it include s, which
                # sgd_step divides once more (as for the reference's weight hook 1/s²).
                analog_ctx.record(u, d / scales if scales is not None else d)

        read = None if self.training else self._array_read()
        out = analog_mvm(self.rpu_config.forward, weights, flat, record, analog_ctx, read)
        if scales is not None:
            out = out * scales
        if not self.training and self._loaded == PROGRAMMED and self.alpha is not None:
            out = out * self.alpha
        return out.reshape(*lead, self.out_size).to(dtype=x.dtype)

    def forward(self, x: Tensor) -> Tensor:
        """The tile interface: the torch forward without a graph."""
        flat, lead = as_float32_2d("x", x, self.in_size)
        with torch.no_grad():
            out = self.forward_autograd(flat)
        return out.reshape(*lead, self.out_size).to(device=x.device, dtype=x.dtype)

    def _read_identity(self) -> Tensor:
        """The array read with one-hot inputs through the torch periphery (no digital
        scales)."""
        assert self.rpu_config.drift_compensation is not None
        inputs = self.rpu_config.drift_compensation.get_readout_tensor(self.in_size)
        # What the array holds now (programming reads the freshly written programmed weights
        # in whatever mode the layer is in).
        weights = {
            STORED: self.stored_weights,
            MODIFIED: self.modified_weights,
            PROGRAMMED: self.drifted_weights,
        }.get(self._loaded)
        if weights is None:
            weights = self.current_weights()
        with torch.no_grad():
            # The reference reads the drift baseline as a test-mode forward (with IR drop).
            return analog_mvm(
                self.rpu_config.forward, weights, inputs.to(torch.float32), read=self._array_read()
            )

    def _array_read(self) -> Optional[ArrayRead]:
        """The time-dependent IR-drop read of ``TorchInferenceRPUConfigIRDropT`` (None: W u)."""
        config = self.rpu_config
        if not isinstance(config, TorchInferenceRPUConfigIRDropT) or config.forward.ir_drop == 0:
            return None
        io = config.forward
        converter = config.noise_model.g_converter  # type: ignore[attr-defined]
        rows = config.mapping.max_input_size or self.in_size

        def read(weights: Tensor, u: Tensor) -> Tensor:
            return ir_drop_t_matmul(io, weights, u, converter, rows)

        return read

    @classmethod
    def _config_types(cls) -> tuple[type, ...]:
        return (TorchInferenceRPUConfig,)

    def __repr__(self) -> str:
        return (
            f"TorchInferenceTile(out_size={self.out_size}, in_size={self.in_size}, "
            f"noise_model={type(self.rpu_config.noise_model).__name__})"
        )
