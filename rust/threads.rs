//! The CPU backend's thread pool.
//!
//! Rayon runs parallel work on its pool's worker threads; a call from a thread outside the pool
//! hands the work to a worker and sleeps until it is done, two thread wake-ups per parallel
//! loop. For the small tiles and batch-1 steps of real training those wake-ups cost as much as
//! the work (on a 2-core VM a 256 × 256 batch-1 update took 0.49 ms with the hand-off, 0.32
//! without). So the thread that imports rpusim (Python's main thread) becomes worker 0 of the
//! global pool and runs its loops itself, with the other workers stealing from it.

/// The thread count the global pool gets: `RAYON_NUM_THREADS` when set to a positive number,
/// else the number of CPUs (rayon's own rule).
fn configured_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Makes the calling thread worker 0 of the global pool; returns whether it did. Only with two
/// or more threads: work handed in from other threads (while the caller runs Python) must find
/// a worker of rayon's own, so a single-thread pool keeps its one worker. Call it once, from a
/// thread that lives as long as the process (Python's main thread), before any parallel work;
/// it does nothing when the pool already exists.
pub fn adopt_calling_thread() -> bool {
    let threads = configured_threads();
    if threads < 2 {
        return false;
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .use_current_thread()
        .build_global()
        .is_ok()
}
