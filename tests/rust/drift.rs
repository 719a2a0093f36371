//! Power-law drift of pulsed devices (reference §4.3) against its formula: the clock in units of
//! t₀, the restart of a device's clock when it is written, the device-to-device and per-call
//! spread of ν, the conductance dependence, the offsets, the noise, the bounds, write noise, the
//! compounds and saved state.

use crate::{cpu_tile, mean_std, single_pulse_config};
use rpusim::config::{
    ConstantStepParameters, DeviceConfig, DriftParameters, LinearStepParameters, TileConfig,
    TransferParameters,
};
use rpusim::{BackendKind, Tile};

fn drifting(drift: DriftParameters) -> ConstantStepParameters {
    ConstantStepParameters {
        dw_min: 0.01,
        dw_min_dtod: 0.0,
        dw_min_std: 0.0,
        up_down_dtod: 0.0,
        w_max: 1.0,
        w_min: -1.0,
        w_max_dtod: 0.0,
        w_min_dtod: 0.0,
        drift,
        ..ConstantStepParameters::default()
    }
}

fn tile_with(drift: DriftParameters, rows: usize, cols: usize) -> Tile {
    let device = DeviceConfig::ConstantStepDevice(drifting(drift));
    cpu_tile(single_pulse_config(device), rows, cols, 11)
}

fn nu(nu: f32) -> DriftParameters {
    DriftParameters {
        nu,
        ..DriftParameters::default()
    }
}

/// Values spread over (−0.9, 0.9), none near zero (the ratios below divide by them).
fn weights(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let v = 0.1 + 0.8 * (i as f32 + 0.5) / n as f32;
            if i % 2 == 0 {
                v
            } else {
                -v
            }
        })
        .collect()
}

fn assert_close(got: &[f32], want: &[f64], tol: f64, what: &str) {
    for (k, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (f64::from(*g) - w).abs() <= tol * w.abs().max(1e-3),
            "{what}, device {k}: {g} vs {w}"
        );
    }
}

#[test]
fn weights_follow_the_power_law_of_the_time_since_the_write() {
    // t₀ = 2: the clock counts Δt/t₀, and the decay is (elapsed/t₀)^(−ν), at least one t₀.
    let p = DriftParameters {
        t_0: 2.0,
        ..nu(0.2)
    };
    let mut t = tile_with(p, 8, 5);
    let w0 = weights(40);
    t.set_weights(&w0).unwrap();
    let mut elapsed = 0.0f64;
    for dt in [1.0f32, 3.0, 6.0, 30.0] {
        t.drift_weights(dt).unwrap();
        elapsed += f64::from(dt) / 2.0;
        let scale = elapsed.max(1.0).powf(-0.2);
        let want: Vec<f64> = w0.iter().map(|w| f64::from(*w) * scale).collect();
        assert_close(
            &t.weights().unwrap(),
            &want,
            2e-6,
            &format!("after {elapsed} t0"),
        );
    }
    // No time: the weights stay as they are.
    let before = t.weights().unwrap();
    t.drift_weights(0.0).unwrap();
    assert_eq!(t.weights().unwrap(), before);
}

#[test]
fn a_written_device_restarts_its_clock_and_the_others_keep_theirs() {
    let (rows, cols) = (6, 2);
    let mut t = tile_with(nu(0.1), rows, cols);
    let w0 = weights(rows * cols);
    t.set_weights(&w0).unwrap();
    t.drift_weights(10.0).unwrap();
    // One pulse on column 0 of every row: those devices are written at clock 10.
    let written = t.weights().unwrap();
    t.update(&[1.0, 0.0], &vec![-1.0; rows], 0.01).unwrap();
    let pulsed = t.weights().unwrap();
    // The call that sees the change restarts the clock without drifting...
    t.drift_weights(10.0).unwrap();
    let after = t.weights().unwrap();
    for i in 0..rows {
        assert_eq!(
            after[2 * i],
            pulsed[2 * i],
            "row {i}: restarted, not drifted"
        );
        let want = f64::from(w0[2 * i + 1]) * 20f64.powf(-0.1);
        assert!((f64::from(after[2 * i + 1]) - want).abs() < 2e-6, "row {i}");
        assert!(
            (pulsed[2 * i] - written[2 * i] - 0.01).abs() < 1e-6,
            "one step up"
        );
    }
    // ... and the next call drifts it from its write: (40 − 20)^(−ν) for the written ones.
    t.drift_weights(20.0).unwrap();
    let later = t.weights().unwrap();
    for i in 0..rows {
        let want = f64::from(pulsed[2 * i]) * 20f64.powf(-0.1);
        assert!(
            (f64::from(later[2 * i]) - want).abs() < 2e-6,
            "row {i} written"
        );
        let want = f64::from(w0[2 * i + 1]) * 40f64.powf(-0.1);
        assert!(
            (f64::from(later[2 * i + 1]) - want).abs() < 2e-6,
            "row {i} kept"
        );
    }
    // set_weights is a write too.
    let fresh = vec![0.5; rows * cols];
    t.set_weights(&fresh).unwrap();
    t.drift_weights(5.0).unwrap();
    assert_eq!(t.weights().unwrap(), fresh, "restarted by set_weights");
    t.drift_weights(5.0).unwrap();
    let want = vec![0.5 * 5f64.powf(-0.1); rows * cols];
    assert_close(&t.weights().unwrap(), &want, 2e-6, "after set");
}

/// −ln(w/w₀)/ln(elapsed): the ν a device drifted with.
fn exponents(t: &Tile, w0: &[f32], elapsed: f64) -> Vec<f64> {
    t.weights()
        .unwrap()
        .iter()
        .zip(w0)
        .map(|(w, v)| -(f64::from(*w) / f64::from(*v)).ln() / elapsed.ln())
        .collect()
}

#[test]
fn nu_varies_from_device_to_device_and_from_call_to_call() {
    let n = 20_000;
    let w0 = vec![0.5; n];
    // Device to device: ν_ij = ν(1 + nu_dtod·ξ), the same in every call.
    let p = DriftParameters {
        nu_dtod: 0.2,
        ..nu(0.1)
    };
    let mut t = tile_with(p, n / 4, 4);
    t.set_weights(&w0).unwrap();
    t.drift_weights(std::f32::consts::E).unwrap();
    let first = exponents(&t, &w0, std::f64::consts::E);
    let (m, sd) = mean_std(&first);
    let tol = 4.0 * 0.02 / (n as f64).sqrt();
    assert!((m - 0.1).abs() < tol, "mean ν {m}");
    assert!((sd - 0.02).abs() < 0.001, "dtod spread of ν {sd}");
    t.drift_weights(100.0 - std::f32::consts::E).unwrap();
    let second = exponents(&t, &w0, 100.0);
    for (a, b) in first.iter().zip(&second) {
        assert!((a - b).abs() < 1e-4, "ν_ij is fixed: {a} then {b}");
    }
    // Cycle to cycle: ν(1 + nu_std·ξ) drawn anew in every call.
    let p = DriftParameters {
        nu_std: 0.3,
        ..nu(0.1)
    };
    let mut t = tile_with(p, n / 4, 4);
    t.set_weights(&w0).unwrap();
    t.drift_weights(std::f32::consts::E).unwrap();
    let first = exponents(&t, &w0, std::f64::consts::E);
    let (m, sd) = mean_std(&first);
    assert!(
        (m - 0.1).abs() < 4.0 * 0.03 / (n as f64).sqrt(),
        "mean ν {m}"
    );
    assert!((sd - 0.03).abs() < 0.0015, "per-call spread of ν {sd}");
    t.drift_weights(100.0 - std::f32::consts::E).unwrap();
    let second = exponents(&t, &w0, 100.0);
    let changes: Vec<f64> = first.iter().zip(&second).map(|(a, b)| b - a).collect();
    let (_, sd) = mean_std(&changes);
    // Two independent draws: the difference spreads by √2 σ.
    assert!(
        (sd - 0.03 * 2f64.sqrt()).abs() < 0.002,
        "redrawn per call: {sd}"
    );
}

#[test]
fn nu_depends_on_the_conductance_and_offsets_shift_the_fixed_point() {
    let (nu_0, nu_k, log_g0) = (0.1f64, 0.05f64, -0.5f64);
    let p = DriftParameters {
        nu_k: nu_k as f32,
        log_g0: log_g0 as f32,
        ..nu(nu_0 as f32)
    };
    let mut t = tile_with(p, 10, 1);
    let w0: Vec<f32> = (1..=10).map(|i| i as f32 * 0.09).collect();
    t.set_weights(&w0).unwrap();
    t.drift_weights(8.0).unwrap();
    let want: Vec<f64> = w0
        .iter()
        .map(|w| {
            let g = f64::from(*w);
            let nu = nu_0 - nu_k * g.ln() + nu_k * log_g0;
            g * 8f64.powf(-nu)
        })
        .collect();
    assert_close(&t.weights().unwrap(), &want, 1e-5, "ν(g)");
    // a = g_offset·wg_ratio + w_offset: w = w₀·s + a·(s − 1), s = elapsed^(−ν).
    let p = DriftParameters {
        g_offset: 0.1,
        wg_ratio: 2.0,
        w_offset: -0.05,
        ..nu(0.3)
    };
    let mut t = tile_with(p, 10, 1);
    t.set_weights(&w0).unwrap();
    t.drift_weights(4.0).unwrap();
    let s = 4f64.powf(-0.3);
    let a = 0.1 * 2.0 - 0.05;
    let want: Vec<f64> = w0
        .iter()
        .map(|w| f64::from(*w) * s + a * (s - 1.0))
        .collect();
    assert_close(&t.weights().unwrap(), &want, 1e-5, "offsets");
}

#[test]
fn weight_noise_is_added_in_every_call_and_bounds_hold() {
    let n = 20_000;
    let p = DriftParameters {
        w_noise_std: 0.01,
        ..nu(0.1)
    };
    let mut t = tile_with(p, n / 4, 4);
    let w0 = vec![0.3; n];
    t.set_weights(&w0).unwrap();
    t.drift_weights(3.0).unwrap();
    let noise: Vec<f64> = t
        .weights()
        .unwrap()
        .iter()
        .map(|w| f64::from(*w) - 0.3 * 3f64.powf(-0.1))
        .collect();
    let (m, sd) = mean_std(&noise);
    assert!(m.abs() < 4.0 * 0.01 / (n as f64).sqrt(), "noise mean {m}");
    assert!((sd - 0.01).abs() < 0.0005, "noise std {sd}");
    // The noisy weight is not a write: the next call still drifts from the first write.
    t.drift_weights(3.0).unwrap();
    let noise: Vec<f64> = t
        .weights()
        .unwrap()
        .iter()
        .map(|w| f64::from(*w) - 0.3 * 6f64.powf(-0.1))
        .collect();
    let (m, sd) = mean_std(&noise);
    assert!(
        m.abs() < 4.0 * 0.01 / (n as f64).sqrt(),
        "second call mean {m}"
    );
    assert!((sd - 0.01).abs() < 0.0005, "second call std {sd}");
    // ν < 0 grows the weights: the device bounds (±1) clip them.
    let mut t = tile_with(nu(-0.5), 4, 1);
    t.set_weights(&[0.9, -0.9, 0.2, -0.2]).unwrap();
    t.drift_weights(4.0).unwrap();
    assert_close(
        &t.weights().unwrap(),
        &[1.0, -1.0, 0.4, -0.4],
        1e-6,
        "clipped",
    );
}

#[test]
fn with_write_noise_the_persistent_weights_drift_and_the_visible_ones_are_redrawn() {
    let rows = 5000;
    let sigma = 0.02f64; // write_noise_std 2 × dw_min 0.01
    let device = DeviceConfig::LinearStepDevice(LinearStepParameters {
        pulsed: drifting(nu(0.2)),
        write_noise_std: 2.0,
        ..LinearStepParameters::default()
    });
    let mut t = cpu_tile(single_pulse_config(device), rows, 2, 3);
    t.set_weights(&vec![0.4; 2 * rows]).unwrap();
    let persistent_of = |t: &Tile| {
        t.hidden_weights()
            .unwrap()
            .into_iter()
            .find(|(n, _)| n == "persistent_0")
            .unwrap()
            .1
    };
    let before = t.weights().unwrap();
    t.drift_weights(9.0).unwrap();
    let want = 0.4 * 9f64.powf(-0.2);
    let persistent = persistent_of(&t);
    assert_close(&persistent, &vec![want; 2 * rows], 1e-5, "persistent");
    let visible = t.weights().unwrap();
    let noise: Vec<f64> = visible
        .iter()
        .zip(&persistent)
        .map(|(v, p)| f64::from(v - p))
        .collect();
    let (m, sd) = mean_std(&noise);
    assert!(
        m.abs() < 4.0 * sigma / (noise.len() as f64).sqrt(),
        "mean {m}"
    );
    assert!(
        (sd - sigma).abs() < 0.05 * sigma,
        "redrawn write noise {sd}"
    );
    let redrawn = visible
        .iter()
        .zip(&before)
        .filter(|(a, b)| (*a - want as f32 - (*b - 0.4)).abs() > 1e-4)
        .count();
    assert!(redrawn > rows, "the visible noise is new: {redrawn}");
}

#[test]
fn every_array_of_a_compound_drifts() {
    let device = DeviceConfig::ConstantStepDevice(drifting(nu(0.1)));
    let p = TransferParameters {
        unit_cell_devices: vec![device.clone(), device],
        ..TransferParameters::default()
    };
    let config = TileConfig {
        device: DeviceConfig::TransferCompound(p),
        ..TileConfig::default()
    };
    let mut t = cpu_tile(config, 6, 4, 5);
    let w0 = weights(24);
    t.set_weights(&w0).unwrap(); // into C, the last array
    let mut arrays = t.hidden_weights().unwrap();
    let a0 = arrays.remove(0).1;
    assert!(a0.iter().all(|w| *w == 0.0), "A starts at zero");
    t.drift_weights(16.0).unwrap();
    let want: Vec<f64> = w0
        .iter()
        .map(|w| f64::from(*w) * 16f64.powf(-0.1))
        .collect();
    assert_close(&t.weights().unwrap(), &want, 2e-6, "visible C");
    let c = t
        .hidden_weights()
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == "array_1")
        .unwrap()
        .1;
    assert_close(&c, &want, 2e-6, "array_1");
}

#[test]
fn drift_state_is_saved_and_a_restored_tile_continues_exactly() {
    let p = DriftParameters {
        nu_dtod: 0.3,
        nu_std: 0.1,
        w_noise_std: 0.002,
        ..nu(0.05)
    };
    let mut config = single_pulse_config(DeviceConfig::ConstantStepDevice(drifting(p)));
    config.update.desired_bl = 31;
    config.update.update_management = true;
    let mut t = Tile::new(config, 7, 5, 9, BackendKind::Cpu).unwrap();
    t.set_weights(&weights(35)).unwrap();
    t.drift_weights(2.0).unwrap();
    let x = crate::data(5, 1);
    let d = crate::data(7, 2);
    t.update(&x, &d, 0.05).unwrap();
    let saved = t.state().unwrap();
    let mut copy = Tile::from_state(&saved, BackendKind::Cpu).unwrap();
    for tile in [&mut t, &mut copy] {
        tile.drift_weights(3.0).unwrap();
        tile.update(&x, &d, 0.05).unwrap();
        tile.drift_weights(7.0).unwrap();
    }
    assert_eq!(t.weights().unwrap(), copy.weights().unwrap());
    assert_eq!(t.state().unwrap().device, copy.state().unwrap().device);
}

#[test]
fn bad_times_and_parameters_are_errors() {
    let mut t = tile_with(nu(0.1), 2, 2);
    for dt in [-1.0, f32::NAN, f32::INFINITY] {
        assert!(t.drift_weights(dt).is_err(), "delta_t {dt}");
    }
    for bad in [
        DriftParameters {
            t_0: 0.0,
            ..nu(0.1)
        },
        DriftParameters {
            nu_std: -1.0,
            ..nu(0.1)
        },
        DriftParameters {
            wg_ratio: f32::NAN,
            ..nu(0.1)
        },
    ] {
        let device = DeviceConfig::ConstantStepDevice(drifting(bad));
        let config = single_pulse_config(device);
        assert!(Tile::new(config, 2, 2, 1, BackendKind::Cpu).is_err());
    }
    // Without drift a call changes nothing.
    let mut t = tile_with(nu(0.0), 2, 2);
    t.set_weights(&[0.1, 0.2, 0.3, 0.4]).unwrap();
    t.drift_weights(100.0).unwrap();
    assert_eq!(t.weights().unwrap(), vec![0.1, 0.2, 0.3, 0.4]);
}
