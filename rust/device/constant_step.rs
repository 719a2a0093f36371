//! `ConstantStepDevice`: every pulse moves the weight by a fixed per-device step
//! (Δ⁺ up, Δ⁻ down) times (1 + dw_min_std·ξ), then clips to the device's bounds.

use super::{clip, clip_lanes, directed_add, lane_array, PulseStep, LANES};
use crate::config::ConstantStepParameters;
use crate::rng::{normal_table, uniform_from_u32, Purpose, Stream};

/// Device-to-device parameters of every cross-point, row-major `[rows, cols]`.
#[derive(Clone, Debug, PartialEq)]
pub struct ConstantStepArray {
    /// Mean step `dw_min`: the granularity the update management scales pulses with.
    pub dw_min: f32,
    /// Expected pulses of the busiest pair that a group of vectors may carry: twice the pulses
    /// that take a mean device from 0 to its nearest mean bound at the largest possible step.
    /// Typical devices get a small fraction of the busiest pair's pulses, so with this budget
    /// they stay clear of their bounds and take the grouped path.
    pub group_budget: f32,
    /// Relative cycle-to-cycle spread of a step (`dw_min_std`).
    pub dw_min_std: f32,
    /// Step of an up pulse Δ⁺ (> 0 with `enforce_consistency`).
    pub step_up: Vec<f32>,
    /// Step of a down pulse Δ⁻.
    pub step_down: Vec<f32>,
    /// Upper bound b_max.
    pub w_max: Vec<f32>,
    /// Lower bound b_min.
    pub w_min: Vec<f32>,
}

impl ConstantStepArray {
    /// Draws Δ⁺, Δ⁻, b_max, b_min per device (reference §4.1):
    /// b_max = w_max(1 + w_max_dtod ξ), b_min = w_min(1 + w_min_dtod ξ),
    /// γ = 1 + dw_min_dtod ξ (or exp(dw_min_dtod ξ)), r = up_down_dtod ξ,
    /// Δ⁺ = dw_min(γ + r + min(up_down, 0)), Δ⁻ = dw_min(γ − r − max(up_down, 0)).
    pub fn build(
        p: &ConstantStepParameters,
        rows: usize,
        cols: usize,
        tile_seed: u64,
    ) -> crate::Result<Self> {
        let n = rows * cols;
        let seed = if p.construction_seed != 0 {
            p.construction_seed
        } else {
            tile_seed
        };
        let stream = Stream::new(seed, Purpose::DeviceToDevice);
        let table = normal_table();
        let mut a = Self {
            dw_min: p.dw_min,
            group_budget: 2.0 * p.w_max.min(-p.w_min).max(0.0)
                / (p.dw_min * (1.0 + p.dw_min_std * crate::rng::normal_max())),
            dw_min_std: p.dw_min_std,
            step_up: crate::memory::zeros("device parameters", n)?,
            step_down: crate::memory::zeros("device parameters", n)?,
            w_max: crate::memory::zeros("device parameters", n)?,
            w_min: crate::memory::zeros("device parameters", n)?,
        };
        for k in 0..n {
            let xi = stream.normals8(k as u32, (k >> 32) as u32, 0, 0, table);
            let mut b_max = p.w_max * (1.0 + p.w_max_dtod * xi[0]);
            let mut b_min = p.w_min * (1.0 + p.w_min_dtod * xi[1]);
            let gain = if p.dw_min_dtod_log_normal {
                (p.dw_min_dtod * xi[2]).exp()
            } else {
                1.0 + p.dw_min_dtod * xi[2]
            };
            let asym = p.up_down_dtod * xi[3];
            let mut up = p.dw_min * (gain + asym + p.up_down.min(0.0));
            let mut down = p.dw_min * (gain - asym - p.up_down.max(0.0));
            if p.enforce_consistency {
                if b_min > b_max {
                    std::mem::swap(&mut b_min, &mut b_max);
                }
                b_max = b_max.abs();
                b_min = -b_min.abs();
                up = up.abs();
                down = down.abs();
            }
            if p.corrupt_devices_prob > 0.0 {
                // A stuck device: both bounds at one value drawn uniformly from the part of its
                // range within ±corrupt_devices_range, no step.
                let u = stream
                    .block(k as u32, (k >> 32) as u32, 2, 0)
                    .map(uniform_from_u32);
                if u[0] < p.corrupt_devices_prob {
                    let range = p.corrupt_devices_range.abs();
                    let lo = b_min.min(b_max).max(-range);
                    let hi = b_min.max(b_max).min(range);
                    let value = lo + (hi - lo) * u[1];
                    (b_min, b_max, up, down) = (value, value, 0.0, 0.0);
                }
            }
            a.step_up[k] = up;
            a.step_down[k] = down;
            a.w_max[k] = b_max;
            a.w_min[k] = b_min;
        }
        Ok(a)
    }

    pub fn clip_weights(&self, weights: &mut [f32]) {
        for ((w, lo), hi) in weights.iter_mut().zip(&self.w_min).zip(&self.w_max) {
            *w = w.max(*lo).min(*hi);
        }
    }

    /// One pulse on device `k`: up: w += Δ⁺(1 + σξ), down: w −= Δ⁻(1 + σξ), then clip.
    #[inline]
    pub fn pulse(&self, k: usize, w: f32, up: bool, xi: f32) -> f32 {
        self.device(k).pulse(w, up, xi)
    }

    /// Device `k`'s parameters.
    #[inline(always)]
    pub fn device(&self, k: usize) -> ConstantStep {
        ConstantStep {
            up: self.step_up[k],
            down: self.step_down[k],
            lo: self.w_min[k],
            hi: self.w_max[k],
            std: self.dw_min_std,
        }
    }

    /// `count` pulses in one direction on device `k` as one group (see [`ConstantStep::pulse_run`]).
    #[inline(always)]
    pub fn pulse_run(
        &self,
        k: usize,
        w: f32,
        up: bool,
        count: u32,
        xi: f32,
        xi_max: f32,
    ) -> Option<f32> {
        self.device(k).pulse_run(w, up, count, xi, xi_max)
    }

    /// `up` up-pulses and `down` down-pulses on each device as one group:
    /// w + n⁺Δ⁺ − n⁻Δ⁻ + σ·sqrt(n⁺Δ⁺² + n⁻Δ⁻²)·ξ, which has the distribution of the pulses applied
    /// one by one whenever no order of them can reach a bound. `xi_max` bounds |ξ| of a single
    /// pulse; the group is applied only when even the worst case stays within the bounds, and the
    /// device is left unchanged and flagged in `replay` (to be pulsed one by one) otherwise.
    /// Applies to the consecutive devices `k0..k0 + w.len()`, branch-free so it vectorizes.
    /// Returns whether any device was flagged.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn pulse_groups(
        &self,
        k0: usize,
        w: &mut [f32],
        up: &[u16],
        down: &[u16],
        xi: &[f32],
        xi_max: f32,
        replay: &mut [bool],
    ) -> bool {
        let n = w.len();
        let (dp, dm) = (&self.step_up[k0..k0 + n], &self.step_down[k0..k0 + n]);
        let (hi, lo) = (&self.w_max[k0..k0 + n], &self.w_min[k0..k0 + n]);
        // Every slice re-cut to length n: no bounds checks in the loop, so it vectorizes.
        let (up, down, xi, replay) = (&up[..n], &down[..n], &xi[..n], &mut replay[..n]);
        let s = self.dw_min_std * xi_max;
        let against = (s - 1.0).max(0.0);
        let mut any = false;
        for q in 0..n {
            let (nu, nd) = (f32::from(up[q]), f32::from(down[q]));
            let highest = w[q] + nu * dp[q] * (1.0 + s) + nd * dm[q] * against;
            let lowest = w[q] - nd * dm[q] * (1.0 + s) - nu * dp[q] * against;
            let safe = (highest <= hi[q]) & (lowest >= lo[q]);
            let mean = nu * dp[q] - nd * dm[q];
            let spread = self.dw_min_std * (nu * dp[q] * dp[q] + nd * dm[q] * dm[q]).sqrt();
            let next = (w[q] + mean + spread * xi[q]).max(lo[q]).min(hi[q]);
            w[q] = if safe { next } else { w[q] };
            replay[q] = !safe;
            any |= !safe;
        }
        any
    }

    pub fn arrays(&self) -> Vec<(&'static str, &[f32])> {
        vec![
            ("step_up", &self.step_up),
            ("step_down", &self.step_down),
            ("w_max", &self.w_max),
            ("w_min", &self.w_min),
        ]
    }

    pub fn arrays_mut(&mut self) -> Vec<(&'static str, &mut Vec<f32>)> {
        vec![
            ("step_up", &mut self.step_up),
            ("step_down", &mut self.step_down),
            ("w_max", &mut self.w_max),
            ("w_min", &mut self.w_min),
        ]
    }
}

/// One constant-step device.
#[derive(Clone, Copy, Debug)]
pub struct ConstantStep {
    pub up: f32,
    pub down: f32,
    pub lo: f32,
    pub hi: f32,
    pub std: f32,
}

/// LANES constant-step devices.
#[derive(Clone, Copy, Debug)]
pub struct ConstantLanes {
    up: [f32; LANES],
    down: [f32; LANES],
    lo: [f32; LANES],
    hi: [f32; LANES],
    std: [f32; LANES],
}

impl ConstantStep {
    /// `count` pulses in one direction as one group, w ± count·Δ + σΔ√count·ξ, if no order of them
    /// can reach a bound (see [`ConstantStepArray::pulse_groups`]); None otherwise.
    #[inline(always)]
    pub fn pulse_run(&self, w: f32, up: bool, count: u32, xi: f32, xi_max: f32) -> Option<f32> {
        let s = self.std * xi_max;
        let against = (s - 1.0).max(0.0);
        let c = count as f32;
        let (step, sign) = if up {
            (self.up, 1.0)
        } else {
            (self.down, -1.0)
        };
        let forward = w + sign * c * step * (1.0 + s);
        let backward = w - sign * c * step * against;
        let (highest, lowest) = if up {
            (forward, backward)
        } else {
            (backward, forward)
        };
        if highest > self.hi || lowest < self.lo {
            return None;
        }
        let next = w + sign * c * step + self.std * step * c.sqrt() * xi;
        Some(next.max(self.lo).min(self.hi))
    }
}

impl PulseStep for ConstantStep {
    const LOCKSTEP: bool = true;
    type Lanes = ConstantLanes;

    #[inline(always)]
    fn lanes(d: &[Self; LANES]) -> ConstantLanes {
        ConstantLanes {
            up: lane_array(d, |d| d.up),
            down: lane_array(d, |d| d.down),
            lo: lane_array(d, |d| d.lo),
            hi: lane_array(d, |d| d.hi),
            std: lane_array(d, |d| d.std),
        }
    }

    #[inline(always)]
    fn pulse_lanes(
        d: &ConstantLanes,
        up: &[bool; LANES],
        w: &[f32; LANES],
        xi: &[f32; LANES],
    ) -> [f32; LANES] {
        let mut next = [0.0; LANES];
        for l in 0..LANES {
            let noise = 1.0 + d.std[l] * xi[l];
            let step = if up[l] { d.up[l] } else { d.down[l] };
            next[l] = directed_add(w[l], step * noise, up[l]);
        }
        clip_lanes(&mut next, &d.lo, &d.hi);
        next
    }

    #[inline(always)]
    fn pulse(&self, w: f32, up: bool, xi: f32) -> f32 {
        let noise = 1.0 + self.std * xi;
        let next = if up {
            w + self.up * noise
        } else {
            w - self.down * noise
        };
        clip(next, self.lo, self.hi)
    }
}
