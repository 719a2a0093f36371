//! Power-step and piecewise-step pulses against the update-once formula (reference §4.2): with
//! ω = (b_max − w)/(b_max − b_min), Δw⁺ = Δ⁺ω^γ⁺(1 + σξ) and Δw⁻ = −Δ⁻(1 − ω)^γ⁻(1 + σξ),
//! γ^± = γ(1 ± β + γ_dtod ξ).

use crate::{cpu_tile, mean_std, one_pulse, single_pulse_config};
use rpusim::config::{ConstantStepParameters, DeviceConfig, PowStepParameters};

fn pow_step(sigma: f32, gamma: f32, gamma_dtod: f32, up_down: f32) -> PowStepParameters {
    PowStepParameters {
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
        pow_gamma: gamma,
        pow_gamma_dtod: gamma_dtod,
        pow_up_down: up_down,
        ..PowStepParameters::default()
    }
}

#[test]
fn power_step_follows_the_formula() {
    let rows = 4000;
    let (gamma, beta) = (2.0f64, 0.25f64);
    let p = pow_step(0.3, gamma as f32, 0.0, beta as f32);
    let mut tile = cpu_tile(
        single_pulse_config(DeviceConfig::PowStepDevice(p)),
        rows,
        1,
        7,
    );
    for w0 in [-0.7f32, 0.0, 0.6] {
        let omega = (1.0 - f64::from(w0)) / 2.0;
        for up in [true, false] {
            let step = if up {
                0.01 * omega.powf(gamma * (1.0 + beta))
            } else {
                -0.01 * (1.0 - omega).powf(gamma * (1.0 - beta))
            };
            let (m, sd) = mean_std(&one_pulse(&mut tile, &vec![w0; rows], up));
            let spread = 0.3 * step.abs();
            assert!(
                (m - step).abs() < 4.0 * spread / (rows as f64).sqrt() + 1e-7,
                "w0 {w0} up {up}: mean {m:.3e}, formula {step:.3e}"
            );
            assert!(
                (sd - spread).abs() < 0.08 * spread + 1e-7,
                "w0 {w0}: spread {sd}"
            );
        }
    }
}

#[test]
fn exponents_vary_from_device_to_device() {
    // No noise, γ = 1 with γ_dtod 0.2: from w = 0 (ω = 1/2) the up step is Δ⁺·(1/2)^γ⁺.
    let rows = 4000;
    let p = pow_step(0.0, 1.0, 0.2, 0.0);
    let mut tile = cpu_tile(
        single_pulse_config(DeviceConfig::PowStepDevice(p)),
        rows,
        1,
        8,
    );
    let dw = one_pulse(&mut tile, &vec![0.0; rows], true);
    let gammas: Vec<f64> = dw.iter().map(|d| (d / 0.01).ln() / 0.5f64.ln()).collect();
    let (m, sd) = mean_std(&gammas);
    assert!(
        (m - 1.0).abs() < 0.01 && (sd - 0.2).abs() < 0.01,
        "γ mean {m}, spread {sd}"
    );
}

#[test]
fn piecewise_step_interpolates_its_nodes() {
    use rpusim::config::PiecewiseStepParameters;
    let rows = 4000;
    let up_nodes = vec![1.5, 1.0, 0.2];
    let down_nodes = vec![0.3, 1.0, 2.0];
    let p = PiecewiseStepParameters {
        pulsed: pow_step(0.2, 1.0, 0.0, 0.0).pulsed,
        piecewise_up: up_nodes.clone(),
        piecewise_down: down_nodes.clone(),
        ..PiecewiseStepParameters::default()
    };
    let mut tile = cpu_tile(
        single_pulse_config(DeviceConfig::PiecewiseStepDevice(p)),
        rows,
        1,
        9,
    );
    // Nodes at w = −1, 0, 1: w = 0.5 lies halfway between nodes 1 and 2, −0.9 a tenth past node 0.
    for (w0, up_factor, down_factor) in [(0.5f32, 0.6, 1.5), (-0.9, 1.45, 0.37), (0.0, 1.0, 1.0)] {
        for (up, factor) in [(true, up_factor), (false, down_factor)] {
            let step = if up { 0.01 * factor } else { -0.01 * factor };
            let (m, sd) = mean_std(&one_pulse(&mut tile, &vec![w0; rows], up));
            let spread = 0.2 * f64::abs(step);
            assert!(
                (m - step).abs() < 4.0 * spread / (rows as f64).sqrt() + 1e-7,
                "w0 {w0} up {up}: mean {m:.4e}, formula {step:.4e}"
            );
            assert!((sd - spread).abs() < 0.08 * spread, "spread {sd}");
        }
    }
    assert_eq!(up_nodes.len(), down_nodes.len());
}
