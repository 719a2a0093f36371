"""Hardware-aware training operations on a tile's stored weights ``[out, in]``: the weight
modifier (noise on the weights that forward/backward see), clipping and remapping. Formulas as
the reference's default (C++) inference tile; every draw comes from torch's default generator.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from rpusim.configs.enums import WeightClipType, WeightModifierType, WeightRemapType
from rpusim.configs.inference import (
    WeightClipParameter,
    WeightModifierParameter,
    WeightRemapParameter,
)

# The PCM programming-noise polynomial (µS at 25 µS) and read time of the PCM_NOISE modifier.
PCM_PROG_COEFFS = (0.26348, 1.9650, -1.1731)
PCM_T_READ = 250e-9


def modifier_wmax(weights: Tensor, param: WeightModifierParameter) -> float:
    """ω: max|W| (1 for an all-zero tile) with ``rel_to_actual_wmax``, else ``assumed_wmax``."""
    if param.rel_to_actual_wmax:
        amax = float(weights.abs().max()) if weights.numel() else 0.0
        return amax if amax > 0 else 1.0
    return float(param.assumed_wmax)


def _round(x: Tensor, sto_round: bool) -> Tensor:
    """Round half away from zero (the reference's ``roundf``), stochastic with ``sto_round``.
    (Not floor(|x| + 0.5): in float32 that rounds 0.49999997 up to 1.)"""
    if sto_round:
        x = x + (torch.rand_like(x) - 0.5)
    whole = torch.trunc(x)
    return torch.where((x - whole).abs() >= 0.5, whole + torch.sign(x), whole)


def _discretize(weights: Tensor, amax: float, res: float, sto_round: bool) -> Tensor:
    """ω·(round((w/ω)/res)·res), in the reference's order of operations (a weight on a half
    step then rounds to the same level)."""
    return amax * (_round((weights / amax) / res, sto_round) * res)


def _poly_sigma(relative: Tensor, coeffs: list[float]) -> Tensor:
    sigma = torch.zeros_like(relative)
    power = torch.ones_like(relative)
    for c in coeffs:
        sigma = sigma + c * power
        power = power * relative
    return sigma


def _pcm_noise(weights: Tensor, param: WeightModifierParameter, amax: float) -> Tensor:
    g_max, std = param.g_max, param.std_dev
    g = weights.clamp(-amax, amax) * (g_max / amax)
    g = torch.where(g.abs() <= param.pcm_zero_thres * std * PCM_PROG_COEFFS[0], 0.0, g)
    negative = g < 0
    if param.pcm_prob_at_reset > 0:
        g = torch.where(torch.rand_like(g) < param.pcm_prob_at_reset, 0.0, g)
    if param.pcm_prob_at_gmax > 0:
        hit, side = torch.rand_like(g) < param.pcm_prob_at_gmax, torch.rand_like(g) > 0.5
        g = torch.where(hit, torch.where(side, g - g_max, g + g_max), g)
    if param.pcm_prob_at_random > 0:
        hit, level = torch.rand_like(g) < param.pcm_prob_at_random, torch.rand_like(g) * g_max
        g = torch.where(hit, torch.where(g > 0, level, -level), g)
    g = g.clamp(-g_max, g_max)
    r = g.abs() / g_max
    sigma_prog = PCM_PROG_COEFFS[0] + PCM_PROG_COEFFS[1] * r + PCM_PROG_COEFFS[2] * r * r
    g_prog = g + std * sigma_prog * torch.randn_like(g)
    r_prog = g_prog.abs() / g_max
    t0 = param.pcm_t0
    t = param.pcm_t_inference + t0
    g_drift = g_prog
    if t > t0:
        # Only the device-to-device spread of ν: the mean decay is left to drift compensation.
        sigma_nu = (-0.0125 * torch.log(r_prog.clamp(min=1e-6)) - 0.0059).clamp(0.008, 0.045)
        nu = (torch.randn_like(g) * sigma_nu).abs()
        g_drift = g_prog * (t / t0) ** (-nu)
    q = (0.0088 / (r_prog**0.65).clamp(min=1e-3)).clamp(max=0.2)
    spread = math.sqrt(math.log((t + PCM_T_READ) / (2 * PCM_T_READ)))
    g_final = g_drift + std * g_drift.abs() * q * spread * torch.randn_like(g)
    out = (g_final / g_max * amax).abs()
    out = torch.where(negative, -out, out)
    return torch.where(g == 0, 0.0, out)


@torch.no_grad()
def modify_weights(weights: Tensor, param: WeightModifierParameter) -> Tensor:
    """The weights forward and backward see for one mini-batch (a new tensor; ``weights``
    unchanged)."""
    kind = param.type
    amax = modifier_wmax(weights, param)
    out = weights.clone()
    if kind == WeightModifierType.DISCRETIZE and param.res > 0:
        out = _discretize(weights, amax, param.res, param.sto_round)
    elif kind == WeightModifierType.DISCRETIZE_ADD_NORMAL:
        if param.res > 0:
            out = _discretize(weights, amax, param.res, param.sto_round)
        if param.std_dev > 0:
            out = out + param.std_dev * amax * torch.randn_like(out)
    elif kind == WeightModifierType.DOREFA and param.res > 0:
        scale = abs(param.dorefa_clip / math.tanh(amax))
        out = param.res * _round(torch.tanh(weights) * scale / param.res, param.sto_round)
    elif kind == WeightModifierType.MULT_NORMAL and param.std_dev > 0:
        out = weights * (1 + param.std_dev * amax * torch.randn_like(weights))
    elif kind == WeightModifierType.ADD_NORMAL and param.std_dev > 0:
        out = weights + param.std_dev * amax * torch.randn_like(weights)
    elif kind in (WeightModifierType.POLY, WeightModifierType.PROG_NOISE):
        if param.std_dev > 0 and param.coeffs:
            std = param.std_dev / (param.g_max if kind == WeightModifierType.PROG_NOISE else 1.0)
            sigma = std * _poly_sigma(weights.abs() / amax, list(param.coeffs))
            out = weights + amax * sigma * torch.randn_like(weights)
            if kind == WeightModifierType.PROG_NOISE:
                # Noise that would cross zero is mirrored back: the sign is programmed.
                out = torch.where(weights < 0, -out.abs(), out.abs())
    elif kind == WeightModifierType.PCM_NOISE:
        out = _pcm_noise(weights, param, amax)
    if param.pdrop > 0:
        out = torch.where(torch.rand_like(out) < param.pdrop, 0.0, out)
    return out


def clip_value(weights: Tensor, param: WeightClipParameter) -> float:
    """The clip value c of ``param`` for these weights (≤ 0: no clipping)."""
    kind = param.type
    if kind == WeightClipType.NONE:
        return 0.0
    if kind == WeightClipType.FIXED_VALUE:
        return float(param.fixed_value)
    if kind == WeightClipType.LAYER_GAUSSIAN:
        value = param.sigma * float(weights.std()) if weights.numel() > 1 else 0.0
    else:  # AVERAGE_CHANNEL_MAX
        value = float(weights.abs().amax(dim=1).mean())
    if param.fixed_value > 0:
        value = min(value, float(param.fixed_value))
    return value


@torch.no_grad()
def clip_weights_(weights: Tensor, param: WeightClipParameter) -> None:
    """Clips ``weights`` in place to ±c (nothing when c ≤ 0)."""
    value = clip_value(weights, param)
    if value > 0:
        weights.clamp_(-value, value)


@torch.no_grad()
def remap_weights_(weights: Tensor, scales: Tensor, param: WeightRemapParameter) -> None:
    """Rescales ``weights`` ``[out, in]`` and the output ``scales`` ``[out]`` in place so that
    the stored weights span ±remapped_wmax; scales·weights is unchanged."""
    if param.type == WeightRemapType.LAYERWISE_SYMMETRIC:
        factor = float(weights.abs().max()) / param.remapped_wmax if weights.numel() else 0.0
        if factor > 0:
            scales.mul_(factor)
            weights.div_(factor)
        return
    if param.type != WeightRemapType.CHANNELWISE_SYMMETRIC:
        return
    row_max = weights.abs().amax(dim=1)
    if param.max_scale_range <= 0:
        row_factor = row_max / param.remapped_wmax
        row_factor = torch.where(row_factor > 0, row_factor, torch.ones_like(row_factor))
        scales.mul_(row_factor)
        weights.div_(row_factor[:, None])
        return
    old = scales.clone()
    smallest = max(float(old.min()), 0.0)
    if smallest > 0 and param.max_scale_ref != 0:
        smallest = max(smallest, param.max_scale_ref)
    new = torch.where(row_max > 0, row_max * old, old)
    if smallest > 0:
        new = torch.minimum(new, torch.full_like(new, param.max_scale_range * smallest))
    weights.mul_((old / new)[:, None])
    scales.copy_(new)
