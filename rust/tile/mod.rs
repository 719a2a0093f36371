//! `Tile`: one analog crossbar array behind a backend. Checks every argument (shapes, finite
//! values, learning rate), keeps the step counters that index the random streams, runs the unit
//! cell or compound logic (`cell.rs` and the files beside it) on top of the backend's array
//! kernels, and saves and restores the complete state.

mod cell;
mod mixed_precision;
mod one_sided;
mod transfer;
mod vector;

pub use cell::Cell;

use crate::backend::{self, BackendKind, TileBackend};
use crate::config::TileConfig;
use crate::error::{check_finite, Error, Result};

/// The largest learning rate of an update: beyond it lr·d·x leaves float32 in accumulators and
/// buffers for any realistic gradient.
const MAX_LEARNING_RATE: f32 = 1e15;

/// The largest weight change one exact (floating-point) update may make.
const EXACT_UPDATE_LIMIT: f64 = 1e30;

/// Calls made so far; each call's random numbers are indexed by its count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub forward: u64,
    pub backward: u64,
    pub update: u64,
    pub post_update: u64,
    /// `set_weights` calls (they draw write noise).
    pub set: u64,
}

/// Everything needed to rebuild a tile exactly (weights, device draws, RNG position, config,
/// hidden weights and the compound's own state).
#[derive(Clone, Debug, PartialEq)]
pub struct TileState {
    pub config: TileConfig,
    pub rows: usize,
    pub cols: usize,
    pub seed: u64,
    pub counters: Counters,
    /// The visible weights.
    pub weights: Vec<f32>,
    pub device: Vec<(String, Vec<f32>)>,
    /// Per array: (visible weights, persistent weights with write noise). Empty for a single
    /// device without write noise (the visible weights say it all).
    pub arrays: Vec<(Vec<f32>, Option<Vec<f32>>)>,
    /// The compound's bookkeeping as JSON, and its large arrays (buffers).
    pub cell_json: String,
    pub cell_arrays: Vec<(String, Vec<f32>)>,
}

/// An analog tile with `rows` outputs and `cols` inputs (weights `[rows, cols]`).
pub struct Tile {
    config: TileConfig,
    rows: usize,
    cols: usize,
    seed: u64,
    counters: Counters,
    backend: Box<dyn TileBackend>,
    cell: Cell,
}

impl Tile {
    /// Builds a tile with zero weights; device-to-device variation is drawn from `seed`.
    pub fn new(
        config: TileConfig,
        rows: usize,
        cols: usize,
        seed: u64,
        kind: BackendKind,
    ) -> Result<Self> {
        config.validate()?;
        if rows == 0 || cols == 0 {
            return Err(Error::Value {
                arg: "size",
                msg: format!("a tile needs at least one row and one column, got {rows} x {cols}"),
            });
        }
        let too_large = |limit: String| Error::Value {
            arg: "out_size, in_size",
            msg: format!("a tile of {rows} x {cols} devices is too large: {limit}"),
        };
        let size = rows
            .checked_mul(cols)
            .ok_or_else(|| too_large(format!("the count overflows {} bits", usize::BITS)))?;
        // Refused before anything is allocated: Linux would grant the memory and kill the process
        // when it is touched.
        let bytes = Self::estimated_bytes(&config, size, seed)?;
        crate::memory::check_physical(
            &format!("a tile of {rows} x {cols} devices (out_size x in_size)"),
            bytes,
        )?;
        // Device indices (resets, the GPU kernels) are 32-bit.
        if size > u32::MAX as usize {
            return Err(too_large(format!(
                "at most {} devices (out_size x in_size) per array",
                u32::MAX
            )));
        }
        let cell = Cell::new(&config, rows, cols)?;
        let visible = backend::Visible::of(&cell.gammas());
        let backend = backend::build(kind, &config, rows, cols, seed, visible)?;
        Ok(Self {
            config,
            rows,
            cols,
            seed,
            counters: Counters::default(),
            backend,
            cell,
        })
    }

    /// The bytes of a tile's state: per array the weights, the persistent weights (write
    /// noise) and every per-device parameter array; the visible sum of several arrays; the
    /// compound's buffers. Counted on a 1 × 1 tile of the same configuration.
    fn estimated_bytes(config: &TileConfig, size: usize, seed: u64) -> Result<u128> {
        let mut per_device = 0u128;
        for (device, s) in backend::array_devices(config, seed) {
            let probe = crate::device::DeviceArray::build(&device, 1, 1, s)?;
            let arrays = probe.arrays().iter().filter(|(_, a)| a.len() == 1).count();
            per_device += 1 + u128::from(probe.has_write_noise()) + arrays as u128;
        }
        let cell = Cell::new(config, 1, 1)?;
        if matches!(
            backend::Visible::of(&cell.gammas()),
            backend::Visible::Sum(_)
        ) {
            per_device += 1;
        }
        per_device += cell.hidden().len() as u128;
        Ok(per_device * size as u128 * std::mem::size_of::<f32>() as u128)
    }

    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    pub fn seed(&self) -> u64 {
        self.seed
    }

    pub fn config(&self) -> &TileConfig {
        &self.config
    }

    pub fn counters(&self) -> Counters {
        self.counters
    }

    pub fn backend(&self) -> BackendKind {
        self.backend.kind()
    }

    /// Number of device arrays (1 for a single device).
    pub fn arrays(&self) -> usize {
        self.cell.arrays()
    }

    fn check_batch(arg: &'static str, data: &[f32], width: usize) -> Result<usize> {
        if !data.len().is_multiple_of(width) {
            return Err(Error::Shape {
                arg,
                expected: vec![data.len() / width.max(1), width],
                got: vec![data.len()],
            });
        }
        check_finite(arg, data)?;
        Ok(data.len() / width)
    }

    fn check_out(arg: &'static str, out: &[f32], batch: usize, width: usize) -> Result<()> {
        if out.len() != batch * width {
            return Err(Error::Shape {
                arg,
                expected: vec![batch, width],
                got: vec![out.len()],
            });
        }
        Ok(())
    }

    /// `out = forward(x)`; `x` is `[batch, cols]`, `out` `[batch, rows]`.
    pub fn forward(&mut self, x: &[f32], out: &mut [f32]) -> Result<()> {
        let batch = Self::check_batch("x", x, self.cols)?;
        Self::check_out("out", out, batch, self.rows)?;
        let step = self.counters.forward as u32;
        self.backend.forward(x, batch, out, step)?;
        self.counters.forward += 1;
        Ok(())
    }

    /// `out = backward(d)`; `d` is `[batch, rows]`, `out` `[batch, cols]`.
    pub fn backward(&mut self, d: &[f32], out: &mut [f32]) -> Result<()> {
        let batch = Self::check_batch("d", d, self.rows)?;
        Self::check_out("out", out, batch, self.cols)?;
        let step = self.counters.backward as u32;
        self.backend.backward(d, batch, out, step)?;
        self.counters.backward += 1;
        Ok(())
    }

    /// `W -= lr · Σ_n d_n x_nᵀ` through the configured update; `x` `[batch, cols]`, `d` `[batch, rows]`.
    pub fn update(&mut self, x: &[f32], d: &[f32], lr: f32) -> Result<()> {
        if !(0.0..=MAX_LEARNING_RATE).contains(&lr) {
            return Err(Error::Value {
                arg: "lr",
                msg: format!("must be a finite number in [0, {MAX_LEARNING_RATE:e}], got {lr}"),
            });
        }
        let batch = Self::check_batch("x", x, self.cols)?;
        let d_batch = Self::check_batch("d", d, self.rows)?;
        if d_batch != batch {
            return Err(Error::Shape {
                arg: "d",
                expected: vec![batch, self.rows],
                got: vec![d_batch, self.rows],
            });
        }
        self.check_exact_update(x, d, lr)?;
        let step = self.counters.update as u32;
        let mut ctx = cell::Context {
            backend: self.backend.as_mut(),
            config: &self.config,
            rows: self.rows,
            cols: self.cols,
            seed: self.seed,
            step,
        };
        self.cell.update(&mut ctx, x, d, batch, lr)?;
        self.counters.update += 1;
        Ok(())
    }

    /// An exact (floating-point) update adds lr·d_i·x_j to a float32 weight or accumulator: a
    /// product beyond float32 would write ±Inf, so it is refused naming x, d and lr. (The pulsed
    /// update saturates instead: its train planning runs in float64 when needed.)
    fn check_exact_update(&self, x: &[f32], d: &[f32], lr: f32) -> Result<()> {
        use crate::config::{DeviceConfig, PulseType};
        let exact_pulses = matches!(
            self.config.update.pulse_type,
            PulseType::None | PulseType::NoneWithDevice
        );
        // The rate the gradient reaches the devices with (a transfer compound's fast array
        // may take its own fixed rate).
        let rate = match &self.config.device {
            DeviceConfig::TransferCompound(p)
            | DeviceConfig::BufferedTransferCompound(p)
            | DeviceConfig::ChoppedTransferCompound(p)
            | DeviceConfig::DynamicTransferCompound(p)
                if p.fast_lr > 0.0 =>
            {
                f64::from(p.fast_lr)
            }
            _ => f64::from(lr),
        };
        let exact = match &self.cell {
            Cell::Single => exact_pulses || self.config.device.is_floating_point(),
            Cell::MixedPrecision(_) => true,
            _ => exact_pulses,
        };
        if !exact || x.is_empty() {
            return Ok(());
        }
        let (xm, dm) = (crate::numeric::abs_max(x), crate::numeric::abs_max(d));
        let batch = (x.len() / self.cols.max(1)) as f64;
        // The largest change of one weight in this update; well below float32's maximum so that
        // the weights (which floating-point devices do not bound) cannot reach ±Inf either.
        let change = batch * rate * f64::from(xm) * f64::from(dm);
        if change > EXACT_UPDATE_LIMIT {
            return Err(Error::Value {
                arg: "x, d, lr",
                msg: format!(
                    "the exact update's largest change batch·lr·max|x|·max|d| = \
                     {batch}·{rate:e}·{xm:e}·{dm:e} = {change:e} exceeds {EXACT_UPDATE_LIMIT:e} \
                     (float32 weights and accumulators would overflow)"
                ),
            });
        }
        Ok(())
    }

    /// Once per optimizer step, after the update: decay and diffusion of the devices.
    pub fn post_update_step(&mut self) -> Result<()> {
        let step = self.counters.post_update as u32;
        for k in 0..self.cell.arrays() {
            self.backend.post_update(k, step)?;
        }
        self.counters.post_update += 1;
        Ok(())
    }

    /// One drift call (the reference's `drift_weights`): every array whose devices drift
    /// advances its drift clock by `delta_t`/t₀ (a time in t₀'s units) and drifts the devices
    /// not written since the previous call; written ones restart their clock. Arrays without
    /// drift are untouched.
    pub fn drift_weights(&mut self, delta_t: f32) -> Result<()> {
        if !(delta_t.is_finite() && delta_t >= 0.0) {
            return Err(Error::Value {
                arg: "delta_t",
                msg: format!("expected a finite number >= 0, got {delta_t}"),
            });
        }
        for k in 0..self.cell.arrays() {
            self.backend.drift(k, delta_t)?;
        }
        Ok(())
    }

    /// Waits for all queued work of the backend (GPU updates are asynchronous).
    pub fn synchronize(&self) -> Result<()> {
        self.backend.synchronize()
    }

    /// The visible weights `[rows, cols]`.
    pub fn weights(&self) -> Result<Vec<f32>> {
        self.backend.weights(None)
    }

    /// Writes `[rows, cols]` weights as the device (or compound) does: each device clips them into
    /// its bounds; a compound puts them where the reference does (e.g. the last array of a
    /// transfer compound).
    pub fn set_weights(&mut self, weights: &[f32]) -> Result<()> {
        if weights.len() != self.rows * self.cols {
            return Err(Error::Shape {
                arg: "weights",
                expected: vec![self.rows, self.cols],
                got: vec![weights.len()],
            });
        }
        check_finite("weights", weights)?;
        let event = self.counters.set as u32;
        let mut ctx = cell::Context {
            backend: self.backend.as_mut(),
            config: &self.config,
            rows: self.rows,
            cols: self.cols,
            seed: self.seed,
            step: event,
        };
        self.cell.set_weights(&mut ctx, weights)?;
        self.counters.set += 1;
        Ok(())
    }

    /// The hidden state for analysis: the visible weights of every array (`array_k`), the
    /// persistent weights of arrays with write noise (`persistent_k`), and the compound's own
    /// arrays (transfer buffers, running means, the mixed-precision accumulator).
    pub fn hidden_weights(&self) -> Result<Vec<(String, Vec<f32>)>> {
        let mut out = Vec::new();
        for k in 0..self.cell.arrays() {
            out.push((format!("array_{k}"), self.backend.weights(Some(k))?));
            if let Some(p) = self.backend.persistent(k)? {
                out.push((format!("persistent_{k}"), p));
            }
        }
        out.extend(self.cell.hidden());
        Ok(out)
    }

    pub fn state(&self) -> Result<TileState> {
        let n = self.cell.arrays();
        let mut arrays = Vec::new();
        let single_plain = n == 1 && self.backend.persistent(0)?.is_none();
        if !single_plain {
            for k in 0..n {
                arrays.push((self.backend.weights(Some(k))?, self.backend.persistent(k)?));
            }
        }
        Ok(TileState {
            config: self.config.clone(),
            rows: self.rows,
            cols: self.cols,
            seed: self.seed,
            counters: self.counters,
            weights: self.backend.weights(None)?,
            device: self.backend.device_arrays(),
            arrays,
            cell_json: self.cell.state_json(),
            cell_arrays: self.cell.hidden(),
        })
    }

    /// Rebuilds a tile from a saved state on the given backend.
    pub fn from_state(state: &TileState, kind: BackendKind) -> Result<Self> {
        let mut tile = Self::new(
            state.config.clone(),
            state.rows,
            state.cols,
            state.seed,
            kind,
        )?;
        let size = state.rows * state.cols;
        let check = |what: &str, v: &[f32]| {
            if v.len() == size {
                Ok(())
            } else {
                Err(Error::State(format!(
                    "{what}: expected {size} values, got {}",
                    v.len()
                )))
            }
        };
        check("weights", &state.weights)?;
        finite_state("weights", &state.weights, state.cols)?;
        // A per-device array may hold a non-finite value only where a fresh tile of the same
        // configuration and seed has that very value (none of today's models does).
        let mut fresh = None;
        for (name, values) in &state.device {
            if let Err(e) = finite_state(&format!("device.{name}"), values, state.cols) {
                let fresh = fresh.get_or_insert_with(|| tile.backend.device_arrays());
                let same = fresh.iter().any(|(n, f)| {
                    n == name
                        && f.len() == values.len()
                        && f.iter()
                            .zip(values)
                            .all(|(a, b)| b.is_finite() || a.to_bits() == b.to_bits())
                });
                if !same {
                    return Err(e);
                }
            }
        }
        drop(fresh);
        for (k, (visible, persistent)) in state.arrays.iter().enumerate() {
            finite_state(&format!("arrays[{k}] weights"), visible, state.cols)?;
            if let Some(p) = persistent {
                finite_state(&format!("arrays[{k}] persistent weights"), p, state.cols)?;
            }
        }
        for (name, values) in &state.cell_arrays {
            finite_state(&format!("cell.{name}"), values, state.cols)?;
        }
        tile.backend.load_device_arrays(&state.device)?;
        let n = tile.cell.arrays();
        if state.arrays.is_empty() {
            if n != 1 {
                return Err(Error::State(format!(
                    "the saved state has no array weights for {n} arrays"
                )));
            }
            // Saved weights already lie within the saved bounds: restore them bit for bit.
            tile.backend.restore(0, &state.weights, None)?;
        } else {
            if state.arrays.len() != n {
                return Err(Error::State(format!(
                    "expected {n} arrays, got {}",
                    state.arrays.len()
                )));
            }
            for (k, (visible, persistent)) in state.arrays.iter().enumerate() {
                check("array weights", visible)?;
                if let Some(p) = persistent {
                    check("persistent weights", p)?;
                }
                tile.backend.restore(k, visible, persistent.as_deref())?;
            }
        }
        tile.cell
            .load_state(&state.cell_json, &state.cell_arrays, size)?;
        tile.counters = state.counters;
        Ok(tile)
    }

    /// Health check: fails with a `State` error naming the first array (visible weights, the
    /// weights and persistent weights of every device array, every per-device parameter array,
    /// the compound's buffers) that holds NaN or ±Inf, and the index of the first such value.
    pub fn check_finite(&self) -> Result<()> {
        let cols = self.cols;
        finite_state("weights", &self.backend.weights(None)?, cols)?;
        for k in 0..self.cell.arrays() {
            finite_state(&format!("array_{k}"), &self.backend.weights(Some(k))?, cols)?;
            if let Some(p) = self.backend.persistent(k)? {
                finite_state(&format!("persistent_{k}"), &p, cols)?;
            }
        }
        for (name, values) in self.backend.device_arrays() {
            finite_state(&format!("device.{name}"), &values, cols)?;
        }
        for (name, values) in self.cell.hidden() {
            finite_state(&format!("cell.{name}"), &values, cols)?;
        }
        Ok(())
    }

    /// Moves the tile, with its full state, to another backend.
    pub fn to_backend(&mut self, kind: BackendKind) -> Result<()> {
        if kind != self.backend.kind() {
            *self = Self::from_state(&self.state()?, kind)?;
        }
        Ok(())
    }
}

/// Fails with a `State` error naming `what` and the first NaN or ±Inf of `values` (with its row
/// and column when `values` is a `[rows, cols]` array).
fn finite_state(what: &str, values: &[f32], cols: usize) -> Result<()> {
    if crate::numeric::all_finite(values) {
        return Ok(());
    }
    let index = values.iter().position(|v| !v.is_finite()).unwrap_or(0);
    let at = if cols > 0 && values.len().is_multiple_of(cols) && values.len() > cols {
        format!(" (row {}, column {})", index / cols, index % cols)
    } else {
        String::new()
    };
    Err(Error::State(format!(
        "{what}: {} at flat index {index}{at}",
        values[index]
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_finite_names_the_first_non_finite_array() {
        let mut tile = Tile::new(TileConfig::floating_point(), 2, 2, 1, BackendKind::Cpu).unwrap();
        tile.check_finite().unwrap();
        // No public call writes Inf any more; put it into the array directly.
        tile.backend
            .restore(0, &[0.0, 0.5, f32::NEG_INFINITY, 1.0], None)
            .unwrap();
        let text = tile.check_finite().unwrap_err().to_string();
        assert!(
            text.contains("-inf at flat index 2 (row 1, column 0)"),
            "{text}"
        );
    }
}
