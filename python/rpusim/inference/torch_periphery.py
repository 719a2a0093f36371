"""The forward periphery of an analog MVM written in differentiable torch code (the torch
tile of ``TorchInferenceRPUConfig``).

Per input vector x (reference §2, the same steps as the Rust forward):

1. noise-management scale α (``NONE`` 1, ``ABS_MAX`` max|x|, ``MAX`` max(max x, 0),
   ``CONSTANT`` nm_thres or 1; ABS_MAX/MAX capped at nm_thres > 0); α = 0 gives output 0;
2. DAC: u = clip(Q(x/(α·b)), ±inp_bound) + inp_noise·ξ, Q the rounding to the step of
   ``inp_res`` (half to even, or stochastic floor(v/step + U[0,1)) with ``inp_sto_round``);
3. v = W u − IR drop (``ir_drop``, :func:`ir_drop_term`; or, for ``IOParametersIRDropT`` in
   eval mode, the time-dependent read of ``rpusim.inference.ir_drop_t``) + σ·ξ with
   σ² = out_noise² + w_noise²·s², s² = ‖u‖² (``ADDITIVE_CONSTANT``) or
   s_i² = Σ_j |W_ij| u_j² (``PCM_READ``, the reference's read noise of a PCM device whose
   conductance fluctuation has a std proportional to sqrt(|W_ij|): each device adds
   w_noise·sqrt(|W_ij|)·u_j·ξ_ij, and the sum over j of these independent terms has the
   variance w_noise²·Σ_j |W_ij| u_j²);
4. ADC: Q(v) at the step of ``out_res``, then clip to ±out_bound;
5. bound management ``ITERATIVE``: a vector whose output saturated is read again with b
   doubled, until no saturation or b exceeds max_bm_factor or max_bm_res/DAC step;
6. y = out_scale · α · b · ADC output.

Gradients: the roundings are straight-through, the clips pass the gradient only inside the
bounds, α is differentiated as computed, and the noise terms are constants. The product W u
goes through :class:`RecordedMatmul`, which records the (u, ∂L/∂(Wu)) pairs of the weight
gradient for the optimizer.
"""

from __future__ import annotations

from typing import Any, Callable, Optional

import torch
from torch import Tensor
from torch.autograd import Function

from rpusim.configs.enums import (
    AnalogMVType,
    BoundManagementType,
    NoiseManagementType,
    WeightNoiseType,
)
from rpusim.configs.io import IOParameters, IOParametersIRDropT
from rpusim.exceptions import ConfigError

Recorder = Callable[[Tensor, Tensor], None]
# The analog product W u of DAC outputs as a read of the array (``ir_drop_t``: the time-dependent
# IR drop); given weights [out, in] and u [N, in], returns [N, out].
ArrayRead = Callable[[Tensor, Tensor], Tensor]


class RoundStraightThrough(Function):
    """``step·round(v/step)`` (or stochastic rounding) forward, identity backward."""

    @staticmethod
    def forward(ctx: Any, v: Tensor, step: float, stochastic: bool) -> Tensor:  # type: ignore[override]
        scaled = v / step
        if stochastic:
            return torch.floor(scaled + torch.rand_like(scaled)) * step
        return torch.round(scaled) * step

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Tensor, None, None]:  # type: ignore[override]
        return grad, None, None


class RecordedMatmul(Function):
    """``u Wᵀ`` for ``u [N, in]``, ``W [out, in]`` (W a constant); the backward returns the
    gradient of u and hands (u, ∂L/∂(u Wᵀ)) to ``record``. ``anchor`` (the layer's
    ``AnalogContext``, which requires grad) puts the product in the graph even when u needs no
    gradient, so that the backward runs and records."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        u: Tensor,
        weights: Tensor,
        record: Optional[Recorder],
        anchor: Optional[Tensor],
    ) -> Tensor:
        ctx.save_for_backward(u, weights)
        ctx.record = record
        return u @ weights.T

    @staticmethod
    def backward(ctx: Any, grad: Tensor) -> tuple[Optional[Tensor], None, None, None]:  # type: ignore[override]
        u, weights = ctx.saved_tensors
        if ctx.record is not None:
            ctx.record(u.detach(), grad.detach())
        grad_u = grad @ weights if ctx.needs_input_grad[0] else None
        return grad_u, None, None, None


def quantization_step(res: float, bound: float) -> float:
    """The step of a DAC/ADC: res ≤ 0 none (0), ≤ 1 a fraction of 2·bound, > 1 a number of
    steps over 2·bound (of 1 when bound ≤ 0), as in the Rust periphery."""
    if res <= 0:
        return 0.0
    fraction = res if res <= 1 else 1 / res
    return fraction * 2 * bound if bound > 0 else fraction


_UNSUPPORTED_NONZERO = (
    "inp_asymmetry",
    "out_asymmetry",
    "out_noise_std",
    "out_nonlinearity",
    "out_nonlinearity_std",
    "slope_calibration",
    "v_offset_std",
    "r_series",
    "w_read_asymmetry_dtod",
)


def _normalise_enums(io: IOParameters, prefix: str) -> None:
    """Enum fields given by name become the enum (as the core's configs accept them)."""
    for name, kind in (
        ("mv_type", AnalogMVType),
        ("noise_management", NoiseManagementType),
        ("bound_management", BoundManagementType),
        ("w_noise_type", WeightNoiseType),
    ):
        value = getattr(io, name)
        if not isinstance(value, kind):
            try:
                setattr(io, name, kind(value))
            except ValueError:
                raise ConfigError(f"{prefix}.{name}: unknown value {value!r}") from None


def check_torch_support(io: IOParameters, prefix: str = "forward") -> None:
    """Raises ConfigError naming the first setting of ``io`` the torch periphery lacks."""
    _normalise_enums(io, prefix)
    if io.is_perfect or io.mv_type == AnalogMVType.IDEAL:
        return
    if io.mv_type != AnalogMVType.ONE_PASS:
        raise ConfigError(f"{prefix}.mv_type: {io.mv_type.name} is not supported by the torch tile")
    for name in _UNSUPPORTED_NONZERO:
        if getattr(io, name) != 0:
            raise ConfigError(
                f"{prefix}.{name}: a non-zero value ({getattr(io, name)!r}) is not supported by "
                f"the torch tile"
            )
    if io.noise_management not in (
        NoiseManagementType.NONE,
        NoiseManagementType.ABS_MAX,
        NoiseManagementType.MAX,
        NoiseManagementType.CONSTANT,
    ):
        raise ConfigError(
            f"{prefix}.noise_management: {io.noise_management.name} is not supported by the "
            f"torch tile (NONE, ABS_MAX, MAX, CONSTANT)"
        )
    if io.bound_management not in (BoundManagementType.NONE, BoundManagementType.ITERATIVE):
        raise ConfigError(
            f"{prefix}.bound_management: {io.bound_management.name} is not supported by the "
            f"torch tile (NONE, ITERATIVE)"
        )


def noise_management_scale(io: IOParameters, x: Tensor) -> Tensor:
    """α per row of ``x [N, in]`` as ``[N, 1]`` (0 where the output must be 0)."""
    kind = io.noise_management
    if kind == NoiseManagementType.ABS_MAX:
        alpha = x.abs().amax(dim=1, keepdim=True)
    elif kind == NoiseManagementType.MAX:
        alpha = x.amax(dim=1, keepdim=True).clamp(min=0.0)
    elif kind == NoiseManagementType.CONSTANT and io.nm_thres > 0:
        return x.new_full((x.shape[0], 1), float(io.nm_thres))
    else:
        return x.new_ones((x.shape[0], 1))
    if io.nm_thres > 0:
        alpha = alpha.clamp(max=float(io.nm_thres))
    return alpha


def _clip(v: Tensor, bound: float) -> Tensor:
    """``clamp(v, ±bound)`` (no bound when ≤ 0) passing the gradient only strictly inside the
    bounds. Written out because ``torch.clamp`` changed its gradient at the bound itself (passed
    in torch 2.0, not since), and the tile must not depend on the torch version."""
    if bound <= 0:
        return v
    inside = (v > -bound) & (v < bound)
    return torch.where(inside, v, v.detach().clamp(-bound, bound))


@torch.no_grad()
def ir_drop_term(io: IOParameters, weights: Tensor, u: Tensor) -> Tensor:
    """The steady-state IR drop subtracted from W u (the Rust forward's formula, from the
    reference's C++ forward): a_i = (n/g)·Σ_j |w_ij||u_j|, c_i = a_i(a_i(0.05a_i − 0.2) + 0.5),
    drop_i = c_i·ir_drop·Σ_j w_ij u_j (1 − (1 − j/n)²), g = ir_drop_g_ratio, n inputs (input 0
    sees no drop). A constant for autograd, like the noise: the backward is exact, as the Rust
    tile's."""
    n = u.shape[1]
    a = (u.abs() @ weights.abs().T) * (n / io.ir_drop_g_ratio)
    c = a * (a * (0.05 * a - 0.2) + 0.5)
    position = 1.0 - (1.0 - torch.arange(n, dtype=u.dtype, device=u.device) / n) ** 2
    return c * io.ir_drop * ((u * position) @ weights.T)


def _single_pass(
    io: IOParameters,
    weights: Tensor,
    x: Tensor,
    scale: Tensor,
    record: Optional[Recorder],
    anchor: Optional[Tensor],
    read: Optional[ArrayRead] = None,
) -> tuple[Tensor, Tensor]:
    """DAC, MVM with noise, ADC for input x/scale; returns (ADC output, saturated rows)."""
    u = x / scale
    step = quantization_step(io.inp_res, io.inp_bound)
    if step > 0:
        u = RoundStraightThrough.apply(u, step, io.inp_sto_round)
    u = _clip(u, io.inp_bound)
    if io.inp_noise > 0:
        u = u + io.inp_noise * torch.randn_like(u)
    v = RecordedMatmul.apply(u, weights, record, anchor)
    if read is not None:
        # The array's read replaces W u in value; the gradient stays that of W u.
        v = v + (read(weights, u.detach()) - v).detach()
    elif io.ir_drop > 0 and not isinstance(io, IOParametersIRDropT):
        # (IOParametersIRDropT's ir_drop scales the time-dependent model only.)
        v = v - ir_drop_term(io, weights, u)
    with torch.no_grad():
        variance = torch.full_like(v, float(io.out_noise) ** 2)
        if io.w_noise > 0 and io.w_noise_type == WeightNoiseType.ADDITIVE_CONSTANT:
            variance = variance + io.w_noise**2 * (u * u).sum(dim=1, keepdim=True)
        elif io.w_noise > 0 and io.w_noise_type == WeightNoiseType.PCM_READ:
            variance = variance + io.w_noise**2 * ((u * u) @ weights.abs().T)
        noise = variance.sqrt() * torch.randn_like(v)
    v = v + noise
    step = quantization_step(io.out_res, io.out_bound)
    if step > 0:
        v = RoundStraightThrough.apply(v, step, io.out_sto_round)
    bound = float(io.out_bound)
    if bound > 0:
        with torch.no_grad():
            saturated = (v >= bound).any(dim=1)
            if io.bm_test_negative_bound:
                saturated |= (v <= -bound).any(dim=1)
        v = _clip(v, bound)
    else:
        saturated = torch.zeros(v.shape[0], dtype=torch.bool, device=v.device)
    return v, saturated


def max_reduction(io: IOParameters) -> float:
    """The largest bound-management factor b (as the Rust periphery)."""
    step = quantization_step(io.inp_res, io.inp_bound)
    by_res = io.max_bm_res / step if step > 0 else float("inf")
    return min(float(io.max_bm_factor), by_res)


def analog_mvm(
    io: IOParameters,
    weights: Tensor,
    x: Tensor,
    record: Optional[Recorder] = None,
    anchor: Optional[Tensor] = None,
    read: Optional[ArrayRead] = None,
) -> Tensor:
    """``y [N, out]`` of inputs ``x [N, in]`` through the periphery ``io`` and weights
    ``W [out, in]`` (see the module docstring); differentiable in x. The backward hands the
    weight-gradient pairs to ``record`` (see :class:`RecordedMatmul` for ``anchor``). ``read``,
    if given, computes the analog product in place of W u (its gradient is that of W u)."""
    check_torch_support(io)
    if io.is_perfect or io.mv_type == AnalogMVType.IDEAL:
        return RecordedMatmul.apply(x, weights, record, anchor)  # type: ignore[no-any-return]
    alpha = noise_management_scale(io, x)
    silent = (alpha <= 0).reshape(-1)
    alpha = torch.where(alpha > 0, alpha, torch.ones_like(alpha))
    reduction = torch.ones_like(alpha)
    out, saturated = _single_pass(io, weights, x, alpha, record, anchor, read)
    iterative = io.bound_management == BoundManagementType.ITERATIVE and io.out_bound > 0
    limit = max_reduction(io)
    while iterative:
        pending = saturated & ~silent & (reduction.reshape(-1) <= limit)
        if not bool(pending.any()):
            break
        rows = pending.nonzero().reshape(-1)
        reduction = reduction.index_put((rows,), reduction[rows] * 2)
        again, sat_again = _single_pass(
            io, weights, x[rows], alpha[rows] * reduction[rows], record, anchor, read
        )
        out = out.index_put((rows,), again)
        saturated = saturated.index_put((rows,), sat_again)
    y = out * (io.out_scale * alpha * reduction)
    if bool(silent.any()):
        y = torch.where(silent[:, None], torch.zeros_like(y), y)
    return y
