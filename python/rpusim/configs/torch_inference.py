"""``TorchInferenceRPUConfig``: an inference tile whose forward periphery is differentiable torch
code (reference §1), its time-dependent IR-drop variant, and the quantised variant (not built
here)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rpusim.configs.inference import InferenceRPUConfig
from rpusim.configs.io import IOParametersIRDropT
from rpusim.exceptions import ConfigError


@dataclass
class TorchInferenceRPUConfig(InferenceRPUConfig):
    """``InferenceRPUConfig`` served by ``TorchInferenceTile``: the forward periphery
    (noise management NONE/ABS_MAX/MAX/CONSTANT, DAC quantisation and clip, inp_noise,
    w_noise ADDITIVE_CONSTANT/PCM_READ, out_noise, ADC quantisation and clip, ITERATIVE bound
    management, out_scale) runs in torch with straight-through roundings, so that the gradient
    of the learned input range passes through the periphery. Modifier, clipping, remapping,
    programming, drift and drift compensation are those of ``InferenceRPUConfig``.

    Not supported (ConfigError): the non-idealities the torch periphery lacks (see
    ``rpusim.inference.torch_periphery.check_torch_support``) and
    ``pre_post.input_range.manage_output_clipping`` (the reference's torch tile lacks it too).
    """

    def to_core(self) -> dict[str, Any]:
        """The Rust tile behind the torch tile only stores the weights and reads them exactly
        (``_read_identity`` and the forward use the torch periphery), so its forward is perfect:
        the torch periphery may hold settings the Rust forward lacks (PCM_READ)."""
        self.check()
        core = super().to_core()
        core["forward"] = {"is_perfect": True}
        return core

    def check(self) -> None:
        super().check()
        from rpusim.inference.torch_periphery import check_torch_support

        check_torch_support(self.forward)
        input_range = self.pre_post.input_range
        if input_range.enable and input_range.manage_output_clipping:
            raise ConfigError(
                "pre_post.input_range.manage_output_clipping: not supported by the torch tile "
                "(TorchInferenceRPUConfig)"
            )


@dataclass
class TorchInferenceRPUConfigIRDropT(TorchInferenceRPUConfig):
    """``TorchInferenceRPUConfig`` whose forward (``IOParametersIRDropT``) reads the array with
    time-dependent IR drop in eval mode (``rpusim.inference.ir_drop_t``); the conductances are
    those of ``noise_model.g_converter`` and the physical column has ``mapping.max_input_size``
    rows (or the tile's inputs when it is 0/None)."""

    forward: IOParametersIRDropT = field(default_factory=IOParametersIRDropT)

    def check(self) -> None:
        super().check()
        from rpusim.inference.ir_drop_t import check_ir_drop_t

        check_ir_drop_t(self.forward)
        if not hasattr(self.noise_model, "g_converter"):
            raise ConfigError(
                f"noise_model: the time-dependent IR drop needs a noise model with a "
                f"g_converter, got {type(self.noise_model).__name__}"
            )


@dataclass
class QuantizedTorchInferenceRPUConfig(TorchInferenceRPUConfig):
    """The reference's torch tile with quantised periphery and activations: not built
    (ConfigError)."""

    def __post_init__(self, *args: Any) -> None:
        raise ConfigError(
            "QuantizedTorchInferenceRPUConfig: the quantised-periphery torch tile "
            "(act_quant_config, pre_post.periph_quant) is not supported by this version of rpusim"
        )
