//! Write noise, reference devices and stuck devices against their definitions (reference §4.1,
//! §4.2): the statistics of what each one adds to a device.

use crate::{cpu_tile, mean_std};
use rpusim::config::{
    ConstantStepParameters, DeviceConfig, LinearStepParameters, PowStepReferenceParameters,
    SoftBoundsReferenceParameters, TileConfig, UpdateParameters,
};
use rpusim::Tile;

fn hidden(t: &Tile, name: &str) -> Vec<f32> {
    t.hidden_weights()
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap()
        .1
}

fn device_array(t: &Tile, name: &str) -> Vec<f32> {
    t.state()
        .unwrap()
        .device
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no device array {name}"))
        .1
}

fn pulsed(dw_min: f32) -> ConstantStepParameters {
    ConstantStepParameters {
        dw_min,
        w_max: 1.0,
        w_min: -1.0,
        ..ConstantStepParameters::default()
    }
}

fn single_pulse(device: DeviceConfig) -> TileConfig {
    crate::single_pulse_config(device)
}

#[test]
fn write_noise_is_redrawn_for_the_written_devices_only() {
    let rows = 4000;
    let sigma = 0.02f64; // write_noise_std 2 × dw_min 0.01
    for on_set in [true, false] {
        let device = DeviceConfig::LinearStepDevice(LinearStepParameters {
            pulsed: pulsed(0.01),
            write_noise_std: 2.0,
            apply_write_noise_on_set: on_set,
            ..LinearStepParameters::default()
        });
        let mut t = cpu_tile(single_pulse(device), rows, 2, 4);
        t.set_weights(&vec![0.1; 2 * rows]).unwrap();
        let visible = t.weights().unwrap();
        let persistent = hidden(&t, "persistent_0");
        let noise: Vec<f64> = visible
            .iter()
            .zip(&persistent)
            .map(|(v, p)| f64::from(v - p))
            .collect();
        let (m, sd) = mean_std(&noise);
        if on_set {
            assert!(
                m.abs() < 4.0 * sigma / (noise.len() as f64).sqrt(),
                "mean {m}"
            );
            assert!((sd - sigma).abs() < 0.05 * sigma, "std {sd} vs {sigma}");
        } else {
            assert_eq!(sd, 0.0, "no write noise on set");
        }
        // One pulse on column 0 only: its visible weights get new noise, column 1 keeps its.
        let before = t.weights().unwrap();
        t.update(&[1.0, 0.0], &vec![-1.0; rows], 0.01).unwrap();
        let after = t.weights().unwrap();
        let persistent = hidden(&t, "persistent_0");
        let mut fresh = Vec::new();
        for i in 0..rows {
            assert_eq!(after[2 * i + 1], before[2 * i + 1], "column 1 untouched");
            fresh.push(f64::from(after[2 * i] - persistent[2 * i]));
            // The pulse acted on the persistent weight (0.1 + one step of about 0.01).
            let step = persistent[2 * i] - 0.1;
            assert!(step.abs() < 0.04, "{step}");
        }
        let (_, sd) = mean_std(&fresh);
        assert!((sd - sigma).abs() < 0.05 * sigma, "pulsed column std {sd}");
    }
}

fn reference_device(p: SoftBoundsReferenceParameters) -> DeviceConfig {
    DeviceConfig::SoftBoundsReferenceDevice(p)
}

#[test]
fn soft_bounds_reference_draws_its_reference_and_symmetry_point() {
    let p = SoftBoundsReferenceParameters {
        pulsed: ConstantStepParameters {
            dw_min: 0.01,
            up_down: 0.3,
            w_max: 1.25,
            w_min: -0.75,
            ..ConstantStepParameters::default()
        },
        reference_mean: 0.1,
        reference_std: 0.05,
        subtract_symmetry_point: true,
        slope_up_dtod: 0.2,
        ..SoftBoundsReferenceParameters::default()
    };
    let t = cpu_tile(single_pulse(reference_device(p)), 100, 50, 7);
    let reference = device_array(&t, "reference");
    let sp = device_array(&t, "symmetry_point");
    let (up, down) = (device_array(&t, "step_up"), device_array(&t, "step_down"));
    let (hi, lo) = (device_array(&t, "w_max"), device_array(&t, "w_min"));
    let mut offsets = Vec::new();
    for k in 0..reference.len() {
        // The symmetry point balances the soft-bounds steps: Δ⁺(1 − g/b_max) = Δ⁻(1 − g/b_min).
        let g = sp[k];
        let balance = up[k] * (1.0 - g / hi[k]) - down[k] * (1.0 - g / lo[k]);
        assert!(balance.abs() < 1e-6, "device {k}: {balance}");
        offsets.push(f64::from(reference[k] - sp[k]));
    }
    let (m, sd) = mean_std(&offsets);
    assert!((m - 0.1).abs() < 4.0 * 0.05 / 70.0, "reference mean {m}");
    assert!((sd - 0.05).abs() < 0.005, "reference std {sd}");
}

#[test]
fn soft_bounds_reference_drifts_to_visible_zero_when_the_symmetry_point_is_subtracted() {
    // Random up/down pulses pull a soft-bounds device to its symmetry point: the visible weight
    // goes to −(reference without the symmetry point), 0 here; without subtraction it goes to
    // the symmetry point itself.
    for subtract in [true, false] {
        let p = SoftBoundsReferenceParameters {
            pulsed: ConstantStepParameters {
                dw_min: 0.02,
                dw_min_std: 0.0,
                up_down: 0.4,
                w_max: 1.0,
                w_min: -1.0,
                ..ConstantStepParameters::default()
            },
            subtract_symmetry_point: subtract,
            ..SoftBoundsReferenceParameters::default()
        };
        let config = TileConfig {
            device: reference_device(p),
            update: UpdateParameters {
                desired_bl: 1,
                update_management: false,
                update_bl_management: false,
                ..UpdateParameters::default()
            },
            ..TileConfig::default()
        };
        let rows = 200;
        let mut t = cpu_tile(config, rows, 1, 5);
        for s in 0..600 {
            let d: Vec<f32> = crate::data(rows, 40 + s)
                .iter()
                .map(|v| if *v > 0.0 { 1.0 } else { -1.0 })
                .collect();
            t.update(&[1.0], &d, 0.02).unwrap();
        }
        let w: Vec<f64> = t.weights().unwrap().iter().map(|&v| f64::from(v)).collect();
        let (m, _) = mean_std(&w);
        let sp: f64 = if subtract {
            0.0
        } else {
            let s = device_array(&t, "step_up")
                .iter()
                .zip(device_array(&t, "step_down"))
                .zip(
                    device_array(&t, "w_max")
                        .iter()
                        .zip(device_array(&t, "w_min")),
                )
                .map(|((u, d), (h, l))| f64::from((u - d) / (u / h - d / l)))
                .sum::<f64>();
            s / rows as f64
        };
        assert!(
            (m - sp).abs() < 0.03,
            "subtract {subtract}: mean {m:.3} vs {sp:.3}"
        );
        if !subtract {
            // up_down > 0 shrinks the down steps: the symmetry point is well above 0.
            assert!(sp > 0.2, "symmetry point {sp}");
        }
    }
}

#[test]
fn pow_step_reference_subtracts_the_balance_point_of_its_steps() {
    let p = PowStepReferenceParameters {
        pulsed: ConstantStepParameters {
            dw_min: 0.01,
            up_down: 0.2,
            ..pulsed(0.01)
        },
        pow_gamma: 2.0,
        pow_up_down: 0.3,
        subtract_symmetry_point: true,
        ..PowStepReferenceParameters::default()
    };
    let t = cpu_tile(
        single_pulse(DeviceConfig::PowStepReferenceDevice(p)),
        20,
        20,
        3,
    );
    let sp = device_array(&t, "symmetry_point");
    let (up, down) = (device_array(&t, "step_up"), device_array(&t, "step_down"));
    let (gu, gd) = (
        device_array(&t, "pow_gamma_up"),
        device_array(&t, "pow_gamma_down"),
    );
    let (hi, lo) = (device_array(&t, "w_max"), device_array(&t, "w_min"));
    for k in 0..sp.len() {
        let range = hi[k] - lo[k];
        let balance = up[k] * ((hi[k] - sp[k]) / range).powf(gu[k])
            - down[k] * ((sp[k] - lo[k]) / range).powf(gd[k]);
        assert!(balance.abs() < 1e-6, "device {k}: {balance}");
        assert!(sp[k] > lo[k] && sp[k] < hi[k]);
    }
}

#[test]
fn corrupt_devices_are_stuck_at_a_value_in_their_range() {
    let p = ConstantStepParameters {
        corrupt_devices_prob: 0.2,
        corrupt_devices_range: 0.3,
        ..pulsed(0.01)
    };
    let rows = 5000;
    let mut t = cpu_tile(
        single_pulse(DeviceConfig::ConstantStepDevice(p)),
        rows,
        1,
        9,
    );
    t.set_weights(&vec![0.0; rows]).unwrap();
    let stuck0 = t.weights().unwrap();
    for _ in 0..5 {
        t.update(&[1.0], &vec![-1.0; rows], 0.01).unwrap();
    }
    let w = t.weights().unwrap();
    let (hi, lo) = (device_array(&t, "w_max"), device_array(&t, "w_min"));
    let mut stuck = 0;
    for k in 0..rows {
        if hi[k] == lo[k] {
            stuck += 1;
            assert!(hi[k].abs() <= 0.3, "stuck at {}", hi[k]);
            assert_eq!(w[k], stuck0[k], "a stuck device does not move");
            assert_eq!(w[k], hi[k], "set_weights clips to the stuck value");
        } else {
            // Five steps of 0.01 with 30 % device-to-device and pulse-to-pulse spread.
            assert!(w[k] > 0.0 && w[k] < 0.2, "a working device moves: {}", w[k]);
        }
    }
    let p_hat = stuck as f64 / rows as f64;
    assert!(
        (p_hat - 0.2).abs() < 4.0 * (0.2f64 * 0.8 / rows as f64).sqrt(),
        "{p_hat}"
    );
}
