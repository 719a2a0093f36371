//! The pulsed update's reads in the middle of a batch (what a transfer reads), its polarity (the
//! halves of a one-sided pair) and per-vector learning rates, with deterministic pulses: trains
//! of one slot that always fire, so every vector with x_j, d_i = ±1 gives exactly one pulse.

use crate::data;
use rpusim::backend::{ArrayUpdate, CpuTile, TileBackend, Visible};
use rpusim::config::{
    ConstantStepParameters, DeviceConfig, LinearStepParameters, TileConfig, UpdateParameters,
};
use rpusim::pulsed::{Capture, CapturePlan, Lr, Polarity};

fn exact_pulses() -> UpdateParameters {
    UpdateParameters {
        desired_bl: 1,
        update_management: false,
        update_bl_management: false,
        ..UpdateParameters::default()
    }
}

fn noiseless() -> ConstantStepParameters {
    ConstantStepParameters {
        dw_min: 0.01,
        dw_min_dtod: 0.0,
        dw_min_std: 0.0,
        up_down_dtod: 0.0,
        w_max: 1.0,
        w_min: -1.0,
        w_max_dtod: 0.0,
        w_min_dtod: 0.0,
        ..ConstantStepParameters::default()
    }
}

/// Constant steps (applied in groups) and a linear step with γ = 0 (pulse by pulse): the same
/// response, two code paths.
fn devices() -> [DeviceConfig; 2] {
    [
        DeviceConfig::ConstantStepDevice(noiseless()),
        DeviceConfig::LinearStepDevice(LinearStepParameters {
            pulsed: noiseless(),
            gamma_up_dtod: 0.0,
            gamma_down_dtod: 0.0,
            ..LinearStepParameters::default()
        }),
    ]
}

/// ±1 or 0 entries.
fn signs(n: usize, salt: u32) -> Vec<f32> {
    data(n, salt)
        .into_iter()
        .map(|v| {
            if v > 0.3 {
                1.0
            } else if v < -0.3 {
                -1.0
            } else {
                0.0
            }
        })
        .collect()
}

/// The weights after each vector: W −= 0.01·sign(d)·sign(x)ᵀ, vector by vector (polarity
/// applied: only up pulses, or the down pulses as up pulses).
fn expected(
    w0: &[f32],
    x: &[f32],
    d: &[f32],
    rows: usize,
    cols: usize,
    polarity: Polarity,
) -> Vec<Vec<f32>> {
    let mut w: Vec<f64> = w0.iter().map(|&v| f64::from(v)).collect();
    let mut out = Vec::new();
    for n in 0..x.len() / cols {
        for i in 0..rows {
            for j in 0..cols {
                let p = f64::from(d[n * rows + i] * x[n * cols + j]);
                if p == 0.0 {
                    continue;
                }
                let up = p < 0.0;
                let step = match (polarity, up) {
                    (Polarity::Both, true) | (Polarity::UpOnly, true) => 0.01,
                    (Polarity::Both, false) => -0.01,
                    (Polarity::DownAsUp, false) => 0.01,
                    _ => 0.0,
                };
                w[i * cols + j] = (w[i * cols + j] + step).clamp(-1.0, 1.0);
            }
        }
        out.push(w.iter().map(|&v| v as f32).collect());
    }
    out
}

#[test]
fn reads_see_the_weights_after_their_vector_and_polarity_filters_pulses() {
    let (rows, cols, batch) = (5, 6, 9);
    let up = exact_pulses();
    for device in devices() {
        for polarity in [Polarity::Both, Polarity::UpOnly, Polarity::DownAsUp] {
            for by_rows in [false, true] {
                let config = TileConfig {
                    device: device.clone(),
                    update: up.clone(),
                    ..TileConfig::default()
                };
                let mut tile =
                    CpuTile::new(config.clone(), rows, cols, 3, Visible::Array(0)).unwrap();
                let w0: Vec<f32> = data(rows * cols, 1).iter().map(|v| v * 0.5).collect();
                tile.set_weights(0, &w0, 0).unwrap();
                let x = signs(batch * cols, 2);
                let d = signs(batch * rows, 3);
                let events: Vec<Capture> = [(0, 2), (3, 2), (3, 0), (8, 4), (5, 1)]
                    .iter()
                    .map(|&(v, i)| Capture {
                        vector: v,
                        index: if by_rows { i % rows as u32 } else { i },
                    })
                    .collect::<Vec<_>>();
                let mut events = events;
                events.sort_by_key(|c| c.vector);
                let plan = CapturePlan { by_rows, events };
                let u = ArrayUpdate {
                    array: 0,
                    x: &x,
                    d: &d,
                    batch,
                    lr: Lr::Same(0.01),
                    up: &up,
                    granularity: 0.01,
                    seed: 5,
                    noise_seed: 5,
                    step: 0,
                    polarity,
                    captures: &plan,
                };
                let reads = tile.update(&u).unwrap();
                let history = expected(&w0, &x, &d, rows, cols, polarity);
                let width = if by_rows { cols } else { rows };
                for (e, c) in plan.events.iter().enumerate() {
                    let w = &history[c.vector as usize];
                    for k in 0..width {
                        let want = if by_rows {
                            w[c.index as usize * cols + k]
                        } else {
                            w[k * cols + c.index as usize]
                        };
                        let got = reads[e * width + k];
                        assert!(
                            (got - want).abs() < 1e-5,
                            "{device:?} {polarity:?} rows {by_rows}: read {e} [{k}] {got} vs {want}"
                        );
                    }
                }
                let last = history.last().unwrap();
                for (a, b) in tile.weights(None).unwrap().iter().zip(last) {
                    assert!((a - b).abs() < 1e-5, "{polarity:?}: final {a} vs {b}");
                }
            }
        }
    }
}

#[test]
fn per_vector_rates_scale_each_vector() {
    // With rate 0 a vector fires nothing; with the granularity it gives one pulse per pair.
    let (rows, cols, batch) = (4, 3, 4);
    let up = exact_pulses();
    let config = TileConfig {
        device: devices()[0].clone(),
        update: up.clone(),
        ..TileConfig::default()
    };
    let mut tile = CpuTile::new(config, rows, cols, 3, Visible::Array(0)).unwrap();
    let x = vec![1.0f32; batch * cols];
    let d = vec![-1.0f32; batch * rows];
    let rates = [0.01f32, 0.0, 0.01, 0.0];
    let none = CapturePlan::default();
    let u = ArrayUpdate {
        array: 0,
        x: &x,
        d: &d,
        batch,
        lr: Lr::PerVector(&rates),
        up: &up,
        granularity: 0.01,
        seed: 1,
        noise_seed: 1,
        step: 0,
        polarity: Polarity::Both,
        captures: &none,
    };
    tile.update(&u).unwrap();
    for w in tile.weights(None).unwrap() {
        assert!((w - 0.02).abs() < 1e-6, "two of four vectors pulse: {w}");
    }
}
