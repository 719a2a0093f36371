//! Pulse-by-pulse devices are applied slot by slot (sparse pulses) or device by device, the
//! linear models in lockstep lanes of several devices (dense pulses). Every order gives each
//! device the same pulses with the same normals, so the weights, visible weights and mid-batch
//! reads must agree bit for bit whatever the order, for every model, polarity and noise.

use crate::data;
use rpusim::config::{
    ConstantStepParameters, DeviceConfig, ExpStepParameters, LinearStepParameters,
    SoftBoundsReferenceParameters, UpdateParameters,
};
use rpusim::device::DeviceArray;
use rpusim::pulsed::{
    portable_lanes_only, pulsed_update, Capture, CapturePlan, Lr, Polarity, PulseBatch,
    PulseScratch, Pulsed,
};

fn noisy_steps() -> ConstantStepParameters {
    ConstantStepParameters {
        dw_min: 0.01,
        dw_min_std: 0.3,
        ..ConstantStepParameters::default()
    }
}

fn devices() -> Vec<(&'static str, DeviceConfig)> {
    vec![
        (
            "soft bounds",
            DeviceConfig::LinearStepDevice(LinearStepParameters {
                pulsed: noisy_steps(),
                gamma_up: 1.0,
                gamma_down: 1.0,
                mean_bound_reference: false,
                ..LinearStepParameters::default()
            }),
        ),
        (
            "linear step, additive noise, write noise",
            DeviceConfig::LinearStepDevice(LinearStepParameters {
                pulsed: noisy_steps(),
                gamma_up: 0.4,
                gamma_down: 0.2,
                mult_noise: false,
                write_noise_std: 2.0,
                ..LinearStepParameters::default()
            }),
        ),
        (
            "soft bounds with reference, write noise",
            DeviceConfig::SoftBoundsReferenceDevice(SoftBoundsReferenceParameters {
                pulsed: noisy_steps(),
                write_noise_std: 3.0,
                reference_std: 0.05,
                slope_up_dtod: 0.1,
                slope_down_dtod: 0.1,
                subtract_symmetry_point: true,
                ..SoftBoundsReferenceParameters::default()
            }),
        ),
        (
            "exponential step",
            DeviceConfig::ExpStepDevice(ExpStepParameters {
                pulsed: noisy_steps(),
                ..ExpStepParameters::default()
            }),
        ),
    ]
}

const COLS: usize = 101;

struct Outcome {
    weights: Vec<f32>,
    apparent: Vec<f32>,
    reads: Vec<f32>,
}

/// Mid-batch reads: of columns (a block with a read column runs vector by vector in lanes of
/// consecutive columns, the other block is packed), of whole rows (every block of a read row
/// runs vector by vector, the other rows are packed), or none (every block packed by pulse
/// count).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Reads {
    Columns,
    Rows,
    None,
}

/// Slot order (`None`) or lanes (`Some(portable)`: baseline instructions, or AVX-512 where the
/// CPU has it).
fn run(
    config: &DeviceConfig,
    (lr, desired_bl): (f32, u32),
    polarity: Polarity,
    lanes: Option<bool>,
    reads_of: Reads,
) -> Outcome {
    // 101 columns: a full 64-column block, read in some columns with `Reads::Columns`, then a
    // block of two lane groups plus a partial one that is never read in columns.
    let (rows, cols, batch) = (23, COLS, 12);
    let device = DeviceArray::build(config, rows, cols, 5).unwrap();
    let mut weights = data(rows * cols, 3)
        .iter()
        .map(|v| 0.3 * v)
        .collect::<Vec<_>>();
    device.clip_weights(&mut weights);
    let mut apparent = weights.clone();
    let noisy = config.write_noise() > 0.0;
    let read_indices = if reads_of == Reads::Rows { rows } else { cols } as u32;
    let captures = CapturePlan {
        by_rows: reads_of == Reads::Rows,
        events: (0..if reads_of == Reads::None {
            0
        } else {
            batch as u32
        })
            .step_by(3)
            .map(|v| Capture {
                vector: v,
                index: (v * 7) % read_indices,
            })
            .collect(),
    };
    let mut scratch = PulseScratch::default();
    scratch.pin_order(Some(lanes.is_some()));
    portable_lanes_only(lanes == Some(true));
    let mut reads = Vec::new();
    for step in 0..3u32 {
        let x = data(batch * cols, 100 + step);
        let d = data(batch * rows, 200 + step)
            .iter()
            .map(|v| 0.5 * v)
            .collect::<Vec<_>>();
        let input = PulseBatch {
            x: &x,
            d: &d,
            batch,
            rows,
            cols,
            lr: Lr::Same(lr),
            granularity: config.granularity(),
            seed: 11,
            noise_seed: 13,
            step,
            polarity,
        };
        let pulsed = Pulsed::of(&device).expect("a pulsed device");
        reads.extend(pulsed_update(
            &UpdateParameters {
                desired_bl,
                ..UpdateParameters::default()
            },
            pulsed,
            &mut weights,
            noisy.then_some(&mut apparent[..]),
            &input,
            &captures,
            &mut scratch,
        ));
    }
    portable_lanes_only(false);
    Outcome {
        weights,
        apparent,
        reads,
    }
}

fn bits(v: &[f32]) -> Vec<u32> {
    v.iter().map(|x| x.to_bits()).collect()
}

#[test]
fn every_order_gives_the_same_weights_and_reads() {
    for (name, config) in devices() {
        // Sparse (about one pulse per device and vector or fewer) and dense (many), and trains
        // longer than one 64-slot word (more than 64 pulses per device and vector).
        for (lr, desired_bl) in [(0.02, 31), (1.0, 31), (4.0, 100)] {
            for (polarity, reads_of) in [Polarity::Both, Polarity::UpOnly, Polarity::DownAsUp]
                .into_iter()
                .flat_map(|p| [(p, Reads::Columns), (p, Reads::Rows), (p, Reads::None)])
            {
                let slots = run(&config, (lr, desired_bl), polarity, None, reads_of);
                let case =
                    format!("{name}, lr {lr}, BL {desired_bl}, {polarity:?}, reads {reads_of:?}");
                let start = data(23 * COLS, 3);
                let moved = slots
                    .weights
                    .iter()
                    .zip(&start)
                    .filter(|(w, s)| (**w - 0.3 * **s).abs() > 1e-6)
                    .count();
                assert!(moved > 50, "{case}: only {moved} devices moved");
                assert_eq!(
                    slots.reads.is_empty(),
                    reads_of == Reads::None,
                    "{case}: reads"
                );
                for portable in [true, false] {
                    let lanes = run(
                        &config,
                        (lr, desired_bl),
                        polarity,
                        Some(portable),
                        reads_of,
                    );
                    let case = format!("{case}, portable lanes {portable}");
                    assert_eq!(
                        bits(&slots.weights),
                        bits(&lanes.weights),
                        "{case}: weights"
                    );
                    assert_eq!(
                        bits(&slots.apparent),
                        bits(&lanes.apparent),
                        "{case}: visible"
                    );
                    assert_eq!(bits(&slots.reads), bits(&lanes.reads), "{case}: reads");
                }
            }
        }
    }
}

/// Constant steps are applied in groups; the coincidences of a group are counted either from
/// byte planes (sums over each row's fired slots) or from bit planes (popcounts over vectors).
/// Both must give every device the same counts, so the same weights and reads bit for bit.
#[test]
fn both_countings_give_the_same_weights_and_reads() {
    let config = DeviceConfig::ConstantStepDevice(noisy_steps());
    // (rows, cols, batch) with (lr, BL): a convolution's many short vectors (a partial second
    // 64-vector word) with BL 1 to 31 and trains of 60 slots (one word); a linear layer's batch,
    // also with trains of 100 slots (two words: byte planes only); one word of vectors exactly;
    // trains of one slot (bit planes generated directly, LeNet5's case). Kept small: cargo test
    // runs debug code.
    let cases = [
        ((16, 25, 70), (0.02, 1)),
        ((7, 70, 64), (0.3, 1)),
        ((16, 25, 70), (0.02, 31)),
        ((16, 25, 70), (1.0, 31)),
        ((16, 25, 70), (2.0, 60)),
        ((23, 101, 12), (0.02, 31)),
        ((23, 101, 12), (1.0, 31)),
        ((23, 101, 12), (4.0, 100)),
        ((7, 70, 64), (1.0, 31)),
    ];
    for ((rows, cols, batch), (lr, desired_bl)) in cases {
        for (polarity, reads_of) in [
            (Polarity::Both, Reads::Columns),
            (Polarity::Both, Reads::Rows),
            (Polarity::Both, Reads::None),
            (Polarity::UpOnly, Reads::Rows),
            (Polarity::DownAsUp, Reads::Columns),
        ] {
            let run_with = |bit_planes: bool, portable: bool| {
                grouped_run(
                    &config,
                    (rows, cols, batch),
                    (lr, desired_bl),
                    polarity,
                    reads_of,
                    (bit_planes, portable),
                )
            };
            let bytes = run_with(false, false);
            let case = format!(
                "{rows}x{cols} batch {batch}, lr {lr}, BL {desired_bl}, {polarity:?}, \
                     reads {reads_of:?}"
            );
            let start = data(rows * cols, 3);
            let moved = bytes
                .weights
                .iter()
                .zip(&start)
                .filter(|(w, s)| (**w - 0.3 * **s).abs() > 1e-6)
                .count();
            assert!(
                moved > rows * cols / 4,
                "{case}: only {moved} devices moved"
            );
            // Bit planes built with AVX-512 where the CPU has it, and (once per shape and
            // train length) without.
            let portable_too = polarity == Polarity::Both && reads_of == Reads::Columns;
            for portable in [false, true]
                .into_iter()
                .take(1 + usize::from(portable_too))
            {
                let bit = run_with(true, portable);
                let case = format!("{case}, bit planes, portable {portable}");
                assert_eq!(bits(&bytes.weights), bits(&bit.weights), "{case}: weights");
                assert_eq!(bits(&bytes.reads), bits(&bit.reads), "{case}: reads");
            }
        }
    }
}

/// Three grouped updates of a constant-step array, coincidences counted from bit planes or byte
/// planes; a third of the x values are 0 (a convolution's padding: they never fire), and some
/// whole vectors.
fn grouped_run(
    config: &DeviceConfig,
    (rows, cols, batch): (usize, usize, usize),
    (lr, desired_bl): (f32, u32),
    polarity: Polarity,
    reads_of: Reads,
    (bit_planes, portable): (bool, bool),
) -> Outcome {
    let device = DeviceArray::build(config, rows, cols, 5).unwrap();
    let mut weights = data(rows * cols, 3)
        .iter()
        .map(|v| 0.3 * v)
        .collect::<Vec<_>>();
    device.clip_weights(&mut weights);
    let read_indices = if reads_of == Reads::Rows { rows } else { cols } as u32;
    let captures = CapturePlan {
        by_rows: reads_of == Reads::Rows,
        events: (0..if reads_of == Reads::None {
            0
        } else {
            batch as u32
        })
            .step_by(5)
            .map(|v| Capture {
                vector: v,
                index: (v * 7) % read_indices,
            })
            .collect(),
    };
    let mut scratch = PulseScratch::default();
    scratch.pin_counting(Some(bit_planes));
    portable_lanes_only(portable);
    let mut reads = Vec::new();
    for step in 0..3u32 {
        // Every fifth x and seventh d all 0 as well (a patch in the padding, a gradient of 0):
        // the vectors that can fire then have gaps, and lanes of them straddle 64-vector words.
        let x = data(batch * cols, 100 + step)
            .iter()
            .enumerate()
            .map(|(k, v)| {
                if k % 3 == 0 || k / cols % 5 == 2 {
                    0.0
                } else {
                    *v
                }
            })
            .collect::<Vec<_>>();
        let d = data(batch * rows, 200 + step)
            .iter()
            .enumerate()
            .map(|(k, v)| if k / rows % 7 == 3 { 0.0 } else { 0.5 * v })
            .collect::<Vec<_>>();
        let input = PulseBatch {
            x: &x,
            d: &d,
            batch,
            rows,
            cols,
            lr: Lr::Same(lr),
            granularity: config.granularity(),
            seed: 11,
            noise_seed: 13,
            step,
            polarity,
        };
        let pulsed = Pulsed::of(&device).expect("a pulsed device");
        assert!(pulsed.grouped(), "constant steps are applied in groups");
        reads.extend(pulsed_update(
            &UpdateParameters {
                desired_bl,
                ..UpdateParameters::default()
            },
            pulsed,
            &mut weights,
            None,
            &input,
            &captures,
            &mut scratch,
        ));
    }
    portable_lanes_only(false);
    Outcome {
        weights,
        apparent: Vec::new(),
        reads,
    }
}
