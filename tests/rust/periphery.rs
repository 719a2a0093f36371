//! Forward/backward periphery against its formulas.

use crate::{cpu_tile, data};
use rpusim::config::{BoundManagement, DeviceConfig, IdealParameters, IoParameters, TileConfig};

fn ideal(forward: IoParameters) -> TileConfig {
    TileConfig {
        device: DeviceConfig::IdealDevice(IdealParameters::default()),
        forward: forward.clone(),
        backward: forward,
        ..TileConfig::default()
    }
}

#[test]
fn perfect_forward_and_backward_are_exact() {
    let (rows, cols, batch) = (7, 9, 5);
    let mut tile = cpu_tile(ideal(IoParameters::perfect()), rows, cols, 1);
    let w = data(rows * cols, 1);
    tile.set_weights(&w).unwrap();
    let x = data(batch * cols, 2);
    let mut y = vec![0.0; batch * rows];
    tile.forward(&x, &mut y).unwrap();
    let d = data(batch * rows, 3);
    let mut z = vec![0.0; batch * cols];
    tile.backward(&d, &mut z).unwrap();
    for n in 0..batch {
        for i in 0..rows {
            let e: f32 = (0..cols).map(|j| w[i * cols + j] * x[n * cols + j]).sum();
            assert!((y[n * rows + i] - e).abs() < 1e-5);
        }
        for j in 0..cols {
            let e: f32 = (0..rows).map(|i| w[i * cols + j] * d[n * rows + i]).sum();
            assert!((z[n * cols + j] - e).abs() < 1e-5);
        }
    }
}

#[test]
fn saturated_outputs_are_recovered_by_bound_management() {
    let (rows, cols) = (4, 64);
    let io = IoParameters {
        out_noise: 0.0,
        ..IoParameters::default()
    };
    let mut with_bm = cpu_tile(ideal(io.clone()), rows, cols, 1);
    let mut without = cpu_tile(
        ideal(IoParameters {
            bound_management: BoundManagement::None,
            ..io
        }),
        rows,
        cols,
        1,
    );
    with_bm.set_weights(&vec![0.5; rows * cols]).unwrap();
    without.set_weights(&vec![0.5; rows * cols]).unwrap();
    let x = vec![1.0; cols];
    let mut y = vec![0.0; rows];
    with_bm.forward(&x, &mut y).unwrap();
    // Exact 32 needs r = 4 (8 < 12). At r = 4 the DAC rounds 0.25 to 16/63 and the ADC rounds
    // to 24/510: error ≤ r·(Σ|W|·DAC step/2 + ADC step/2) = 4·(32/126 + 12/510) ≈ 1.11.
    assert!(y.iter().all(|v| (v - 32.0).abs() < 1.12), "{y:?}");
    assert!(
        y.iter()
            .all(|v| (v - 4.0 * 173.0 * 24.0 / 510.0).abs() < 1e-3),
        "{y:?}"
    );
    without.forward(&x, &mut y).unwrap();
    assert!(y.iter().all(|v| (v - 12.0).abs() < 1e-4), "{y:?}");
}

/// The DAC and ADC compiled for AVX-512 (64 normals per Philox pass, vector compares) give the
/// bits of the baseline build: noisy, quantized, saturating reads of widths that are and are not
/// multiples of 64, with PCM and additive weight noise, forward and backward.
#[test]
fn wide_periphery_matches_the_portable_one() {
    use rpusim::config::WeightNoiseType;
    use rpusim::pulsed::portable_lanes_only;
    let noisy = |w_noise_type, sto| IoParameters {
        inp_noise: 0.05,
        out_noise: 0.06,
        w_noise: 0.02,
        w_noise_type,
        inp_sto_round: sto,
        out_sto_round: sto,
        out_bound: 4.0,
        bm_test_negative_bound: true,
        ..IoParameters::default()
    };
    let run = |io: IoParameters, rows: usize, cols: usize, portable: bool| {
        portable_lanes_only(portable);
        let mut tile = cpu_tile(ideal(io), rows, cols, 3);
        tile.set_weights(&data(rows * cols, 1)).unwrap();
        let batch = 5;
        let x: Vec<f32> = data(batch * cols, 2).iter().map(|v| 3.0 * v).collect();
        let mut y = vec![0.0; batch * rows];
        tile.forward(&x, &mut y).unwrap();
        let mut z = vec![0.0; batch * cols];
        tile.backward(&data(batch * rows, 3), &mut z).unwrap();
        portable_lanes_only(false);
        (y, z)
    };
    for noise in [WeightNoiseType::PcmRead, WeightNoiseType::AdditiveConstant] {
        for sto in [false, true] {
            for (rows, cols) in [
                (70, 100),
                (129, 130),
                (200, 3),
                (64, 64),
                (16, 25),
                (10, 40),
            ] {
                let io = noisy(noise, sto);
                let wide = run(io.clone(), rows, cols, false);
                let portable = run(io, rows, cols, true);
                let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
                let case = format!("{noise:?}, sto {sto}, {rows}×{cols}");
                assert!(wide.0.iter().any(|&v| v != 0.0), "{case}");
                assert_eq!(bits(&wide.0), bits(&portable.0), "forward, {case}");
                assert_eq!(bits(&wide.1), bits(&portable.1), "backward, {case}");
            }
        }
    }
}

/// Pass 0 fused per block of vectors (DAC, product, ADC and rescale in one task, output normals
/// shared between short vectors) gives the bits of the separate loops: short and long outputs,
/// saturating reads that iterative bound management re-reads, stochastic rounding, additive
/// weight noise, forward and backward, with and without AVX-512.
#[test]
fn fused_pass_matches_the_separate_loops() {
    use rpusim::config::WeightNoiseType;
    use rpusim::periphery::split_passes_only;
    use rpusim::pulsed::portable_lanes_only;
    let io = |sto: bool, out_bound: f32| IoParameters {
        out_noise: 0.06,
        w_noise: 0.02,
        w_noise_type: WeightNoiseType::AdditiveConstant,
        inp_sto_round: sto,
        out_sto_round: sto,
        out_bound,
        ..IoParameters::default()
    };
    let run = |io: IoParameters, (rows, cols, batch): (usize, usize, usize), split, portable| {
        split_passes_only(split);
        portable_lanes_only(portable);
        let mut tile = cpu_tile(ideal(io), rows, cols, 5);
        tile.set_weights(&data(rows * cols, 1)).unwrap();
        let x: Vec<f32> = data(batch * cols, 2).iter().map(|v| 3.0 * v).collect();
        let mut y = vec![0.0; batch * rows];
        tile.forward(&x, &mut y).unwrap();
        let mut z = vec![0.0; batch * cols];
        tile.backward(&data(batch * rows, 3), &mut z).unwrap();
        split_passes_only(false);
        portable_lanes_only(false);
        (y, z)
    };
    let bits = |v: &[f32]| v.iter().map(|f| f.to_bits()).collect::<Vec<_>>();
    for portable in [false, true] {
        for sto in [false, true] {
            for out_bound in [12.0, 1.5] {
                // One task, several tasks (batches of 3000 and 700 on two or more threads),
                // outputs sharing Philox lanes 2, 4 and 8 at a time, and none.
                for shape in [
                    (16, 25, 37),
                    (16, 9, 3000),
                    (16, 25, 700),
                    (10, 129, 37),
                    (3, 5, 37),
                    (70, 33, 37),
                ] {
                    let io = io(sto, out_bound);
                    let fused = run(io.clone(), shape, false, portable);
                    let split = run(io, shape, true, portable);
                    let case =
                        format!("portable {portable}, sto {sto}, bound {out_bound}, {shape:?}");
                    assert!(fused.0.iter().any(|&v| v != 0.0), "{case}");
                    assert_eq!(bits(&fused.0), bits(&split.0), "forward, {case}");
                    assert_eq!(bits(&fused.1), bits(&split.1), "backward, {case}");
                }
            }
        }
    }
}
