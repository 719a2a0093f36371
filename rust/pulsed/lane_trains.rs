//! Pass 1 of the lockstep lanes ([`super::lockstep`]): every lane's pulses over a group, per
//! fired vector (groups with reads) or as one train per lane with its directions as bits.

use super::apply::ApplyContext;
use super::batch::Polarity;
use crate::device::LANES;

/// What pass 1 reads of a lane group.
pub(super) struct LanesIn<'a, 'c> {
    pub(super) c: &'a ApplyContext<'c>,
    pub(super) i: usize,
    pub(super) j0: usize,
    pub(super) n: usize,
    pub(super) fired: &'a [u32],
}

/// The group's layout as pass 1 reads it: words per train, vectors, sign words per element,
/// and row i's d trains and signs.
#[derive(Clone, Copy)]
struct RowBits<'a> {
    words: usize,
    len: usize,
    sign_words: usize,
    d_row: &'a [u64],
    d_signs: &'a [u64],
}

impl<'a> LanesIn<'a, '_> {
    #[inline(always)]
    fn row_bits(&self) -> RowBits<'a> {
        let (s, i) = (self.c.s, self.i);
        let (words, len) = (self.c.g.words, self.c.g.end - self.c.g.start);
        let sign_words = len.div_ceil(64);
        RowBits {
            words,
            len,
            sign_words,
            d_row: &s.d_bits[i * len * words..(i + 1) * len * words],
            d_signs: &s.d_negative[i * sign_words..(i + 1) * sign_words],
        }
    }

    /// Clears `directions` for the lanes' trains and returns each lane's stride: a lane has at
    /// most as many pulses as d_i fired slots, and a spare word takes the high half of the last
    /// range (written even when empty).
    #[inline(always)]
    fn clear_directions(&self, row: &RowBits<'_>, directions: &mut Vec<u64>) -> usize {
        let words = row.words;
        let d_slots: usize = self
            .fired
            .iter()
            .map(|&v| {
                let v = v as usize;
                row.d_row[v * words..(v + 1) * words]
                    .iter()
                    .map(|b| b.count_ones() as usize)
                    .sum::<usize>()
            })
            .sum();
        let stride = d_slots / 64 + 2;
        directions.clear();
        directions.resize(LANES * stride, 0);
        stride
    }
}

/// A pulse goes up when x_j and d_i have opposite signs; the array's polarity then keeps it
/// (as up or down) or drops it. As bit masks: keep bit u (1: up) says whether a pulse of raw
/// direction u is taken, and the taken direction is u ^ flip.
fn polarity_bits(polarity: Polarity) -> (u32, u32) {
    match polarity {
        Polarity::Both => (0b11, 0),
        Polarity::UpOnly => (0b10, 0),
        Polarity::DownAsUp => (0b01, 1),
    }
}

/// Per fired vector: every lane's pulse count (0 where its direction is dropped) and a mask of
/// the lanes going up; returns the lanes' totals.
#[inline(always)]
pub(super) fn vector_counts(
    g: &LanesIn<'_, '_>,
    counts_out: &mut Vec<[u16; LANES]>,
    ups_out: &mut Vec<u32>,
) -> [usize; LANES] {
    let LanesIn {
        c, j0, n, fired, ..
    } = *g;
    let s = c.s;
    let RowBits {
        words,
        len,
        sign_words,
        d_row,
        d_signs,
    } = g.row_bits();
    let polarity = c.input.polarity;
    counts_out.clear();
    ups_out.clear();
    let mut totals = [0usize; LANES];
    for &v in fired {
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
            let Some(up) =
                polarity.taken(((d_signs[v / 64] ^ x_signs[v / 64]) >> (v % 64)) & 1 == 1)
            else {
                continue;
            };
            *count = hits as u16;
            ups |= u32::from(up) << l;
            totals[l] += hits as usize;
        }
        counts_out.push(counts);
        ups_out.push(ups);
    }
    totals
}

/// Lane by lane: the lane's pulses over all fired vectors as one train, its directions as bits
/// (lane l's at `l * stride`, stride = directions.len() / LANES, bit m for its m-th pulse, set
/// when up). Branch-free per vector: where pulses are sparse, a branch on "any hit" would be
/// mispredicted about every other vector. Returns the lanes' totals.
#[inline(always)]
pub(super) fn lane_trains<const WIDE: bool>(
    g: &LanesIn<'_, '_>,
    directions: &mut Vec<u64>,
) -> [usize; LANES] {
    #[cfg(target_arch = "x86_64")]
    if WIDE && g.c.g.words == 1 {
        // SAFETY: WIDE runs only where has_wide_lanes() holds (AVX-512F and BW).
        #[allow(unsafe_code)]
        return unsafe { lane_trains_avx512(g, directions) };
    }
    lane_trains_portable(g, directions)
}

/// [`lane_trains`] one lane at a time.
#[inline(always)]
fn lane_trains_portable(g: &LanesIn<'_, '_>, directions: &mut Vec<u64>) -> [usize; LANES] {
    let LanesIn {
        c, j0, n, fired, ..
    } = *g;
    let s = c.s;
    let row = g.row_bits();
    let RowBits {
        words,
        len,
        sign_words,
        d_row,
        d_signs,
    } = row;
    let (keep, flip) = polarity_bits(c.input.polarity);
    let stride = g.clear_directions(&row, directions);
    let mut totals = [0usize; LANES];
    for (l, total) in totals.iter_mut().enumerate().take(n) {
        let j = j0 + l;
        let x_row = &s.x_bits[j * len * words..(j + 1) * len * words];
        let x_signs = &s.x_negative[j * sign_words..(j + 1) * sign_words];
        let bits = &mut directions[l * stride..(l + 1) * stride];
        let direction = |v: usize| {
            let raw_up = (((d_signs[v / 64] ^ x_signs[v / 64]) >> (v % 64)) & 1) as u32;
            ((keep >> raw_up) & 1, raw_up ^ flip)
        };
        let mut at = 0usize;
        if words == 1 {
            // At most 64 pulses per vector, so `at` moves at most one word per vector: the two
            // words being written stay in registers.
            let (mut low, mut high, mut word) = (0u64, 0u64, 0usize);
            for &v in fired {
                let v = v as usize;
                let (taken, up) = direction(v);
                let count = (d_row[v] & x_row[v]).count_ones() * taken;
                if at / 64 != word {
                    bits[word] = low;
                    (low, high, word) = (high, 0, word + 1);
                }
                // `count` ones (0..=64) where the pulses go up, moved to bit at % 64 of the two
                // words (shifts below 64 only).
                let ones = ((1u64 << (count & 63)) - 1) | 0u64.wrapping_sub(u64::from(count >> 6));
                let ones = ones & 0u64.wrapping_sub(u64::from(up));
                let shift = (at % 64) as u32;
                low |= ones << shift;
                high |= (ones >> 1) >> (63 - shift);
                at += count as usize;
            }
            bits[word] = low;
            bits[word + 1] = high;
        } else {
            for &v in fired {
                let v = v as usize;
                let (taken, up) = direction(v);
                let (db, xb) = (
                    &d_row[v * words..(v + 1) * words],
                    &x_row[v * words..(v + 1) * words],
                );
                let hits: u32 = db.iter().zip(xb).map(|(a, b)| (a & b).count_ones()).sum();
                let count = (hits * taken) as usize;
                if up == 1 {
                    set_bits(bits, at, count);
                }
                at += count;
            }
        }
        *total = at;
    }
    totals
}

/// Sets bits `at..at + count` of a bit array.
pub(super) fn set_bits(bits: &mut [u64], at: usize, count: usize) {
    let (mut at, end) = (at, at + count);
    while at < end {
        let (word, bit) = (at / 64, at % 64);
        let span = (64 - bit).min(end - at);
        let ones = if span == 64 {
            u64::MAX
        } else {
            ((1u64 << span) - 1) << bit
        };
        bits[word] |= ones;
        at += span;
    }
}

/// [`lane_trains`] for one-word trains, the 16 lanes in two registers of 8 u64 each: per fired
/// vector, the lanes' x words gathered, their coincidences counted (nibble look-ups), and the
/// direction bits shifted into per-lane pairs of words, written out (scattered) when a lane's
/// train leaves its word. The same totals and bits as the portable form.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512bw")]
fn lane_trains_avx512(g: &LanesIn<'_, '_>, directions: &mut Vec<u64>) -> [usize; LANES] {
    use std::arch::x86_64::*;
    const _: () = assert!(LANES == 16, "two registers of 8 lanes");
    let LanesIn {
        c, j0, n, fired, ..
    } = *g;
    let s = c.s;
    let row = g.row_bits();
    let (len, sign_words, d_row, d_signs) = (row.len, row.sign_words, row.d_row, row.d_signs);
    let (keep, flip) = polarity_bits(c.input.polarity);
    let stride = g.clear_directions(&row, directions);
    // Every gathered and scattered index below is in bounds: lanes past n repeat the last
    // device, vectors are below len, and a lane's words stay below its stride (see
    // lane_trains_portable).
    assert!(fired.iter().all(|&v| (v as usize) < len));
    assert!((j0 + n) * len <= s.x_bits.len() && (j0 + n) * sign_words <= s.x_negative.len());
    let column = |l: usize| (j0 + l.min(n - 1)) as i64;
    let halves = |f: &dyn Fn(usize) -> i64| -> [__m512i; 2] {
        let v: [i64; LANES] = std::array::from_fn(f);
        // SAFETY: 8 i64 from each half of a [i64; 16].
        #[allow(unsafe_code)]
        unsafe {
            [
                _mm512_loadu_si512(v.as_ptr().cast()),
                _mm512_loadu_si512(v[8..].as_ptr().cast()),
            ]
        }
    };
    let x_rows = halves(&|l| column(l) * len as i64);
    let x_sign_rows = halves(&|l| column(l) * sign_words as i64);
    let lane_words = halves(&|l| (l * stride) as i64);
    let live: [__mmask8; 2] = [
        ((1u32 << n.min(8)) - 1) as u8,
        ((1u32 << n.saturating_sub(8)) - 1) as u8,
    ];
    let (zero, one) = (_mm512_setzero_si512(), _mm512_set1_epi64(1));
    let nibbles = _mm512_set1_epi8(0x0F);
    let popcount_of_nibble = _mm512_set_epi8(
        4, 3, 3, 2, 3, 2, 2, 1, 3, 2, 2, 1, 2, 1, 1, 0, 4, 3, 3, 2, 3, 2, 2, 1, 3, 2, 2, 1, 2, 1,
        1, 0, 4, 3, 3, 2, 3, 2, 2, 1, 3, 2, 2, 1, 2, 1, 1, 0, 4, 3, 3, 2, 3, 2, 2, 1, 3, 2, 2, 1,
        2, 1, 1, 0,
    );
    let popcount = |x: __m512i| {
        let low = _mm512_shuffle_epi8(popcount_of_nibble, _mm512_and_si512(x, nibbles));
        let high = _mm512_shuffle_epi8(
            popcount_of_nibble,
            _mm512_and_si512(_mm512_srli_epi64::<4>(x), nibbles),
        );
        _mm512_sad_epu8(_mm512_add_epi8(low, high), zero)
    };
    let (keep, flip) = (
        _mm512_set1_epi64(i64::from(keep)),
        _mm512_set1_epi64(i64::from(flip)),
    );
    let x_bits = s.x_bits.as_ptr().cast::<i64>();
    let x_negative = s.x_negative.as_ptr().cast::<i64>();
    let out = directions.as_mut_ptr().cast::<i64>();
    let (mut at, mut low, mut high, mut word) = ([zero; 2], [zero; 2], [zero; 2], [zero; 2]);
    let (mut x_signs, mut sign_word) = ([zero; 2], usize::MAX);
    for &v in fired {
        let v = v as usize;
        if v / 64 != sign_word {
            sign_word = v / 64;
            let at_word = _mm512_set1_epi64(sign_word as i64);
            for h in 0..2 {
                // SAFETY: in bounds (asserted above).
                #[allow(unsafe_code)]
                unsafe {
                    x_signs[h] = _mm512_i64gather_epi64::<8>(
                        _mm512_add_epi64(x_sign_rows[h], at_word),
                        x_negative,
                    );
                }
            }
        }
        let d = _mm512_set1_epi64(d_row[v] as i64);
        let d_sign = _mm512_set1_epi64(((d_signs[v / 64] >> (v % 64)) & 1) as i64);
        let bit = _mm512_set1_epi64((v % 64) as i64);
        let at_vector = _mm512_set1_epi64(v as i64);
        for h in 0..2 {
            // SAFETY: in bounds (asserted above).
            #[allow(unsafe_code)]
            let x = unsafe {
                _mm512_i64gather_epi64::<8>(_mm512_add_epi64(x_rows[h], at_vector), x_bits)
            };
            let hits = popcount(_mm512_and_si512(x, d));
            // A pulse goes up when x_j and d_i have opposite signs; the polarity keeps it (bit
            // raw_up of keep) as direction raw_up ^ flip.
            let raw_up = _mm512_xor_si512(
                _mm512_and_si512(_mm512_srlv_epi64(x_signs[h], bit), one),
                d_sign,
            );
            let taken = _mm512_and_si512(_mm512_srlv_epi64(keep, raw_up), one);
            let count = _mm512_maskz_mov_epi64(
                live[h],
                _mm512_and_si512(hits, _mm512_sub_epi64(zero, taken)),
            );
            let up = _mm512_xor_si512(raw_up, flip);
            // Lanes whose train left its word: the word is done.
            let moved = _mm512_cmpneq_epu64_mask(_mm512_srli_epi64::<6>(at[h]), word[h]);
            if moved != 0 {
                // SAFETY: in bounds (asserted above).
                #[allow(unsafe_code)]
                unsafe {
                    _mm512_mask_i64scatter_epi64::<8>(
                        out,
                        moved,
                        _mm512_add_epi64(lane_words[h], word[h]),
                        low[h],
                    );
                }
                low[h] = _mm512_mask_mov_epi64(low[h], moved, high[h]);
                high[h] = _mm512_mask_mov_epi64(high[h], moved, zero);
                word[h] = _mm512_mask_add_epi64(word[h], moved, word[h], one);
            }
            // `count` ones (0..=64; a shift by 64 gives 0) where the pulses go up, at bit at % 64.
            let ones = _mm512_and_si512(
                _mm512_sub_epi64(_mm512_sllv_epi64(one, count), one),
                _mm512_sub_epi64(zero, up),
            );
            let shift = _mm512_and_si512(at[h], _mm512_set1_epi64(63));
            low[h] = _mm512_or_si512(low[h], _mm512_sllv_epi64(ones, shift));
            high[h] = _mm512_or_si512(
                high[h],
                _mm512_srlv_epi64(ones, _mm512_sub_epi64(_mm512_set1_epi64(64), shift)),
            );
            at[h] = _mm512_add_epi64(at[h], count);
        }
    }
    let mut totals = [0usize; LANES];
    for h in 0..2 {
        // SAFETY: in bounds (asserted above); 8 u64 into each half of a [usize; 16].
        #[allow(unsafe_code)]
        unsafe {
            let words = _mm512_add_epi64(lane_words[h], word[h]);
            _mm512_i64scatter_epi64::<8>(out, words, low[h]);
            _mm512_i64scatter_epi64::<8>(out, _mm512_add_epi64(words, one), high[h]);
            _mm512_storeu_si512(totals[8 * h..].as_mut_ptr().cast(), at[h]);
        }
    }
    totals
}
