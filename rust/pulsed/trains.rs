//! Stage 2, train generation: the bit-packed x and d trains of a group (Philox, portable or
//! AVX-512), their sign masks, the slot planes of the grouped application and the slot lists of
//! the slot-ordered one.

use super::batch::{PulseBatch, PulseScratch, Streams};
use super::counts::{NEGATIVE, POSITIVE};
use super::lockstep;
use super::plan::{firing_threshold, Group};
use crate::config::UpdateParameters;
use crate::periphery::PAR_ELEMENTS;
use crate::rng::Stream;
use rayon::prelude::*;

/// Vectors whose trains are drawn together (one Philox evaluation per lane).
const TRAIN_LANES: usize = 8;

/// The vectors of one element whose trains are drawn together: lane l is vector `n[l]` (its
/// Philox counter), its bits go to `pos[l]` (vector within the group), its firing threshold is
/// `t[l]` and its train length `bl[l]`; lanes past `len` are unused.
#[derive(Clone, Copy, Default)]
struct Lanes {
    len: usize,
    n: [u32; TRAIN_LANES],
    pos: [usize; TRAIN_LANES],
    t: [u32; TRAIN_LANES],
    bl: [usize; TRAIN_LANES],
}

impl Lanes {
    fn push(&mut self, n: usize, pos: usize, t: u32, bl: usize) {
        let l = self.len;
        (self.n[l], self.pos[l], self.t[l], self.bl[l]) = (n as u32, pos, t, bl);
        self.len += 1;
    }

    fn is_full(&self) -> bool {
        self.len == TRAIN_LANES
    }
}

/// [`fill_trains`] compiled for AVX-512 (8 Philox lanes per instruction); only called where
/// the CPU has it. The same integer operations, so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt")]
fn fill_trains_avx512(
    stream: &Stream,
    element: u32,
    step: u32,
    lanes: &Lanes,
    out: &mut [u64],
    words: usize,
) {
    fill_trains::<true>(stream, element, step, lanes, out, words);
}

/// [`fill_trains`] with AVX-512 when `wide` (the caller checked the CPU).
#[inline(always)]
fn fill_trains_on(
    wide: bool,
    stream: &Stream,
    element: u32,
    step: u32,
    lanes: &Lanes,
    out: &mut [u64],
    words: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if wide {
        // SAFETY: `wide` is lockstep::has_wide_lanes(): the CPU has every enabled feature.
        #[allow(unsafe_code)]
        unsafe {
            fill_trains_avx512(stream, element, step, lanes, out, words);
        }
        return;
    }
    let _ = wide;
    fill_trains::<false>(stream, element, step, lanes, out, words);
}

/// Bits of one element's trains for up to [`TRAIN_LANES`] vectors (`out`: the element's trains,
/// `words` per vector, zero where nothing fires): slot s of vector n fires when its 16-bit uniform
/// (half of a word of Philox(element, s / 8, n, step)) is below the vector's threshold
/// (≥ 65536: always). The counter names the vector, so which vectors share a Philox evaluation
/// does not change the bits. Branch-free, so random outcomes cost no mispredictions.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // lane l indexes r[word][l], t, bl and pos alike
fn fill_trains<const WIDE: bool>(
    stream: &Stream,
    element: u32,
    step: u32,
    lanes: &Lanes,
    out: &mut [u64],
    words: usize,
) {
    let max_bl = lanes.bl[..lanes.len].iter().copied().max().unwrap_or(0);
    for block in 0..max_bl.div_ceil(8) {
        let ctr = [
            [element; TRAIN_LANES],
            [block as u32; TRAIN_LANES],
            lanes.n,
            [step; TRAIN_LANES],
        ];
        let r = if WIDE {
            stream.blocks_wide(ctr)
        } else {
            stream.blocks(ctr)
        };
        for l in 0..lanes.len {
            let at = lanes.pos[l] * words;
            let bits = &mut out[at..at + words];
            for h in 0..8 {
                let slot = block * 8 + h;
                let u = (r[h / 2][l] >> (16 * (h % 2))) & 0xFFFF;
                let fire = u64::from(u < lanes.t[l]) & u64::from(slot < lanes.bl[l]);
                bits[slot / 64] |= fire << (slot % 64);
            }
        }
    }
}

/// Generates the x and d trains of every vector of a group, element-major (`[element][vector]`,
/// so a row's or a column's trains are contiguous), and (`planes`) the x slot planes of every
/// vector.
pub(super) fn make_trains(
    p: &UpdateParameters,
    input: &PulseBatch<'_>,
    g: &Group,
    st: &Streams,
    s: &mut PulseScratch,
    planes: bool,
) {
    let (rows, cols, words) = (input.rows, input.cols, g.words);
    let len = g.end - g.start;
    let sign_words = len.div_ceil(64);
    s.x_bits.resize(cols * len * words, 0);
    s.d_bits.resize(rows * len * words, 0);
    s.x_negative.resize(cols * sign_words, 0);
    s.d_negative.resize(rows * sign_words, 0);
    if planes {
        s.planes.resize(len * g.max_bl * cols, 0);
    }
    let trains = &s.trains;
    let wide = lockstep::has_wide_lanes();
    let element_trains = |stream: &Stream,
                          values: &[f32],
                          width: usize,
                          which: u32,
                          e: usize,
                          bits: &mut [u64],
                          negative: &mut [u64]| {
        negative.fill(0);
        for v in 0..len {
            negative[v / 64] |= u64::from(values[(g.start + v) * width + e] < 0.0) << (v % 64);
        }
        // Only vectors whose element can fire draw random numbers (a zero never fires: in a
        // convolution most patch values or gradients are 0), packed into full lanes.
        bits.fill(0);
        let mut lanes = Lanes::default();
        for v in 0..len {
            let n = g.start + v;
            let value = values[n * width + e];
            if value == 0.0 {
                continue;
            }
            let train = trains[n];
            let scale = if which == 0 {
                train.x_scale
            } else {
                train.d_scale
            };
            let t = firing_threshold(p, &st.rounding, st.step, scale, value, e, n, which);
            if t == 0 || train.bl == 0 {
                continue;
            }
            lanes.push(n, v, t, train.bl as usize);
            if lanes.is_full() {
                fill_trains_on(wide, stream, e as u32, st.step, &lanes, bits, words);
                lanes.len = 0;
            }
        }
        if lanes.len > 0 {
            fill_trains_on(wide, stream, e as u32, st.step, &lanes, bits, words);
        }
    };
    let min_len = (PAR_ELEMENTS / (len * g.max_bl.max(1))).max(1);
    s.x_bits
        .par_chunks_mut(len * words)
        .zip(s.x_negative.par_chunks_mut(sign_words))
        .with_min_len(min_len)
        .enumerate()
        .for_each(|(j, (bits, neg))| element_trains(&st.x, input.x, cols, 0, j, bits, neg));
    s.d_bits
        .par_chunks_mut(len * words)
        .zip(s.d_negative.par_chunks_mut(sign_words))
        .with_min_len(min_len)
        .enumerate()
        .for_each(|(i, (bits, neg))| element_trains(&st.d, input.d, rows, 1, i, bits, neg));
    if !planes {
        slot_lists(input, g, s);
        return;
    }
    // Slot planes of x: byte j of plane s is 1 if x_j > 0 fires in slot s, 16 if x_j < 0.
    let x_bits = &s.x_bits;
    s.planes
        .par_chunks_mut(g.max_bl * cols)
        .with_min_len((PAR_ELEMENTS / cols).max(1))
        .enumerate()
        .for_each(|(k, planes)| {
            let n = g.start + k;
            let bl = trains[n].bl as usize;
            planes[..bl * cols].fill(0);
            for j in 0..cols {
                let mark = if input.x[n * cols + j] < 0.0 {
                    NEGATIVE
                } else {
                    POSITIVE
                };
                let bits = &x_bits[(j * len + k) * words..(j * len + k + 1) * words];
                for (w, &word) in bits.iter().enumerate() {
                    let mut word = word;
                    while word != 0 {
                        let slot = w * 64 + word.trailing_zeros() as usize;
                        planes[slot * cols + j] = mark;
                        word &= word - 1;
                    }
                }
            }
        });
}

/// For every (vector, slot) of the group the columns whose x_j fires in it, in column order, with
/// the sign of x_j in bit 31 (the slot-ordered application of
/// [`super::sequential::apply_sequential`]).
fn slot_lists(input: &PulseBatch<'_>, g: &Group, s: &mut PulseScratch) {
    let (rows, cols, words, max_bl) = (input.rows, input.cols, g.words, g.max_bl);
    let len = g.end - g.start;
    // Expected pulses (x firings × d firings per slot, vector by vector) against the (device,
    // vector) pairs the device-by-device order visits; counted element by element (the bits
    // of one element are contiguous).
    let mut x_fires = vec![0u32; len];
    let mut d_fires = vec![0u32; len];
    let mut d_rows = vec![0u32; len];
    for e in 0..cols {
        let bits = &s.x_bits[e * len * words..(e + 1) * len * words];
        for (k, b) in bits.chunks_exact(words).enumerate() {
            x_fires[k] += b.iter().map(|w| w.count_ones()).sum::<u32>();
        }
    }
    for e in 0..rows {
        let bits = &s.d_bits[e * len * words..(e + 1) * len * words];
        for (k, b) in bits.chunks_exact(words).enumerate() {
            let c: u32 = b.iter().map(|w| w.count_ones()).sum();
            d_fires[k] += c;
            d_rows[k] += u32::from(c > 0);
        }
    }
    let (mut pulses, mut visits) = (0.0f64, 0.0f64);
    for k in 0..len {
        let bl = f64::from(s.trains[g.start + k].bl.max(1));
        pulses += f64::from(x_fires[k]) * f64::from(d_fires[k]) / bl;
        visits += f64::from(d_rows[k]) * cols as f64;
    }
    s.dense = s.pinned_dense.unwrap_or(pulses > 1.5 * visits);
    if s.dense {
        return;
    }
    let slots = len * max_bl;
    s.slot_offsets.clear();
    s.slot_offsets.resize(slots + 1, 0);
    for j in 0..cols {
        for k in 0..len {
            for (w, &word) in s.x_bits[(j * len + k) * words..(j * len + k + 1) * words]
                .iter()
                .enumerate()
            {
                let mut word = word;
                while word != 0 {
                    let slot = w * 64 + word.trailing_zeros() as usize;
                    word &= word - 1;
                    s.slot_offsets[k * max_bl + slot + 1] += 1;
                }
            }
        }
    }
    for q in 0..slots {
        s.slot_offsets[q + 1] += s.slot_offsets[q];
    }
    s.slot_columns.clear();
    s.slot_columns.resize(s.slot_offsets[slots] as usize, 0);
    let mut fill: Vec<u32> = s.slot_offsets[..slots].to_vec();
    let sign_words = len.div_ceil(64);
    for j in 0..cols {
        for k in 0..len {
            let negative = ((s.x_negative[j * sign_words + k / 64] >> (k % 64)) & 1) as u32;
            for (w, &word) in s.x_bits[(j * len + k) * words..(j * len + k + 1) * words]
                .iter()
                .enumerate()
            {
                let mut word = word;
                while word != 0 {
                    let slot = w * 64 + word.trailing_zeros() as usize;
                    word &= word - 1;
                    let at = &mut fill[k * max_bl + slot];
                    s.slot_columns[*at as usize] = j as u32 | (negative << 31);
                    *at += 1;
                }
            }
        }
    }
}
