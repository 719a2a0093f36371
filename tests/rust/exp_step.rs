//! Exp-step pulses against the update-once formula (reference §4.2): with
//! z = 2a·w/(b_max − b_min) + b, Δw⁺ = Δ⁺·max(0, 1 − A_up e^(γ_up z))(1 + σξ) and
//! Δw⁻ = −Δ⁻·max(0, 1 − A_down e^(−γ_down z))(1 + σξ), or additive noise with std
//! σ(|Δw| + std_add + std_slope·|w|).

use crate::{cpu_tile, mean_std, one_pulse, single_pulse_config};
use rpusim::config::{ConstantStepParameters, DeviceConfig, ExpStepParameters};

fn exp_step(sigma: f32, std_add: f32, std_slope: f32) -> ExpStepParameters {
    ExpStepParameters {
        pulsed: ConstantStepParameters {
            dw_min: 0.01,
            dw_min_dtod: 0.0,
            dw_min_std: sigma,
            up_down_dtod: 0.0,
            w_max: 1.0,
            w_min: -1.0,
            w_max_dtod: 0.0,
            w_min_dtod: 0.0,
            ..ConstantStepParameters::default()
        },
        dw_min_std_add: std_add,
        dw_min_std_slope: std_slope,
        ..ExpStepParameters::default()
    }
}

fn formula(p: &ExpStepParameters, w: f64, up: bool) -> f64 {
    let z = 2.0 * f64::from(p.a) * w / 2.0 + f64::from(p.b);
    if up {
        0.01 * (1.0 - f64::from(p.A_up) * (f64::from(p.gamma_up) * z).exp()).max(0.0)
    } else {
        -0.01 * (1.0 - f64::from(p.A_down) * (-f64::from(p.gamma_down) * z).exp()).max(0.0)
    }
}

#[test]
fn exp_step_follows_the_formula_with_multiplicative_noise() {
    let rows = 4000;
    let p = exp_step(0.3, 0.0, 0.0);
    let mut tile = cpu_tile(
        single_pulse_config(DeviceConfig::ExpStepDevice(p.clone())),
        rows,
        1,
        2,
    );
    for w0 in [-0.6f32, -0.1, 0.3, 0.8] {
        for up in [true, false] {
            let dw = one_pulse(&mut tile, &vec![w0; rows], up);
            let step = formula(&p, f64::from(w0), up);
            let (m, sd) = mean_std(&dw);
            let spread = 0.3 * step.abs();
            assert!(
                (m - step).abs() < 4.0 * spread / (rows as f64).sqrt() + 1e-7,
                "w0 {w0} up {up}: mean {m:.3e}, formula {step:.3e}"
            );
            assert!(
                (sd - spread).abs() < 0.08 * spread + 1e-7,
                "w0 {w0}: spread {sd:.3e}"
            );
        }
    }
}

#[test]
fn exp_step_additive_noise_has_the_std_add_and_slope_terms() {
    let rows = 4000;
    let p = exp_step(0.5, 0.004, 0.01);
    let mut tile = cpu_tile(
        single_pulse_config(DeviceConfig::ExpStepDevice(p.clone())),
        rows,
        1,
        4,
    );
    for w0 in [-0.5f32, 0.4] {
        let dw = one_pulse(&mut tile, &vec![w0; rows], true);
        let step = formula(&p, f64::from(w0), true);
        let spread = 0.5 * (step.abs() + 0.004 + 0.01 * f64::from(w0).abs());
        let (m, sd) = mean_std(&dw);
        assert!(
            (m - step).abs() < 4.0 * spread / (rows as f64).sqrt(),
            "mean {m} vs {step}"
        );
        assert!(
            (sd - spread).abs() < 0.08 * spread,
            "spread {sd} vs {spread}"
        );
    }
}

#[test]
fn the_up_step_vanishes_near_the_upper_bound() {
    // Defaults: A_up e^(γ_up z) reaches 1 at z = ln(1/A_up)/γ_up ≈ 0.568, i.e. w ≈ 1.33 > 1 here:
    // the up step shrinks toward the bound; the down step is small at the lower end.
    let p = exp_step(0.0, 0.0, 0.0);
    let mut tile = cpu_tile(
        single_pulse_config(DeviceConfig::ExpStepDevice(p.clone())),
        2,
        1,
        1,
    );
    let up = one_pulse(&mut tile, &[0.0, 0.9], true);
    assert!(up[1] < up[0] && up[1] > 0.0);
    assert!((up[0] - formula(&p, 0.0, true)).abs() < 1e-6);
    let down = one_pulse(&mut tile, &[0.0, -0.9], false);
    assert!(down[1].abs() < down[0].abs());
}
