//! `Tile`: one analog crossbar array behind a backend. Checks every argument (shapes, finite
//! values, learning rate), keeps the step counters that index the random streams, and saves and
//! restores the complete state.

use crate::backend::{self, BackendKind, TileBackend};
use crate::config::TileConfig;
use crate::error::{check_finite, Error, Result};

/// Calls made so far; each call's random numbers are indexed by its count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counters {
    pub forward: u64,
    pub backward: u64,
    pub update: u64,
    pub post_update: u64,
}

/// Everything needed to rebuild a tile exactly (weights, device draws, RNG position, config).
#[derive(Clone, Debug, PartialEq)]
pub struct TileState {
    pub config: TileConfig,
    pub rows: usize,
    pub cols: usize,
    pub seed: u64,
    pub counters: Counters,
    pub weights: Vec<f32>,
    pub device: Vec<(String, Vec<f32>)>,
}

/// An analog tile with `rows` outputs and `cols` inputs (weights `[rows, cols]`).
pub struct Tile {
    config: TileConfig,
    rows: usize,
    cols: usize,
    seed: u64,
    counters: Counters,
    backend: Box<dyn TileBackend>,
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
        let backend = backend::build(kind, &config, rows, cols, seed)?;
        Ok(Self {
            config,
            rows,
            cols,
            seed,
            counters: Counters::default(),
            backend,
        })
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
        if !lr.is_finite() || lr < 0.0 {
            return Err(Error::Value {
                arg: "lr",
                msg: format!("must be a finite number >= 0, got {lr}"),
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
        let step = self.counters.update as u32;
        self.backend.update(x, d, batch, lr, step)?;
        self.counters.update += 1;
        Ok(())
    }

    /// Once per optimizer step, after the update: decay and diffusion of the devices.
    pub fn post_update_step(&mut self) -> Result<()> {
        let step = self.counters.post_update as u32;
        self.backend.post_update(step)?;
        self.counters.post_update += 1;
        Ok(())
    }

    /// Waits for all queued work of the backend (GPU updates are asynchronous).
    pub fn synchronize(&self) -> Result<()> {
        self.backend.synchronize()
    }

    pub fn weights(&self) -> Result<Vec<f32>> {
        self.backend.weights()
    }

    /// Writes `[rows, cols]` weights; each device clips them into its bounds.
    pub fn set_weights(&mut self, weights: &[f32]) -> Result<()> {
        if weights.len() != self.rows * self.cols {
            return Err(Error::Shape {
                arg: "weights",
                expected: vec![self.rows, self.cols],
                got: vec![weights.len()],
            });
        }
        check_finite("weights", weights)?;
        self.backend.set_weights(weights)
    }

    pub fn state(&self) -> Result<TileState> {
        Ok(TileState {
            config: self.config.clone(),
            rows: self.rows,
            cols: self.cols,
            seed: self.seed,
            counters: self.counters,
            weights: self.backend.weights()?,
            device: self.backend.device_arrays(),
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
        if state.weights.len() != state.rows * state.cols {
            return Err(Error::State(format!(
                "weights: expected {} values, got {}",
                state.rows * state.cols,
                state.weights.len()
            )));
        }
        tile.backend.load_device_arrays(&state.device)?;
        // Saved weights already lie within the saved bounds: restore them bit for bit.
        tile.backend.set_weights(&state.weights)?;
        tile.counters = state.counters;
        Ok(tile)
    }

    /// Moves the tile, with its full state, to another backend.
    pub fn to_backend(&mut self, kind: BackendKind) -> Result<()> {
        if kind != self.backend.kind() {
            *self = Self::from_state(&self.state()?, kind)?;
        }
        Ok(())
    }
}
