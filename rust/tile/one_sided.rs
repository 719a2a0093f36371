//! `OneSidedUnitCell` (reference §6): a pair of uni-directional devices, W = W⁺ − W⁻ (array 1 is
//! W⁺, array 0 W⁻). Up pulses go to W⁺, down pulses to W⁻ as up pulses. Every `refresh_every`
//! updates both arrays are read column by column; where the larger device is above the upper
//! and the smaller above the lower threshold (relative to their w_max), both are reset and the
//! difference is written back into one of them (open loop, with `refresh_update`).

use super::cell::Context;
use crate::backend::{array_seed, ArrayUpdate};
use crate::config::OneSidedParameters;
use crate::error::Result;
use crate::periphery::read_one_hot;
use crate::pulsed::{CapturePlan, Lr, Polarity};
use serde::{Deserialize, Serialize};

/// Seed salts of the refresh reads and writes.
const REFRESH_READ: u64 = 0x5245_4652_5244_0000;
const REFRESH_WRITE: u64 = 0x5245_4652_5752_0000;
/// Train seeds of the second and later pieces of an update split by refreshes.
const PIECE: u64 = 0x5049_4543_4500_0000;

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct OneSidedState {
    /// Vector updates so far (refreshes are counted in them).
    pub updates: u64,
    /// Devices refreshed so far.
    pub refreshed: u64,
}

pub struct OneSidedCell {
    p: OneSidedParameters,
    pub state: OneSidedState,
}

impl OneSidedCell {
    pub fn new(p: &OneSidedParameters) -> Self {
        Self {
            p: p.clone(),
            state: OneSidedState::default(),
        }
    }

    /// W = W⁺ − W⁻ with W⁻ the first array.
    pub fn gammas() -> Vec<f32> {
        vec![-1.0, 1.0]
    }

    pub fn update(
        &mut self,
        ctx: &mut Context<'_>,
        x: &[f32],
        d: &[f32],
        batch: usize,
        lr: f32,
    ) -> Result<()> {
        let (rows, cols) = (ctx.rows, ctx.cols);
        let g = ctx.config.device.granularity();
        let every = if self.p.refresh_every > 0 {
            let mut e = self.p.refresh_every as u64;
            if self.p.units_in_mbatch {
                e *= batch as u64;
            }
            e
        } else {
            0
        };
        // Pieces of the batch end where a refresh is due.
        let mut ends = Vec::new();
        for n in 0..batch {
            let count = self.state.updates + n as u64 + 1;
            if every > 0 && count.is_multiple_of(every) {
                ends.push(n + 1);
            }
        }
        if ends.last() != Some(&batch) {
            ends.push(batch);
        }
        let mut start = 0;
        for (piece, &end) in ends.iter().enumerate() {
            let (xs, ds) = (&x[start * cols..end * cols], &d[start * rows..end * rows]);
            let seed = ctx.seed ^ (piece as u64).wrapping_mul(PIECE);
            let none = CapturePlan::default();
            for (k, polarity) in [(1, Polarity::UpOnly), (0, Polarity::DownAsUp)] {
                let u = ArrayUpdate {
                    array: k,
                    x: xs,
                    d: ds,
                    batch: end - start,
                    lr: Lr::Same(lr),
                    up: &ctx.config.update,
                    granularity: g,
                    seed,
                    noise_seed: array_seed(ctx.seed, k) ^ (piece as u64).wrapping_mul(PIECE),
                    step: ctx.step,
                    polarity,
                    captures: &none,
                };
                ctx.backend.update(&u)?;
            }
            let count = self.state.updates + end as u64;
            if every > 0 && count.is_multiple_of(every) {
                self.refresh(ctx, piece as u32)?;
            }
            start = end;
        }
        self.state.updates += batch as u64;
        Ok(())
    }

    /// Reads both arrays and refreshes the saturated pairs (see the module documentation).
    fn refresh(&mut self, ctx: &mut Context<'_>, event: u32) -> Result<()> {
        let (rows, cols) = (ctx.rows, ctx.cols);
        let devices = ctx.config.device.array_devices();
        let w_max = |k: usize| devices[k].pulsed().map_or(1.0, |p| p.w_max.abs());
        let (top_plus, top_minus) = (w_max(1), w_max(0));
        let io = &self.p.refresh_forward;
        let read = |k: usize, w: Vec<f32>| -> Vec<f32> {
            // Column by column through the read periphery (the result stays row-major).
            let mut out = w;
            let mut column = vec![0.0f32; rows];
            for j in 0..cols {
                for (i, v) in column.iter_mut().enumerate() {
                    *v = out[i * cols + j];
                }
                let n = (event * 2 + k as u32) * cols as u32 + j as u32;
                read_one_hot(io, &mut column, ctx.seed ^ REFRESH_READ, ctx.step, n);
                for (i, v) in column.iter().enumerate() {
                    out[i * cols + j] = *v;
                }
            }
            out
        };
        let plus = read(1, ctx.backend.weights(Some(1))?);
        let minus = read(0, ctx.backend.weights(Some(0))?);
        let (upper, lower) = (self.p.refresh_upper_thres, self.p.refresh_lower_thres);
        let mut indices = Vec::new();
        // Per array: the columns to write and, per column, the row values.
        let mut writes: [(Vec<f32>, Vec<f32>); 2] = Default::default();
        for j in 0..cols {
            let (mut dp, mut dm) = (vec![0.0f32; rows], vec![0.0f32; rows]);
            let (mut any_p, mut any_m) = (false, false);
            for i in 0..rows {
                let k = i * cols + j;
                let (wp, wm) = (plus[k], minus[k]);
                let refresh = if wp > wm {
                    wp / top_plus > upper && wm / top_minus > lower
                } else {
                    wp / top_plus > lower && wm / top_minus > upper
                };
                if refresh {
                    indices.push(k as u32);
                    if wp > wm {
                        dp[i] = -(wp - wm);
                        any_p = true;
                    } else {
                        dm[i] = -(wm - wp);
                        any_m = true;
                    }
                }
            }
            for (k, any, values) in [(1, any_p, dp), (0, any_m, dm)] {
                if any {
                    let (xs, ds) = &mut writes[k];
                    let mut onehot = vec![0.0f32; cols];
                    onehot[j] = 1.0;
                    xs.extend(onehot);
                    ds.extend(values);
                }
            }
        }
        if indices.is_empty() {
            return Ok(());
        }
        ctx.backend.reset_devices(1, &indices, event, ctx.step)?;
        ctx.backend.reset_devices(0, &indices, event, ctx.step)?;
        let none = CapturePlan::default();
        for (k, (xs, ds)) in writes.iter().enumerate() {
            if xs.is_empty() {
                continue;
            }
            // W_k += value · e_jᵀ: lr 1 with d = −value.
            let u = ArrayUpdate {
                array: k,
                x: xs,
                d: ds,
                batch: xs.len() / cols,
                lr: Lr::Same(1.0),
                up: &self.p.refresh_update,
                granularity: devices[k].granularity(),
                seed: array_seed(ctx.seed, k) ^ REFRESH_WRITE ^ u64::from(event),
                noise_seed: array_seed(ctx.seed, k) ^ REFRESH_WRITE ^ u64::from(event),
                step: ctx.step,
                polarity: Polarity::Both,
                captures: &none,
            };
            ctx.backend.update(&u)?;
        }
        self.state.refreshed += indices.len() as u64;
        Ok(())
    }

    /// W⁺ gets the positive part, W⁻ the negative part's magnitude.
    pub fn set_weights(&mut self, ctx: &mut Context<'_>, weights: &[f32]) -> Result<()> {
        self.state = OneSidedState::default();
        let plus: Vec<f32> = weights.iter().map(|&w| w.max(0.0)).collect();
        let minus: Vec<f32> = weights.iter().map(|&w| (-w).max(0.0)).collect();
        ctx.backend.set_weights(1, &plus, ctx.step)?;
        ctx.backend.set_weights(0, &minus, ctx.step)?;
        Ok(())
    }
}
