//! Compute backends. A backend owns a tile's array state (weights, per-device parameters,
//! scratch) and runs its kernels; the [`crate::tile::Tile`] in front of it checks arguments and
//! keeps the step counters that index the random streams, so every backend draws the same numbers.

mod cpu;
#[cfg(feature = "gpu")]
pub mod gpu;

pub use cpu::CpuTile;

use crate::config::{DeviceConfig, TileConfig};
use crate::device::DeviceArray;
use crate::error::{Error, Result};
use crate::pulsed::redraw_write_noise;
// The update of one array is data of the pulsed update (the dependency runs backend → pulsed).
pub use crate::pulsed::ArrayUpdate;

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

/// Seed of array `k` of a tile (array 0 keeps the tile seed, so a single-device tile draws what
/// it always drew).
pub fn array_seed(seed: u64, k: usize) -> u64 {
    if k == 0 {
        seed
    } else {
        seed ^ (k as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }
}

/// Counter word of the write-noise draws of `set_weights` and of the post-update step.
pub const WRITE_NOISE_SET: u32 = 0x5753_0000;
pub const WRITE_NOISE_POST: u32 = 0x5750_0000;
pub const WRITE_NOISE_RESET: u32 = 0x5752_5300;
/// Counter word of the write noise redrawn after a drift call (the call number is the step).
pub const WRITE_NOISE_DRIFT: u32 = 0x5744_0000;

/// One drift call of `delta_t` on an array held on the host: the weights the pulses act on
/// drift (the persistent ones with write noise), and with write noise the visible weights are
/// redrawn around them, as after any write (the reference does the same). Returns whether the
/// array drifts at all.
pub fn drift_on_host(
    device: &mut DeviceArray,
    visible: &mut [f32],
    persistent: Option<&mut [f32]>,
    cols: usize,
    seed: u64,
    delta_t: f32,
) -> bool {
    let call = device.drift.as_ref().map_or(0, |d| d.clock[1] as u32);
    match persistent {
        Some(p) => {
            if !device.drift(p, delta_t, seed) {
                return false;
            }
            let sigma = device.write_noise;
            redraw_write_noise(visible, p, cols, sigma, seed, WRITE_NOISE_DRIFT, call);
        }
        None => {
            if !device.drift(visible, delta_t, seed) {
                return false;
            }
        }
    }
    true
}

/// The kernels every backend provides. Arrays are row-major; `rows` = outputs, `cols` = inputs.
/// A tile has one or more device arrays; forward and backward read the visible weight
/// W = Σ_k γ_k W_k (array 0 itself for a single device).
pub trait TileBackend: Send + Sync {
    fn kind(&self) -> BackendKind;
    /// `out[batch, rows] = forward periphery(W x)`.
    fn forward(&mut self, x: &[f32], batch: usize, out: &mut [f32], step: u32) -> Result<()>;
    /// `out[batch, cols] = backward periphery(Wᵀ d)`.
    fn backward(&mut self, d: &[f32], batch: usize, out: &mut [f32], step: u32) -> Result<()>;
    /// `W_k -= lr d xᵀ` as the given update (pulsed or exact); returns the reads it took.
    fn update(&mut self, u: &ArrayUpdate<'_>) -> Result<Vec<f32>>;
    /// Decay and diffusion of array `k` for one mini-batch (once per optimizer step).
    fn post_update(&mut self, array: usize, step: u32) -> Result<()>;
    /// Waits until all submitted work is done (GPU backends queue updates asynchronously).
    fn synchronize(&self) -> Result<()> {
        Ok(())
    }
    /// The visible weights (None) or the visible weights of one array.
    fn weights(&self, array: Option<usize>) -> Result<Vec<f32>>;
    /// The hidden persistent weights of an array with write noise (None without).
    fn persistent(&self, array: usize) -> Result<Option<Vec<f32>>>;
    /// Writes weights into array `k` as a device does (clipped into its bounds, with write noise
    /// when the device applies it on set; `event` indexes that noise).
    fn set_weights(&mut self, array: usize, weights: &[f32], event: u32) -> Result<()>;
    /// Restores array `k` exactly (saved visible and persistent weights, no clipping or noise).
    fn restore(&mut self, array: usize, visible: &[f32], persistent: Option<&[f32]>) -> Result<()>;
    /// Resets devices `indices` (flat) of array `k` to their reset target + reset_std·ξ, clipped
    /// (ξ of device k is normal k % 8 of (k / 8, k >> 35, event, step) of the reset stream).
    fn reset_devices(&mut self, array: usize, indices: &[u32], event: u32, step: u32)
        -> Result<()>;
    /// One drift call of `delta_t` (a time in the units of the drift's t₀) on array `k`; nothing for
    /// arrays without drift.
    fn drift(&mut self, array: usize, delta_t: f32) -> Result<()>;
    /// Named per-device arrays of every array (prefixed `k.` when there are several).
    fn device_arrays(&self) -> Vec<(String, Vec<f32>)>;
    fn load_device_arrays(&mut self, arrays: &[(String, Vec<f32>)]) -> Result<()>;
}

/// How the visible weight is formed from the arrays: one array as it is, or Σ_k γ_k W_k.
#[derive(Clone, Debug, PartialEq)]
pub enum Visible {
    Array(usize),
    Sum(Vec<f32>),
}

impl Visible {
    /// The combination for weights γ_k: an array alone when γ is one-hot with 1.
    pub fn of(gammas: &[f32]) -> Self {
        let ones: Vec<usize> = (0..gammas.len()).filter(|&k| gammas[k] != 0.0).collect();
        if ones.len() == 1 && gammas[ones[0]] == 1.0 {
            Visible::Array(ones[0])
        } else {
            Visible::Sum(gammas.to_vec())
        }
    }
}

/// The device arrays of a tile with their seeds: (device config, seed) per array.
pub fn array_devices(config: &TileConfig, seed: u64) -> Vec<(DeviceConfig, u64)> {
    let base = match config.device.compound_seed() {
        0 => seed,
        s => s,
    };
    config
        .device
        .array_devices()
        .into_iter()
        .enumerate()
        .map(|(k, d)| (d.clone(), array_seed(base, k)))
        .collect()
}

/// The device arrays of a tile with their seeds (`array_devices`, built), with the second
/// device of a `copy_inverted` one-sided cell inverted from the first.
pub fn build_device_arrays(
    config: &TileConfig,
    rows: usize,
    cols: usize,
    seed: u64,
) -> Result<Vec<(DeviceArray, u64)>> {
    let mut arrays = Vec::new();
    for (d, s) in array_devices(config, seed) {
        arrays.push((DeviceArray::build(&d, rows, cols, s)?, s));
    }
    if let DeviceConfig::OneSidedUnitCell(p) = &config.device {
        if p.copy_inverted {
            let (first, second) = arrays.split_at_mut(1);
            second[0].0.invert_from(&first[0].0);
        }
    }
    Ok(arrays)
}

/// Builds a backend for a validated configuration.
pub fn build(
    kind: BackendKind,
    config: &TileConfig,
    rows: usize,
    cols: usize,
    seed: u64,
    visible: Visible,
) -> Result<Box<dyn TileBackend>> {
    Ok(match kind {
        BackendKind::Cpu => Box::new(CpuTile::new(config.clone(), rows, cols, seed, visible)?),
        #[cfg(feature = "gpu")]
        BackendKind::Gpu => Box::new(gpu::GpuTile::new(
            config.clone(),
            rows,
            cols,
            seed,
            visible,
        )?),
        #[cfg(not(feature = "gpu"))]
        BackendKind::Gpu => {
            let _ = visible;
            return Err(Error::Backend(
                "this build of rpusim has no gpu backend".into(),
            ));
        }
    })
}
