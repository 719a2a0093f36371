//! The CPU backend's thread pool.
//!
//! Rayon runs parallel work on its pool's worker threads; a call from a thread outside the pool
//! hands the work to a worker and sleeps until it is done, two thread wake-ups per parallel
//! loop. For the small tiles and batch-1 steps of real training those wake-ups cost as much as
//! the work (on a 2-core VM a 256 × 256 batch-1 update took 0.49 ms with the hand-off, 0.32
//! without). So the thread that imports rpusim (Python's main thread) runs its loops itself: as
//! worker 0 of the global pool, the other workers stealing from it, or at one thread as the only
//! worker of a private pool.

/// The thread count the global pool gets: `RAYON_NUM_THREADS` when set to a positive number,
/// else the number of CPUs (rayon's own rule).
fn configured_threads() -> usize {
    std::env::var("RAYON_NUM_THREADS")
        .ok()
        .and_then(|v| v.trim().parse::<usize>().ok())
        .filter(|&n| n > 0)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}

/// Makes the calling thread run its own parallel loops; returns whether it did. With two or
/// more threads it becomes worker 0 of the global pool. With one, the global pool keeps its own
/// worker (work handed in from other threads, while the caller runs Python, must find a worker
/// that is not busy in Python) and the caller becomes the only worker of a private pool: its
/// loops then run where they are called, without waking a worker and sleeping (on a 2-core VM
/// that hand-off was about a tenth of a LeNet5 training step at one thread). Call it once, from
/// a thread that lives as long as the process (Python's main thread), before any parallel work;
/// it does nothing when the calling thread is a worker already, or when the global pool exists
/// with two or more threads.
pub fn adopt_calling_thread() -> bool {
    let threads = configured_threads();
    if threads < 2 {
        return match rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .use_current_thread()
            .build()
        {
            Ok(pool) => {
                // The calling thread stays this pool's worker for good (rayon leaks its worker
                // state); dropping the pool would shut down the pool it keeps using.
                std::mem::forget(pool);
                true
            }
            Err(_) => false,
        };
    }
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .use_current_thread()
        .build_global()
        .is_ok()
}
