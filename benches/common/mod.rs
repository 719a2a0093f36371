//! Shapes, backends and data shared by the benches. The grid can be narrowed from the
//! environment (software Vulkan is 100-1000× slower than a GPU):
//! `RPUSIM_BENCH_SIZES=256,1024`, `RPUSIM_BENCH_BATCHES=1,64`, `RPUSIM_BENCH_BACKENDS=cpu,gpu`,
//! `RPUSIM_BENCH_THREADS=16` (the cpu variants' rayon threads; default 1 and all cores).

use rpusim::rng::philox4x32_10;
use rpusim::BackendKind;

fn list(var: &str, default: &[usize]) -> Vec<usize> {
    match std::env::var(var) {
        Ok(s) => s
            .split(',')
            .map(|v| {
                v.trim()
                    .parse()
                    .unwrap_or_else(|_| panic!("{var}: bad number {v:?}"))
            })
            .collect(),
        Err(_) => default.to_vec(),
    }
}

/// Square tile sizes.
pub fn sizes() -> Vec<usize> {
    list("RPUSIM_BENCH_SIZES", &[256, 1024, 4096])
}

/// Batch sizes.
pub fn batches() -> Vec<usize> {
    list("RPUSIM_BENCH_BATCHES", &[1, 64, 256])
}

/// Deterministic data uniform in [-scale, scale].
pub fn data(n: usize, salt: u32, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let h = philox4x32_10([i as u32, salt, 0, 0], [3, 4]);
            ((h[0] >> 8) as f32 / 8_388_608.0 - 1.0) * scale
        })
        .collect()
}

/// One configuration to measure: a backend and the rayon threads of the host side.
pub struct Variant {
    pub kind: BackendKind,
    pub threads: usize,
    pub label: String,
    /// Largest tile size measured (software GPU adapters stop at 1024²: 4096² would take hours).
    pub max_size: usize,
}

/// cpu on 1 thread and on all cores, and the gpu when an adapter is found.
pub fn variants() -> Vec<Variant> {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    let wanted = std::env::var("RPUSIM_BENCH_BACKENDS").unwrap_or_else(|_| "cpu,gpu".into());
    let mut v = Vec::new();
    if wanted.split(',').any(|b| b.trim() == "cpu") {
        let mut counts = vec![1];
        if all > 1 {
            counts.push(all);
        }
        // A many-core GPU host narrows this to its core count: 4096² at 1 thread takes minutes.
        let counts = list("RPUSIM_BENCH_THREADS", &counts);
        for t in counts {
            v.push(Variant {
                kind: BackendKind::Cpu,
                threads: t,
                label: format!("cpu-t{t}"),
                max_size: usize::MAX,
            });
        }
    }
    if wanted.split(',').any(|b| b.trim() == "gpu") {
        match rpusim::backend::gpu_unavailable_reason() {
            None => {
                let info = rpusim::backend::available()
                    .into_iter()
                    .find(|(name, _)| *name == "gpu")
                    .map(|(_, info)| info)
                    .unwrap_or_default();
                let software = info.contains("(Cpu,");
                if software {
                    eprintln!(
                        "gpu adapter is a software renderer ({info}): gpu benches up to 1024²"
                    );
                }
                v.push(Variant {
                    kind: BackendKind::Gpu,
                    threads: all,
                    label: "gpu".into(),
                    max_size: if software { 1024 } else { usize::MAX },
                })
            }
            Some(reason) => eprintln!("gpu benches skipped: {reason}"),
        }
    }
    v
}
