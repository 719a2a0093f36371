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
