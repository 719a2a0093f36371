//! Constant-step pulses against the update-once formula: mean, granularity, spread, bounds.

use crate::{constant_step, cpu_tile, data, mean_std};
use rpusim::config::{ConstantStepParameters, DeviceConfig, TileConfig};

/// ΔW of `reps` independent updates from zero weights, per device.
fn repeated_updates(
    tile: &mut rpusim::Tile,
    x: &[f32],
    d: &[f32],
    lr: f32,
    reps: usize,
) -> Vec<Vec<f64>> {
    let zeros = vec![0.0; tile.rows() * tile.cols()];
    let mut samples = vec![Vec::with_capacity(reps); zeros.len()];
    for _ in 0..reps {
        tile.set_weights(&zeros).unwrap();
        tile.update(x, d, lr).unwrap();
        for (s, w) in samples.iter_mut().zip(tile.weights().unwrap()) {
            s.push(f64::from(w));
        }
    }
    samples
}

#[test]
fn mean_update_is_minus_lr_d_x() {
    // Single pair, repeated: E[ΔW_ij] = −lr d_i x_j for an ideal constant-step device.
    let (rows, cols) = (3, 4);
    let x = [0.9f32, -0.35, 0.6, 0.05];
    let d = [0.2f32, -0.45, 0.07];
    let lr = 0.01;
    let reps = 4000;
    let mut tile = cpu_tile(constant_step(0.0, 100.0), rows, cols, 11);
    let samples = repeated_updates(&mut tile, &x, &d, lr, reps);
    for i in 0..rows {
        for j in 0..cols {
            let (m, sd) = mean_std(&samples[i * cols + j]);
            let expected = -f64::from(lr * d[i] * x[j]);
            let se = sd / (reps as f64).sqrt();
            assert!(
                (m - expected).abs() <= 3.0 * se + 1e-9,
                "({i},{j}): mean {m:.3e} expected {expected:.3e} (3 SE = {:.3e})",
                3.0 * se
            );
            // Without noise every change is a whole number of dw_min steps.
            for w in &samples[i * cols + j] {
                let steps = w / 0.001;
                assert!(
                    (steps - steps.round()).abs() < 1e-3,
                    "ΔW {w} is not a multiple of dw_min"
                );
            }
        }
    }
}

#[test]
fn cycle_to_cycle_spread_matches_dw_min_std() {
    // x = d = 1 and k = lr/dw_min = 20: every device gets exactly 20 down pulses, so
    // ΔW = −dw_min(20 + σ√20 ξ). One call gives rows·cols independent samples.
    let sigma = 0.3;
    for start in [0.0f32, 0.06] {
        // start 0.06 with bound 0.1 forces the pulse-by-pulse path (a worst case reaches the
        // bound), start 0 the grouped path; both must have the same statistics.
        let (rows, cols) = (100, 100);
        let config = constant_step(sigma, 0.1);
        let mut tile = cpu_tile(config, rows, cols, 3);
        tile.set_weights(&vec![-start; rows * cols]).unwrap();
        tile.update(&vec![1.0; cols], &vec![-1.0; rows], 0.02)
            .unwrap();
        let dw: Vec<f64> = tile
            .weights()
            .unwrap()
            .iter()
            .map(|w| f64::from(*w + start))
            .collect();
        let (m, sd) = mean_std(&dw);
        let expected_sd = 0.001 * f64::from(sigma) * 20f64.sqrt();
        assert!(
            (m - 0.02).abs() < 3.0 * expected_sd / 100.0,
            "start {start}: mean {m}"
        );
        assert!(
            (sd / expected_sd - 1.0).abs() < 0.05,
            "start {start}: std {sd} vs {expected_sd}"
        );
    }
}

#[test]
fn weights_stay_within_device_bounds() {
    let config = TileConfig {
        device: DeviceConfig::ConstantStepDevice(ConstantStepParameters {
            w_max: 0.05,
            w_min: -0.05,
            dw_min: 0.005,
            ..ConstantStepParameters::default()
        }),
        ..TileConfig::default()
    };
    let (rows, cols) = (30, 20);
    let mut tile = cpu_tile(config, rows, cols, 8);
    let state = tile.state().unwrap();
    let w_max = &state.device.iter().find(|(n, _)| n == "w_max").unwrap().1;
    let w_min = &state.device.iter().find(|(n, _)| n == "w_min").unwrap().1;
    for step in 0..40 {
        let x = data(8 * cols, step);
        let d: Vec<f32> = data(8 * rows, 1000 + step)
            .iter()
            .map(|v| v * (1.0 + (step % 3) as f32))
            .collect();
        tile.update(&x, &d, 0.5).unwrap();
        for (k, w) in tile.weights().unwrap().iter().enumerate() {
            assert!(
                *w <= w_max[k] && *w >= w_min[k],
                "device {k}: {w} outside [{}, {}]",
                w_min[k],
                w_max[k]
            );
        }
    }
    // Pushed hard in one direction, devices sit at their own bounds.
    for _ in 0..20 {
        tile.update(&vec![1.0; cols], &vec![-1.0; rows], 1.0)
            .unwrap();
    }
    let w = tile.weights().unwrap();
    let at_bound = w
        .iter()
        .zip(w_max)
        .filter(|(a, b)| (*a - *b).abs() < 1e-6)
        .count();
    assert!(
        at_bound > rows * cols * 9 / 10,
        "{at_bound} of {} at w_max",
        rows * cols
    );
}

#[test]
fn device_to_device_draws_follow_the_parameters() {
    let p = ConstantStepParameters::default();
    let array = rpusim::device::ConstantStepArray::build(&p, 200, 200, 17).unwrap();
    let up: Vec<f64> = array.step_up.iter().map(|v| f64::from(*v)).collect();
    let wmax: Vec<f64> = array.w_max.iter().map(|v| f64::from(*v)).collect();
    let (m, sd) = mean_std(&up);
    // Δ⁺ = dw_min(1 + 0.3ξ + 0.01ξ'): mean dw_min, spread dw_min·√(0.3² + 0.01²).
    assert!((m / 0.001 - 1.0).abs() < 0.01, "mean step {m}");
    assert!(
        (sd / (0.001 * (0.09f64 + 0.0001).sqrt()) - 1.0).abs() < 0.03,
        "step spread {sd}"
    );
    let (m, sd) = mean_std(&wmax);
    assert!(
        (m / 0.6 - 1.0).abs() < 0.01 && (sd / 0.18 - 1.0).abs() < 0.03,
        "w_max {m} ± {sd}"
    );
    assert!(array.w_min.iter().all(|v| *v <= 0.0) && array.w_max.iter().all(|v| *v >= 0.0));
}

#[test]
fn asymmetry_shrinks_the_down_step() {
    let p = ConstantStepParameters {
        up_down: 0.2,
        up_down_dtod: 0.0,
        dw_min_dtod: 0.0,
        ..Default::default()
    };
    let array = rpusim::device::ConstantStepArray::build(&p, 2, 2, 1).unwrap();
    assert!((array.step_up[0] - 0.001).abs() < 1e-9);
    assert!((array.step_down[0] - 0.0008).abs() < 1e-9);
}

#[test]
fn decay_relaxes_to_the_reset_bias_at_rate_one_over_lifetime() {
    let config = TileConfig {
        device: DeviceConfig::ConstantStepDevice(ConstantStepParameters {
            lifetime: 50.0,
            reset: 0.1,
            w_max_dtod: 0.0,
            w_min_dtod: 0.0,
            ..ConstantStepParameters::default()
        }),
        ..TileConfig::default()
    };
    let (rows, cols) = (4, 5);
    let mut tile = cpu_tile(config, rows, cols, 2);
    tile.set_weights(&vec![0.5; rows * cols]).unwrap();
    for _ in 0..30 {
        tile.post_update_step().unwrap();
    }
    // w_n = b + (w_0 − b)(1 − 1/lifetime)^n.
    let expected = 0.1 + 0.4 * (1.0f64 - 1.0 / 50.0).powi(30);
    for w in tile.weights().unwrap() {
        assert!((f64::from(w) - expected).abs() < 1e-5, "{w} vs {expected}");
    }
}

#[test]
fn diffusion_is_a_random_walk_with_std_diffusion() {
    let config = TileConfig {
        device: DeviceConfig::ConstantStepDevice(ConstantStepParameters {
            diffusion: 0.002,
            diffusion_dtod: 0.5,
            w_max: 10.0,
            w_min: -10.0,
            ..ConstantStepParameters::default()
        }),
        ..TileConfig::default()
    };
    let (rows, cols) = (100, 100);
    let mut tile = cpu_tile(config, rows, cols, 4);
    tile.set_weights(&vec![0.0; rows * cols]).unwrap();
    let steps = 16;
    for _ in 0..steps {
        tile.post_update_step().unwrap();
    }
    // Var(w) = steps · E[ρ²] = steps · diffusion² (1 + diffusion_dtod²).
    let w: Vec<f64> = tile
        .weights()
        .unwrap()
        .iter()
        .map(|v| f64::from(*v))
        .collect();
    let (m, sd) = mean_std(&w);
    let expected = 0.002 * (steps as f64 * 1.25).sqrt();
    assert!(m.abs() < 3.0 * expected / 100.0, "mean {m}");
    assert!((sd / expected - 1.0).abs() < 0.05, "std {sd} vs {expected}");
}

#[test]
fn decay_and_diffusion_respect_the_bounds_and_ideal_devices_decay_to_zero() {
    let config = TileConfig {
        device: DeviceConfig::ConstantStepDevice(ConstantStepParameters {
            diffusion: 0.5,
            ..ConstantStepParameters::default()
        }),
        ..TileConfig::default()
    };
    let mut tile = cpu_tile(config, 10, 10, 6);
    tile.post_update_step().unwrap();
    let state = tile.state().unwrap();
    let w_max = &state.device.iter().find(|(n, _)| n == "w_max").unwrap().1;
    assert!(tile
        .weights()
        .unwrap()
        .iter()
        .zip(w_max)
        .all(|(w, m)| w <= m));
    let ideal = TileConfig {
        device: DeviceConfig::IdealDevice(rpusim::config::IdealParameters {
            lifetime: 10.0,
            ..Default::default()
        }),
        ..TileConfig::default()
    };
    let mut tile = cpu_tile(ideal, 2, 2, 1);
    tile.set_weights(&[1.0, -2.0, 3.0, 0.5]).unwrap();
    tile.post_update_step().unwrap();
    for (w, e) in tile.weights().unwrap().iter().zip([0.9, -1.8, 2.7, 0.45]) {
        assert!((w - e).abs() < 1e-6, "{w} vs {e}");
    }
}

#[test]
fn large_batches_split_into_groups_keep_the_mean_update() {
    // 300 vectors with k ≈ 12 exceed the group budget several times over; the mean over
    // repetitions must still be −lr Σ_n d_n x_nᵀ.
    let (rows, cols, batch) = (6, 5, 300);
    let x: Vec<f32> = data(batch * cols, 77).iter().map(|v| v * 3.0).collect();
    let d: Vec<f32> = data(batch * rows, 78).iter().map(|v| v * 0.4).collect();
    let lr = 0.01;
    let reps = 400;
    let mut tile = cpu_tile(constant_step(0.3, 0.6), rows, cols, 21);
    let samples = repeated_updates(&mut tile, &x, &d, lr, reps);
    for i in 0..rows {
        for j in 0..cols {
            let expected: f64 = -(0..batch)
                .map(|n| f64::from(lr * d[n * rows + i] * x[n * cols + j]))
                .sum::<f64>();
            let (m, sd) = mean_std(&samples[i * cols + j]);
            let se = sd / (reps as f64).sqrt();
            assert!(
                (m - expected).abs() <= 3.5 * se,
                "({i},{j}): mean {m:.4} expected {expected:.4} (SE {se:.2e})"
            );
        }
    }
}

#[test]
fn log_normal_gain_has_mean_exp_half_sigma_squared() {
    let p = ConstantStepParameters {
        dw_min_dtod: 0.4,
        dw_min_dtod_log_normal: true,
        up_down_dtod: 0.0,
        ..Default::default()
    };
    let array = rpusim::device::ConstantStepArray::build(&p, 200, 200, 9).unwrap();
    let gains: Vec<f64> = array
        .step_up
        .iter()
        .map(|v| f64::from(*v) / 0.001)
        .collect();
    let (m, _) = mean_std(&gains);
    let logs: Vec<f64> = gains.iter().map(|g| g.ln()).collect();
    let (lm, lsd) = mean_std(&logs);
    assert!((m - (0.08f64).exp()).abs() < 0.01, "mean gain {m}");
    assert!(
        lm.abs() < 0.01 && (lsd / 0.4 - 1.0).abs() < 0.02,
        "log gain {lm} ± {lsd}"
    );
    assert!(gains.iter().all(|g| *g > 0.0));
}
