//! Criterion benches of the tile kernels per backend: forward, backward, pulsed update and a
//! whole training step (forward + backward + update) with the default configuration
//! (ConstantStepDevice, default IO, lr 0.01). One group per kernel; ids
//! `<op>/<backend>/<size>x<size>/b<batch>` with backend `cpu-t1`, `cpu-t<cores>` or `gpu`.
//! GPU timings include waiting for the device (every timed call ends synchronized).

mod common;

use common::{batches, data, sizes, variants};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rpusim::{BackendKind, Tile, TileConfig};
use std::time::{Duration, Instant};

fn tile(kind: BackendKind, n: usize) -> Tile {
    let mut t = Tile::new(TileConfig::default(), n, n, 42, kind).unwrap();
    t.set_weights(&data(n * n, 1, 0.05)).unwrap();
    t
}

fn bench_op(c: &mut Criterion, op: &str) {
    let mut group = c.benchmark_group(op);
    group
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(2));
    for variant in variants() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(variant.threads)
            .build()
            .unwrap();
        for n in sizes().into_iter().filter(|&n| n <= variant.max_size) {
            for batch in batches() {
                let mut t = tile(variant.kind, n);
                // Realistic pulse counts: k = lr·max|x|·max|d|/dw_min ≈ 0.01·3·0.4/0.001 = 12.
                let x = data(batch * n, 2, 3.0);
                let d = data(batch * n, 3, 0.4);
                let mut y = vec![0.0; batch * n];
                let mut z = vec![0.0; batch * n];
                let w0 = t.weights().unwrap();
                group.throughput(Throughput::Elements((batch * n * n) as u64));
                let id = BenchmarkId::new(&variant.label, format!("{n}x{n}/b{batch}"));
                group.bench_function(id, |b| {
                    pool.install(|| match op {
                        "forward" => b.iter(|| t.forward(&x, &mut y).unwrap()),
                        "backward" => b.iter(|| t.backward(&d, &mut z).unwrap()),
                        // Weights are reset before each timed update (or step) so they never
                        // drift to the bounds over thousands of iterations.
                        _ => b.iter_custom(|iters| {
                            let mut total = Duration::ZERO;
                            for _ in 0..iters {
                                t.set_weights(&w0).unwrap();
                                t.synchronize().unwrap();
                                let start = Instant::now();
                                if op == "step" {
                                    t.forward(&x, &mut y).unwrap();
                                    t.backward(&d, &mut z).unwrap();
                                }
                                t.update(&x, &d, 0.01).unwrap();
                                t.synchronize().unwrap();
                                total += start.elapsed();
                            }
                            total
                        }),
                    })
                });
            }
        }
    }
    group.finish();
}

fn forward(c: &mut Criterion) {
    bench_op(c, "forward");
}

fn backward(c: &mut Criterion) {
    bench_op(c, "backward");
}

fn update(c: &mut Criterion) {
    bench_op(c, "update");
}

fn step(c: &mut Criterion) {
    bench_op(c, "step");
}

criterion_group!(benches, forward, backward, update, step);
criterion_main!(benches);
