//! Shapes and data shared by the benches.

use rpusim::rng::philox4x32_10;

pub const SIZES: [usize; 3] = [256, 512, 1024];
pub const BATCHES: [usize; 3] = [1, 16, 128];

/// Deterministic data uniform in [-scale, scale].
pub fn data(n: usize, salt: u32, scale: f32) -> Vec<f32> {
    (0..n)
        .map(|i| {
            let h = philox4x32_10([i as u32, salt, 0, 0], [3, 4]);
            ((h[0] >> 8) as f32 / 8_388_608.0 - 1.0) * scale
        })
        .collect()
}

/// Thread counts to compare: 1 and all cores.
pub fn thread_counts() -> Vec<usize> {
    let all = std::thread::available_parallelism().map_or(1, |n| n.get());
    if all > 1 {
        vec![1, all]
    } else {
        vec![1]
    }
}
