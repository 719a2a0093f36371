//! Unit cells and compounds against their rules (reference §6), with deterministic pulses where
//! the rule is exact: noiseless constant steps of 0.01 and trains that always fire, so an update
//! with x_j, d_i = ±1 at the granularity's rate moves each device by exactly one step.

use rpusim::config::{
    ConstantStepParameters, DeviceConfig, IoParameters, MixedPrecisionParameters,
    OneSidedParameters, TileConfig, TransferParameters, UpdateParameters, UpdatePolicy,
    VectorCellParameters,
};
use rpusim::{BackendKind, Tile};

fn exact_pulses(bl: u32) -> UpdateParameters {
    UpdateParameters {
        desired_bl: bl,
        update_management: false,
        update_bl_management: false,
        ..UpdateParameters::default()
    }
}

fn step_device(w_min: f32) -> DeviceConfig {
    DeviceConfig::ConstantStepDevice(ConstantStepParameters {
        dw_min: 0.01,
        dw_min_dtod: 0.0,
        dw_min_std: 0.0,
        up_down_dtod: 0.0,
        w_max: 1.0,
        w_min,
        w_max_dtod: 0.0,
        w_min_dtod: 0.0,
        reset_std: 0.0,
        ..ConstantStepParameters::default()
    })
}

fn tile(device: DeviceConfig, update: UpdateParameters, rows: usize, cols: usize) -> Tile {
    let config = TileConfig {
        device,
        update,
        ..TileConfig::default()
    };
    Tile::new(config, rows, cols, 11, BackendKind::Cpu).unwrap()
}

fn hidden(t: &Tile, name: &str) -> Vec<f32> {
    t.hidden_weights()
        .unwrap()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no hidden array {name}"))
        .1
}

fn close(a: &[f32], b: &[f32], what: &str) {
    for (k, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() < 1e-5, "{what}[{k}]: {x} vs {y}");
    }
}

/// One vector: x = 1 everywhere, d = −1 everywhere (each device one step up).
fn up_all(t: &mut Tile, lr: f32) {
    let (rows, cols) = (t.rows(), t.cols());
    t.update(&vec![1.0; cols], &vec![-1.0; rows], lr).unwrap();
}

#[test]
fn vector_cell_policies_pick_the_pulsed_devices() {
    let devices = vec![step_device(-1.0); 3];
    let cases = [
        (UpdatePolicy::All, vec![[1, 1, 1], [2, 2, 2], [3, 3, 3]]),
        (
            UpdatePolicy::SingleFixed,
            vec![[0, 1, 0], [0, 2, 0], [0, 3, 0]],
        ),
        (
            UpdatePolicy::SingleSequential,
            vec![[0, 0, 1], [1, 0, 1], [1, 1, 1]],
        ),
    ];
    for (policy, steps) in cases {
        let cell = VectorCellParameters {
            unit_cell_devices: devices.clone(),
            update_policy: policy,
            first_update_idx: 1,
            ..VectorCellParameters::default()
        };
        let mut t = tile(DeviceConfig::VectorUnitCell(cell), exact_pulses(1), 2, 3);
        for expected in steps {
            up_all(&mut t, 0.01);
            for (k, &n) in expected.iter().enumerate() {
                let w = hidden(&t, &format!("array_{k}"));
                close(&w, &[0.01 * n as f32; 6], &format!("{policy:?} array {k}"));
            }
            // The visible weight is the mean of the three.
            let mean = expected.iter().sum::<usize>() as f32 * 0.01 / 3.0;
            close(&t.weights().unwrap(), &[mean; 6], "visible");
        }
    }
}

#[test]
fn random_single_device_updates_spread_over_the_devices() {
    let cell = VectorCellParameters {
        unit_cell_devices: vec![step_device(-1.0); 4],
        update_policy: UpdatePolicy::SingleRandom,
        ..VectorCellParameters::default()
    };
    let mut t = tile(DeviceConfig::VectorUnitCell(cell), exact_pulses(1), 1, 1);
    for _ in 0..80 {
        up_all(&mut t, 0.01);
    }
    let counts: Vec<f32> = (0..4)
        .map(|k| (hidden(&t, &format!("array_{k}"))[0] / 0.01).round())
        .collect();
    assert_eq!(counts.iter().sum::<f32>(), 80.0, "{counts:?}");
    // 80 picks of 4: each count is 20 ± 3.9 (binomial); all within 4 sd.
    assert!(
        counts.iter().all(|&c| (c - 20.0).abs() < 16.0),
        "{counts:?}"
    );
}

#[test]
fn reference_cell_subtracts_a_fixed_reference() {
    let cell = VectorCellParameters {
        unit_cell_devices: vec![step_device(-1.0); 2],
        update_policy: UpdatePolicy::SingleFixed,
        ..VectorCellParameters::default()
    };
    let mut t = tile(DeviceConfig::ReferenceUnitCell(cell), exact_pulses(1), 2, 2);
    t.set_weights(&[0.1, -0.2, 0.3, 0.0]).unwrap();
    close(&hidden(&t, "array_1"), &[0.0; 4], "reference after set");
    up_all(&mut t, 0.01);
    close(
        &hidden(&t, "array_0"),
        &[0.11, -0.19, 0.31, 0.01],
        "pulsed device",
    );
    close(
        &t.weights().unwrap(),
        &[0.11, -0.19, 0.31, 0.01],
        "W = W0 − W1",
    );
}

#[test]
fn one_sided_pair_splits_the_pulses_and_refreshes_saturated_pairs() {
    let p = OneSidedParameters {
        unit_cell_devices: vec![step_device(0.0), step_device(0.0)],
        refresh_every: 1,
        refresh_lower_thres: 0.245,
        refresh_forward: IoParameters::perfect(),
        refresh_update: UpdateParameters {
            desired_bl: 100,
            ..UpdateParameters::default()
        },
        ..OneSidedParameters::default()
    };
    let mut t = tile(DeviceConfig::OneSidedUnitCell(p), exact_pulses(1), 1, 2);
    t.set_weights(&[0.3, -0.2]).unwrap();
    close(
        &hidden(&t, "array_1"),
        &[0.3, 0.0],
        "W⁺ takes the positive part",
    );
    close(&hidden(&t, "array_0"), &[0.0, 0.2], "W⁻ the negative part");
    // Down pulses on device 0, up pulses on device 1: both halves only grow.
    t.update(&[1.0, -1.0], &[1.0], 0.01).unwrap();
    close(&hidden(&t, "array_1"), &[0.3, 0.01], "up pulse to W⁺");
    close(&hidden(&t, "array_0"), &[0.01, 0.2], "down pulse to W⁻");
    close(&t.weights().unwrap(), &[0.29, -0.19], "W = W⁺ − W⁻");
    // Column 0: W⁺ up to 0.9 (W⁻ = 0: no refresh), then W⁻ up: at 0.25 it passes the lower
    // threshold (0.245 of w_max 1) while W⁺ is above the upper (0.75): both are reset to 0 and
    // the difference 0.65 is written into W⁺ (65 pulses).
    t.set_weights(&[0.0, 0.0]).unwrap();
    for _ in 0..90 {
        t.update(&[-1.0, 0.0], &[1.0], 0.01).unwrap();
    }
    for _ in 0..24 {
        t.update(&[1.0, 0.0], &[1.0], 0.01).unwrap();
    }
    close(&hidden(&t, "array_1"), &[0.9, 0.0], "W⁺ before the refresh");
    close(
        &hidden(&t, "array_0"),
        &[0.24, 0.0],
        "W⁻ before the refresh",
    );
    t.update(&[1.0, 0.0], &[1.0], 0.01).unwrap();
    close(&hidden(&t, "array_1"), &[0.65, 0.0], "W⁺ rewritten");
    close(&hidden(&t, "array_0"), &[0.0, 0.0], "W⁻ reset");
    close(
        &t.weights().unwrap(),
        &[0.65, 0.0],
        "the weight survives the refresh",
    );
}

fn transfer(kind: &str, p: TransferParameters) -> DeviceConfig {
    match kind {
        "plain" => DeviceConfig::TransferCompound(p),
        "buffered" => DeviceConfig::BufferedTransferCompound(p),
        "chopped" => DeviceConfig::ChoppedTransferCompound(p),
        _ => DeviceConfig::DynamicTransferCompound(p),
    }
}

#[test]
fn tiki_taka_moves_the_read_column_of_a_into_c() {
    let p = TransferParameters {
        unit_cell_devices: vec![step_device(-1.0), step_device(-1.0)],
        fast_lr: 0.01,
        transfer_forward: IoParameters::perfect(),
        ..TransferParameters::default()
    };
    let mut t = tile(transfer("plain", p), exact_pulses(1), 3, 2);
    let x = [1.0, 0.0];
    let d = [-1.0; 3];
    // After each mini-batch one column is read: 0, 1, 0, 1, ... and C[:, i] += lr·A[:, i].
    t.update(&x, &d, 1.0).unwrap();
    close(
        &hidden(&t, "array_0"),
        &[0.01, 0.0, 0.01, 0.0, 0.01, 0.0],
        "A",
    );
    close(
        &t.weights().unwrap(),
        &[0.01, 0.0, 0.01, 0.0, 0.01, 0.0],
        "C after read 0",
    );
    t.update(&x, &d, 1.0).unwrap(); // reads column 1 (empty)
    close(
        &t.weights().unwrap(),
        &[0.01, 0.0, 0.01, 0.0, 0.01, 0.0],
        "C after read 1",
    );
    t.update(&x, &d, 1.0).unwrap(); // A[:, 0] = 0.03: three more steps
    close(
        &t.weights().unwrap(),
        &[0.04, 0.0, 0.04, 0.0, 0.04, 0.0],
        "C after read 2",
    );
}

#[test]
fn reads_in_the_middle_of_a_batch_see_a_at_that_vector() {
    let p = TransferParameters {
        unit_cell_devices: vec![step_device(-1.0), step_device(-1.0)],
        fast_lr: 0.01,
        transfer_every: 2.0,
        units_in_mbatch: false,
        transfer_forward: IoParameters::perfect(),
        ..TransferParameters::default()
    };
    let mut t = tile(transfer("plain", p), exact_pulses(1), 2, 2);
    // Four vectors on column 0; reads after vector 2 (column 0: A = 0.02) and 4 (column 1: 0).
    let x = [1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0];
    t.update(&x, &[-1.0; 8], 1.0).unwrap();
    close(&hidden(&t, "array_0"), &[0.04, 0.0, 0.04, 0.0], "A");
    close(&t.weights().unwrap(), &[0.02, 0.0, 0.02, 0.0], "C");
}

#[test]
fn visible_weight_is_the_gamma_weighted_sum() {
    let p = TransferParameters {
        unit_cell_devices: vec![step_device(-1.0), step_device(-1.0)],
        gamma: 0.5,
        fast_lr: 0.01,
        transfer_lr: 0.0,
        ..TransferParameters::default()
    };
    let mut t = tile(transfer("plain", p), exact_pulses(1), 2, 2);
    t.set_weights(&[0.2, 0.4, -0.2, 0.0]).unwrap();
    close(&hidden(&t, "array_0"), &[0.0; 4], "A zeroed by set_weights");
    close(
        &hidden(&t, "array_1"),
        &[0.2, 0.4, -0.2, 0.0],
        "C = W / γ_last (1)",
    );
    up_all(&mut t, 1.0);
    close(
        &t.weights().unwrap(),
        &[0.205, 0.405, -0.195, 0.005],
        "0.5·A + C",
    );
}

#[test]
fn buffered_transfer_writes_whole_steps_of_the_accumulated_reads() {
    let p = TransferParameters {
        unit_cell_devices: vec![step_device(-1.0), step_device(-1.0)],
        fast_lr: 0.01,
        transfer_forward: IoParameters::perfect(),
        ..TransferParameters::buffered()
    };
    let mut t = tile(transfer("buffered", p), exact_pulses(1), 1, 1);
    // A = 0.01 m after update m; the buffer adds A·lr (lr 0.25) until it reaches one step
    // (0.01): 0.0025, 0.0075, 0.015 → one step written, momentum 0.1 kept: 0.0015.
    let mut buffers = Vec::new();
    let mut c = Vec::new();
    for _ in 0..3 {
        up_all(&mut t, 0.25);
        buffers.push(hidden(&t, "buffer_0")[0]);
        c.push(t.weights().unwrap()[0]);
    }
    close(&buffers, &[0.0025, 0.0075, 0.0015], "buffer");
    close(&c, &[0.0, 0.0, 0.01], "C");
}

#[test]
fn chopped_transfer_flips_the_gradient_sign_and_undoes_it_at_the_read() {
    let p = TransferParameters {
        unit_cell_devices: vec![step_device(-1.0), step_device(-1.0)],
        fast_lr: 0.01,
        in_chop_prob: 0.5,
        in_chop_random: false,
        transfer_forward: IoParameters::perfect(),
        ..TransferParameters::chopped()
    };
    let mut t = tile(transfer("chopped", p), exact_pulses(1), 1, 1);
    // One column: every update ends with its transfer, and the chopper flips at every second
    // one (period 2). A follows +g, +g, −g, −g, +g, +g; the reads (scale lr/g_A = 1 at
    // lr 0.01) are added with the chopper's sign: +0.01, +0.02, −0.01, −0.00, +0.01, +0.02.
    let mut a = Vec::new();
    let mut buffer = Vec::new();
    for _ in 0..6 {
        up_all(&mut t, 0.01);
        a.push(hidden(&t, "array_0")[0]);
        buffer.push(hidden(&t, "buffer_0")[0]);
    }
    close(&a, &[0.01, 0.02, 0.01, 0.0, 0.01, 0.02], "A");
    close(&buffer, &[0.01, 0.03, 0.02, 0.02, 0.03, 0.05], "buffer");
    close(&t.weights().unwrap(), &[0.0], "no write below 1");
}

#[test]
fn dynamic_transfer_writes_only_after_the_first_chopper_period() {
    let p = TransferParameters {
        unit_cell_devices: vec![step_device(-1.0), step_device(-1.0)],
        fast_lr: 0.01,
        in_chop_prob: 0.5,
        transfer_forward: IoParameters::perfect(),
        ..TransferParameters::dynamic()
    };
    let mut t = tile(transfer("dynamic", p), exact_pulses(1), 1, 1);
    // A large rate: every read crosses the threshold, but writes wait until the pass counter
    // exceeds the period (2 passes).
    let mut c = Vec::new();
    for _ in 0..5 {
        up_all(&mut t, 10.0);
        c.push(t.weights().unwrap()[0].abs() > 0.0);
    }
    assert_eq!(c, [false, false, false, true, true], "{c:?}");
}

#[test]
fn mixed_precision_writes_whole_steps_and_keeps_the_remainder() {
    let p = MixedPrecisionParameters {
        device: Box::new(step_device(-1.0)),
        ..MixedPrecisionParameters::default()
    };
    let mut t = tile(
        DeviceConfig::MixedPrecisionCompound(p),
        UpdateParameters::default(),
        2,
        3,
    );
    // χ = lr·d·xᵀ = 0.025 everywhere: two steps of 0.01 are written (W −= 0.02), 0.005 stays.
    t.update(&[1.0; 3], &[1.0; 2], 0.025).unwrap();
    close(&hidden(&t, "chi"), &[0.005; 6], "χ");
    close(&t.weights().unwrap(), &[-0.02; 6], "W");
}

/// Compounds with noisy devices for the state tests.
fn noisy_compounds() -> Vec<DeviceConfig> {
    let sb = DeviceConfig::LinearStepDevice(rpusim::config::LinearStepParameters {
        gamma_up: 1.0,
        gamma_down: 1.0,
        mean_bound_reference: false,
        write_noise_std: 2.0,
        ..Default::default()
    });
    let two = vec![sb.clone(), sb.clone()];
    vec![
        DeviceConfig::VectorUnitCell(VectorCellParameters {
            unit_cell_devices: two.clone(),
            update_policy: UpdatePolicy::SingleRandom,
            ..Default::default()
        }),
        DeviceConfig::TransferCompound(TransferParameters {
            unit_cell_devices: vec![sb.clone(), sb.clone(), sb.clone()],
            gamma: 0.2,
            transfer_every: 0.5,
            with_reset_prob: 0.3,
            ..Default::default()
        }),
        DeviceConfig::ChoppedTransferCompound(TransferParameters {
            unit_cell_devices: two.clone(),
            auto_scale: true,
            in_chop_prob: 0.3,
            out_chop_prob: 0.2,
            ..TransferParameters::chopped()
        }),
        DeviceConfig::DynamicTransferCompound(TransferParameters {
            unit_cell_devices: two,
            in_chop_prob: 0.3,
            ..TransferParameters::dynamic()
        }),
        DeviceConfig::MixedPrecisionCompound(MixedPrecisionParameters {
            device: Box::new(sb),
            n_x_bins: 5,
            n_d_bins: 7,
            ..Default::default()
        }),
    ]
}

fn train(t: &mut Tile, steps: std::ops::Range<u32>) {
    let (rows, cols, batch) = (t.rows(), t.cols(), 5);
    for s in steps {
        let x = crate::data(batch * cols, 900 + s);
        let d: Vec<f32> = crate::data(batch * rows, 950 + s)
            .iter()
            .map(|v| v * 0.5)
            .collect();
        t.update(&x, &d, 0.05).unwrap();
        t.post_update_step().unwrap();
    }
}

#[test]
fn saved_state_continues_bit_identically() {
    for device in noisy_compounds() {
        let config = TileConfig {
            device,
            ..TileConfig::default()
        };
        let mut a = Tile::new(config.clone(), 6, 7, 21, BackendKind::Cpu).unwrap();
        a.set_weights(
            &crate::data(42, 3)
                .iter()
                .map(|v| v * 0.2)
                .collect::<Vec<_>>(),
        )
        .unwrap();
        train(&mut a, 0..4);
        let mut b = Tile::from_state(&a.state().unwrap(), BackendKind::Cpu).unwrap();
        train(&mut a, 4..9);
        train(&mut b, 4..9);
        assert_eq!(a.weights().unwrap(), b.weights().unwrap(), "{config:?}");
        assert_eq!(a.hidden_weights().unwrap(), b.hidden_weights().unwrap());
        assert_eq!(a.state().unwrap(), b.state().unwrap());
    }
}

#[test]
fn copy_inverted_gives_the_positive_device_the_mirrored_down_response() {
    use rpusim::config::LinearStepParameters;
    // Asymmetric linear steps: Δ⁺ = 0.01, Δ⁻ = 0.006, s⁺ = −0.5Δ⁺/w_max, s⁻ = −0.3Δ⁻/w_min.
    let device = DeviceConfig::LinearStepDevice(LinearStepParameters {
        pulsed: ConstantStepParameters {
            up_down: 0.4,
            ..match step_device(-0.8) {
                DeviceConfig::ConstantStepDevice(p) => p,
                _ => unreachable!(),
            }
        },
        gamma_up: 0.5,
        gamma_down: 0.3,
        gamma_up_dtod: 0.0,
        gamma_down_dtod: 0.0,
        ..LinearStepParameters::default()
    });
    let cell = |copy_inverted: bool| OneSidedParameters {
        unit_cell_devices: vec![device.clone(), device.clone()],
        copy_inverted,
        ..OneSidedParameters::default()
    };
    let mut plain = tile(
        DeviceConfig::OneSidedUnitCell(cell(false)),
        exact_pulses(1),
        1,
        1,
    );
    let mut inverted = tile(
        DeviceConfig::OneSidedUnitCell(cell(true)),
        exact_pulses(1),
        1,
        1,
    );
    for (u, t) in [(0.0f32, 0), (0.5, 0), (0.0, 1), (0.5, 1)] {
        let tile = if t == 0 { &mut plain } else { &mut inverted };
        tile.set_weights(&[u]).unwrap();
        tile.update(&[-1.0], &[1.0], 0.01).unwrap(); // one pulse on W⁺
        let step = hidden(tile, "array_1")[0] - u;
        let want = if t == 0 {
            0.01 * (1.0 - 0.5 * u) // its own up response
        } else {
            0.006 * (1.0 - 0.3 * u / 0.8) // the first device's down response at −u
        };
        assert!(
            (step - want).abs() < 1e-6,
            "inverted {t} at {u}: {step} vs {want}"
        );
    }
    // The mirrored bound: W⁺ saturates at −w_min = 0.8 instead of w_max = 1.
    for (tile, bound) in [(&mut plain, 1.0), (&mut inverted, 0.8)] {
        tile.set_weights(&[0.0]).unwrap();
        for _ in 0..400 {
            tile.update(&[-1.0], &[1.0], 0.01).unwrap();
        }
        let w = hidden(tile, "array_1")[0];
        assert!((w - bound).abs() < 1e-4, "saturates at {w}, not {bound}");
    }
    // W⁻ keeps its own up response: a pulse of the negative direction from 0 is Δ⁺ = 0.01.
    inverted.set_weights(&[0.0]).unwrap();
    inverted.update(&[1.0], &[1.0], 0.01).unwrap();
    close(&hidden(&inverted, "array_0"), &[0.01], "W⁻ up step");
    // Models without the inversion are refused.
    let exp = DeviceConfig::ExpStepDevice(Default::default());
    let p = OneSidedParameters {
        unit_cell_devices: vec![exp.clone(), exp],
        copy_inverted: true,
        ..OneSidedParameters::default()
    };
    let config = TileConfig {
        device: DeviceConfig::OneSidedUnitCell(p),
        ..TileConfig::default()
    };
    assert!(Tile::new(config, 2, 2, 1, BackendKind::Cpu).is_err());
}
