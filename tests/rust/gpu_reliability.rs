//! The gpu backend's reliability: empty batches as on the cpu, and sizes beyond the adapter as
//! `Error::Backend` values naming the size and the limit, never a panic or an abort. Skipped (with
//! the reason printed) without an adapter.

use crate::{constant_step, gpu_available};
use rpusim::backend::gpu::GpuTile;
use rpusim::backend::Visible;
use rpusim::{BackendKind, Error, Tile, TileConfig};

fn backend_message(result: rpusim::Result<GpuTile>) -> String {
    match result {
        Err(Error::Backend(msg)) => msg,
        Err(other) => panic!("expected Error::Backend, got {other:?}"),
        Ok(_) => panic!("expected Error::Backend, got a tile"),
    }
}

#[test]
fn empty_batches_match_the_cpu() {
    if !gpu_available() {
        return;
    }
    let config = constant_step(0.3, 0.6);
    let (rows, cols) = (5, 7);
    let mut tiles: Vec<Tile> = [BackendKind::Cpu, BackendKind::Gpu]
        .into_iter()
        .map(|kind| Tile::new(config.clone(), rows, cols, 11, kind).unwrap())
        .collect();
    let x: Vec<f32> = (0..4 * cols)
        .map(|i| ((i * 7 % 11) as f32 - 5.0) / 5.0)
        .collect();
    let d: Vec<f32> = (0..4 * rows)
        .map(|i| ((i * 5 % 9) as f32 - 4.0) / 20.0)
        .collect();
    for tile in &mut tiles {
        for _ in 0..3 {
            let mut empty: [f32; 0] = [];
            tile.forward(&[], &mut empty).unwrap();
            tile.backward(&[], &mut empty).unwrap();
            tile.update(&[], &[], 0.1).unwrap();
            tile.update(&x, &d, 0.1).unwrap();
        }
    }
    assert_eq!(tiles[0].counters(), tiles[1].counters());
    let weights: Vec<Vec<f32>> = tiles.iter().map(|t| t.weights().unwrap()).collect();
    assert!(weights[0].iter().any(|&w| w != 0.0));
    for (c, g) in weights[0].iter().zip(&weights[1]) {
        assert!((c - g).abs() <= 1e-6, "cpu {c} gpu {g}");
    }
}

#[test]
fn absurd_sizes_are_errors() {
    if !gpu_available() {
        return;
    }
    let config = TileConfig::default();
    let msg = backend_message(GpuTile::new(
        config.clone(),
        (1 << 62) + 1,
        4,
        1,
        Visible::Array(0),
    ));
    assert!(
        msg.contains("4611686018427387905 rows") && msg.contains("4294967295"),
        "{msg}"
    );
    let msg = backend_message(GpuTile::new(
        config.clone(),
        4,
        usize::MAX,
        1,
        Visible::Array(0),
    ));
    assert!(msg.contains("columns"), "{msg}");
    let msg = backend_message(GpuTile::new(config, 0, 4, 1, Visible::Array(0)));
    assert!(msg.contains("no devices"), "{msg}");
}

#[test]
fn a_row_beyond_the_binding_limit_names_size_and_limit() {
    if !gpu_available() {
        return;
    }
    let msg = backend_message(GpuTile::with_binding_limit(
        TileConfig::default(),
        2,
        512,
        1,
        Visible::Array(0),
        4096,
    ));
    assert!(
        msg.contains("8192 bytes") && msg.contains("allows 4096"),
        "{msg}"
    );
}

#[test]
fn per_call_buffers_beyond_the_limit_are_errors() {
    if !gpu_available() {
        return;
    }
    let mut tile =
        GpuTile::with_binding_limit(TileConfig::default(), 4, 8, 1, Visible::Array(0), 65536)
            .unwrap();
    use rpusim::backend::TileBackend;
    let batch = 4096;
    let x = vec![0.0f32; batch * 8];
    let mut out = vec![0.0f32; batch * 4];
    match tile.forward(&x, batch, &mut out, 0) {
        Err(Error::Backend(msg)) => {
            assert!(
                msg.contains("131072 bytes") && msg.contains("allows 65536"),
                "{msg}"
            )
        }
        other => panic!("expected Error::Backend, got {other:?}"),
    }
    // Still usable at a batch that fits.
    tile.forward(&x[..16], 2, &mut out[..8], 1).unwrap();
}
