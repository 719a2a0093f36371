//! The gpu backend against the cpu backend: the same Philox bits, the same pulse counts, the same
//! weights and outputs to float rounding. Skipped (with the reason printed) without an adapter.

use crate::{constant_step, data, gpu_available};
use rpusim::config::{ConstantStepParameters, DeviceConfig, IoParameters};
use rpusim::rng::{normal_table, philox4x32_10};
use rpusim::{BackendKind, Tile, TileConfig};

fn pair(config: &TileConfig, rows: usize, cols: usize, seed: u64) -> (Tile, Tile) {
    let cpu = Tile::new(config.clone(), rows, cols, seed, BackendKind::Cpu).unwrap();
    let gpu = Tile::new(config.clone(), rows, cols, seed, BackendKind::Gpu).unwrap();
    (cpu, gpu)
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| (x - y).abs())
        .fold(0.0, f32::max)
}

fn scaled(v: Vec<f32>, s: f32) -> Vec<f32> {
    v.into_iter().map(|x| x * s).collect()
}

#[test]
fn every_kernel_compiles() {
    if !gpu_available() {
        return;
    }
    rpusim::backend::gpu::compile_all().unwrap();
}

#[test]
fn philox_and_normals_are_bit_identical() {
    if !gpu_available() {
        return;
    }
    let counters: Vec<[u32; 4]> = (0..4096u32)
        .map(|i| [i, i.wrapping_mul(0x9E37_79B9), 7 ^ i, u32::MAX - i])
        .chain([[0; 4], [u32::MAX; 4]])
        .collect();
    let key = [0xA409_3822, 0x299F_31D0];
    let (blocks, normals) = rpusim::backend::gpu::philox_on_gpu(&counters, key).unwrap();
    let table = normal_table();
    for (t, c) in counters.iter().enumerate() {
        let expected = philox4x32_10(*c, key);
        assert_eq!(blocks[t], expected, "counter {c:?}");
        for h in 0..8 {
            let bits = (expected[h / 2] >> (16 * (h % 2))) as u16;
            assert_eq!(normals[8 * t + h].to_bits(), table.sample(bits).to_bits());
        }
    }
}

#[test]
fn perfect_forward_and_backward_match() {
    if !gpu_available() {
        return;
    }
    let mut config = TileConfig::default();
    config.forward = IoParameters {
        is_perfect: true,
        ..IoParameters::default()
    };
    config.backward = config.forward.clone();
    let (rows, cols) = (70, 130);
    let (mut cpu, mut gpu) = pair(&config, rows, cols, 3);
    let w = scaled(data(rows * cols, 1), 0.5);
    cpu.set_weights(&w).unwrap();
    gpu.set_weights(&w).unwrap();
    // Batches up to 8 take the GEMV kernel, larger ones the tiled GEMM.
    for batch in [1, 3, 8, 9, 70] {
        let x = data(batch * cols, 2);
        let (mut yc, mut yg) = (vec![0.0; batch * rows], vec![0.0; batch * rows]);
        cpu.forward(&x, &mut yc).unwrap();
        gpu.forward(&x, &mut yg).unwrap();
        let diff = max_abs_diff(&yc, &yg);
        assert!(diff < 1e-4, "batch {batch}: forward differs by {diff}");
        let d = data(batch * rows, 3);
        let (mut zc, mut zg) = (vec![0.0; batch * cols], vec![0.0; batch * cols]);
        cpu.backward(&d, &mut zc).unwrap();
        gpu.backward(&d, &mut zg).unwrap();
        let diff = max_abs_diff(&zc, &zg);
        assert!(diff < 1e-4, "batch {batch}: backward differs by {diff}");
    }
}

/// Outputs with the default periphery: equal up to float rounding, which can move a value across
/// an ADC level (one output step) in rare cases.
fn assert_periphery_close(yc: &[f32], yg: &[f32], level: f32) {
    let mut off = 0;
    for (a, b) in yc.iter().zip(yg) {
        let d = (a - b).abs();
        if d > 1e-4 * (1.0 + a.abs()) {
            assert!(
                d <= level * 1.01,
                "outputs {a} vs {b} differ by more than one ADC level"
            );
            off += 1;
        }
    }
    assert!(
        off * 100 <= yc.len(),
        "{off} of {} outputs differ",
        yc.len()
    );
}

#[test]
fn default_periphery_matches_with_noise_and_bound_management() {
    if !gpu_available() {
        return;
    }
    let mut config = TileConfig::default();
    config.forward.inp_noise = 0.02;
    config.forward.w_noise = 0.01;
    config.forward.inp_sto_round = true;
    config.forward.out_sto_round = true;
    config.backward = config.forward.clone();
    let (rows, cols, batch) = (40, 96, 12);
    let (mut cpu, mut gpu) = pair(&config, rows, cols, 11);
    let mut w = scaled(data(rows * cols, 4), 0.6);
    w[..cols].fill(0.6);
    cpu.set_weights(&w).unwrap();
    gpu.set_weights(&w).unwrap();
    // Large inputs saturate the ADC: bound management re-reads them with the input halved.
    let mut x = data(batch * cols, 5);
    for v in &mut x[..cols] {
        *v = v.abs();
    }
    for step in 0..3 {
        let (mut yc, mut yg) = (vec![0.0; batch * rows], vec![0.0; batch * rows]);
        cpu.forward(&x, &mut yc).unwrap();
        gpu.forward(&x, &mut yg).unwrap();
        // One ADC level in the digital domain: 2·out_bound/(2^9 − 2) · α · reduction (≤ 2^5).
        assert_periphery_close(&yc, &yg, 24.0 / 510.0 * 32.0);
        assert!(
            yc.iter().any(|v| v.abs() > 12.0),
            "step {step}: bound management was not used"
        );
        let d = scaled(data(batch * rows, 6 + step), 0.2);
        let (mut zc, mut zg) = (vec![0.0; batch * cols], vec![0.0; batch * cols]);
        cpu.backward(&d, &mut zc).unwrap();
        gpu.backward(&d, &mut zg).unwrap();
        assert_periphery_close(&zc, &zg, 24.0 / 510.0 * 0.2);
    }
}

/// Trains both backends on the same data; returns (cpu weights, gpu weights) after each step.
fn train_both(
    config: &TileConfig,
    rows: usize,
    cols: usize,
    steps: u32,
    lr: f32,
) -> Vec<(Vec<f32>, Vec<f32>)> {
    let (mut cpu, mut gpu) = pair(config, rows, cols, 21);
    let w = scaled(data(rows * cols, 7), 0.05);
    cpu.set_weights(&w).unwrap();
    gpu.set_weights(&w).unwrap();
    let batch = 10;
    let mut history = Vec::new();
    for step in 0..steps {
        let x = data(batch * cols, 30 + step);
        let d = scaled(data(batch * rows, 60 + step), 0.3);
        cpu.update(&x, &d, lr).unwrap();
        gpu.update(&x, &d, lr).unwrap();
        cpu.post_update_step().unwrap();
        gpu.post_update_step().unwrap();
        history.push((cpu.weights().unwrap(), gpu.weights().unwrap()));
    }
    history
}

#[test]
fn pulse_counts_are_bit_identical() {
    if !gpu_available() {
        return;
    }
    // No cycle-to-cycle noise, no variation, far bounds: w = w0 + (n_up − n_down)·dw_min exactly
    // up to float rounding, so the counts can be read off the weights.
    let config = constant_step(0.0, 100.0);
    let dw_min = 0.001;
    for (step, (wc, wg)) in train_both(&config, 33, 70, 5, 0.1).into_iter().enumerate() {
        let mut moved = 0;
        for (a, b) in wc.iter().zip(&wg) {
            let steps_apart = (a - b) / dw_min;
            assert!(steps_apart.abs() < 0.01, "step {step}: {a} vs {b}");
            moved += usize::from(*a != 0.0);
        }
        assert!(moved > wc.len() / 2, "too few devices were pulsed");
    }
}

#[test]
fn noisy_devices_with_bounds_and_decay_match() {
    if !gpu_available() {
        return;
    }
    // Default constant step (dtod, ctoc noise) with tight bounds: many devices reach them and take
    // the replay path; decay and diffusion run once per step.
    let config = TileConfig {
        device: DeviceConfig::ConstantStepDevice(ConstantStepParameters {
            w_max: 0.02,
            w_min: -0.02,
            lifetime: 50.0,
            diffusion: 0.001,
            ..ConstantStepParameters::default()
        }),
        ..TileConfig::default()
    };
    let history = train_both(&config, 24, 40, 8, 0.2);
    for (step, (wc, wg)) in history.iter().enumerate() {
        let diff = max_abs_diff(wc, wg);
        assert!(diff < 1e-5, "step {step}: max |cpu − gpu| = {diff}");
    }
    let (wc, _) = history.last().unwrap();
    let at_bound = wc.iter().filter(|w| w.abs() > 0.015).count();
    assert!(
        at_bound > 0,
        "no device came near a bound: the replay path was not exercised"
    );
}

#[test]
fn exact_update_matches() {
    if !gpu_available() {
        return;
    }
    let config = TileConfig {
        device: DeviceConfig::FloatingPointDevice(Default::default()),
        ..TileConfig::default()
    };
    for (wc, wg) in train_both(&config, 17, 23, 3, 0.1) {
        assert!(max_abs_diff(&wc, &wg) < 1e-5);
    }
}

#[test]
fn moving_between_backends_continues_exactly() {
    if !gpu_available() {
        return;
    }
    let config = constant_step(0.0, 100.0);
    let (rows, cols, batch) = (16, 24, 6);
    let mut a = Tile::new(config.clone(), rows, cols, 5, BackendKind::Cpu).unwrap();
    let mut b = Tile::new(config, rows, cols, 5, BackendKind::Cpu).unwrap();
    for step in 0..6 {
        if step == 2 {
            b.to_backend(BackendKind::Gpu).unwrap();
        }
        if step == 4 {
            b.to_backend(BackendKind::Cpu).unwrap();
        }
        let x = data(batch * cols, 300 + step);
        let d = scaled(data(batch * rows, 400 + step), 0.2);
        a.update(&x, &d, 0.1).unwrap();
        b.update(&x, &d, 0.1).unwrap();
    }
    assert_eq!(a.counters(), b.counters());
    assert!(max_abs_diff(&a.weights().unwrap(), &b.weights().unwrap()) < 1e-5);
}

#[test]
fn tiles_split_into_row_bands_match_the_cpu() {
    use rpusim::backend::{gpu::GpuTile, ArrayUpdate, CpuTile, TileBackend, Visible};
    use rpusim::pulsed::{CapturePlan, Lr, Polarity};
    if !gpu_available() {
        return;
    }
    // 37 rows × 48 columns with bindings of at most 2 KiB: bands of 10 rows (4 bands), or of 5
    // (8 bands) for linear steps, whose two slopes share a binding. Decay, diffusion and bounds run
    // band by band; the noise counters use the global row.
    let pulsed = ConstantStepParameters {
        w_max: 0.05,
        w_min: -0.05,
        lifetime: 40.0,
        diffusion: 0.002,
        ..ConstantStepParameters::default()
    };
    let linear = rpusim::config::LinearStepParameters {
        pulsed: pulsed.clone(),
        gamma_up: 1.0,
        gamma_down: 1.0,
        ..Default::default()
    };
    let cases = [
        DeviceConfig::ConstantStepDevice(pulsed),
        DeviceConfig::LinearStepDevice(linear),
    ];
    for device in cases {
        let config = TileConfig {
            device,
            ..TileConfig::default()
        };
        let (rows, cols, batch) = (37, 48, 5);
        let mut cpu = CpuTile::new(config.clone(), rows, cols, 8, Visible::Array(0)).unwrap();
        // 16 bytes per device in the widest binding: 10 rows per band.
        let limit = (cols * 16 * 10) as u64;
        let mut gpu =
            GpuTile::with_binding_limit(config.clone(), rows, cols, 8, Visible::Array(0), limit)
                .unwrap();
        let bands = gpu.band_count();
        assert_eq!(bands, 4);
        let w = scaled(data(rows * cols, 9), 0.04);
        cpu.set_weights(0, &w, 0).unwrap();
        gpu.set_weights(0, &w, 0).unwrap();
        let none = CapturePlan::default();
        for step in 0..4u32 {
            let x = data(batch * cols, 500 + step);
            let d = scaled(data(batch * rows, 600 + step), 0.3);
            let (mut yc, mut yg) = (vec![0.0; batch * rows], vec![0.0; batch * rows]);
            cpu.forward(&x, batch, &mut yc, step).unwrap();
            gpu.forward(&x, batch, &mut yg, step).unwrap();
            assert_periphery_close(&yc, &yg, 24.0 / 510.0 * 32.0);
            let (mut zc, mut zg) = (vec![0.0; batch * cols], vec![0.0; batch * cols]);
            cpu.backward(&d, batch, &mut zc, step).unwrap();
            gpu.backward(&d, batch, &mut zg, step).unwrap();
            assert_periphery_close(&zc, &zg, 24.0 / 510.0);
            let u = ArrayUpdate {
                array: 0,
                x: &x,
                d: &d,
                batch,
                lr: Lr::Same(0.2),
                up: &config.update,
                granularity: config.device.granularity(),
                seed: 8,
                noise_seed: 8,
                step,
                polarity: Polarity::Both,
                captures: &none,
            };
            cpu.update(&u).unwrap();
            gpu.update(&u).unwrap();
            cpu.post_update(0, step).unwrap();
            gpu.post_update(0, step).unwrap();
            let diff = max_abs_diff(&cpu.weights(None).unwrap(), &gpu.weights(None).unwrap());
            assert!(
                diff < 1e-5,
                "{bands} bands, step {step}: max |cpu − gpu| = {diff}"
            );
        }
    }
}

#[test]
fn linear_step_and_soft_bounds_match() {
    if !gpu_available() {
        return;
    }
    use rpusim::config::LinearStepParameters;
    for (gamma, mult_noise, mean_reference) in [(1.0, true, false), (0.4, false, true)] {
        let config = TileConfig {
            device: DeviceConfig::LinearStepDevice(LinearStepParameters {
                pulsed: ConstantStepParameters {
                    w_max: 0.1,
                    w_min: -0.08,
                    ..ConstantStepParameters::default()
                },
                gamma_up: gamma,
                gamma_down: gamma,
                mult_noise,
                mean_bound_reference: mean_reference,
                ..LinearStepParameters::default()
            }),
            ..TileConfig::default()
        };
        let history = train_both(&config, 19, 33, 6, 0.2);
        for (step, (wc, wg)) in history.iter().enumerate() {
            let diff = max_abs_diff(wc, wg);
            assert!(
                diff < 1e-5,
                "γ {gamma} step {step}: max |cpu − gpu| = {diff}"
            );
        }
        let (wc, _) = history.last().unwrap();
        assert!(
            wc.iter().filter(|w| w.abs() > 0.01).count() > 10,
            "too few devices moved"
        );
    }
}

#[test]
fn exp_step_matches() {
    if !gpu_available() {
        return;
    }
    use rpusim::config::ExpStepParameters;
    for (std_add, std_slope) in [(0.0, 0.0), (0.002, 0.05)] {
        let config = TileConfig {
            device: DeviceConfig::ExpStepDevice(ExpStepParameters {
                pulsed: ConstantStepParameters {
                    w_max: 0.1,
                    w_min: -0.1,
                    ..ConstantStepParameters::default()
                },
                dw_min_std_add: std_add,
                dw_min_std_slope: std_slope,
                ..ExpStepParameters::default()
            }),
            ..TileConfig::default()
        };
        for (step, (wc, wg)) in train_both(&config, 21, 30, 6, 0.2).iter().enumerate() {
            let diff = max_abs_diff(wc, wg);
            assert!(
                diff < 1e-5,
                "std_add {std_add} step {step}: max |cpu − gpu| = {diff}"
            );
        }
    }
}

#[test]
fn power_step_matches() {
    if !gpu_available() {
        return;
    }
    use rpusim::config::PowStepParameters;
    let config = TileConfig {
        device: DeviceConfig::PowStepDevice(PowStepParameters {
            pulsed: ConstantStepParameters {
                w_max: 0.1,
                w_min: -0.1,
                ..ConstantStepParameters::default()
            },
            pow_gamma: 1.5,
            pow_up_down: 0.2,
            ..PowStepParameters::default()
        }),
        ..TileConfig::default()
    };
    for (step, (wc, wg)) in train_both(&config, 21, 30, 6, 0.2).iter().enumerate() {
        let diff = max_abs_diff(wc, wg);
        assert!(diff < 1e-5, "step {step}: max |cpu − gpu| = {diff}");
    }
}

#[test]
fn piecewise_step_matches() {
    if !gpu_available() {
        return;
    }
    use rpusim::config::PiecewiseStepParameters;
    let config = TileConfig {
        device: DeviceConfig::PiecewiseStepDevice(PiecewiseStepParameters {
            pulsed: ConstantStepParameters {
                w_max: 0.1,
                w_min: -0.1,
                ..ConstantStepParameters::default()
            },
            piecewise_up: vec![1.4, 1.1, 0.9, 0.3],
            piecewise_down: vec![0.2, 0.8, 1.0, 1.6],
            ..PiecewiseStepParameters::default()
        }),
        ..TileConfig::default()
    };
    for (step, (wc, wg)) in train_both(&config, 21, 30, 6, 0.2).iter().enumerate() {
        let diff = max_abs_diff(wc, wg);
        assert!(diff < 1e-5, "step {step}: max |cpu − gpu| = {diff}");
    }
}

/// Every unit cell and compound, with write noise and reference devices: the same weights, hidden
/// arrays and buffers on both backends after several updates (reads in the middle of batches,
/// choppers, resets, refreshes and the mixed-precision accumulator included).
#[test]
fn unit_cells_and_compounds_match() {
    if !gpu_available() {
        return;
    }
    use rpusim::config::{
        LinearStepParameters, MixedPrecisionParameters, OneSidedParameters,
        SoftBoundsReferenceParameters, TransferParameters, UpdatePolicy, VectorCellParameters,
    };
    let pulsed = ConstantStepParameters {
        dw_min: 0.02,
        w_max: 0.6,
        w_min: -0.6,
        ..ConstantStepParameters::default()
    };
    let sb = DeviceConfig::LinearStepDevice(LinearStepParameters {
        pulsed: pulsed.clone(),
        gamma_up: 1.0,
        gamma_down: 1.0,
        mean_bound_reference: false,
        write_noise_std: 1.5,
        ..LinearStepParameters::default()
    });
    let reram = DeviceConfig::SoftBoundsReferenceDevice(SoftBoundsReferenceParameters {
        pulsed: ConstantStepParameters {
            up_down: 0.1,
            ..pulsed.clone()
        },
        subtract_symmetry_point: true,
        reference_std: 0.02,
        write_noise_std: 2.0,
        ..SoftBoundsReferenceParameters::default()
    });
    let step = DeviceConfig::ConstantStepDevice(pulsed.clone());
    let one_sided = DeviceConfig::ConstantStepDevice(ConstantStepParameters {
        w_min: 0.0,
        w_max: 0.3,
        ..pulsed
    });
    let configs = vec![
        DeviceConfig::VectorUnitCell(VectorCellParameters {
            unit_cell_devices: vec![sb.clone(), step.clone()],
            update_policy: UpdatePolicy::SingleRandom,
            ..Default::default()
        }),
        DeviceConfig::VectorUnitCell(VectorCellParameters {
            unit_cell_devices: vec![step.clone(), sb.clone()],
            ..Default::default()
        }),
        DeviceConfig::OneSidedUnitCell(OneSidedParameters {
            unit_cell_devices: vec![one_sided.clone(), one_sided],
            refresh_every: 1,
            ..Default::default()
        }),
        DeviceConfig::TransferCompound(TransferParameters {
            unit_cell_devices: vec![step.clone(), reram.clone(), reram.clone()],
            gamma: 0.3,
            fast_lr: 0.2,
            transfer_every: 0.5,
            n_reads_per_transfer: 2,
            with_reset_prob: 0.2,
            ..Default::default()
        }),
        DeviceConfig::BufferedTransferCompound(TransferParameters {
            unit_cell_devices: vec![reram.clone(), reram.clone()],
            fast_lr: 0.2,
            units_in_mbatch: false,
            transfer_every: 2.0,
            ..TransferParameters::buffered()
        }),
        DeviceConfig::ChoppedTransferCompound(TransferParameters {
            unit_cell_devices: vec![reram.clone(), sb.clone()],
            fast_lr: 0.2,
            auto_scale: true,
            in_chop_prob: 0.3,
            out_chop_prob: 0.3,
            ..TransferParameters::chopped()
        }),
        DeviceConfig::DynamicTransferCompound(TransferParameters {
            unit_cell_devices: vec![reram.clone(), reram],
            fast_lr: 0.2,
            in_chop_prob: 0.3,
            ..TransferParameters::dynamic()
        }),
        DeviceConfig::MixedPrecisionCompound(MixedPrecisionParameters {
            device: Box::new(sb),
            n_x_bins: 7,
            ..Default::default()
        }),
    ];
    let (rows, cols, batch) = (9, 13, 6);
    for device in configs {
        let config = TileConfig {
            device,
            ..TileConfig::default()
        };
        let (mut cpu, mut gpu) = pair(&config, rows, cols, 41);
        let w = scaled(data(rows * cols, 3), 0.2);
        cpu.set_weights(&w).unwrap();
        gpu.set_weights(&w).unwrap();
        for step in 0..5u32 {
            let x = data(batch * cols, 300 + step);
            let d = scaled(data(batch * rows, 400 + step), 0.5);
            cpu.update(&x, &d, 0.1).unwrap();
            gpu.update(&x, &d, 0.1).unwrap();
            cpu.post_update_step().unwrap();
            gpu.post_update_step().unwrap();
        }
        let diff = max_abs_diff(&cpu.weights().unwrap(), &gpu.weights().unwrap());
        assert!(diff < 1e-5, "{:?}: weights differ by {diff}", config.device);
        let (hc, hg) = (cpu.hidden_weights().unwrap(), gpu.hidden_weights().unwrap());
        for ((name, a), (_, b)) in hc.iter().zip(&hg) {
            let diff = max_abs_diff(a, b);
            assert!(diff < 1e-5, "{:?}: {name} differs by {diff}", config.device);
        }
    }
}

#[test]
fn reads_taken_during_the_update_match() {
    if !gpu_available() {
        return;
    }
    use rpusim::config::LinearStepParameters;
    use rpusim::pulsed::{Capture, CapturePlan};
    let devices = [
        DeviceConfig::ConstantStepDevice(ConstantStepParameters::default()),
        DeviceConfig::LinearStepDevice(LinearStepParameters {
            gamma_up: 0.5,
            gamma_down: 0.5,
            write_noise_std: 3.0,
            ..Default::default()
        }),
    ];
    let (rows, cols, batch) = (11, 7, 20);
    for device in devices {
        for by_rows in [false, true] {
            let config = TileConfig {
                device: device.clone(),
                ..TileConfig::default()
            };
            let mut cpu = rpusim::backend::CpuTile::new(
                config.clone(),
                rows,
                cols,
                5,
                rpusim::backend::Visible::Array(0),
            )
            .unwrap();
            let mut gpu = rpusim::backend::gpu::GpuTile::new(
                config.clone(),
                rows,
                cols,
                5,
                rpusim::backend::Visible::Array(0),
            )
            .unwrap();
            use rpusim::backend::TileBackend;
            let w = scaled(data(rows * cols, 8), 0.3);
            cpu.set_weights(0, &w, 0).unwrap();
            gpu.set_weights(0, &w, 0).unwrap();
            let events = (0..batch as u32)
                .step_by(3)
                .map(|v| Capture {
                    vector: v,
                    index: v % if by_rows { rows as u32 } else { cols as u32 },
                })
                .collect();
            let plan = CapturePlan { by_rows, events };
            let x = data(batch * cols, 81);
            let d = data(batch * rows, 82);
            let u = rpusim::backend::ArrayUpdate {
                array: 0,
                x: &x,
                d: &d,
                batch,
                lr: rpusim::pulsed::Lr::Same(0.3),
                up: &config.update,
                granularity: config.device.granularity(),
                seed: 5,
                noise_seed: 6,
                step: 0,
                polarity: rpusim::pulsed::Polarity::Both,
                captures: &plan,
            };
            let rc = cpu.update(&u).unwrap();
            let rg = gpu.update(&u).unwrap();
            assert_eq!(rc.len(), rg.len());
            let diff = max_abs_diff(&rc, &rg);
            assert!(
                diff < 1e-5,
                "{device:?} rows {by_rows}: reads differ by {diff}"
            );
            let diff = max_abs_diff(&cpu.weights(None).unwrap(), &gpu.weights(None).unwrap());
            assert!(diff < 1e-5, "weights differ by {diff}");
        }
    }
}

/// The CPU applies pulse-by-pulse devices in one of two orders (slot by slot when pulses are
/// sparse, device by device when dense); each gives every device the same pulses and normals,
/// so both match the GPU's device-by-device kernel.
#[test]
fn sparse_and_dense_pulse_orders_match() {
    if !gpu_available() {
        return;
    }
    use rpusim::config::LinearStepParameters;
    let config = TileConfig {
        device: DeviceConfig::LinearStepDevice(LinearStepParameters {
            gamma_up: 1.0,
            gamma_down: 1.0,
            mean_bound_reference: false,
            ..LinearStepParameters::default()
        }),
        ..TileConfig::default()
    };
    let (rows, cols, batch) = (24, 40, 16);
    for lr in [0.002, 0.5] {
        let (mut cpu, mut gpu) = pair(&config, rows, cols, 17);
        let w = scaled(data(rows * cols, 5), 0.2);
        cpu.set_weights(&w).unwrap();
        gpu.set_weights(&w).unwrap();
        for step in 0..3u32 {
            let x = data(batch * cols, 700 + step);
            let d = scaled(data(batch * rows, 800 + step), 0.5);
            cpu.update(&x, &d, lr).unwrap();
            gpu.update(&x, &d, lr).unwrap();
        }
        let (wc, wg) = (cpu.weights().unwrap(), gpu.weights().unwrap());
        let moved = max_abs_diff(&wc, &w);
        assert!(
            moved > 10.0 * 0.001,
            "lr {lr}: the weights moved by {moved}"
        );
        let diff = max_abs_diff(&wc, &wg);
        assert!(diff < 1e-5, "lr {lr}: max |cpu − gpu| = {diff}");
    }
}

#[test]
fn drift_between_updates_matches() {
    if !gpu_available() {
        return;
    }
    use rpusim::config::{DriftParameters, LinearStepParameters};
    // Drift with every extra on, on a device with write noise: the persistent weights drift and
    // the visible ones are redrawn, between pulsed updates that restart some devices' clocks.
    let device = DeviceConfig::LinearStepDevice(LinearStepParameters {
        pulsed: ConstantStepParameters {
            drift: DriftParameters {
                nu: 0.1,
                nu_dtod: 0.2,
                nu_std: 0.1,
                nu_k: 0.02,
                w_noise_std: 0.001,
                ..DriftParameters::default()
            },
            ..ConstantStepParameters::default()
        },
        write_noise_std: 1.0,
        ..LinearStepParameters::default()
    });
    let config = TileConfig {
        device,
        ..TileConfig::default()
    };
    let (rows, cols) = (20, 30);
    let (mut cpu, mut gpu) = pair(&config, rows, cols, 4);
    let w = scaled(data(rows * cols, 3), 0.3);
    for tile in [&mut cpu, &mut gpu] {
        tile.set_weights(&w).unwrap();
        tile.drift_weights(5.0).unwrap();
        tile.update(&data(cols, 8), &scaled(data(rows, 9), 0.1), 0.1)
            .unwrap();
        tile.drift_weights(50.0).unwrap();
    }
    let diff = max_abs_diff(&cpu.weights().unwrap(), &gpu.weights().unwrap());
    assert!(diff < 1e-6, "max |cpu − gpu| = {diff}");
    assert_ne!(cpu.weights().unwrap(), w, "the weights moved");
}
