//! Reliability of the core (issue 14): sizes, memory, config paths, saved states, health
//! checks, enormous gradients and the set_weights of transfer compounds with write noise.

use crate::{constant_step, cpu_tile};
use rpusim::config::{
    ConstantStepParameters, DeviceConfig, IdealParameters, LinearStepParameters,
    MixedPrecisionParameters, TileConfig, TransferParameters,
};
use rpusim::{BackendKind, Error, Tile};

fn value_arg(err: Error) -> &'static str {
    match err {
        Error::Value { arg, .. } => arg,
        other => panic!("expected a Value error, got {other:?}"),
    }
}

#[test]
fn tile_sizes_that_overflow_are_value_errors_naming_the_sizes() {
    for (rows, cols) in [(1usize << 32, 1usize << 32), (usize::MAX, 2)] {
        let err = Tile::new(constant_step(0.0, 1.0), rows, cols, 1, BackendKind::Cpu)
            .err()
            .expect("an impossible size must be refused");
        let text = err.to_string();
        assert_eq!(value_arg(err), "out_size, in_size");
        assert!(text.contains(&format!("{rows} x {cols}")), "{text}");
    }
}

#[cfg(target_os = "linux")]
#[test]
fn tile_larger_than_the_physical_memory_is_a_memory_error() {
    let physical = rpusim::memory::physical_memory().expect("/proc/meminfo");
    for (rows, cols) in [(1_000_000usize, 1_000_000usize), (100_000, 100_000)] {
        let err = Tile::new(constant_step(0.0, 1.0), rows, cols, 1, BackendKind::Cpu)
            .err()
            .expect("a tile larger than the machine must be refused");
        let text = err.to_string();
        match err {
            // Weights + 4 per-device arrays (steps and bounds), 4 bytes each.
            Error::Memory {
                bytes, physical: p, ..
            } => {
                assert_eq!(bytes, (rows * cols * 5 * 4) as u128);
                assert_eq!(p, Some(physical));
            }
            other => panic!("expected a Memory error, got {other:?}"),
        }
        assert!(text.contains(&format!("{rows} x {cols}")), "{text}");
        assert!(text.contains("physical memory"), "{text}");
    }
    // 2⁶³ devices fit in usize, not in memory (it used to be "capacity overflow", a panic).
    let err = Tile::new(constant_step(0.0, 1.0), 1, 1 << 63, 1, BackendKind::Cpu)
        .err()
        .unwrap();
    assert!(matches!(err, Error::Memory { .. }), "{err:?}");
}

fn config_arg(json: &str) -> (String, String) {
    match TileConfig::from_json(json) {
        Err(Error::Config { arg, msg }) => (arg, msg),
        other => panic!("expected a Config error for {json}, got {other:?}"),
    }
}

#[test]
fn config_parse_errors_name_the_field_path() {
    let (arg, msg) = config_arg(r#"{"update": {"desired_bl": -1}}"#);
    assert_eq!(arg, "update.desired_bl");
    assert_eq!(msg, "invalid value: integer `-1`, expected u32");
    let (arg, msg) = config_arg(
        r#"{"device": {"type": "TransferCompound", "gamma": [0.1],
            "unit_cell_devices": [{"type": "ConstantStepDevice"}, {"type": "ConstantStepDevice"}]}}"#,
    );
    assert_eq!(arg, "device.gamma");
    assert!(
        msg.starts_with("invalid type: sequence, expected f32"),
        "{msg}"
    );
    let (arg, _) = config_arg(
        r#"{"device": {"type": "VectorUnitCell", "unit_cell_devices":
            [{"type": "ConstantStepDevice"}, {"type": "ConstantStepDevice", "dw_min": "x"}]}}"#,
    );
    assert_eq!(arg, "device.unit_cell_devices[1].dw_min");
    let (arg, msg) = config_arg(r#"{"device": {"type": "NoSuchDevice"}}"#);
    assert_eq!(arg, "device.type");
    assert!(msg.contains("NoSuchDevice"), "{msg}");
    let (arg, msg) = config_arg(r#"{"forward": {"inp_res": 0.1, "bogus": 1}}"#);
    assert_eq!(arg, "forward.bogus");
    assert!(msg.starts_with("unknown field `bogus`"), "{msg}");
    let (arg, _) = config_arg(
        r#"{"device": {"type": "MixedPrecisionCompound",
        "device": {"type": "ConstantStepDevice", "w_max": null}}}"#,
    );
    assert_eq!(arg, "device.device.w_max");
    // Trailing garbage and malformed JSON have no field to name.
    let (arg, _) = config_arg(r#"{"update": {}} x"#);
    assert_eq!(arg, "rpu_config");
    // Good configs still parse, and round-trip.
    let config = constant_step(0.1, 0.5);
    assert_eq!(TileConfig::from_json(&config.to_json()).unwrap(), config);
}

#[test]
fn divisors_below_the_smallest_normal_float32_are_config_errors() {
    let mixed = |granularity: f32| TileConfig {
        device: DeviceConfig::MixedPrecisionCompound(MixedPrecisionParameters {
            granularity,
            ..MixedPrecisionParameters::default()
        }),
        ..TileConfig::default()
    };
    let err = mixed(1e-45).validate().unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("device.granularity: "), "{text}");
    assert!(text.contains("1.1754944e-38"), "{text}");
    mixed(0.0).validate().unwrap();
    mixed(f32::MIN_POSITIVE).validate().unwrap();
    let step = |dw_min: f32| TileConfig {
        device: DeviceConfig::ConstantStepDevice(ConstantStepParameters {
            dw_min,
            ..ConstantStepParameters::default()
        }),
        ..TileConfig::default()
    };
    let text = step(1e-40).validate().unwrap_err().to_string();
    assert!(text.starts_with("device.dw_min: "), "{text}");
    let mut io = TileConfig::default();
    io.forward.inp_res = 1e-42;
    let text = io.validate().unwrap_err().to_string();
    assert!(text.starts_with("forward.inp_res: "), "{text}");
    let mut up = TileConfig::default();
    up.update.res = 1e-44;
    let text = up.validate().unwrap_err().to_string();
    assert!(text.starts_with("update.res: "), "{text}");
}

#[test]
fn saved_states_with_non_finite_values_are_refused_naming_the_array() {
    let mut tile = cpu_tile(constant_step(0.0, 1.0), 3, 4, 5);
    tile.set_weights(&crate::data(12, 1)).unwrap();
    let good = tile.state().unwrap();
    Tile::from_state(&good, BackendKind::Cpu).unwrap();

    let mut bad = good.clone();
    bad.weights[6] = f32::NAN;
    let text = Tile::from_state(&bad, BackendKind::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        text.contains("weights: NaN at flat index 6 (row 1, column 2)"),
        "{text}"
    );

    let mut bad = good.clone();
    let name = bad.device[1].0.clone();
    bad.device[1].1[11] = f32::INFINITY;
    let text = Tile::from_state(&bad, BackendKind::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        text.contains(&format!("device.{name}: inf at flat index 11")),
        "{text}"
    );
}

#[test]
fn exact_updates_that_would_overflow_are_refused_before_they_are_written() {
    // A change of 1e28 is allowed; 1e38 per update (Inf after four) is refused, as is a batch
    // whose summed change passes the limit.
    let config = TileConfig {
        device: DeviceConfig::FloatingPointDevice(IdealParameters::default()),
        ..TileConfig::floating_point()
    };
    let mut tile = cpu_tile(config, 2, 2, 1);
    tile.check_finite().unwrap();
    tile.update(&[1e14f32, 0.0], &[0.0f32, 1e14], 1.0).unwrap();
    let before = tile.weights().unwrap();
    let err = tile
        .update(&[1e19f32, 0.0], &[0.0f32, 1e19], 1.0)
        .unwrap_err();
    assert_eq!(value_arg(err), "x, d, lr");
    let batch_x = [1e14f32, 0.0, 1e14, 0.0, 1e14, 0.0];
    let batch_d = [0.0f32, 1e14, 0.0, 1e14, 0.0, 1e14];
    let err = tile.update(&batch_x, &batch_d, 1e3).unwrap_err();
    assert_eq!(value_arg(err), "x, d, lr");
    assert_eq!(tile.weights().unwrap(), before);
    tile.check_finite().unwrap();
}

/// Constant steps of exactly dw_min = 0.001, no noise, bounds ±1.
fn exact_steps() -> TileConfig {
    constant_step(0.0, 1.0)
}

fn huge_gradient_on(kind: BackendKind) {
    // max|x|·max|d| = 1e38, · lr / dw_min = 1e39: beyond float32. The train saturates: BL = 31
    // slots, both maxima fire in every slot, 31 down steps.
    let mut tile = Tile::new(exact_steps(), 1, 1, 3, kind).unwrap();
    tile.update(&[1e19], &[1e19], 0.01).unwrap();
    let w = tile.weights().unwrap()[0];
    assert!((w + 0.031).abs() < 1e-6, "{kind:?}: w = {w}");
    // x/d = 1e60 overflows the balance of the scales: 10 slots (k = 10), all firing.
    let mut tile = Tile::new(exact_steps(), 1, 1, 3, kind).unwrap();
    tile.update(&[1e30], &[-1e-30], 0.01).unwrap();
    let w = tile.weights().unwrap()[0];
    assert!((w - 0.010).abs() < 1e-6, "{kind:?}: w = {w}");
    // Ordinary gradients plan exactly as before (float32): the same bits as a small one scaled.
    let mut tile = Tile::new(exact_steps(), 1, 1, 3, kind).unwrap();
    tile.update(&[1.0], &[1.0], 0.01).unwrap();
    let w = tile.weights().unwrap()[0];
    assert!((w + 0.010).abs() < 1e-6, "{kind:?}: w = {w}");
}

#[test]
fn enormous_gradients_saturate_the_pulse_train_cpu() {
    huge_gradient_on(BackendKind::Cpu);
}

#[cfg(feature = "gpu")]
#[test]
fn enormous_gradients_saturate_the_pulse_train_gpu() {
    if !crate::gpu_available() {
        return;
    }
    huge_gradient_on(BackendKind::Gpu);
}

/// A Tiki-Taka compound of two soft-bounds devices with write noise (applied on set).
fn noisy_transfer() -> TileConfig {
    let device = DeviceConfig::LinearStepDevice(LinearStepParameters {
        write_noise_std: 5.0,
        apply_write_noise_on_set: true,
        ..LinearStepParameters::default()
    });
    TileConfig {
        device: DeviceConfig::TransferCompound(TransferParameters {
            unit_cell_devices: vec![device.clone(), device],
            ..TransferParameters::default()
        }),
        ..TileConfig::default()
    }
}

fn transfer_set_weights_on(kind: BackendKind) {
    let (rows, cols) = (3, 4);
    let mut tile = Tile::new(noisy_transfer(), rows, cols, 11, kind).unwrap();
    let w: Vec<f32> = crate::data(rows * cols, 2)
        .iter()
        .map(|v| v * 0.3)
        .collect();
    tile.set_weights(&w).unwrap();
    let hidden: std::collections::HashMap<String, Vec<f32>> =
        tile.hidden_weights().unwrap().into_iter().collect();
    // The fast array is zeroed, not written: exactly 0, visible and persistent.
    assert!(hidden["array_0"].iter().all(|&v| v == 0.0), "{kind:?}");
    assert!(hidden["persistent_0"].iter().all(|&v| v == 0.0), "{kind:?}");
    // The last array is written: persistent = the weights, visible = persistent + noise.
    assert_eq!(hidden["persistent_1"], w, "{kind:?}");
    let differ = hidden["array_1"]
        .iter()
        .zip(&w)
        .filter(|(a, b)| a != b)
        .count();
    assert_eq!(differ, rows * cols, "{kind:?}: write noise on set");
    assert_eq!(tile.weights().unwrap(), hidden["array_1"], "{kind:?}");
}

#[test]
fn transfer_set_weights_leaves_the_fast_array_exactly_zero_cpu() {
    transfer_set_weights_on(BackendKind::Cpu);
}

#[cfg(feature = "gpu")]
#[test]
fn transfer_set_weights_leaves_the_fast_array_exactly_zero_gpu() {
    if !crate::gpu_available() {
        return;
    }
    transfer_set_weights_on(BackendKind::Gpu);
}

#[test]
fn compound_states_of_another_shape_are_refused() {
    let config = TileConfig {
        device: DeviceConfig::TransferCompound(TransferParameters {
            unit_cell_devices: vec![DeviceConfig::default(), DeviceConfig::default()],
            ..TransferParameters::default()
        }),
        ..TileConfig::default()
    };
    let tile = cpu_tile(config, 3, 4, 1);
    let state = tile.state().unwrap();
    Tile::from_state(&state, BackendKind::Cpu).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&state.cell_json).unwrap();
    json["slices"] = serde_json::json!([0, 7]);
    let mut bad = state.clone();
    bad.cell_json = json.to_string();
    let text = Tile::from_state(&bad, BackendKind::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        text.contains("cell_json.slices[1]: expected an index < 4, got 7"),
        "{text}"
    );
    json["slices"] = serde_json::json!([0]);
    bad.cell_json = json.to_string();
    let text = Tile::from_state(&bad, BackendKind::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        text.contains("cell_json.slices: expected 2 entries, got 1"),
        "{text}"
    );
    json["slices"] = serde_json::json!("x");
    bad.cell_json = json.to_string();
    let text = Tile::from_state(&bad, BackendKind::Cpu)
        .err()
        .unwrap()
        .to_string();
    assert!(
        text.contains("cell_json.slices: invalid type: string"),
        "{text}"
    );
}
