//! `PiecewiseStepDevice`: the step is Δ^± times a value interpolated linearly from a node
//! vector whose nodes are spread evenly over the device's [b_min, b_max] (reference §4.2):
//! up w += Δ⁺·f⁺(w)(1 + σξ), down w −= Δ⁻·f⁻(w)(1 + σξ).

use super::{clip, ConstantStepArray, PulseStep};
use crate::config::PiecewiseStepParameters;

#[derive(Clone, Debug, PartialEq)]
pub struct PiecewiseStepArray {
    pub base: ConstantStepArray,
    pub nodes_up: Vec<f32>,
    pub nodes_down: Vec<f32>,
}

/// The curve through `nodes` (evenly spaced over [lo, hi]) at w.
#[inline]
pub fn interpolate(nodes: &[f32], w: f32, lo: f32, hi: f32) -> f32 {
    let n = nodes.len();
    if n == 1 || hi <= lo {
        return nodes[0];
    }
    let t = ((w - lo) / (hi - lo)).clamp(0.0, 1.0) * (n - 1) as f32;
    let i = (t as usize).min(n - 2);
    let frac = t - i as f32;
    nodes[i] + frac * (nodes[i + 1] - nodes[i])
}

impl PiecewiseStepArray {
    pub fn build(
        p: &PiecewiseStepParameters,
        rows: usize,
        cols: usize,
        tile_seed: u64,
    ) -> crate::Result<Self> {
        Ok(Self {
            base: ConstantStepArray::build(&p.pulsed, rows, cols, tile_seed)?,
            nodes_up: p.piecewise_up.clone(),
            nodes_down: p.piecewise_down.clone(),
        })
    }

    #[inline]
    pub fn pulse(&self, k: usize, w: f32, up: bool, xi: f32) -> f32 {
        self.device(k).pulse(w, up, xi)
    }

    /// Device `k`'s parameters (the node curves are shared).
    #[inline(always)]
    pub fn device(&self, k: usize) -> PiecewiseStep<'_> {
        let b = &self.base;
        PiecewiseStep {
            up: b.step_up[k],
            down: b.step_down[k],
            lo: b.w_min[k],
            hi: b.w_max[k],
            std: b.dw_min_std,
            nodes_up: &self.nodes_up,
            nodes_down: &self.nodes_down,
        }
    }
}

/// One piecewise-step device.
#[derive(Clone, Copy, Debug)]
pub struct PiecewiseStep<'a> {
    pub up: f32,
    pub down: f32,
    pub lo: f32,
    pub hi: f32,
    pub std: f32,
    pub nodes_up: &'a [f32],
    pub nodes_down: &'a [f32],
}

impl PulseStep for PiecewiseStep<'_> {
    super::scalar_lanes!();

    #[inline(always)]
    fn pulse(&self, w: f32, up: bool, xi: f32) -> f32 {
        let (hi, lo) = (self.hi, self.lo);
        let noise = 1.0 + self.std * xi;
        let next = if up {
            w + self.up * interpolate(self.nodes_up, w, lo, hi) * noise
        } else {
            w - self.down * interpolate(self.nodes_down, w, lo, hi) * noise
        };
        clip(next, lo, hi)
    }
}
