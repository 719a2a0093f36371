//! The pulse types STOCHASTIC, MEAN_COUNT and DETERMINISTIC_IMPLICIT (rust/pulsed/dense.rs):
//! exact counts on an ideal constant step, thread-count independence, restores, and (with an
//! adapter) the gpu backend against the cpu backend for every device model and compounds.

use crate::{constant_step, cpu_tile, data};
use rpusim::config::{PulseType, UpdateParameters};
use rpusim::{BackendKind, Tile, TileConfig};

const NEW_TYPES: [PulseType; 3] = [
    PulseType::Stochastic,
    PulseType::MeanCount,
    PulseType::DeterministicImplicit,
];

fn with_pulse_type(mut config: TileConfig, pulse_type: PulseType) -> TileConfig {
    config.update = UpdateParameters {
        pulse_type,
        x_res_implicit: if pulse_type == PulseType::DeterministicImplicit {
            0.1
        } else {
            0.0
        },
        d_res_implicit: if pulse_type == PulseType::DeterministicImplicit {
            0.05
        } else {
            0.0
        },
        ..config.update
    };
    config
}

fn scaled(v: Vec<f32>, s: f32) -> Vec<f32> {
    v.into_iter().map(|x| x * s).collect()
}

/// The count of one (x, d) pair by the documented formulas, in float64 from the planning inputs
/// (update BL management and update management on, um_grad_scale = 1, no quantisation).
fn expected_counts(pulse_type: PulseType, x: &[f32], d: &[f32], lr: f64, g: f64) -> Vec<i64> {
    let xm = x.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
    let dm = d.iter().fold(0.0f64, |m, v| m.max(f64::from(v.abs())));
    let k = lr * xm * dm / g;
    let bl = k.ceil().clamp(1.0, 31.0);
    let dm_eff = if k > 31.0 { dm * 31.0 / k } else { dm };
    let base = (lr / (g * bl)).sqrt();
    let (a, b) = (base * (xm / dm_eff).sqrt(), base * (dm_eff / xm).sqrt());
    let mut out = Vec::new();
    for &di in d {
        for &xj in x {
            let px = b * f64::from(xj.abs());
            let pd = a * f64::from(di.abs());
            let magnitude = match pulse_type {
                PulseType::MeanCount => {
                    let nx = (bl * px).round_ties_even().min(bl);
                    let nd = (bl * pd).round_ties_even().min(bl);
                    (nd * nx / bl).round_ties_even()
                }
                _ => (bl * pd.min(1.0) * px.min(1.0)).round_ties_even(),
            } as i64;
            // W −= lr·d·x: a positive product is a down pulse.
            out.push(if (xj < 0.0) != (di < 0.0) {
                magnitude
            } else {
                -magnitude
            });
        }
    }
    out
}

#[test]
fn deterministic_counts_follow_their_formulas() {
    // Far bounds, no noise: each device moves by exactly (n_up − n_down)·dw_min. Values chosen
    // away from rounding ties so float32 and float64 planning agree.
    let (rows, cols) = (5, 7);
    let x: Vec<f32> = vec![0.9, -0.37, 0.11, 0.0, -0.73, 0.52, 0.21];
    let d: Vec<f32> = vec![0.31, -0.07, 0.19, -0.26, 0.013];
    for pulse_type in [PulseType::MeanCount, PulseType::DeterministicImplicit] {
        for lr in [0.01f32, 0.05, 0.4] {
            let config = with_pulse_type(constant_step(0.0, 100.0), pulse_type);
            let config = TileConfig {
                update: UpdateParameters {
                    x_res_implicit: 0.0,
                    d_res_implicit: 0.0,
                    ..config.update
                },
                ..config
            };
            let mut tile = cpu_tile(config, rows, cols, 3);
            tile.update(&x, &d, lr).unwrap();
            let w = tile.weights().unwrap();
            let expected = expected_counts(pulse_type, &x, &d, f64::from(lr), 0.001);
            for (k, (&wk, &e)) in w.iter().zip(&expected).enumerate() {
                let steps = f64::from(wk) / 0.001;
                assert!(
                    (steps - e as f64).abs() < 1e-3,
                    "{pulse_type:?} lr {lr} device {k}: {steps} pulses, expected {e}"
                );
                assert!(e.unsigned_abs() <= 31, "count above the BL cap");
            }
            assert!(expected.iter().any(|&e| e != 0));
        }
    }
}

#[test]
fn stochastic_draws_the_compressed_trains() {
    let (rows, cols, batch) = (9, 11, 5);
    let x = data(batch * cols, 1);
    let d = scaled(data(batch * rows, 2), 0.2);
    let run = |pulse_type| {
        let config = with_pulse_type(TileConfig::default(), pulse_type);
        let mut tile = cpu_tile(config, rows, cols, 17);
        for _ in 0..3 {
            tile.update(&x, &d, 0.1).unwrap();
        }
        tile.weights().unwrap()
    };
    let stochastic = run(PulseType::Stochastic);
    assert!(stochastic.iter().any(|&w| w != 0.0));
    assert_eq!(stochastic, run(PulseType::StochasticCompressed));
}

fn train(config: &TileConfig, threads: usize) -> Vec<f32> {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let (rows, cols, batch) = (40, 70, 8);
        let mut tile = cpu_tile(config.clone(), rows, cols, 5);
        tile.set_weights(&scaled(data(rows * cols, 1), 0.3))
            .unwrap();
        for step in 0..4 {
            let x = data(batch * cols, 100 + step);
            let d = scaled(data(batch * rows, 200 + step), 0.2);
            tile.update(&x, &d, 0.1).unwrap();
        }
        tile.weights().unwrap()
    })
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    for pulse_type in NEW_TYPES {
        let config = with_pulse_type(TileConfig::default(), pulse_type);
        let one = train(&config, 1);
        assert_eq!(one, train(&config, 2), "{pulse_type:?}");
    }
}

#[test]
fn saved_state_continues_identically() {
    let (rows, cols, batch) = (6, 8, 3);
    for pulse_type in NEW_TYPES {
        let config = with_pulse_type(TileConfig::default(), pulse_type);
        let mut tile = cpu_tile(config, rows, cols, 5);
        let x = data(batch * cols, 3);
        let d = scaled(data(batch * rows, 4), 0.2);
        tile.update(&x, &d, 0.1).unwrap();
        let mut copy = Tile::from_state(&tile.state().unwrap(), BackendKind::Cpu).unwrap();
        for _ in 0..3 {
            tile.update(&x, &d, 0.1).unwrap();
            copy.update(&x, &d, 0.1).unwrap();
        }
        assert_eq!(tile.weights().unwrap(), copy.weights().unwrap());
    }
}

#[test]
fn bad_resolutions_name_the_field() {
    for (x_res, d_res, field) in [
        (-0.1, 0.0, "update.x_res_implicit"),
        (1.5, 0.0, "update.x_res_implicit"),
        (0.0, f32::NAN, "update.d_res_implicit"),
        (0.0, 2.0, "update.d_res_implicit"),
    ] {
        let mut config = with_pulse_type(TileConfig::default(), PulseType::DeterministicImplicit);
        config.update.x_res_implicit = x_res;
        config.update.d_res_implicit = d_res;
        let err = Tile::new(config, 2, 2, 0, BackendKind::Cpu)
            .err()
            .expect("refused")
            .to_string();
        assert!(err.contains(field), "{err}");
    }
}

/// The gpu backend against the cpu backend for every device model and some compounds.
#[cfg(feature = "gpu")]
#[test]
fn the_gpu_backend_matches_the_cpu() {
    use rpusim::config::{
        ConstantStepParameters, DeviceConfig, ExpStepParameters, LinearStepParameters,
        OneSidedParameters, PiecewiseStepParameters, PowStepParameters,
        SoftBoundsReferenceParameters, TransferParameters,
    };
    if !crate::gpu_available() {
        return;
    }
    let pulsed = ConstantStepParameters {
        dw_min: 0.02,
        w_max: 0.3,
        w_min: -0.3,
        ..ConstantStepParameters::default()
    };
    let step = DeviceConfig::ConstantStepDevice(pulsed.clone());
    let reram = DeviceConfig::SoftBoundsReferenceDevice(SoftBoundsReferenceParameters {
        pulsed: pulsed.clone(),
        reference_std: 0.02,
        write_noise_std: 2.0,
        ..SoftBoundsReferenceParameters::default()
    });
    let devices = vec![
        constant_step(0.0, 100.0).device,
        step.clone(),
        DeviceConfig::LinearStepDevice(LinearStepParameters {
            pulsed: pulsed.clone(),
            gamma_up: 0.5,
            gamma_down: 0.5,
            ..LinearStepParameters::default()
        }),
        DeviceConfig::ExpStepDevice(ExpStepParameters::default()),
        DeviceConfig::PowStepDevice(PowStepParameters::default()),
        DeviceConfig::PiecewiseStepDevice(PiecewiseStepParameters {
            piecewise_up: vec![0.5, 1.0, 1.5],
            piecewise_down: vec![1.2, 1.0, 0.8],
            ..PiecewiseStepParameters::default()
        }),
        reram.clone(),
        DeviceConfig::OneSidedUnitCell(OneSidedParameters {
            unit_cell_devices: vec![step.clone(), step.clone()],
            refresh_every: 1,
            ..Default::default()
        }),
        DeviceConfig::TransferCompound(TransferParameters {
            unit_cell_devices: vec![step, reram],
            gamma: 0.3,
            fast_lr: 0.2,
            transfer_every: 1.0,
            ..Default::default()
        }),
    ];
    let (rows, cols, batch) = (9, 13, 6);
    for device in devices {
        for pulse_type in NEW_TYPES {
            let config = with_pulse_type(
                TileConfig {
                    device: device.clone(),
                    ..TileConfig::default()
                },
                pulse_type,
            );
            let mut cpu = Tile::new(config.clone(), rows, cols, 41, BackendKind::Cpu).unwrap();
            let mut gpu = Tile::new(config.clone(), rows, cols, 41, BackendKind::Gpu).unwrap();
            let w = scaled(data(rows * cols, 3), 0.1);
            cpu.set_weights(&w).unwrap();
            gpu.set_weights(&w).unwrap();
            for step in 0..3u32 {
                let x = data(batch * cols, 300 + step);
                let d = scaled(data(batch * rows, 400 + step), 0.5);
                cpu.update(&x, &d, 0.1).unwrap();
                gpu.update(&x, &d, 0.1).unwrap();
                cpu.post_update_step().unwrap();
                gpu.post_update_step().unwrap();
            }
            let (wc, wg) = (cpu.weights().unwrap(), gpu.weights().unwrap());
            assert!(wc.iter().zip(&w).any(|(a, b)| a != b), "nothing moved");
            let diff = wc
                .iter()
                .zip(&wg)
                .map(|(a, b)| (a - b).abs())
                .fold(0.0f32, f32::max);
            assert!(diff < 1e-5, "{pulse_type:?} {device:?}: differ by {diff}");
            let (hc, hg) = (cpu.hidden_weights().unwrap(), gpu.hidden_weights().unwrap());
            for ((name, a), (_, b)) in hc.iter().zip(&hg) {
                let diff = a
                    .iter()
                    .zip(b)
                    .map(|(p, q)| (p - q).abs())
                    .fold(0.0f32, f32::max);
                assert!(
                    diff < 1e-5,
                    "{pulse_type:?} {device:?}: {name} differs by {diff}"
                );
            }
        }
    }
}
