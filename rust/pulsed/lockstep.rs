//! Dense pulse-by-pulse application in lockstep: the devices (i, j..j + LANES) of a row advance
//! together, one pulse of each per iteration. A single device's pulses form a dependency chain
//! (each reads the weight the last one wrote: ~20 cycles of latency per pulse); LANES
//! independent chains keep the core busy instead. Every device gets exactly the pulses, in the
//! same order, with the same normals as when replayed alone, so the results are identical.

use super::apply::ApplyContext;
use super::captures::Sink;
use super::counts::BLOCK;
use super::replay::fired_vectors;
use super::sequential::Rows;
use crate::device::{PulseStep, LANES};
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
    /// The lanes' replay normals, lane l at `l * stride`.
    normals: Vec<f32>,
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
            for c0 in (0..cols).step_by(BLOCK) {
                let width = BLOCK.min(cols - c0);
                let wn = if sigma > 0.0 {
                    c.write_normals(i, c0)
                } else {
                    [0.0; BLOCK]
                };
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

/// Devices (i, j0..j0 + n), n ≤ LANES.
#[derive(Clone, Copy)]
struct LaneGroup {
    i: usize,
    j0: usize,
    n: usize,
}

/// The group's weights, visible weights and write-noise normals.
type LaneRows<'r> = (&'r mut [f32], Option<&'r mut [f32]>, &'r [f32]);

/// Whether the CPU runs 16-lane single-precision vectors (AVX-512): one register per parameter
/// of the LANES devices. The same IEEE operations either way, so the results do not change.
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
    let (cols, words) = (c.input.cols, c.g.words);
    let len = c.g.end - c.g.start;
    let s = c.s;
    let sign_words = len.div_ceil(64);
    // Lanes past n repeat the last device; they get no pulses and are not written back.
    let lane = |l: usize| j0 + l.min(n - 1);
    let lanes = S::lanes(&std::array::from_fn(|l| device(i * cols + lane(l))));
    let mut w: [f32; LANES] = std::array::from_fn(|l| row[lane(l)]);

    // Pass 1: every lane's pulse count and direction per fired vector.
    let d_row = &s.d_bits[i * len * words..(i + 1) * len * words];
    let d_signs = &s.d_negative[i * sign_words..(i + 1) * sign_words];
    let polarity = c.input.polarity;
    scratch.counts.clear();
    scratch.ups.clear();
    let mut totals = [0usize; LANES];
    let mut longest = 0;
    for &v in &scratch.fired {
        let v = v as usize;
        let db = &d_row[v * words..(v + 1) * words];
        let mut counts = [0u16; LANES];
        let mut ups = 0u32;
        for (l, count) in counts.iter_mut().enumerate().take(n) {
            let j = j0 + l;
            let xb = &s.x_bits[(j * len + v) * words..(j * len + v + 1) * words];
            let hits: u32 = db.iter().zip(xb).map(|(a, b)| (a & b).count_ones()).sum();
            if hits == 0 {
                continue;
            }
            let x_signs = &s.x_negative[j * sign_words..(j + 1) * sign_words];
            // A pulse goes up when x_j and d_i have opposite signs.
            let Some(up) =
                polarity.taken(((d_signs[v / 64] ^ x_signs[v / 64]) >> (v % 64)) & 1 == 1)
            else {
                continue;
            };
            *count = hits as u16;
            longest = longest.max(hits as usize);
            ups |= u32::from(up) << l;
            totals[l] += hits as usize;
        }
        scratch.counts.push(counts);
        scratch.ups.push(ups);
    }

    // The replay normals of device (i, j): counter (j, i, group·2²⁰ + block, step), 8 a block.
    let noisy = c.pulsed.steps().dw_min_std > 0.0;
    // A masked iteration reads up to `longest` normals past a lane's last one (values unused).
    let stride = totals
        .iter()
        .max()
        .copied()
        .unwrap_or(0)
        .next_multiple_of(8)
        + longest;
    if noisy {
        if scratch.normals.len() < LANES * stride {
            scratch.normals.resize(LANES * stride, 0.0);
        }
        for (l, &total) in totals.iter().enumerate().take(n) {
            let out = &mut scratch.normals[l * stride..(l + 1) * stride];
            // Blocks of 8 normals, BLOCKS counters evaluated together (the same numbers as
            // Stream::normals8 block by block).
            const BLOCKS: usize = 16;
            let blocks = total.div_ceil(8);
            for b0 in (0..blocks).step_by(BLOCKS) {
                let ctr = [
                    [(j0 + l) as u32; BLOCKS],
                    [i as u32; BLOCKS],
                    std::array::from_fn(|q| (c.g.index << 20) | (b0 + q) as u32),
                    [c.st.step; BLOCKS],
                ];
                // Round by round across the blocks where compiled for AVX-512: the same bits.
                let r = if WIDE {
                    c.st.replay.blocks_wide::<BLOCKS>(ctr)
                } else {
                    c.st.replay.blocks::<BLOCKS>(ctr)
                };
                for q in 0..BLOCKS.min(blocks - b0) {
                    let chunk: &mut [f32; 8] = (&mut out[(b0 + q) * 8..(b0 + q + 1) * 8])
                        .try_into()
                        .expect("8 normals");
                    for w in 0..4 {
                        chunk[2 * w] = c.st.table.sample(r[w][q] as u16);
                        chunk[2 * w + 1] = c.st.table.sample((r[w][q] >> 16) as u16);
                    }
                }
            }
        }
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
    let caps: [&[(u32, u32)]; LANES] = std::array::from_fn(|l| c.captures(i, lane(l)));
    let any_caps = caps[..n].iter().any(|c| !c.is_empty());
    let mut next_cap = [0usize; LANES];
    let mut used = [0usize; LANES];
    let mut pulsed = [false; LANES];

    // Pass 2: the pulses, LANES devices per iteration (masked where a lane has no pulse left).
    for (f, &v) in scratch.fired.iter().enumerate() {
        if any_caps {
            for l in 0..n {
                while next_cap[l] < caps[l].len() && caps[l][next_cap[l]].0 < v {
                    sink.put(caps[l][next_cap[l]].1, j0 + l, visible(w[l], l, pulsed[l]));
                    next_cap[l] += 1;
                }
            }
        }
        let counts = scratch.counts[f];
        let most = counts.iter().max().copied().unwrap_or(0);
        if most == 0 {
            continue;
        }
        let ups = scratch.ups[f];
        let up: [bool; LANES] = std::array::from_fn(|l| (ups >> l) & 1 == 1);
        let counts_f: [f32; LANES] = std::array::from_fn(|l| f32::from(counts[l]));
        let mut xi = [0.0f32; LANES];
        for m in 0..most {
            if noisy {
                for l in 0..LANES {
                    xi[l] = scratch.normals[l * stride + used[l] + m as usize];
                }
            }
            let next = S::pulse_lanes(&lanes, &up, &w, &xi);
            // Lanes whose pulses are done keep their weight (a select, not a branch).
            let m = f32::from(m);
            for l in 0..LANES {
                w[l] = if m < counts_f[l] { next[l] } else { w[l] };
            }
        }
        for l in 0..LANES {
            used[l] += counts[l] as usize;
            pulsed[l] |= counts[l] > 0;
        }
    }
    for l in 0..n {
        for &(_, event) in &caps[l][next_cap[l]..] {
            sink.put(event, j0 + l, visible(w[l], l, pulsed[l]));
        }
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
