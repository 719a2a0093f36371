//! `PowStepDevice`: the step is a power of the distance to the bound it moves toward
//! (reference §4.2). With ω = (b_max − w)/(b_max − b_min): up w += Δ⁺·ω^γ⁺(1 + σξ), down
//! w −= Δ⁻·(1 − ω)^γ⁻(1 + σξ). Per device γ⁺ = γ(1 + β + γ_dtod ξ), γ⁻ = γ(1 − β + γ_dtod ξ)
//! with one ξ for both directions and β = pow_up_down + pow_up_down_dtod ξ' (γ kept ≥ 0).

use super::{clip, shape_normals, ConstantStepArray, PulseStep};
use crate::config::PowStepParameters;

#[derive(Clone, Debug, PartialEq)]
pub struct PowStepArray {
    pub base: ConstantStepArray,
    /// γ⁺ per device.
    pub gamma_up: Vec<f32>,
    /// γ⁻ per device.
    pub gamma_down: Vec<f32>,
}

impl PowStepArray {
    pub fn build(
        p: &PowStepParameters,
        rows: usize,
        cols: usize,
        tile_seed: u64,
    ) -> crate::Result<Self> {
        let base = ConstantStepArray::build(&p.pulsed, rows, cols, tile_seed)?;
        let n = rows * cols;
        let mut gamma_up = crate::memory::with_capacity("device parameters", n)?;
        let mut gamma_down = crate::memory::with_capacity("device parameters", n)?;
        for k in 0..n {
            let xi = shape_normals(&p.pulsed, tile_seed, k);
            let beta = p.pow_up_down + p.pow_up_down_dtod * xi[3];
            let spread = p.pow_gamma_dtod * xi[2];
            gamma_up.push((p.pow_gamma * (1.0 + beta + spread)).max(0.0));
            gamma_down.push((p.pow_gamma * (1.0 - beta + spread)).max(0.0));
        }
        Ok(Self {
            base,
            gamma_up,
            gamma_down,
        })
    }

    #[inline]
    pub fn pulse(&self, k: usize, w: f32, up: bool, xi: f32) -> f32 {
        self.device(k).pulse(w, up, xi)
    }

    /// Device `k`'s parameters.
    #[inline(always)]
    pub fn device(&self, k: usize) -> PowStep {
        let b = &self.base;
        PowStep {
            up: b.step_up[k],
            down: b.step_down[k],
            gamma_up: self.gamma_up[k],
            gamma_down: self.gamma_down[k],
            lo: b.w_min[k],
            hi: b.w_max[k],
            std: b.dw_min_std,
        }
    }

    pub fn arrays(&self) -> Vec<(&'static str, &[f32])> {
        let mut v = self.base.arrays();
        v.push(("pow_gamma_up", &self.gamma_up));
        v.push(("pow_gamma_down", &self.gamma_down));
        v
    }

    pub fn arrays_mut(&mut self) -> Vec<(&'static str, &mut Vec<f32>)> {
        let mut v = self.base.arrays_mut();
        v.push(("pow_gamma_up", &mut self.gamma_up));
        v.push(("pow_gamma_down", &mut self.gamma_down));
        v
    }
}

/// One power-step device.
#[derive(Clone, Copy, Debug)]
pub struct PowStep {
    pub up: f32,
    pub down: f32,
    pub gamma_up: f32,
    pub gamma_down: f32,
    pub lo: f32,
    pub hi: f32,
    pub std: f32,
}

impl PulseStep for PowStep {
    super::scalar_lanes!();

    #[inline(always)]
    fn pulse(&self, w: f32, up: bool, xi: f32) -> f32 {
        let (hi, lo) = (self.hi, self.lo);
        let range = hi - lo;
        let omega = if range > 0.0 {
            ((hi - w) / range).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let noise = 1.0 + self.std * xi;
        let next = if up {
            w + self.up * power(omega, self.gamma_up) * noise
        } else {
            w - self.down * power(1.0 - omega, self.gamma_down) * noise
        };
        clip(next, lo, hi)
    }
}

/// x^γ for x in [0, 1] (0 at x = 0 for γ > 0, 1 for γ = 0).
#[inline]
fn power(x: f32, gamma: f32) -> f32 {
    if gamma == 0.0 {
        1.0
    } else if x <= 0.0 {
        0.0
    } else {
        x.powf(gamma)
    }
}
