//! Compute backends. A backend owns a tile's array state (weights, per-device parameters,
//! scratch) and runs its kernels; the [`crate::tile::Tile`] in front of it checks arguments and
//! keeps the step counters that index the random streams, so every backend draws the same numbers.

mod cpu;

pub use cpu::CpuTile;

use crate::config::TileConfig;
use crate::error::{Error, Result};

/// Which backend runs a tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Cpu,
}

impl BackendKind {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "cpu" => Ok(BackendKind::Cpu),
            "gpu" => Err(Error::Backend(
                "the gpu backend is not part of this build (it arrives with the wgpu backend)"
                    .into(),
            )),
            other => Err(Error::Backend(format!(
                "unknown backend {other:?} (available: cpu)"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
        }
    }
}

/// The available backends with a description of each.
pub fn available() -> Vec<(&'static str, String)> {
    vec![(
        "cpu",
        format!("rayon, {} threads", rayon::current_num_threads()),
    )]
}

/// The kernels every backend provides. Arrays are row-major; `rows` = outputs, `cols` = inputs.
pub trait TileBackend: Send + Sync {
    fn kind(&self) -> BackendKind;
    /// `out[batch, rows] = forward periphery(W x)`.
    fn forward(&mut self, x: &[f32], batch: usize, out: &mut [f32], step: u32);
    /// `out[batch, cols] = backward periphery(Wᵀ d)`.
    fn backward(&mut self, d: &[f32], batch: usize, out: &mut [f32], step: u32);
    /// `W -= lr d xᵀ` as the configured update (pulsed or exact).
    fn update(&mut self, x: &[f32], d: &[f32], batch: usize, lr: f32, step: u32);
    /// Decay and diffusion of one mini-batch (once per optimizer step).
    fn post_update(&mut self, step: u32);
    fn weights(&self) -> Vec<f32>;
    /// Writes weights (clipped into each device's bounds).
    fn set_weights(&mut self, weights: &[f32]);
    /// Named per-device arrays.
    fn device_arrays(&self) -> Vec<(String, Vec<f32>)>;
    fn load_device_arrays(&mut self, arrays: &[(String, Vec<f32>)]) -> Result<()>;
}

/// Builds a backend for a validated configuration.
pub fn build(
    kind: BackendKind,
    config: &TileConfig,
    rows: usize,
    cols: usize,
    seed: u64,
) -> Box<dyn TileBackend> {
    match kind {
        BackendKind::Cpu => Box::new(CpuTile::new(config.clone(), rows, cols, seed)),
    }
}
