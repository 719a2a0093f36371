//! Compute backends. A backend owns a tile's array state (weights, per-device parameters,
//! scratch) and runs its kernels; the [`crate::tile::Tile`] in front of it checks arguments and
//! keeps the step counters that index the random streams, so every backend draws the same numbers.

mod cpu;
#[cfg(feature = "gpu")]
pub mod gpu;

pub use cpu::CpuTile;

use crate::config::TileConfig;
use crate::error::{Error, Result};

/// Which backend runs a tile.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BackendKind {
    Cpu,
    Gpu,
}

/// The backward pass draws from its own streams: the tile seed with these bits flipped.
pub const BACKWARD_SEED: u64 = 0xB4C4_0000_0000_0001;

impl BackendKind {
    pub fn parse(name: &str) -> Result<Self> {
        match name {
            "cpu" => Ok(BackendKind::Cpu),
            "gpu" if cfg!(feature = "gpu") => Ok(BackendKind::Gpu),
            "gpu" => Err(Error::Backend(
                "this build of rpusim has no gpu backend (built without the `gpu` feature)".into(),
            )),
            other => Err(Error::Backend(format!(
                "unknown backend {other:?} (backends: cpu, gpu)"
            ))),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Gpu => "gpu",
        }
    }
}

/// The available backends with a description of each (the GPU's adapter, when one is found).
pub fn available() -> Vec<(&'static str, String)> {
    let cpu = (
        "cpu",
        format!("rayon, {} threads", rayon::current_num_threads()),
    );
    #[cfg(feature = "gpu")]
    if let Ok(desc) = gpu::describe() {
        return vec![cpu, ("gpu", desc)];
    }
    vec![cpu]
}

/// Why the gpu backend is unavailable, or None when it is.
pub fn gpu_unavailable_reason() -> Option<String> {
    #[cfg(feature = "gpu")]
    {
        gpu::context().err().map(|e| e.to_string())
    }
    #[cfg(not(feature = "gpu"))]
    {
        Some("built without the `gpu` feature".into())
    }
}

/// The kernels every backend provides. Arrays are row-major; `rows` = outputs, `cols` = inputs.
pub trait TileBackend: Send + Sync {
    fn kind(&self) -> BackendKind;
    /// `out[batch, rows] = forward periphery(W x)`.
    fn forward(&mut self, x: &[f32], batch: usize, out: &mut [f32], step: u32) -> Result<()>;
    /// `out[batch, cols] = backward periphery(Wᵀ d)`.
    fn backward(&mut self, d: &[f32], batch: usize, out: &mut [f32], step: u32) -> Result<()>;
    /// `W -= lr d xᵀ` as the configured update (pulsed or exact).
    fn update(&mut self, x: &[f32], d: &[f32], batch: usize, lr: f32, step: u32) -> Result<()>;
    /// Decay and diffusion of one mini-batch (once per optimizer step).
    fn post_update(&mut self, step: u32) -> Result<()>;
    /// Waits until all submitted work is done (GPU backends queue updates asynchronously).
    fn synchronize(&self) -> Result<()> {
        Ok(())
    }
    fn weights(&self) -> Result<Vec<f32>>;
    /// Writes weights (clipped into each device's bounds).
    fn set_weights(&mut self, weights: &[f32]) -> Result<()>;
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
) -> Result<Box<dyn TileBackend>> {
    Ok(match kind {
        BackendKind::Cpu => Box::new(CpuTile::new(config.clone(), rows, cols, seed)),
        #[cfg(feature = "gpu")]
        BackendKind::Gpu => Box::new(gpu::GpuTile::new(config.clone(), rows, cols, seed)?),
        #[cfg(not(feature = "gpu"))]
        BackendKind::Gpu => {
            return Err(Error::Backend(
                "this build of rpusim has no gpu backend".into(),
            ))
        }
    })
}
