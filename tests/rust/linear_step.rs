//! Linear-step and soft-bounds pulses against the update-once formula (reference §4.2):
//! Δw⁺ = (Δ⁺ + s⁺w)(1 + σξ), Δw⁻ = (Δ⁻ + s⁻w)(1 + σξ), or additive noise Δσξ.

use crate::{cpu_tile, mean_std, one_pulse, single_pulse_config};
use rpusim::config::{ConstantStepParameters, DeviceConfig, LinearStepParameters, TileConfig};

fn config(device: LinearStepParameters) -> TileConfig {
    single_pulse_config(DeviceConfig::LinearStepDevice(device))
}

fn soft_bounds(dw_min_std: f32, mult_noise: bool) -> LinearStepParameters {
    LinearStepParameters {
        pulsed: ConstantStepParameters {
            dw_min: 0.01,
            dw_min_dtod: 0.0,
            dw_min_std,
            up_down_dtod: 0.0,
            w_max: 1.0,
            w_min: -0.5,
            w_max_dtod: 0.0,
            w_min_dtod: 0.0,
            ..ConstantStepParameters::default()
        },
        gamma_up: 1.0,
        gamma_down: 1.0,
        gamma_up_dtod: 0.0,
        gamma_down_dtod: 0.0,
        mean_bound_reference: false,
        mult_noise,
        ..LinearStepParameters::default()
    }
}

#[test]
fn soft_bounds_step_shrinks_linearly_toward_each_bound() {
    let rows = 4000;
    for mult_noise in [true, false] {
        let sigma = 0.3f64;
        let config = config(soft_bounds(sigma as f32, mult_noise));
        let mut tile = cpu_tile(config, rows, 1, 3);
        for w0 in [-0.4f32, 0.0, 0.5, 0.9] {
            for up in [true, false] {
                let dw = one_pulse(&mut tile, &vec![w0; rows], up);
                // Soft bounds: Δ⁺(1 − w/b_max) up, Δ⁻(1 − w/b_min) down (b_max 1, b_min −0.5).
                let step = if up {
                    0.01 * (1.0 - f64::from(w0) / 1.0)
                } else {
                    -0.01 * (1.0 - f64::from(w0) / -0.5)
                };
                let spread = if mult_noise {
                    sigma * step.abs()
                } else {
                    sigma * 0.01
                };
                let (m, sd) = mean_std(&dw);
                let se = spread / (rows as f64).sqrt();
                assert!(
                    (m - step).abs() < 4.0 * se + 1e-7,
                    "w0 {w0} up {up} mult {mult_noise}: mean {m:.3e}, formula {step:.3e}"
                );
                assert!(
                    (sd - spread).abs() < 0.08 * spread + 1e-7,
                    "w0 {w0} up {up} mult {mult_noise}: spread {sd:.3e}, formula {spread:.3e}"
                );
            }
        }
    }
}

#[test]
fn linear_step_slopes_and_their_variation() {
    // γ⁺ = 0.5, γ⁻ = 0.2 against the mean bounds, no noise: Δw⁺ = Δ⁺(1 − 0.5 w / w_max).
    let mut p = soft_bounds(0.0, true);
    p.gamma_up = 0.5;
    p.gamma_down = 0.2;
    p.mean_bound_reference = true;
    let rows = 3;
    let mut tile = cpu_tile(config(p.clone()), rows, 1, 5);
    let w0 = [0.2f32, -0.3, 0.7];
    let up = one_pulse(&mut tile, &w0, true);
    let down = one_pulse(&mut tile, &w0, false);
    for k in 0..rows {
        let w = f64::from(w0[k]);
        assert!((up[k] - 0.01 * (1.0 - 0.5 * w / 1.0)).abs() < 1e-6);
        assert!((down[k] + 0.01 * (1.0 - 0.2 * w / -0.5)).abs() < 1e-6);
    }
    // γ dtod: the slopes spread as |γ + γ_dtod ξ|.
    p.gamma_up_dtod = 0.1;
    let rows = 4000;
    let mut tile = cpu_tile(config(p), rows, 1, 6);
    let dw = one_pulse(&mut tile, &vec![0.8; rows], true);
    let gammas: Vec<f64> = dw.iter().map(|d| (1.0 - d / 0.01) / 0.8).collect();
    let (m, sd) = mean_std(&gammas);
    assert!(
        (m - 0.5).abs() < 0.01 && (sd - 0.1).abs() < 0.01,
        "γ mean {m}, spread {sd}"
    );
}

#[test]
fn steps_never_reverse_without_allow_increasing() {
    // γ = 3: past a third of the bound the linear step would turn negative; it stops at 0.
    let mut p = soft_bounds(0.0, true);
    p.gamma_up = 3.0;
    p.mean_bound_reference = true;
    let mut tile = cpu_tile(config(p.clone()), 1, 1, 1);
    assert_eq!(one_pulse(&mut tile, &[0.6], true), vec![0.0]);
    p.allow_increasing = true;
    let mut tile = cpu_tile(config(p), 1, 1, 1);
    let dw = one_pulse(&mut tile, &[0.6], true)[0];
    assert!((dw - 0.01 * (1.0 - 3.0 * 0.6)).abs() < 1e-6, "{dw}");
}

#[test]
fn soft_bounds_drift_to_the_symmetry_point_and_stay_within_bounds() {
    // Alternating up and down pulses: w → w* = (Δ⁺ − Δ⁻)/(Δ⁺/b_max − Δ⁻/b_min) = 0 for equal
    // steps ... with b_max = 1, b_min = −0.5 and equal Δ: w* = 0.
    let rows = 200;
    let mut tile = cpu_tile(config(soft_bounds(0.3, true)), rows, 1, 9);
    tile.set_weights(&vec![0.8; rows]).unwrap();
    for step in 0..2000 {
        let d = vec![if step % 2 == 0 { -1.0 } else { 1.0 }; rows];
        tile.update(&[1.0], &d, 0.01).unwrap();
    }
    let w: Vec<f64> = tile
        .weights()
        .unwrap()
        .iter()
        .map(|v| f64::from(*v))
        .collect();
    let (m, _) = mean_std(&w);
    assert!(
        m.abs() < 0.02,
        "mean weight {m} did not reach the symmetry point 0"
    );
    assert!(w.iter().all(|v| (-0.5..=1.0).contains(v)));
}

#[test]
fn reversed_slopes_are_referenced_to_the_opposite_bound() {
    // reverse_up: Δw⁺ = Δ⁺(1 − γ⁺w/(w_min − offset)), growing with w; reverse_down:
    // Δw⁻ = Δ⁻(1 − γ⁻w/(w_max + offset)), growing as w falls. Mean and per-device references.
    let rows = 4000;
    let sigma = 0.2f64;
    for mean_reference in [true, false] {
        let mut p = soft_bounds(sigma as f32, true);
        p.gamma_up = 0.8;
        p.gamma_down = 0.6;
        p.mean_bound_reference = mean_reference;
        p.reverse_up = true;
        p.reverse_down = true;
        p.reverse_offset = 0.05;
        let mut tile = cpu_tile(config(p), rows, 1, 8);
        for w0 in [-0.45f32, -0.1, 0.3, 0.95] {
            let w = f64::from(w0);
            for up in [true, false] {
                let dw = one_pulse(&mut tile, &vec![w0; rows], up);
                let step = if up {
                    0.01 * (1.0 - 0.8 * w / (-0.5 - 0.05))
                } else {
                    -0.01 * (1.0 - 0.6 * w / (1.0 + 0.05))
                };
                let (m, sd) = mean_std(&dw);
                let spread = sigma * step.abs();
                let se = spread / (rows as f64).sqrt();
                assert!(
                    (m - step).abs() < 4.0 * se + 1e-7,
                    "w0 {w0} up {up}: mean {m:.4e}, formula {step:.4e}"
                );
                assert!((sd - spread).abs() < 0.08 * spread, "spread {sd:.3e}");
            }
        }
    }
    // As the reference: reversed slopes need multiplicative noise.
    let mut p = soft_bounds(0.1, false);
    p.reverse_up = true;
    let Err(err) = rpusim::Tile::new(config(p), 2, 2, 1, rpusim::BackendKind::Cpu) else {
        panic!("accepted reverse_up without mult_noise");
    };
    assert!(err.to_string().contains("mult_noise"), "{err}");
}
