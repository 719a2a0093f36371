//! `LinearStepDevice` (and `SoftBoundsDevice`, its γ = 1 case): the step of a pulse changes
//! linearly with the weight, Δw = Δ + s·w with a per-device slope s (reference §4.2).

use super::{
    clip, clip_lanes, directed_add, lane_array, pulse_train_portable, shape_normals,
    ConstantStepArray, LaneTrain, PulseStep, LANES,
};
use crate::config::LinearStepParameters;

/// Per-device slopes on top of the constant-step draws (steps, bounds).
#[derive(Clone, Debug, PartialEq)]
pub struct LinearStepArray {
    /// Δ⁺, Δ⁻, b_max, b_min, dw_min_std: the constant-step part.
    pub base: ConstantStepArray,
    /// s⁺ = −|γ⁺ + γ⁺_dtod ξ|·Δ⁺ / w_ref⁺ (w_ref⁺ = w_max, or w_min − offset if reversed).
    pub slope_up: Vec<f32>,
    /// s⁻ = −|γ⁻ + γ⁻_dtod ξ|·Δ⁻ / w_ref⁻ (w_ref⁻ = w_min, or w_max + offset if reversed).
    pub slope_down: Vec<f32>,
    /// Noise (1 + σξ) on the whole step, else Δ·σξ added to it.
    pub mult_noise: bool,
    /// Let the step change sign past the reference (else it stops at 0).
    pub allow_increasing: bool,
}

impl LinearStepArray {
    pub fn build(
        p: &LinearStepParameters,
        rows: usize,
        cols: usize,
        tile_seed: u64,
    ) -> crate::Result<Self> {
        let base = ConstantStepArray::build(&p.pulsed, rows, cols, tile_seed)?;
        let n = rows * cols;
        let mut slope_up = crate::memory::with_capacity("device parameters", n)?;
        let mut slope_down = crate::memory::with_capacity("device parameters", n)?;
        for k in 0..n {
            let xi = shape_normals(&p.pulsed, tile_seed, k);
            let (hi, lo) = if p.mean_bound_reference {
                (p.pulsed.w_max, p.pulsed.w_min)
            } else {
                (base.w_max[k], base.w_min[k])
            };
            // Reversed: referenced to the opposite bound, pushed out by the offset so the step
            // is not 0 there (it grows towards the near bound instead of shrinking).
            let ref_up = if p.reverse_up {
                lo - p.reverse_offset
            } else {
                hi
            };
            let ref_down = if p.reverse_down {
                hi + p.reverse_offset
            } else {
                lo
            };
            let slope = |gamma: f32, dtod: f32, xi: f32, step: f32, reference: f32| {
                if reference == 0.0 {
                    0.0
                } else {
                    -(gamma + dtod * xi).abs() * step / reference
                }
            };
            slope_up.push(slope(
                p.gamma_up,
                p.gamma_up_dtod,
                xi[0],
                base.step_up[k],
                ref_up,
            ));
            slope_down.push(slope(
                p.gamma_down,
                p.gamma_down_dtod,
                xi[1],
                base.step_down[k],
                ref_down,
            ));
        }
        Ok(Self {
            base,
            slope_up,
            slope_down,
            mult_noise: p.mult_noise,
            allow_increasing: p.allow_increasing,
        })
    }

    /// One pulse on device `k`: up w += (Δ⁺ + s⁺w)(1 + σξ), down w −= (Δ⁻ + s⁻w)(1 + σξ)
    /// (additive noise: the noise term is Δσξ), then clip to the bounds.
    #[inline]
    pub fn pulse(&self, k: usize, w: f32, up: bool, xi: f32) -> f32 {
        self.device(k).pulse(w, up, xi)
    }

    /// Device `k`'s parameters.
    #[inline(always)]
    pub fn device(&self, k: usize) -> LinearStep {
        let b = &self.base;
        LinearStep {
            up: b.step_up[k],
            down: b.step_down[k],
            slope_up: self.slope_up[k],
            slope_down: self.slope_down[k],
            lo: b.w_min[k],
            hi: b.w_max[k],
            std: b.dw_min_std,
            mult_noise: self.mult_noise,
            allow_increasing: self.allow_increasing,
        }
    }

    pub fn arrays(&self) -> Vec<(&'static str, &[f32])> {
        let mut v = self.base.arrays();
        v.push(("slope_up", &self.slope_up));
        v.push(("slope_down", &self.slope_down));
        v
    }

    pub fn arrays_mut(&mut self) -> Vec<(&'static str, &mut Vec<f32>)> {
        let mut v = self.base.arrays_mut();
        v.push(("slope_up", &mut self.slope_up));
        v.push(("slope_down", &mut self.slope_down));
        v
    }
}

/// One linear-step device.
#[derive(Clone, Copy, Debug)]
pub struct LinearStep {
    pub up: f32,
    pub down: f32,
    pub slope_up: f32,
    pub slope_down: f32,
    pub lo: f32,
    pub hi: f32,
    pub std: f32,
    pub mult_noise: bool,
    pub allow_increasing: bool,
}

/// LANES linear-step devices of one array (the flags are the array's).
#[derive(Clone, Copy, Debug)]
pub struct LinearLanes {
    up: [f32; LANES],
    down: [f32; LANES],
    slope_up: [f32; LANES],
    slope_down: [f32; LANES],
    lo: [f32; LANES],
    hi: [f32; LANES],
    std: [f32; LANES],
    mult_noise: bool,
    allow_increasing: bool,
}

impl PulseStep for LinearStep {
    const LOCKSTEP: bool = true;
    type Lanes = LinearLanes;

    #[inline(always)]
    fn lanes(d: &[Self; LANES]) -> LinearLanes {
        LinearLanes {
            up: lane_array(d, |d| d.up),
            down: lane_array(d, |d| d.down),
            slope_up: lane_array(d, |d| d.slope_up),
            slope_down: lane_array(d, |d| d.slope_down),
            lo: lane_array(d, |d| d.lo),
            hi: lane_array(d, |d| d.hi),
            std: lane_array(d, |d| d.std),
            mult_noise: d[0].mult_noise,
            allow_increasing: d[0].allow_increasing,
        }
    }

    #[inline(always)]
    fn pulse_lanes(
        d: &LinearLanes,
        up: &[bool; LANES],
        w: &[f32; LANES],
        xi: &[f32; LANES],
    ) -> [f32; LANES] {
        let step: [f32; LANES] = std::array::from_fn(|l| if up[l] { d.up[l] } else { d.down[l] });
        let mut dw = [0.0; LANES];
        for l in 0..LANES {
            let slope = if up[l] {
                d.slope_up[l]
            } else {
                d.slope_down[l]
            };
            dw[l] = step[l] + slope * w[l];
        }
        if !d.allow_increasing {
            for v in &mut dw {
                *v = if *v < 0.0 { 0.0 } else { *v };
            }
        }
        if d.mult_noise {
            for l in 0..LANES {
                dw[l] *= 1.0 + d.std[l] * xi[l];
            }
        } else {
            for l in 0..LANES {
                dw[l] += step[l] * d.std[l] * xi[l];
            }
        }
        let mut next: [f32; LANES] = std::array::from_fn(|l| directed_add(w[l], dw[l], up[l]));
        clip_lanes(&mut next, &d.lo, &d.hi);
        next
    }

    #[inline(always)]
    fn pulse_train_lanes(d: &LinearLanes, w: &mut [f32; LANES], train: &LaneTrain<'_>) {
        #[cfg(target_arch = "x86_64")]
        if train.wide {
            // SAFETY: `wide` is set only where has_wide_lanes() holds (AVX-512F and more).
            #[allow(unsafe_code)]
            unsafe {
                linear_train_avx512(d, w, train);
            }
            return;
        }
        pulse_train_portable::<Self>(d, w, train);
    }

    #[inline(always)]
    fn pulse(&self, w: f32, up: bool, xi: f32) -> f32 {
        let (step, slope) = if up {
            (self.up, self.slope_up)
        } else {
            (self.down, self.slope_down)
        };
        let mut dw = step + slope * w;
        if !self.allow_increasing {
            dw = if dw < 0.0 { 0.0 } else { dw };
        }
        let dw = if self.mult_noise {
            dw * (1.0 + self.std * xi)
        } else {
            dw + step * self.std * xi
        };
        let next = if up { w + dw } else { w - dw };
        clip(next, self.lo, self.hi)
    }
}

/// [`LinearStep::pulse_train_lanes`] in AVX-512 registers: REGS registers of 16 lanes per
/// parameter (independent dependency chains side by side), the directions and the running
/// lanes as masks. The operations are those of [`LinearStep::pulse_lanes`] in the same order
/// (no fused multiply-adds), and the selects keep its comparisons' operand order (so ±0 and NaN
/// come out the same): the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn linear_train_avx512(d: &LinearLanes, w: &mut [f32; LANES], train: &LaneTrain<'_>) {
    use std::arch::x86_64::*;
    const REGS: usize = LANES / 16;
    const _: () = assert!(LANES.is_multiple_of(16), "whole 512-bit registers of f32");
    let load = |a: &[f32; LANES]| -> [__m512; REGS] {
        std::array::from_fn(|r| {
            // SAFETY: 16 f32 of a [f32; LANES] from 16·r.
            #[allow(unsafe_code)]
            unsafe {
                _mm512_loadu_ps(a[16 * r..].as_ptr())
            }
        })
    };
    let (up, down, slope_up, slope_down) = (
        load(&d.up),
        load(&d.down),
        load(&d.slope_up),
        load(&d.slope_down),
    );
    let (lo, hi, std) = (load(&d.lo), load(&d.hi), load(&d.std));
    let (zero, one) = (_mm512_setzero_ps(), _mm512_set1_ps(1.0));
    let sign = _mm512_set1_epi32(i32::MIN);
    let counts: [__m512i; REGS] = std::array::from_fn(|r| {
        // SAFETY: 16 u32 of a [u32; LANES] from 16·r.
        #[allow(unsafe_code)]
        unsafe {
            _mm512_loadu_si512(train.counts[16 * r..].as_ptr().cast())
        }
    });
    let mut wv = load(w);
    let mut xi = [zero; REGS];
    for word in train.first / 64..train.words {
        let bits = train.direction_words(word);
        // Lanes 8h..8h + 8 as one register of u64.
        let halves: [__m512i; 2 * REGS] = std::array::from_fn(|h| {
            // SAFETY: 8 u64 of a [u64; LANES] from 8·h.
            #[allow(unsafe_code)]
            unsafe {
                _mm512_loadu_si512(bits[8 * h..].as_ptr().cast())
            }
        });
        for bit in train.first_bit(word)..64.min(train.pulses - word * 64) {
            let m = word * 64 + bit;
            if let Some(normals) = train.normals {
                let row: &[f32; LANES] = normals[m * LANES..(m + 1) * LANES]
                    .try_into()
                    .expect("LANES normals");
                xi = load(row);
            }
            let probe = _mm512_set1_epi64(1 << bit);
            let m = _mm512_set1_epi32(m as i32);
            for r in 0..REGS {
                let is_up: __mmask16 = u16::from(_mm512_test_epi64_mask(halves[2 * r], probe))
                    | u16::from(_mm512_test_epi64_mask(halves[2 * r + 1], probe)) << 8;
                let running = _mm512_cmpgt_epu32_mask(counts[r], m);
                let step = _mm512_mask_blend_ps(is_up, down[r], up[r]);
                let slope = _mm512_mask_blend_ps(is_up, slope_down[r], slope_up[r]);
                let mut dw = _mm512_add_ps(step, _mm512_mul_ps(slope, wv[r]));
                if !d.allow_increasing {
                    // `if dw < 0 { 0 } else { dw }`: max(0, dw) returns dw unless 0 > dw.
                    dw = _mm512_max_ps(zero, dw);
                }
                dw = if d.mult_noise {
                    _mm512_mul_ps(dw, _mm512_add_ps(one, _mm512_mul_ps(std[r], xi[r])))
                } else {
                    _mm512_add_ps(dw, _mm512_mul_ps(_mm512_mul_ps(step, std[r]), xi[r]))
                };
                // directed_add: the sign of dw flipped on down pulses.
                let signed = _mm512_castsi512_ps(_mm512_mask_xor_epi32(
                    _mm512_castps_si512(dw),
                    !is_up,
                    _mm512_castps_si512(dw),
                    sign,
                ));
                let next = _mm512_add_ps(wv[r], signed);
                // clip: `if v < lo { lo } else { v }`, then `if v > hi { hi } else { v }`.
                let next = _mm512_min_ps(hi[r], _mm512_max_ps(lo[r], next));
                wv[r] = _mm512_mask_mov_ps(wv[r], running, next);
            }
        }
    }
    for (r, v) in wv.iter().enumerate() {
        // SAFETY: 16 f32 into a [f32; LANES] from 16·r.
        #[allow(unsafe_code)]
        unsafe {
            _mm512_storeu_ps(w[16 * r..].as_mut_ptr(), *v);
        }
    }
}
