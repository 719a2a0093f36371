//! The single cargo integration-test binary.

mod captures;
mod compounds;
mod determinism;
mod device_features;
mod device_statistics;
mod drift;
mod exp_step;
#[cfg(feature = "gpu")]
mod gpu_parity;
#[cfg(feature = "gpu")]
mod gpu_reliability;
mod linear_step;
mod periphery;
mod pow_step;
mod pulse_orders;
mod pulse_types;
mod reliability;

use rpusim::config::{ConstantStepParameters, DeviceConfig, TileConfig, UpdateParameters};
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

/// Single pulses: a train of length 1 that always fires (x = 1, |d| = 1, lr = dw_min = 0.01).
pub fn single_pulse_config(device: DeviceConfig) -> TileConfig {
    TileConfig {
        device,
        update: UpdateParameters {
            desired_bl: 1,
            update_management: false,
            update_bl_management: false,
            ..UpdateParameters::default()
        },
        ..TileConfig::default()
    }
}

/// One pulse (dw_min 0.01) on every device of a `rows × 1` tile from weights `w0`; returns Δw.
pub fn one_pulse(tile: &mut Tile, w0: &[f32], up: bool) -> Vec<f64> {
    tile.set_weights(w0).unwrap();
    let d = vec![if up { -1.0 } else { 1.0 }; tile.rows()];
    tile.update(&[1.0], &d, 0.01).unwrap();
    let w = tile.weights().unwrap();
    w.iter().zip(w0).map(|(a, b)| f64::from(a - b)).collect()
}

/// Whether the gpu backend runs here; prints why a gpu test is skipped when it does not.
#[cfg(feature = "gpu")]
pub fn gpu_available() -> bool {
    match rpusim::backend::gpu_unavailable_reason() {
        None => true,
        Some(reason) => {
            eprintln!("skipped: no gpu backend ({reason})");
            false
        }
    }
}

/// Sample mean and standard deviation.
pub fn mean_std(v: &[f64]) -> (f64, f64) {
    let n = v.len() as f64;
    let m = v.iter().sum::<f64>() / n;
    let var = v.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (n - 1.0);
    (m, var.sqrt())
}
