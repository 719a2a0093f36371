//! Dense pulse-by-pulse application in lockstep: the devices (i, j..j + LANES) of a row advance
//! together, one pulse of each per iteration. A single device's pulses form a dependency chain
//! (each reads the weight the last one wrote: ~20 cycles of latency per pulse); LANES
//! independent chains keep the core busy instead. Every device gets exactly the pulses, in the
//! same order, with the same normals as when replayed alone, so the results are identical.
//!
//! A lane iteration costs the same whether or not a lane still has a pulse, so a lane group runs
//! as long as its busiest device. Blocks of a row without reads are therefore packed: their
//! columns, busiest first, fill the lanes, and columns without pulses take none. Blocks with
//! reads run consecutive columns vector by vector, so that each read falls between the right
//! vectors.

use super::apply::ApplyContext;
use super::captures::Sink;
use super::counts::BLOCK;
use super::lane_trains::{lane_trains, set_bits, vector_counts, LanesIn};
use super::replay::fired_vectors;
use super::sequential::Rows;
use crate::device::{LaneTrain, PulseStep, LANES};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

/// Per-thread buffers.
#[derive(Default)]
struct Scratch {
    fired: Vec<u32>,
    /// Per fired vector: the pulse count of each lane (0 when its direction is filtered out).
    counts: Vec<[u16; LANES]>,
    /// Per fired vector: bit l set when lane l's pulses go up.
    ups: Vec<u32>,
    /// The lanes' replay normals, pulse-major (lane l's m-th at `m * LANES + l`).
    normals: Vec<f32>,
    /// Per lane, bit m set when its m-th pulse goes up (lane l's words at `l * words`).
    directions: Vec<u64>,
    /// The trains of a block's columns in column order (column q's words at `q * stride`).
    block_directions: Vec<u64>,
    /// The reads of a lane group: (position in the lane's train, lane, event).
    stops: Vec<(u32, u32, u32)>,
}

/// The device-ordered application of `sequential_rows` ([`super::sequential`]), lanes of LANES
/// devices.
pub(super) fn device_rows<S: PulseStep, F: Fn(usize) -> S + Sync>(
    c: &ApplyContext<'_>,
    (weights, apparent, reads): Rows<'_, '_>,
    device: F,
) {
    let (cols, words) = (c.input.cols, c.g.words);
    let len = c.g.end - c.g.start;
    let sigma = c.pulsed.write_noise;
    let wide = has_wide_lanes();
    weights
        .par_chunks_mut(cols)
        .zip(apparent.par_iter_mut())
        .zip(reads.par_iter_mut())
        .with_min_len((crate::periphery::PAR_ELEMENTS / (cols * len).max(1)).max(1))
        .enumerate()
        .for_each_init(Scratch::default, |scratch, (i, ((row, app), buf))| {
            fired_vectors(c.s, i, len, words, &mut scratch.fired);
            if scratch.fired.is_empty() && !c.row_captured(i) {
                return;
            }
            let mut sink = Sink {
                buf,
                by_rows: c.by_rows,
                slots: c.slots,
                cols,
            };
            let row_captured = c.row_captured(i);
            for c0 in (0..cols).step_by(BLOCK) {
                let width = BLOCK.min(cols - c0);
                let wn = if sigma > 0.0 {
                    c.write_normals(i, c0)
                } else {
                    [0.0; BLOCK]
                };
                // Without reads in the block, a device's pulses do not depend on which lane runs
                // them.
                let packed = !row_captured || (c0..c0 + width).all(|j| c.captures(i, j).is_empty());
                if packed {
                    let block = Block { i, c0, width };
                    let args = (row as &mut [f32], app.as_deref_mut(), &wn[..]);
                    if wide {
                        wide_packed(c, &device, block, args, scratch);
                    } else {
                        packed_lanes::<S, F, false>(c, &device, block, args, scratch);
                    }
                    continue;
                }
                for l0 in (0..width).step_by(LANES) {
                    let group = LaneGroup {
                        i,
                        j0: c0 + l0,
                        n: LANES.min(width - l0),
                    };
                    let args = (row as &mut [f32], app.as_deref_mut(), &wn[l0..]);
                    if wide {
                        wide_lanes(c, &device, group, args, scratch, &mut sink);
                    } else {
                        run_lanes::<S, F, false>(c, &device, group, args, scratch, &mut sink);
                    }
                }
            }
        });
}

/// The replay normals of the devices (i, lanes_j[l]), pulse-major: lane l's m-th normal at
/// `m * LANES + l`, so that one pulse of all lanes reads one contiguous vector. Device (i, j)
/// draws counter (j, i, group·2²⁰ + block, step), 8 a block, whichever lane it runs in.
#[inline(always)]
fn replay_normals<const WIDE: bool>(
    c: &ApplyContext<'_>,
    i: usize,
    lanes_j: [u32; LANES],
    most_pulses: usize,
    normals: &mut Vec<f32>,
) {
    let depth = most_pulses.next_multiple_of(8);
    if normals.len() < LANES * depth {
        normals.resize(LANES * depth, 0.0);
    }
    // Block b of every lane at once: the lanes' counters differ in their first word only, and
    // the block's 8 normals of the LANES lanes fill 8 contiguous pulse rows.
    let table = c.st.table;
    for b in 0..most_pulses.div_ceil(8) {
        let ctr = [
            lanes_j,
            [i as u32; LANES],
            [(c.g.index << 20) | b as u32; LANES],
            [c.st.step; LANES],
        ];
        // Round by round across the lanes where compiled for AVX-512: the same bits.
        let r = if WIDE {
            c.st.replay.blocks_wide::<LANES>(ctr)
        } else {
            c.st.replay.blocks::<LANES>(ctr)
        };
        let out: &mut [f32; 8 * LANES] = (&mut normals[b * 8 * LANES..(b + 1) * 8 * LANES])
            .try_into()
            .expect("8 pulse rows");
        for (w, words) in r.iter().enumerate() {
            let (low, high) = table.sample_halves(words);
            out[2 * w * LANES..(2 * w + 1) * LANES].copy_from_slice(&low);
            out[(2 * w + 1) * LANES..(2 * w + 2) * LANES].copy_from_slice(&high);
        }
    }
}

/// Columns c0..c0 + width (width ≤ BLOCK) of row i.
#[derive(Clone, Copy)]
struct Block {
    i: usize,
    c0: usize,
    width: usize,
}

/// [`packed_lanes`] compiled for AVX-512 where the CPU has it.
#[inline(always)]
fn wide_packed<S: PulseStep, F: Fn(usize) -> S>(
    c: &ApplyContext<'_>,
    device: &F,
    block: Block,
    rows: LaneRows<'_>,
    scratch: &mut Scratch,
) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: callers check has_wide_lanes(), so the CPU has every enabled feature.
    #[allow(unsafe_code)]
    unsafe {
        packed_lanes_avx512(c, device, block, rows, scratch);
    }
    #[cfg(not(target_arch = "x86_64"))]
    packed_lanes::<S, F, false>(c, device, block, rows, scratch);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt")]
fn packed_lanes_avx512<S: PulseStep, F: Fn(usize) -> S>(
    c: &ApplyContext<'_>,
    device: &F,
    block: Block,
    rows: LaneRows<'_>,
    scratch: &mut Scratch,
) {
    packed_lanes::<S, F, true>(c, device, block, rows, scratch);
}

/// A block of a row without reads, its devices packed into lanes by pulse count: pass 1 takes
/// every column's train, then the columns with pulses, busiest first, fill the lanes, so that
/// the lanes of one iteration have similar counts (little masked work) and columns without
/// pulses take no lane. Each device gets the same pulses and normals as in any other lane.
#[inline(always)]
fn packed_lanes<S: PulseStep, F: Fn(usize) -> S, const WIDE: bool>(
    c: &ApplyContext<'_>,
    device: &F,
    Block { i, c0, width }: Block,
    (row, mut app, write_normals): LaneRows<'_>,
    scratch: &mut Scratch,
) {
    let cols = c.input.cols;
    let mut totals = [0usize; BLOCK];
    let mut stride = 0;
    scratch.block_directions.clear();
    for l0 in (0..width).step_by(LANES) {
        let n = LANES.min(width - l0);
        let lanes_in = LanesIn {
            c,
            i,
            j0: c0 + l0,
            n,
            fired: &scratch.fired,
        };
        let t = lane_trains::<WIDE>(&lanes_in, &mut scratch.directions);
        stride = scratch.directions.len() / LANES;
        scratch
            .block_directions
            .extend_from_slice(&scratch.directions);
        totals[l0..l0 + n].copy_from_slice(&t[..n]);
    }
    // The busy columns, busiest first: sort keys (u32::MAX − total, column), so that plain
    // integers are compared.
    let mut order = [0u64; BLOCK];
    let mut busy = 0;
    for (q, &t) in totals[..width].iter().enumerate() {
        if t > 0 {
            order[busy] = (u64::from(u32::MAX) - t.min(u32::MAX as usize) as u64) << 6 | q as u64;
            busy += 1;
        }
    }
    order[..busy].sort_unstable();
    let noisy = c.pulsed.steps().dw_min_std > 0.0;
    let sigma = c.pulsed.write_noise;
    for p in (0..busy).step_by(LANES) {
        let n = LANES.min(busy - p);
        // Lanes past n repeat the last column with no pulses and are not written back.
        let q: [usize; LANES] = std::array::from_fn(|l| (order[p + l.min(n - 1)] & 63) as usize);
        let counts: [u32; LANES] =
            std::array::from_fn(|l| if l < n { totals[q[l]] as u32 } else { 0 });
        let most_pulses = counts[0] as usize;
        scratch.directions.clear();
        scratch.directions.resize(LANES * stride, 0);
        for (lane, &from) in scratch.directions.chunks_mut(stride).zip(&q[..n]) {
            lane.copy_from_slice(&scratch.block_directions[from * stride..(from + 1) * stride]);
        }
        if noisy {
            let lanes_j: [u32; LANES] = std::array::from_fn(|l| (c0 + q[l]) as u32);
            replay_normals::<WIDE>(c, i, lanes_j, most_pulses, &mut scratch.normals);
        }
        let lanes = S::lanes(&std::array::from_fn(|l| device(i * cols + c0 + q[l])));
        let mut w: [f32; LANES] = std::array::from_fn(|l| row[c0 + q[l]]);
        let train = LaneTrain {
            first: 0,
            pulses: most_pulses,
            counts,
            directions: &scratch.directions,
            words: most_pulses.div_ceil(64),
            stride,
            normals: noisy.then_some(&scratch.normals[..]),
            wide: WIDE,
        };
        S::pulse_train_lanes(&lanes, &mut w, &train);
        for (&w, &q) in w.iter().zip(&q[..n]) {
            row[c0 + q] = w;
            if let Some(a) = app.as_deref_mut() {
                a[c0 + q] = w + sigma * write_normals[q];
            }
        }
    }
}

/// Devices (i, j0..j0 + n), n ≤ LANES.
#[derive(Clone, Copy)]
struct LaneGroup {
    i: usize,
    j0: usize,
    n: usize,
}

/// The group's weights, visible weights and write-noise normals.
type LaneRows<'r> = (&'r mut [f32], Option<&'r mut [f32]>, &'r [f32]);

/// Whether the CPU runs 16-lane single-precision vectors (AVX-512, with BMI2's bit deposit, which
/// every AVX-512 CPU has): one register per parameter of the LANES devices. The same IEEE operations either way, so the results do not change.
pub(crate) fn has_wide_lanes() -> bool {
    if PORTABLE_ONLY.load(Ordering::Relaxed) {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
            && std::arch::is_x86_feature_detected!("avx512bw")
            && std::arch::is_x86_feature_detected!("avx512dq")
            && std::arch::is_x86_feature_detected!("popcnt")
            && std::arch::is_x86_feature_detected!("bmi2")
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

static PORTABLE_ONLY: AtomicBool = AtomicBool::new(false);

/// Runs the lockstep lanes and the pulse-train generation with baseline instructions even where
/// the CPU has AVX-512 (the results are the same; this exists to test that on such machines).
pub fn portable_lanes_only(on: bool) {
    PORTABLE_ONLY.store(on, Ordering::Relaxed);
}

/// [`run_lanes`] compiled for AVX-512; only called where [`has_wide_lanes`] holds.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt")]
fn run_lanes_avx512<S: PulseStep, F: Fn(usize) -> S>(
    c: &ApplyContext<'_>,
    device: &F,
    group: LaneGroup,
    rows: LaneRows<'_>,
    scratch: &mut Scratch,
    sink: &mut Sink<'_>,
) {
    run_lanes::<S, F, true>(c, device, group, rows, scratch, sink);
}

#[inline(always)]
fn wide_lanes<S: PulseStep, F: Fn(usize) -> S>(
    c: &ApplyContext<'_>,
    device: &F,
    group: LaneGroup,
    rows: LaneRows<'_>,
    scratch: &mut Scratch,
    sink: &mut Sink<'_>,
) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: callers check has_wide_lanes(), so the CPU has every enabled feature.
    #[allow(unsafe_code)]
    unsafe {
        run_lanes_avx512(c, device, group, rows, scratch, sink);
    }
    #[cfg(not(target_arch = "x86_64"))]
    run_lanes::<S, F, false>(c, device, group, rows, scratch, sink);
}

#[inline(always)]
fn run_lanes<S: PulseStep, F: Fn(usize) -> S, const WIDE: bool>(
    c: &ApplyContext<'_>,
    device: &F,
    LaneGroup { i, j0, n }: LaneGroup,
    (row, app, write_normals): LaneRows<'_>,
    scratch: &mut Scratch,
    sink: &mut Sink<'_>,
) {
    let cols = c.input.cols;
    // Lanes past n repeat the last device; they get no pulses and are not written back.
    let lane = |l: usize| j0 + l.min(n - 1);
    let lanes = S::lanes(&std::array::from_fn(|l| device(i * cols + lane(l))));
    let mut w: [f32; LANES] = std::array::from_fn(|l| row[lane(l)]);

    let caps: [&[(u32, u32)]; LANES] = std::array::from_fn(|l| c.captures(i, lane(l)));
    let any_caps = caps[..n].iter().any(|c| !c.is_empty());

    // Pass 1: every lane's pulses. With reads, per fired vector (the reads fall between
    // vectors); without, as one train per lane.
    let lanes_in = LanesIn {
        c,
        i,
        j0,
        n,
        fired: &scratch.fired,
    };
    let totals = if any_caps {
        vector_counts(&lanes_in, &mut scratch.counts, &mut scratch.ups)
    } else {
        lane_trains::<WIDE>(&lanes_in, &mut scratch.directions)
    };

    let noisy = c.pulsed.steps().dw_min_std > 0.0;
    let most_pulses = totals.iter().max().copied().unwrap_or(0);
    if noisy {
        let lanes_j: [u32; LANES] = std::array::from_fn(|l| (j0 + l) as u32);
        replay_normals::<WIDE>(c, i, lanes_j, most_pulses, &mut scratch.normals);
    }

    // A read sees the visible weight: persistent + σξ once the device has been written.
    let sigma = c.pulsed.write_noise;
    let old: [f32; LANES] = std::array::from_fn(|l| app.as_deref().map_or(w[l], |a| a[lane(l)]));
    let visible = |w: f32, l: usize, pulsed: bool| {
        if sigma > 0.0 {
            if pulsed {
                w + sigma * write_normals[l]
            } else {
                old[l]
            }
        } else {
            w
        }
    };
    let pulsed: [bool; LANES] = std::array::from_fn(|l| totals[l] > 0);

    // Pass 2: the pulses, LANES devices per iteration (masked where a lane has no pulse left):
    // lane l takes its m-th pulse in iteration m. A read of lane l needs only lane l's own
    // pulses before it (the devices are independent), so the run stops at each read's position
    // in its lane's train, takes the read, and resumes.
    let noisy_normals = noisy.then_some(&scratch.normals[..]);
    if any_caps {
        let stride = most_pulses.div_ceil(64).max(1);
        let (directions, stops) = (&mut scratch.directions, &mut scratch.stops);
        directions.clear();
        directions.resize(LANES * stride, 0);
        stops.clear();
        let mut position = [0usize; LANES];
        let mut next_cap = [0usize; LANES];
        for (f, &v) in scratch.fired.iter().enumerate() {
            for l in 0..n {
                // A read at vector r sees the pulses of the vectors up to r.
                while next_cap[l] < caps[l].len() && caps[l][next_cap[l]].0 < v {
                    stops.push((position[l] as u32, l as u32, caps[l][next_cap[l]].1));
                    next_cap[l] += 1;
                }
            }
            let (counts, ups) = (scratch.counts[f], scratch.ups[f]);
            for l in 0..n {
                let count = usize::from(counts[l]);
                if (ups >> l) & 1 == 1 {
                    set_bits(
                        &mut directions[l * stride..(l + 1) * stride],
                        position[l],
                        count,
                    );
                }
                position[l] += count;
            }
        }
        for l in 0..n {
            for &(_, event) in &caps[l][next_cap[l]..] {
                stops.push((position[l] as u32, l as u32, event));
            }
        }
        // Reads at one position may be taken in any order: they write different slots.
        stops.sort_unstable_by_key(|&(at, _, _)| at);
        let mut train = LaneTrain {
            first: 0,
            pulses: 0,
            counts: std::array::from_fn(|l| totals[l] as u32),
            directions,
            words: 0,
            stride,
            normals: noisy_normals,
            wide: WIDE,
        };
        let run_to = |train: &mut LaneTrain<'_>, w: &mut [f32; LANES], at: usize| {
            if at > train.first {
                train.pulses = at;
                train.words = at.div_ceil(64);
                S::pulse_train_lanes(&lanes, w, train);
                train.first = at;
            }
        };
        for &(at, l, event) in stops.iter() {
            run_to(&mut train, &mut w, at as usize);
            let l = l as usize;
            sink.put(event, j0 + l, visible(w[l], l, at > 0));
        }
        run_to(&mut train, &mut w, most_pulses);
    } else {
        // Without reads the vectors' boundaries do not matter at all.
        let train = LaneTrain {
            first: 0,
            pulses: most_pulses,
            counts: std::array::from_fn(|l| totals[l] as u32),
            directions: &scratch.directions,
            words: most_pulses.div_ceil(64),
            stride: scratch.directions.len() / LANES,
            normals: noisy_normals,
            wide: WIDE,
        };
        S::pulse_train_lanes(&lanes, &mut w, &train);
    }

    row[j0..j0 + n].copy_from_slice(&w[..n]);
    if let Some(a) = app {
        for l in 0..n {
            if pulsed[l] {
                a[j0 + l] = w[l] + sigma * write_normals[l];
            }
        }
    }
}
