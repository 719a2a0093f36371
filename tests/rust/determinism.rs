//! Same seed ⇒ the same bits, whatever the number of rayon threads.

use crate::{cpu_tile, data};
use rpusim::TileConfig;

fn train(threads: usize) -> (Vec<f32>, Vec<f32>) {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    pool.install(|| {
        let (rows, cols, batch) = (48, 40, 16);
        let mut tile = cpu_tile(TileConfig::default(), rows, cols, 99);
        tile.set_weights(
            &data(rows * cols, 1)
                .iter()
                .map(|v| v * 0.3)
                .collect::<Vec<_>>(),
        )
        .unwrap();
        let mut y = vec![0.0; batch * rows];
        let mut z = vec![0.0; batch * cols];
        for step in 0..50 {
            let x = data(batch * cols, 100 + step);
            let d: Vec<f32> = data(batch * rows, 200 + step)
                .iter()
                .map(|v| v * 0.1)
                .collect();
            tile.forward(&x, &mut y).unwrap();
            tile.backward(&d, &mut z).unwrap();
            tile.update(&x, &d, 0.05).unwrap();
        }
        let mut outputs = y;
        outputs.extend(z);
        (tile.weights().unwrap(), outputs)
    })
}

#[test]
fn results_do_not_depend_on_the_thread_count() {
    let one = train(1);
    let two = train(2);
    let four = train(4);
    assert_eq!(one, two);
    assert_eq!(one, four);
}

#[test]
fn different_seeds_give_different_pulses() {
    let (rows, cols) = (8, 8);
    let x = vec![0.5; cols];
    let d = vec![0.05; rows];
    let mut a = cpu_tile(TileConfig::default(), rows, cols, 1);
    let mut b = cpu_tile(TileConfig::default(), rows, cols, 2);
    a.update(&x, &d, 0.1).unwrap();
    b.update(&x, &d, 0.1).unwrap();
    assert_ne!(a.weights().unwrap(), b.weights().unwrap());
}

#[test]
fn saved_state_continues_bit_identically() {
    let (rows, cols, batch) = (12, 10, 4);
    let mut tile = cpu_tile(TileConfig::default(), rows, cols, 5);
    let x = data(batch * cols, 3);
    let d: Vec<f32> = data(batch * rows, 4).iter().map(|v| v * 0.2).collect();
    tile.update(&x, &d, 0.1).unwrap();
    let state = tile.state().unwrap();
    let mut copy = rpusim::Tile::from_state(&state, rpusim::BackendKind::Cpu).unwrap();
    let mut y1 = vec![0.0; batch * rows];
    let mut y2 = y1.clone();
    for _ in 0..3 {
        tile.update(&x, &d, 0.1).unwrap();
        copy.update(&x, &d, 0.1).unwrap();
        tile.forward(&x, &mut y1).unwrap();
        copy.forward(&x, &mut y2).unwrap();
    }
    assert_eq!(tile.weights().unwrap(), copy.weights().unwrap());
    assert_eq!(y1, y2);
}
