//! Criterion benches of the tile kernels: forward, backward and pulsed update with the default
//! configuration (ConstantStepDevice, default IO, lr 0.01), per tile size, batch and thread count.
//! Ids: `<op>/<backend>-t<threads>/<size>x<size>/b<batch>`.

mod common;

use common::{data, thread_counts, BATCHES, SIZES};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use rpusim::{BackendKind, Tile, TileConfig};
use std::time::{Duration, Instant};

fn tile(n: usize) -> Tile {
    let mut t = Tile::new(TileConfig::default(), n, n, 42, BackendKind::Cpu).unwrap();
    t.set_weights(&data(n * n, 1, 0.05)).unwrap();
    t
}

fn bench_op(c: &mut Criterion, op: &str) {
    let mut group = c.benchmark_group(op);
    group
        .sample_size(20)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2));
    for threads in thread_counts() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        for n in SIZES {
            for batch in BATCHES {
                let mut t = tile(n);
                // Realistic pulse counts: k = lr·max|x|·max|d|/dw_min ≈ 0.01·3·0.4/0.001 = 12.
                let x = data(batch * n, 2, 3.0);
                let d = data(batch * n, 3, 0.4);
                let mut out = vec![0.0; batch * n];
                let w0 = t.weights().unwrap();
                group.throughput(Throughput::Elements((batch * n * n) as u64));
                let id = BenchmarkId::new(format!("cpu-t{threads}"), format!("{n}x{n}/b{batch}"));
                group.bench_function(id, |b| {
                    pool.install(|| match op {
                        "forward" => b.iter(|| t.forward(&x, &mut out).unwrap()),
                        "backward" => b.iter(|| t.backward(&d, &mut out).unwrap()),
                        // Weights are reset before each (timed) update so they never drift
                        // to the bounds over thousands of iterations.
                        _ => b.iter_custom(|iters| {
                            let mut total = Duration::ZERO;
                            for _ in 0..iters {
                                t.set_weights(&w0).unwrap();
                                let start = Instant::now();
                                t.update(&x, &d, 0.01).unwrap();
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

criterion_group!(benches, forward, backward, update);
criterion_main!(benches);
