//! `MixedPrecisionCompound` (reference §6, Nandakumar et al. 2020): the rank update lr·d xᵀ
//! accumulates in a digital matrix χ (x and d optionally quantised to `n_x_bins`/`n_d_bins`
//! levels of their absolute maximum, with stochastic rounding); every `transfer_every`
//! mini-batches, `n_rows_per_transfer` rows of χ are checked and their whole multiples of the
//! granularity ε, n = trunc(χ/ε), are written to the device by pulses (W_row −= ε·n, expected),
//! χ keeping the remainder.

use super::cell::{load_named, Context};
use crate::backend::{array_seed, ArrayUpdate};
use crate::config::MixedPrecisionParameters;
use crate::error::Result;
use crate::pulsed::{float_update, CapturePlan, Lr, Polarity};
use serde::{Deserialize, Serialize};

/// Seed salt of the transfer writes.
const WRITE: u64 = 0x4d50_5752_0000_0000;
/// Compound-stream words of the random choices.
const ROUND_X: u32 = 5;
const ROUND_D: u32 = 6;
const PICK_ROW: u32 = 7;

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct MixedState {
    /// Vector updates since the last `set_weights`.
    pub updates: u64,
    /// Next row to transfer.
    pub row: usize,
}

pub struct MixedCell {
    p: MixedPrecisionParameters,
    rows: usize,
    cols: usize,
    /// χ, row-major `[rows][cols]`.
    chi: Vec<f32>,
    pub state: MixedState,
}

impl MixedCell {
    pub fn new(p: &MixedPrecisionParameters, rows: usize, cols: usize) -> Result<Self> {
        Ok(Self {
            p: p.clone(),
            rows,
            cols,
            chi: crate::memory::zeros("chi", rows * cols)?,
            state: MixedState::default(),
        })
    }

    fn epsilon(&self) -> f32 {
        if self.p.granularity > 0.0 {
            self.p.granularity
        } else {
            self.p.device.granularity()
        }
    }

    /// Quantises the vectors of `values` (`width` each) to `bins` levels of their absolute
    /// maximum (no-op for bins = 0).
    fn quantise(
        &self,
        ctx: &Context<'_>,
        values: &[f32],
        width: usize,
        bins: u32,
        which: u32,
    ) -> Vec<f32> {
        if bins == 0 {
            return values.to_vec();
        }
        let half = (bins / 2) as f32;
        let stochastic = if which == ROUND_X {
            self.p.stoc_round_x
        } else {
            self.p.stoc_round_d
        };
        let mut out = Vec::with_capacity(values.len());
        for (n, v) in values.chunks(width).enumerate() {
            let amax = crate::numeric::abs_max(v);
            let step = if amax == 0.0 || half == 0.0 {
                1.0
            } else {
                amax / half
            };
            for (e, &value) in v.iter().enumerate() {
                let shift = if stochastic {
                    ctx.uniform(which, e as u32, n as u32) - 0.5
                } else {
                    0.0
                };
                let q = crate::numeric::round_even(value / step + shift).clamp(-half, half);
                out.push(q * step);
            }
        }
        out
    }

    pub fn update(
        &mut self,
        ctx: &mut Context<'_>,
        x: &[f32],
        d: &[f32],
        batch: usize,
        lr: f32,
    ) -> Result<()> {
        let (rows, cols) = (self.rows, self.cols);
        let xq = self.quantise(ctx, x, cols, self.p.n_x_bins, ROUND_X);
        let dq = self.quantise(ctx, d, rows, self.p.n_d_bins, ROUND_D);
        // χ += lr · Σ_n d_n x_nᵀ.
        float_update(&mut self.chi, rows, cols, &xq, &dq, batch, -lr);
        let before = self.state.updates;
        self.state.updates += batch as u64;
        let every = u64::from(self.p.transfer_every) * batch as u64;
        if every > 0 && self.state.updates / every > before / every {
            self.transfer(ctx)?;
        }
        Ok(())
    }

    /// Writes the whole steps of the next rows of χ to the device.
    fn transfer(&mut self, ctx: &mut Context<'_>) -> Result<()> {
        let (rows, cols) = (self.rows, self.cols);
        let n = if self.p.n_rows_per_transfer < 0 {
            rows
        } else {
            (self.p.n_rows_per_transfer as usize).min(rows)
        };
        if n == 0 || self.p.transfer_lr == 0.0 {
            return Ok(());
        }
        let mut start = self.state.row;
        if self.p.random_row && n < rows {
            start = ((ctx.uniform(PICK_ROW, 0, 0) * rows as f32) as usize).min(rows - 1);
        }
        let eps = self.epsilon();
        let mut xs = Vec::with_capacity(n * cols);
        let mut ds = vec![0.0f32; n * rows];
        for m in 0..n {
            let r = (start + m) % rows;
            for c in &mut self.chi[r * cols..(r + 1) * cols] {
                let mut steps = (*c / eps).trunc();
                if steps.is_finite() {
                    *c -= steps * eps;
                } else {
                    // χ/ε beyond float32: the remainder in float64; the step count saturates
                    // (the write is limited to desired_bl pulses anyway).
                    let (c64, eps64) = (f64::from(*c), f64::from(eps));
                    let n = (c64 / eps64).trunc();
                    *c = (c64 - n * eps64) as f32;
                    steps = (n as f32).clamp(-f32::MAX, f32::MAX);
                }
                xs.push(steps);
            }
            ds[m * rows + r] = 1.0;
        }
        self.state.row = (start + n) % rows;
        // The reference writes with update management and BL management on.
        let mut up = ctx.config.update.clone();
        up.update_management = true;
        up.update_bl_management = true;
        let seed = array_seed(ctx.seed, 0) ^ WRITE;
        let none = CapturePlan::default();
        let u = ArrayUpdate {
            array: 0,
            x: &xs,
            d: &ds,
            batch: n,
            lr: Lr::Same(eps * self.p.transfer_lr),
            up: &up,
            granularity: self.p.device.granularity(),
            seed,
            noise_seed: seed,
            step: ctx.step,
            polarity: Polarity::Both,
            captures: &none,
        };
        ctx.backend.update(&u)?;
        Ok(())
    }

    /// The device takes the weights; χ and the counters start over.
    pub fn set_weights(&mut self, ctx: &mut Context<'_>, weights: &[f32]) -> Result<()> {
        self.chi.fill(0.0);
        self.state = MixedState::default();
        ctx.backend.set_weights(0, weights, ctx.step)
    }

    pub fn hidden(&self) -> Vec<(String, Vec<f32>)> {
        vec![("chi".into(), self.chi.clone())]
    }

    pub fn load_hidden(&mut self, arrays: &[(String, Vec<f32>)], size: usize) -> Result<()> {
        if self.state.row >= self.rows {
            return Err(crate::Error::State(format!(
                "cell_json.row: expected a row < {}, got {}",
                self.rows, self.state.row
            )));
        }
        load_named(arrays, &mut [("chi", &mut self.chi)], size)
    }
}
