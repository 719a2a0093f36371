//! Stage 2, train generation: the bit-packed x and d trains of a group (Philox, portable or
//! AVX-512), their sign masks, the slot planes of the grouped application and the slot lists of
//! the slot-ordered one.

use super::batch::{PulseBatch, PulseScratch, Streams};
use super::counts::{NEGATIVE, POSITIVE};
use super::lockstep;
use super::plan::{firing_threshold, thresholds, Group};
use super::response::Pulsed;
use crate::config::UpdateParameters;
use crate::device::LANES;
use crate::periphery::PAR_ELEMENTS;
use crate::rng::Stream;
use rayon::prelude::*;

/// Trains of at most this many slots are written to the slot planes whole (see make_trains).
const DENSE_SLOTS: usize = 4;

/// Vectors whose trains are drawn together (one Philox evaluation per lane).
const TRAIN_LANES: usize = 8;

/// Elements whose trains share one Philox evaluation: the eight 16-bit halves of Philox(o, s, n,
/// step) are slot s of elements 8o..8o + 8 of vector n. A short train (update management often
/// gives BL = 1) then costs one evaluation per 8 elements, not one per element.
pub const OCTET: usize = 8;

/// The vectors of one octet whose trains are drawn together: lane l is vector `n[l]` (its Philox
/// counter), its bits go to `pos[l]` (vector within the group), `t[h][l]` is the firing
/// threshold of element h of the octet, `bl[l]` the train length; lanes past `len` are unused.
#[derive(Clone, Copy, Default)]
struct Lanes {
    len: usize,
    n: [u32; TRAIN_LANES],
    pos: [usize; TRAIN_LANES],
    t: [[u32; TRAIN_LANES]; OCTET],
    bl: [usize; TRAIN_LANES],
}

impl Lanes {
    /// Takes vector `n` (at `pos` in the group) into the next lane; returns whether the lanes
    /// are full (to be flushed).
    #[inline(always)]
    fn push(&mut self, n: usize, pos: usize, t: [u32; OCTET], bl: u32) -> bool {
        let l = self.len;
        (self.n[l], self.pos[l], self.bl[l]) = (n as u32, pos, bl as usize);
        // Element-major, so that one element's thresholds of all lanes are one vector.
        for (th, t) in self.t.iter_mut().zip(t) {
            th[l] = t;
        }
        self.len += 1;
        self.len == TRAIN_LANES
    }
}

/// [`fill_trains`] compiled for AVX-512 (8 Philox lanes per instruction); only called where
/// the CPU has it. The same integer operations, so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt")]
fn fill_trains_avx512(
    stream: &Stream,
    octet: u32,
    step: u32,
    lanes: &Lanes,
    out: &mut [u64],
    stride: usize,
    words: usize,
) {
    fill_trains::<true, false>(stream, octet, step, lanes, out, stride, words);
}

/// [`fill_trains`] with AVX-512 when `wide` (the caller checked the CPU).
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn fill_trains_on<const DIRECT: bool>(
    wide: bool,
    stream: &Stream,
    octet: u32,
    step: u32,
    lanes: &Lanes,
    out: &mut [u64],
    stride: usize,
    words: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if wide {
        // SAFETY: `wide` is lockstep::has_wide_lanes(): the CPU has every enabled feature.
        #[allow(unsafe_code)]
        unsafe {
            if DIRECT {
                fill_fired_avx512(stream, octet, step, lanes, out, stride);
            } else {
                fill_trains_avx512(stream, octet, step, lanes, out, stride, words);
            }
        }
        return;
    }
    let _ = wide;
    fill_trains::<false, DIRECT>(stream, octet, step, lanes, out, stride, words);
}

/// [`fill_trains`] with `DIRECT` (trains of one slot into fired masks) written for AVX-512 and
/// BMI2; the same bits. The eight lanes' uniforms are compared with their thresholds one element
/// at a time (a mask of lanes per element), and each mask is deposited (pdep) at the lanes'
/// vectors, one word per run of lanes whose vectors share a word: about 40 operations per
/// evaluation where the portable form takes a compare, a shift and a store per lane and element.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt,bmi2")]
fn fill_fired_avx512(
    stream: &Stream,
    octet: u32,
    step: u32,
    lanes: &Lanes,
    out: &mut [u64],
    stride: usize,
) {
    use std::arch::x86_64::*;
    let elements = out.len().div_ceil(stride).min(OCTET);
    // Lanes in use whose train has its one slot.
    let mut live = 0u32;
    for l in 0..lanes.len {
        live |= u32::from(lanes.bl[l] > 0) << l;
    }
    if live == 0 {
        return;
    }
    // Runs of lanes in one word of vectors (positions increase with the lane): (word, first
    // lane, lanes, the bits of their vectors).
    let mut runs = [(0usize, 0u32, 0u32, 0u64); TRAIN_LANES];
    let mut count = 0;
    for l in 0..lanes.len {
        let (word, bit) = (lanes.pos[l] / 64, lanes.pos[l] % 64);
        if count == 0 || runs[count - 1].0 != word {
            runs[count] = (word, l as u32, 0, 0);
            count += 1;
        }
        runs[count - 1].2 += 1;
        runs[count - 1].3 |= 1 << bit;
    }
    let ctr = [
        [octet; TRAIN_LANES],
        [0; TRAIN_LANES],
        lanes.n,
        [step; TRAIN_LANES],
    ];
    // SAFETY: compiled for AVX-512 (the caller checked has_wide_lanes()).
    #[allow(unsafe_code)]
    let r = unsafe { stream.blocks8_on::<true>(ctr) };
    for (w, words) in r.iter().enumerate() {
        // SAFETY: 8 u32 (256 bits) read from a [u32; 8] (twice below, likewise).
        #[allow(unsafe_code)]
        let words = unsafe { _mm256_loadu_si256(words.as_ptr().cast()) };
        // Half h % 2 of word h / 2 is the uniform of element h.
        let halves = [
            _mm256_and_si256(words, _mm256_set1_epi32(0xFFFF)),
            _mm256_srli_epi32::<16>(words),
        ];
        for (k, half) in halves.into_iter().enumerate() {
            let h = 2 * w + k;
            if h >= elements {
                break;
            }
            #[allow(unsafe_code)]
            let t = unsafe { _mm256_loadu_si256(lanes.t[h].as_ptr().cast()) };
            let fired = u32::from(_mm256_cmplt_epu32_mask(half, t)) & live;
            for &(word, first, n, bits) in &runs[..count] {
                let m = (fired >> first) & ((1u32 << n) - 1);
                out[h * stride + word] |= _pdep_u64(u64::from(m), bits);
            }
        }
    }
}

/// [`thresholds`] compiled for AVX-512 (16 elements per instruction); the same IEEE operations,
/// so the same integers.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt")]
fn thresholds_avx512(out: &mut [u32], octets: &mut [u16], values: &[f32], scale: f32, step: f32) {
    thresholds(out, values, scale, step);
    octet_summaries(octets, out, values);
}

/// [`thresholds`] and [`octet_summaries`] of one vector, with AVX-512 when `wide` (the caller
/// checked the CPU).
#[inline(always)]
fn thresholds_on(
    wide: bool,
    out: &mut [u32],
    octets: &mut [u16],
    values: &[f32],
    scale: f32,
    step: f32,
) {
    #[cfg(target_arch = "x86_64")]
    if wide {
        // SAFETY: `wide` is lockstep::has_wide_lanes(): the CPU has every enabled feature.
        #[allow(unsafe_code)]
        unsafe {
            thresholds_avx512(out, octets, values, scale, step);
        }
        return;
    }
    let _ = wide;
    thresholds(out, values, scale, step);
    octet_summaries(octets, out, values);
}

/// One vector's octets in 16 bits each: bit h (h < 8) set where element h of the octet is
/// negative, bit 8 where an element of it can fire (a nonzero threshold). The train pass reads
/// these instead of every element's value and threshold.
#[inline(always)]
fn octet_summaries(out: &mut [u16], thresholds: &[u32], values: &[f32]) {
    for ((o, t), v) in out
        .iter_mut()
        .zip(thresholds.chunks(OCTET))
        .zip(values.chunks(OCTET))
    {
        let fires = t.iter().fold(0u32, |a, &t| a | t) != 0;
        let signs = v
            .iter()
            .enumerate()
            .fold(0u16, |m, (h, &x)| m | u16::from(x < 0.0) << h);
        *o = signs | u16::from(fires) << 8;
    }
}

/// Transposes 64 octets' sign bytes: bit q of word h is bit h of `signs[q]`.
#[inline(always)]
fn transpose_signs(signs: &[u8; 64]) -> [u64; OCTET] {
    std::array::from_fn(|h| {
        signs
            .iter()
            .enumerate()
            .fold(0u64, |m, (q, &b)| m | u64::from((b >> h) & 1) << q)
    })
}

/// [`transpose_signs`] with AVX-512: one byte test of 64 octets per sign.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt")]
fn transpose_signs_avx512(signs: &[u8; 64]) -> [u64; OCTET] {
    use std::arch::x86_64::*;
    // SAFETY: 64 bytes from a [u8; 64].
    #[allow(unsafe_code)]
    let bytes = unsafe { _mm512_loadu_si512(signs.as_ptr().cast()) };
    std::array::from_fn(|h| _mm512_test_epi8_mask(bytes, _mm512_set1_epi8(1 << h)))
}

/// [`transpose_signs`] with AVX-512 when `wide` (the caller checked the CPU).
#[inline(always)]
fn transpose_signs_on(wide: bool, signs: &[u8; 64]) -> [u64; OCTET] {
    #[cfg(target_arch = "x86_64")]
    if wide {
        // SAFETY: `wide` is lockstep::has_wide_lanes(): the CPU has every enabled feature.
        #[allow(unsafe_code)]
        return unsafe { transpose_signs_avx512(signs) };
    }
    let _ = wide;
    transpose_signs(signs)
}

/// Bits of one octet's trains for up to [`TRAIN_LANES`] vectors (`out`: the trains of the
/// octet's elements, `stride` words apart, `words` per vector, zero where nothing fires): slot s
/// of element h of vector n fires when half h of Philox(octet, s, n, step) is below its threshold
/// (≥ 65536: always). The counter names the vector and the slot, so which vectors share an
/// evaluation does not change the bits. Branch-free, so random outcomes cost no mispredictions.
/// `DIRECT` (trains of one slot): `out` holds the octet's fired masks instead, `[element][vector
/// / 64]` `stride` words apart, and each lane's bit is or-ed in at its vector.
#[inline(always)]
#[allow(clippy::needless_range_loop)] // lane l indexes r[word][l], t, bl and pos alike
fn fill_trains<const WIDE: bool, const DIRECT: bool>(
    stream: &Stream,
    octet: u32,
    step: u32,
    lanes: &Lanes,
    out: &mut [u64],
    stride: usize,
    words: usize,
) {
    let elements = out.len().div_ceil(stride).min(OCTET);
    let max_bl = lanes.bl[..lanes.len].iter().copied().max().unwrap_or(0);
    // 64 slots at a time in registers, then one store per (lane, element) and word.
    for word in 0..max_bl.div_ceil(64) {
        let mut acc = [[0u64; OCTET]; TRAIN_LANES];
        for slot in word * 64..max_bl.min(word * 64 + 64) {
            let ctr = [
                [octet; TRAIN_LANES],
                [slot as u32; TRAIN_LANES],
                lanes.n,
                [step; TRAIN_LANES],
            ];
            // SAFETY: WIDE only from fill_trains_avx512 (has_wide_lanes() checked).
            #[allow(unsafe_code)]
            let r = unsafe { stream.blocks8_on::<WIDE>(ctr) };
            let bit = slot % 64;
            for l in 0..TRAIN_LANES {
                let live = u64::from(slot < lanes.bl[l]);
                for h in 0..OCTET {
                    let u = (r[h / 2][l] >> (16 * (h % 2))) & 0xFFFF;
                    acc[l][h] |= (u64::from(u < lanes.t[h][l]) & live) << bit;
                }
            }
        }
        if DIRECT {
            for l in 0..lanes.len {
                let (at, bit) = (lanes.pos[l] / 64, lanes.pos[l] % 64);
                for h in 0..elements {
                    out[h * stride + at] |= acc[l][h] << bit;
                }
            }
            continue;
        }
        for l in 0..lanes.len {
            let at = lanes.pos[l] * words + word;
            for h in 0..elements {
                out[h * stride + at] = acc[l][h];
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
    pulsed: Pulsed<'_>,
) {
    let planes = pulsed.grouped();
    let (rows, cols, words) = (input.rows, input.cols, g.words);
    let len = g.end - g.start;
    let sign_words = len.div_ceil(64);
    s.bit_planes = planes
        && words == 1
        && s.pinned_bit_planes
            .unwrap_or_else(|| bit_planes_cheaper(rows, cols, len, g.max_bl));
    // Trains of one slot counted from bit planes are generated as the planes themselves: the
    // one-word trains would hold one bit each (for LeNet5's conv2, 1.6 MB to write and read
    // back for 25 kB of planes).
    s.direct_planes = s.bit_planes && g.max_bl == 1;
    let direct = s.direct_planes;
    if direct {
        // Nothing may read trains of an earlier group (an index past the end panics).
        s.x_bits.clear();
        s.d_bits.clear();
        for (planes, elements) in [
            (&mut s.x_pos_planes, cols),
            (&mut s.x_neg_planes, cols),
            (&mut s.d_pos_planes, rows),
            (&mut s.d_neg_planes, rows),
        ] {
            planes.resize(elements * sign_words, 0);
        }
    } else {
        s.x_bits.resize(cols * len * words, 0);
        s.d_bits.resize(rows * len * words, 0);
    }
    s.x_negative.resize(cols * sign_words, 0);
    s.d_negative.resize(rows * sign_words, 0);
    if planes {
        s.planes.resize(len * g.max_bl * cols, 0);
    }
    let trains = &s.trains;
    let wide = lockstep::has_wide_lanes();
    // Without stochastic rounding the thresholds of a whole vector are one branch-free pass over
    // its contiguous values (vectorized), before the element-major train pass reads them.
    let precomputed = !(p.sto_round && p.probability_step() > 0.0);
    if precomputed {
        let step = p.probability_step();
        let fill = |out: &mut Vec<u32>,
                    octets: &mut Vec<u16>,
                    values: &[f32],
                    width: usize,
                    which: u32| {
            let per_vector = width.div_ceil(OCTET);
            out.resize(len * width, 0);
            octets.resize(len * per_vector, 0);
            out.par_chunks_mut(width)
                .zip(octets.par_chunks_mut(per_vector))
                .with_min_len((PAR_ELEMENTS / width.max(1)).max(1))
                .enumerate()
                .for_each(|(v, (t, summary))| {
                    let n = g.start + v;
                    let scale = if which == 0 {
                        trains[n].x_scale
                    } else {
                        trains[n].d_scale
                    };
                    let row = &values[n * width..(n + 1) * width];
                    thresholds_on(wide, t, summary, row, scale, step);
                });
        };
        fill(&mut s.x_thresholds, &mut s.x_octets, input.x, cols, 0);
        fill(&mut s.d_thresholds, &mut s.d_octets, input.d, rows, 1);
    }
    let (x_thresholds, d_thresholds) = (&s.x_thresholds, &s.d_thresholds);
    let (x_octets, d_octets) = (&s.x_octets, &s.d_octets);
    // One octet of elements per task: its trains (or fired masks, when `direct`) and sign masks
    // are contiguous.
    let octet_trains = |stream: &Stream,
                        values: &[f32],
                        width: usize,
                        which: u32,
                        o: usize,
                        bits: &mut [u64],
                        negative: &mut [u64]| {
        let e0 = o * OCTET;
        let elements = (width - e0).min(OCTET);
        negative.fill(0);
        bits.fill(0);
        // Only vectors in which an element of the octet can fire draw random numbers (a zero
        // never fires: in a convolution most patch values or gradients are 0), packed into full
        // lanes.
        let flush = |lanes: &Lanes, bits: &mut [u64]| {
            if direct {
                fill_trains_on::<true>(wide, stream, o as u32, st.step, lanes, bits, sign_words, 1);
            } else {
                fill_trains_on::<false>(
                    wide,
                    stream,
                    o as u32,
                    st.step,
                    lanes,
                    bits,
                    len * words,
                    words,
                );
            }
        };
        let (side_thresholds, side_octets) = if which == 0 {
            (x_thresholds, x_octets)
        } else {
            (d_thresholds, d_octets)
        };
        let mut lanes = Lanes::default();
        if precomputed {
            // The summaries give the signs and the vectors that can fire; only those load their
            // thresholds, into the lanes.
            let per_vector = width.div_ceil(OCTET);
            for v0 in (0..len).step_by(64) {
                let count = (len - v0).min(64);
                let mut sign_bytes = [0u8; 64];
                let mut fires = 0u64;
                for (q, byte) in sign_bytes.iter_mut().enumerate().take(count) {
                    let summary = side_octets[(v0 + q) * per_vector + o];
                    *byte = summary as u8;
                    let live = trains[g.start + v0 + q].bl != 0;
                    fires |= u64::from((summary >> 8 != 0) & live) << q;
                }
                let signs = transpose_signs_on(wide, &sign_bytes);
                for (h, &word) in signs.iter().enumerate().take(elements) {
                    negative[h * sign_words + v0 / 64] = word;
                }
                while fires != 0 {
                    let q = fires.trailing_zeros() as usize;
                    fires &= fires - 1;
                    let v = v0 + q;
                    let n = g.start + v;
                    let at = v * width + e0;
                    let row = &side_thresholds[at..at + elements];
                    // A full octet as one fixed-size copy (a call to memmove cost more).
                    let t = <[u32; OCTET]>::try_from(row).unwrap_or_else(|_| {
                        let mut t = [0u32; OCTET];
                        t[..elements].copy_from_slice(row);
                        t
                    });
                    if lanes.push(n, v, t, trains[n].bl) {
                        flush(&lanes, bits);
                        lanes.len = 0;
                    }
                }
            }
            if lanes.len > 0 {
                flush(&lanes, bits);
            }
            return;
        }
        // Stochastic rounding: the thresholds are drawn here. 64 vectors at a time: one pass
        // collects their sign bits (in registers, one store per element) and thresholds and
        // marks the vectors in which an element can fire, without a branch per vector; only the
        // marked ones are then packed into lanes, in vector order.
        let mut t = [[0u32; OCTET]; 64];
        for v0 in (0..len).step_by(64) {
            let mut signs = [0u64; OCTET];
            let mut fires = 0u64;
            for (q, tq) in t.iter_mut().enumerate().take(len - v0) {
                let v = v0 + q;
                let n = g.start + v;
                let row = &values[n * width + e0..n * width + e0 + elements];
                let train = trains[n];
                let scale = if which == 0 {
                    train.x_scale
                } else {
                    train.d_scale
                };
                let mut any = 0u32;
                let mut element = |h: usize, value: f32| {
                    signs[h] |= u64::from(value < 0.0) << q;
                    tq[h] = if value != 0.0 {
                        let e = e0 + h;
                        firing_threshold(p, &st.rounding, st.step, scale, value, e, n, which)
                    } else {
                        0
                    };
                    any |= tq[h];
                };
                // A full octet with a fixed trip count, so the compiler unrolls it.
                if let Ok(full) = <&[f32; OCTET]>::try_from(row) {
                    for (h, &value) in full.iter().enumerate() {
                        element(h, value);
                    }
                } else {
                    for (h, &value) in row.iter().enumerate() {
                        element(h, value);
                    }
                }
                fires |= u64::from((any != 0) & (train.bl != 0)) << q;
            }
            for (h, &word) in signs.iter().enumerate().take(elements) {
                negative[h * sign_words + v0 / 64] = word;
            }
            while fires != 0 {
                let q = fires.trailing_zeros() as usize;
                fires &= fires - 1;
                let n = g.start + v0 + q;
                if lanes.push(n, v0 + q, t[q], trains[n].bl) {
                    flush(&lanes, bits);
                    lanes.len = 0;
                }
            }
        }
        if lanes.len > 0 {
            flush(&lanes, bits);
        }
    };
    let min_len = (PAR_ELEMENTS / (OCTET * len * g.max_bl.max(1))).max(1);
    if direct {
        let chunk = OCTET * sign_words;
        for (stream, values, width, which, pos, neg, negative) in [
            (
                &st.x,
                input.x,
                cols,
                0,
                &mut s.x_pos_planes,
                &mut s.x_neg_planes,
                &mut s.x_negative,
            ),
            (
                &st.d,
                input.d,
                rows,
                1,
                &mut s.d_pos_planes,
                &mut s.d_neg_planes,
                &mut s.d_negative,
            ),
        ] {
            pos.par_chunks_mut(chunk)
                .zip(neg.par_chunks_mut(chunk))
                .zip(negative.par_chunks_mut(chunk))
                .with_min_len(min_len)
                .enumerate()
                .for_each(|(o, ((pos, neg), negative))| {
                    octet_trains(stream, values, width, which, o, pos, negative);
                    // The fired masks split by sign, as bit_planes does.
                    for ((p, n), &signs) in pos.iter_mut().zip(neg.iter_mut()).zip(&*negative) {
                        (*p, *n) = (*p & !signs, *p & signs);
                    }
                });
        }
        return;
    }
    s.x_bits
        .par_chunks_mut(OCTET * len * words)
        .zip(s.x_negative.par_chunks_mut(OCTET * sign_words))
        .with_min_len(min_len)
        .enumerate()
        .for_each(|(o, (bits, neg))| octet_trains(&st.x, input.x, cols, 0, o, bits, neg));
    s.d_bits
        .par_chunks_mut(OCTET * len * words)
        .zip(s.d_negative.par_chunks_mut(OCTET * sign_words))
        .with_min_len(min_len)
        .enumerate()
        .for_each(|(o, (bits, neg))| octet_trains(&st.d, input.d, rows, 1, o, bits, neg));
    if !planes {
        slot_lists(input, g, s, pulsed.lockstep());
        return;
    }
    if s.bit_planes {
        bit_planes(input, g, s);
        return;
    }
    // Slot planes of x: byte j of plane s is 1 if x_j > 0 fires in slot s, 16 if x_j < 0. A task
    // takes up to 64 vectors (one sign word) and walks them column by column, so it reads each
    // column's trains and signs contiguously.
    let (x_bits, x_negative) = (&s.x_bits, &s.x_negative);
    let plane_stride = g.max_bl * cols;
    s.planes
        .par_chunks_mut(64 * plane_stride)
        .with_min_len((PAR_ELEMENTS / (64 * cols)).max(1))
        .enumerate()
        .for_each(|(c, planes)| {
            let k0 = c * 64;
            let count = planes.len() / plane_stride;
            // Short trains (a group of one word and at most DENSE_SLOTS slots) are written whole,
            // the group's max_bl slots of every column, fired or not: no zeroing, and no
            // data-dependent branch. Longer ones are zeroed and their fired slots marked.
            let dense = words == 1 && g.max_bl <= DENSE_SLOTS;
            if !dense {
                for k in 0..count {
                    let bl = trains[g.start + k0 + k].bl as usize;
                    planes[k * plane_stride..k * plane_stride + bl * cols].fill(0);
                }
            }
            for j in 0..cols {
                let signs = x_negative[j * sign_words + c];
                let column = &x_bits[(j * len + k0) * words..(j * len + k0 + count) * words];
                for (k, bits) in column.chunks_exact(words).enumerate() {
                    // Branch-free: the sign is as random as the firing.
                    let mark = POSITIVE + ((signs >> k) & 1) as u8 * (NEGATIVE - POSITIVE);
                    let plane = &mut planes[k * plane_stride + j..];
                    if dense {
                        for slot in 0..g.max_bl {
                            plane[slot * cols] = mark * ((bits[0] >> slot) & 1) as u8;
                        }
                        continue;
                    }
                    for (w, &word) in bits.iter().enumerate() {
                        let mut word = word;
                        while word != 0 {
                            let slot = w * 64 + word.trailing_zeros() as usize;
                            plane[slot * cols] = mark;
                            word &= word - 1;
                        }
                    }
                }
            }
        });
}

/// Whether counting a group's coincidences from bit planes costs less than from byte planes.
/// Byte planes cost a scattered store per (column, vector, slot) to build, bit planes about one
/// popcount per (row, column, slot, 64 vectors) to count (with AVX-512 on 2 cores: LeNet5's
/// convolutions, 4 608 and 512 patches per group, gain; 512² at batch 64 with 31 slots loses).
fn bit_planes_cheaper(rows: usize, cols: usize, len: usize, max_bl: usize) -> bool {
    let byte_cost = (cols * len * (max_bl + 1)) as f64 * BYTE_PLANE_STORE;
    let bit_cost = (rows * cols * max_bl * len.div_ceil(64)) as f64 * BIT_PLANE_POPCOUNTS;
    bit_cost < byte_cost
}

/// Relative costs of [`bit_planes_cheaper`] (ns per store, per four popcounts).
const BYTE_PLANE_STORE: f64 = 1.5;
const BIT_PLANE_POPCOUNTS: f64 = 1.2;

/// The bit planes of the group's x and d trains (one word per train, `words == 1`): for element
/// e, slot s and vector word w, bit k is slot s of vector 64w + k, split by the element's sign.
fn bit_planes(input: &PulseBatch<'_>, g: &Group, s: &mut PulseScratch) {
    let len = g.end - g.start;
    let sign_words = len.div_ceil(64);
    let span = g.max_bl * sign_words;
    let wide = lockstep::has_wide_lanes();
    let build = |bits: &[u64],
                 negative: &[u64],
                 elements: usize,
                 pos: &mut Vec<u64>,
                 neg: &mut Vec<u64>| {
        pos.resize(elements * span, 0);
        neg.resize(elements * span, 0);
        pos.par_chunks_mut(span)
            .zip(neg.par_chunks_mut(span))
            .with_min_len((PAR_ELEMENTS / len.max(1)).max(1))
            .enumerate()
            .for_each(|(e, (pos, neg))| {
                let trains = &bits[e * len..(e + 1) * len];
                let mut acc = [0u64; 64];
                for (w, chunk) in trains.chunks(64).enumerate() {
                    slot_masks_on(wide, chunk, g.max_bl, &mut acc);
                    let signs = negative[e * sign_words + w];
                    for (slot, &a) in acc.iter().enumerate().take(g.max_bl) {
                        pos[slot * sign_words + w] = a & !signs;
                        neg[slot * sign_words + w] = a & signs;
                    }
                }
            });
    };
    build(
        &s.x_bits,
        &s.x_negative,
        input.cols,
        &mut s.x_pos_planes,
        &mut s.x_neg_planes,
    );
    build(
        &s.d_bits,
        &s.d_negative,
        input.rows,
        &mut s.d_pos_planes,
        &mut s.d_neg_planes,
    );
}

/// Slot masks of up to 64 consecutive one-word trains: bit k of `out[slot]` is slot `slot` of
/// `trains[k]`, for slots below `max_bl`.
#[inline(always)]
fn slot_masks(trains: &[u64], max_bl: usize, out: &mut [u64; 64]) {
    for (slot, mask) in out.iter_mut().enumerate().take(max_bl) {
        *mask = trains
            .iter()
            .enumerate()
            .fold(0, |m, (k, &t)| m | ((t >> slot) & 1) << k);
    }
}

/// [`slot_masks`] with AVX-512: one bit test of 8 trains per instruction.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt")]
fn slot_masks_avx512(trains: &[u64], max_bl: usize, out: &mut [u64; 64]) {
    use std::arch::x86_64::*;
    let mut padded = [0u64; 64];
    padded[..trains.len()].copy_from_slice(trains);
    // SAFETY: 8 u64 from each eighth of a [u64; 64].
    #[allow(unsafe_code)]
    let rows: [__m512i; 8] =
        std::array::from_fn(|r| unsafe { _mm512_loadu_si512(padded[8 * r..].as_ptr().cast()) });
    for (slot, mask) in out.iter_mut().enumerate().take(max_bl) {
        let probe = _mm512_set1_epi64(1 << slot);
        let mut m = 0u64;
        for (r, &row) in rows.iter().enumerate() {
            m |= u64::from(_mm512_test_epi64_mask(row, probe)) << (8 * r);
        }
        *mask = m;
    }
}

/// [`slot_masks`] with AVX-512 when `wide` (the caller checked the CPU).
#[inline(always)]
fn slot_masks_on(wide: bool, trains: &[u64], max_bl: usize, out: &mut [u64; 64]) {
    #[cfg(target_arch = "x86_64")]
    if wide {
        // SAFETY: `wide` is lockstep::has_wide_lanes(): the CPU has every enabled feature.
        #[allow(unsafe_code)]
        unsafe {
            slot_masks_avx512(trains, max_bl, out);
        }
        return;
    }
    let _ = wide;
    slot_masks(trains, max_bl, out);
}

/// For every (vector, slot) of the group the columns whose x_j fires in it, in column order, with
/// the sign of x_j in bit 31 (the slot-ordered application of
/// [`super::sequential::apply_sequential`]).
fn slot_lists(input: &PulseBatch<'_>, g: &Group, s: &mut PulseScratch, lockstep: bool) {
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
    let mut active_rows = 0usize;
    for e in 0..rows {
        let bits = &s.d_bits[e * len * words..(e + 1) * len * words];
        let mut active = false;
        for (k, b) in bits.chunks_exact(words).enumerate() {
            let c: u32 = b.iter().map(|w| w.count_ones()).sum();
            d_fires[k] += c;
            d_rows[k] += u32::from(c > 0);
            active |= c > 0;
        }
        active_rows += usize::from(active);
    }
    let (mut pulses, mut visits) = (0.0f64, 0.0f64);
    for k in 0..len {
        let bl = f64::from(s.trains[g.start + k].bl.max(1));
        pulses += f64::from(x_fires[k]) * f64::from(d_fires[k]) / bl;
        visits += f64::from(d_rows[k]) * cols as f64;
    }
    // Lockstep lanes in AVX-512 cost per lane group (parameters, normal blocks), a little per
    // (device, vector) visited (counting) and per pulse; the slot order about 4× as much per
    // pulse and nothing else (fitted on 512² soft bounds, batch 1 to 64: BENCHMARKS §14).
    // Portable lanes, and device by device without lanes, keep the earlier rule.
    let lane_groups = (active_rows * cols.div_ceil(LANES)) as f64;
    let dense = if lockstep && lockstep::has_wide_lanes() {
        pulses > 0.05 * visits + 28.0 * lane_groups
    } else {
        pulses > 1.5 * visits
    };
    s.dense = s.pinned_dense.unwrap_or(dense);
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
