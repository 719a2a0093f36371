//! The single cargo integration-test binary.

mod determinism;
mod device_statistics;
#[cfg(feature = "gpu")]
mod gpu_parity;
mod linear_step;
mod periphery;

use rpusim::config::{ConstantStepParameters, DeviceConfig, TileConfig};
use rpusim::{BackendKind, Tile};

/// A constant-step config without device-to-device variation.
pub fn constant_step(dw_min_std: f32, w_bound: f32) -> TileConfig {
    TileConfig {
        device: DeviceConfig::ConstantStepDevice(ConstantStepParameters {
            dw_min_dtod: 0.0,
            dw_min_std,
            up_down_dtod: 0.0,
            w_max: w_bound,
            w_min: -w_bound,
            w_max_dtod: 0.0,
            w_min_dtod: 0.0,
            ..ConstantStepParameters::default()
        }),
        ..TileConfig::default()
    }
}

pub fn cpu_tile(config: TileConfig, rows: usize, cols: usize, seed: u64) -> Tile {
    Tile::new(config, rows, cols, seed, BackendKind::Cpu).unwrap()
}

/// Deterministic pseudo-data in [-1, 1] (not from the simulator's own streams).
pub fn data(n: usize, salt: u32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let h = rpusim::rng::philox4x32_10([i as u32, salt, 7, 7], [1, 2]);
            (h[0] >> 8) as f32 / 8_388_608.0 - 1.0
        })
        .collect()
}
