//! `ExpStepDevice`: the step shrinks exponentially as the weight approaches a bound
//! (reference §4.2). With z = 2a·w/(b_max − b_min) + b per device:
//! up w += Δ⁺·max(0, 1 − A_up·e^(γ_up z))(1 + σξ), down w −= Δ⁻·max(0, 1 − A_down·e^(−γ_down z))(1 + σξ);
//! with `dw_min_std_add` or `dw_min_std_slope` the noise is additive instead, with std
//! σ·(|Δw| + std_add + std_slope·|w|).

use super::{clip, ConstantStepArray, PulseStep};
use crate::config::ExpStepParameters;

/// The exponential-step shape (the same for every device) on top of the constant-step draws.
#[derive(Clone, Debug, PartialEq)]
pub struct ExpStepArray {
    pub base: ConstantStepArray,
    pub shape: ExpShape,
}

/// Parameters of the step's shape, shared by all devices of a tile.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ExpShape {
    pub a_up: f32,
    pub a_down: f32,
    pub gamma_up: f32,
    pub gamma_down: f32,
    pub a: f32,
    pub b: f32,
    pub std_add: f32,
    pub std_slope: f32,
}

impl ExpShape {
    /// Whether the noise is additive with the `std_add`/`std_slope` terms.
    pub fn complex_noise(&self) -> bool {
        self.std_add > 0.0 || self.std_slope > 0.0
    }
}

impl ExpStepArray {
    pub fn build(
        p: &ExpStepParameters,
        rows: usize,
        cols: usize,
        tile_seed: u64,
    ) -> crate::Result<Self> {
        Ok(Self {
            base: ConstantStepArray::build(&p.pulsed, rows, cols, tile_seed)?,
            shape: ExpShape {
                a_up: p.A_up,
                a_down: p.A_down,
                gamma_up: p.gamma_up,
                gamma_down: p.gamma_down,
                a: p.a,
                b: p.b,
                std_add: p.dw_min_std_add,
                std_slope: p.dw_min_std_slope,
            },
        })
    }

    /// One pulse on device `k` (see the module documentation), clipped to the bounds.
    #[inline]
    pub fn pulse(&self, k: usize, w: f32, up: bool, xi: f32) -> f32 {
        self.device(k).pulse(w, up, xi)
    }

    /// Device `k`'s parameters.
    #[inline(always)]
    pub fn device(&self, k: usize) -> ExpStep {
        let b = &self.base;
        ExpStep {
            up: b.step_up[k],
            down: b.step_down[k],
            lo: b.w_min[k],
            hi: b.w_max[k],
            std: b.dw_min_std,
            shape: self.shape,
        }
    }
}

/// One exp-step device.
#[derive(Clone, Copy, Debug)]
pub struct ExpStep {
    pub up: f32,
    pub down: f32,
    pub lo: f32,
    pub hi: f32,
    pub std: f32,
    pub shape: ExpShape,
}

impl PulseStep for ExpStep {
    super::scalar_lanes!();

    #[inline(always)]
    fn pulse(&self, w: f32, up: bool, xi: f32) -> f32 {
        let s = &self.shape;
        let (hi, lo) = (self.hi, self.lo);
        let range = hi - lo;
        let z = if range > 0.0 {
            2.0 * s.a * w / range + s.b
        } else {
            s.b
        };
        let dw = if up {
            let f = 1.0 - s.a_up * (s.gamma_up * z).exp();
            self.up * if f < 0.0 { 0.0 } else { f }
        } else {
            let f = 1.0 - s.a_down * (-s.gamma_down * z).exp();
            -self.down * if f < 0.0 { 0.0 } else { f }
        };
        let next = if s.complex_noise() {
            w + dw + self.std * (dw.abs() + s.std_add + s.std_slope * w.abs()) * xi
        } else {
            w + dw * (1.0 + self.std * xi)
        };
        clip(next, lo, hi)
    }
}
