//! Counter-based random numbers: Philox4x32-10 and the samplers built on it.
//!
//! Every random number in rpusim is a pure function of (tile seed, purpose, counter), where the
//! counter holds the call step and the element index. Nothing is consumed from shared state, so
//! results never depend on how work is split across threads, and a GPU port of the same function
//! yields the same bits.

use std::sync::OnceLock;

const PHILOX_M0: u32 = 0xD251_1F53;
const PHILOX_M1: u32 = 0xCD9E_8D57;
const PHILOX_W0: u32 = 0x9E37_79B9;
const PHILOX_W1: u32 = 0xBB67_AE85;

#[inline(always)]
fn mul_hi_lo(a: u32, b: u32) -> (u32, u32) {
    let p = u64::from(a) * u64::from(b);
    ((p >> 32) as u32, p as u32)
}

#[inline(always)]
fn philox_round(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    let (hi0, lo0) = mul_hi_lo(PHILOX_M0, ctr[0]);
    let (hi1, lo1) = mul_hi_lo(PHILOX_M1, ctr[2]);
    [hi1 ^ ctr[1] ^ key[0], lo1, hi0 ^ ctr[3] ^ key[1], lo0]
}

/// Philox4x32 with 10 rounds (Salmon et al., SC'11), as in Random123.
#[inline]
pub fn philox4x32_10(mut ctr: [u32; 4], mut key: [u32; 2]) -> [u32; 4] {
    for round in 0..10 {
        if round > 0 {
            key[0] = key[0].wrapping_add(PHILOX_W0);
            key[1] = key[1].wrapping_add(PHILOX_W1);
        }
        ctr = philox_round(ctr, key);
    }
    ctr
}

/// `L` independent Philox4x32-10 evaluations in struct-of-arrays form (`ctr[w][lane]`); the
/// same results as [`philox4x32_10`] lane by lane. (Evaluated lane by lane: the independent
/// lanes overlap in the pipeline; a lane-parallel form did not vectorize on baseline x86-64.)
#[inline]
pub fn philox4x32_10_lanes<const L: usize>(ctr: [[u32; L]; 4], key: [u32; 2]) -> [[u32; L]; 4] {
    let mut out = [[0u32; L]; 4];
    for l in 0..L {
        let r = philox4x32_10([ctr[0][l], ctr[1][l], ctr[2][l], ctr[3][l]], key);
        for w in 0..4 {
            out[w][l] = r[w];
        }
    }
    out
}

/// [`philox4x32_10_lanes`] evaluated round by round across the lanes, so that a caller compiled
/// with wide vectors (AVX-512: 8 64-bit products per instruction) multiplies all lanes at once.
/// The same bits; on baseline x86-64 it does not vectorize and the lane-by-lane form is faster.
#[inline(always)]
pub fn philox4x32_10_wide<const L: usize>(mut ctr: [[u32; L]; 4], key: [u32; 2]) -> [[u32; L]; 4] {
    let mut key = key;
    for round in 0..10 {
        if round > 0 {
            key[0] = key[0].wrapping_add(PHILOX_W0);
            key[1] = key[1].wrapping_add(PHILOX_W1);
        }
        let mut next = [[0u32; L]; 4];
        for l in 0..L {
            let p0 = u64::from(ctr[0][l]) * u64::from(PHILOX_M0);
            let p1 = u64::from(ctr[2][l]) * u64::from(PHILOX_M1);
            next[0][l] = ((p1 >> 32) as u32) ^ ctr[1][l] ^ key[0];
            next[1][l] = p1 as u32;
            next[2][l] = ((p0 >> 32) as u32) ^ ctr[3][l] ^ key[1];
            next[3][l] = p0 as u32;
        }
        ctr = next;
    }
    ctr
}

/// Eight Philox4x32-10 evaluations with AVX-512 (`ctr[w][lane]`), the same bits as
/// [`philox4x32_10_wide`]. Each counter word sits in the low halves of eight 64-bit lanes for all
/// ten rounds: the 32 × 32-bit multiply reads only the low halves and xor never mixes halves, so
/// the junk the products leave in the high halves is cut off once, at the end, instead of every
/// word being narrowed and widened every round (what the compiler makes of the portable form;
/// 2.2× faster in a loop of evaluations). Not inlined where the caller is large (the ADC, where
/// the call then cost what it saved), so only callers where it inlines use it
/// ([`Stream::blocks8_on`]).
///
/// # Safety
/// Only where the CPU has AVX-512F and AVX-512VL.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl")]
#[inline]
pub(crate) fn philox4x32_10_avx512(ctr: &[[u32; 8]; 4], key: [u32; 2]) -> [[u32; 8]; 4] {
    use std::arch::x86_64::*;
    let mut c = [_mm512_setzero_si512(); 4];
    for (c, w) in c.iter_mut().zip(ctr) {
        // SAFETY: 8 u32 (256 bits) read from a [u32; 8].
        #[allow(unsafe_code)]
        let words = unsafe { _mm256_loadu_si256(w.as_ptr().cast()) };
        *c = _mm512_cvtepu32_epi64(words);
    }
    let [mut c0, mut c1, mut c2, mut c3] = c;
    let m0 = _mm512_set1_epi64(i64::from(PHILOX_M0));
    let m1 = _mm512_set1_epi64(i64::from(PHILOX_M1));
    let mut key = key;
    for round in 0..10 {
        if round > 0 {
            key[0] = key[0].wrapping_add(PHILOX_W0);
            key[1] = key[1].wrapping_add(PHILOX_W1);
        }
        let p0 = _mm512_mul_epu32(c0, m0);
        let p1 = _mm512_mul_epu32(c2, m1);
        let k0 = _mm512_set1_epi64(i64::from(key[0]));
        let k1 = _mm512_set1_epi64(i64::from(key[1]));
        // 0x96: the three-way xor hi ^ c ^ key.
        let n0 = _mm512_ternarylogic_epi64::<0x96>(_mm512_srli_epi64::<32>(p1), c1, k0);
        let n2 = _mm512_ternarylogic_epi64::<0x96>(_mm512_srli_epi64::<32>(p0), c3, k1);
        (c0, c1, c2, c3) = (n0, p1, n2, p0);
    }
    let mut out = [[0u32; 8]; 4];
    for (o, v) in out.iter_mut().zip([c0, c1, c2, c3]) {
        // SAFETY: 8 u32 (256 bits) written to a [u32; 8].
        #[allow(unsafe_code)]
        unsafe {
            _mm256_storeu_si256(o.as_mut_ptr().cast(), _mm512_cvtepi64_epi32(v));
        }
    }
    out
}

/// What a random number is used for. Each purpose is its own stream (its own Philox key), so
/// adding a new random effect never shifts the numbers of an existing one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Purpose {
    DeviceToDevice = 1,
    InputNoise = 2,
    InputRounding = 3,
    OutputNoise = 4,
    OutputRounding = 5,
    XPulses = 6,
    DPulses = 7,
    ProbabilityRounding = 8,
    PulseNoise = 9,
    PulseNoiseReplay = 10,
    Diffusion = 11,
    /// Write noise of the visible weight of devices with a hidden persistent weight.
    WriteNoise = 12,
    /// Random choices of unit cells and compounds (device picked, column picked, chopper
    /// flips, resets, stochastic rounding of the mixed-precision rank update).
    Compound = 13,
    /// Cycle-to-cycle spread of device resets.
    Reset = 14,
    /// Noise of the power-law drift of pulsed devices.
    Drift = 15,
}

/// The 8 counters (a0 + l, b, c, step), l = 0..8, of a block of 64 normals (`ctr[w][lane]`).
#[inline(always)]
pub(crate) fn counters64(a0: u32, b: u32, c: u32, step: u32) -> [[u32; 8]; 4] {
    [
        std::array::from_fn(|l| a0 + l as u32),
        [b; 8],
        [c; 8],
        [step; 8],
    ]
}

/// One stream: a tile seed combined with a purpose.
#[derive(Clone, Copy, Debug)]
pub struct Stream {
    key: [u32; 2],
}

impl Stream {
    pub fn new(seed: u64, purpose: Purpose) -> Self {
        // The purpose is folded into the high key word with an odd multiplier, so distinct
        // purposes of one seed never share a key.
        let salt = (purpose as u32).wrapping_mul(0x85EB_CA6B);
        Self {
            key: [seed as u32, ((seed >> 32) as u32) ^ salt],
        }
    }

    /// The Philox key of this stream (for kernels that evaluate it elsewhere, e.g. on a GPU).
    pub fn key(&self) -> [u32; 2] {
        self.key
    }

    /// Four random words for the counter (a, b, c, step).
    #[inline(always)]
    pub fn block(&self, a: u32, b: u32, c: u32, step: u32) -> [u32; 4] {
        philox4x32_10([a, b, c, step], self.key)
    }

    /// Random words of `L` counters at once (`ctr[w][lane]`, see [`philox4x32_10_lanes`]).
    #[inline(always)]
    pub fn blocks<const L: usize>(&self, ctr: [[u32; L]; 4]) -> [[u32; L]; 4] {
        philox4x32_10_lanes(ctr, self.key)
    }

    /// [`Stream::blocks`] in the round-by-round form (for callers compiled with AVX-512).
    #[inline(always)]
    pub fn blocks_wide<const L: usize>(&self, ctr: [[u32; L]; 4]) -> [[u32; L]; 4] {
        philox4x32_10_wide(ctr, self.key)
    }

    /// Random words of 8 counters (`ctr[w][lane]`): with AVX-512 intrinsics when `WIDE`
    /// ([`philox4x32_10_avx512`]), else lane by lane; the same bits. For callers compiled for
    /// AVX-512 in which it inlines (the train generation, the normals of group steps and of
    /// lockstep replays); in the ADC it did not, and the call cost what it saved.
    ///
    /// # Safety
    /// `WIDE` only where the CPU has AVX-512F and AVX-512VL (`has_wide_lanes()` checked).
    #[inline(always)]
    #[allow(unsafe_code)]
    pub(crate) unsafe fn blocks8_on<const WIDE: bool>(&self, ctr: [[u32; 8]; 4]) -> [[u32; 8]; 4] {
        #[cfg(target_arch = "x86_64")]
        if WIDE {
            // SAFETY: the caller's promise.
            #[allow(unsafe_code)]
            return unsafe { philox4x32_10_avx512(&ctr, self.key) };
        }
        self.blocks::<8>(ctr)
    }

    /// Eight standard normals (16-bit table sampler, see [`normal_from_u16`]).
    #[inline]
    pub fn normals8(&self, a: u32, b: u32, c: u32, step: u32, table: &NormalTable) -> [f32; 8] {
        let r = self.block(a, b, c, step);
        let mut out = [0.0; 8];
        for (k, word) in r.iter().enumerate() {
            out[2 * k] = table.sample(*word as u16);
            out[2 * k + 1] = table.sample((*word >> 16) as u16);
        }
        out
    }

    /// 64 standard normals: the normals of the 8 counters (a0 + l, b, c, step), l = 0..8, in
    /// order (the same values as 8 calls of [`Stream::normals8`]).
    #[inline]
    pub fn normals64(&self, a0: u32, b: u32, c: u32, step: u32, table: &NormalTable) -> [f32; 64] {
        table.samples64(&self.blocks64_on::<false>(a0, b, c, step))
    }

    /// The 8 Philox blocks of [`Stream::normals64`] (`r[w][lane]`), round by round when `WIDE`.
    #[inline(always)]
    pub fn blocks64_on<const WIDE: bool>(
        &self,
        a0: u32,
        b: u32,
        c: u32,
        step: u32,
    ) -> [[u32; 8]; 4] {
        let ctr = counters64(a0, b, c, step);
        if WIDE {
            self.blocks_wide::<8>(ctr)
        } else {
            self.blocks::<8>(ctr)
        }
    }

    /// Four uniforms in [0, 1) with 24-bit resolution.
    #[inline]
    pub fn uniforms4(&self, a: u32, b: u32, c: u32, step: u32) -> [f32; 4] {
        let r = self.block(a, b, c, step);
        r.map(uniform_from_u32)
    }
}

/// Uniform in [0, 1) from the top 24 bits of a word (exactly representable in f32).
#[inline(always)]
pub fn uniform_from_u32(word: u32) -> f32 {
    (word >> 8) as f32 * (1.0 / 16_777_216.0)
}

/// Number of magnitude levels of the 16-bit normal sampler (15 bits; the 16th is the sign).
pub const NORMAL_LEVELS: usize = 1 << 15;

/// Levels below this share coarse bins of 16; from here on (half-normal probability 15/16,
/// |ξ| ≥ 1.863) every level is a bin of its own, so the tail keeps its full resolution.
const FINE_FROM: u32 = 30_720;
const COARSE_SHIFT: u32 = 4;
/// What a fine level's bin index is below its level: FINE_FROM − FINE_FROM / 16.
const FINE_OFFSET: u32 = FINE_FROM - (FINE_FROM >> COARSE_SHIFT);
/// Bins in use: 1920 coarse + 2048 fine.
const NORMAL_BINS_USED: usize =
    (FINE_FROM >> COARSE_SHIFT) as usize + NORMAL_LEVELS - FINE_FROM as usize;
/// Table length, a power of two (16 KiB: the table stays in the L1 cache while gathered).
pub const NORMAL_BINS: usize = 4096;
const _: () = assert!(NORMAL_BINS_USED <= NORMAL_BINS && NORMAL_BINS.is_power_of_two());

/// The bin of the magnitude bits (low 15) of a 16-bit code: level m >> 4 below FINE_FROM, and
/// m − FINE_OFFSET from there on. The right one is always the larger of the two, so the
/// mapping is branch-free (and the same integer operations in WGSL, normal.wgsl).
#[inline(always)]
pub fn normal_bin(bits: u32) -> usize {
    let m = bits & 0x7FFF;
    let bin = (m >> COARSE_SHIFT).max(m.saturating_sub(FINE_OFFSET));
    // Below NORMAL_BINS already; the mask lets the compiler drop the bounds check.
    (bin as usize) & (NORMAL_BINS - 1)
}

/// Largest magnitude the 16-bit normal sampler returns: the mean of |ξ| over its top level
/// (|ξ| > Φ⁻¹(1 − 2⁻¹⁶) = 4.170), 4.388. Bounded noise lets the pulsed update prove
/// that a group of pulses cannot reach a device bound.
pub fn normal_max() -> f32 {
    normal_table().values[NORMAL_BINS_USED - 1]
}

/// Standard normal sampler by table look-up: 1 sign bit + 15 magnitude bits select one of
/// 32768 equal-probability levels of the half-normal; the levels below |ξ| = 1.863 are grouped
/// in bins of 16 (1920 bins), the 2048 above it are bins of their own, and a bin's value is
/// the mean of |ξ| over it. So the table has 3968 values (16 KiB with padding: it stays in L1
/// while a block of normals is gathered), the mean is exactly 0 (symmetric), E|ξ| is exact,
/// and the variance is 1 − 1.6·10⁻⁶ (only the spread inside each bin is lost).
/// The same table on every backend makes the noise bit-identical across CPU and GPU.
pub struct NormalTable {
    /// Fixed length, so a masked index needs no bounds check and a block of samples compiles
    /// to vector gathers.
    values: Box<[f32; NORMAL_BINS]>,
}

impl NormalTable {
    #[inline(always)]
    pub fn sample(&self, bits: u16) -> f32 {
        let magnitude = self.values[normal_bin(u32::from(bits))];
        // The top bit is the sign, moved into the float's sign bit: no (unpredictable) branch.
        f32::from_bits(magnitude.to_bits() | (u32::from(bits & 0x8000) << 16))
    }

    pub fn values(&self) -> &[f32] {
        &self.values[..]
    }

    /// [`NormalTable::samples64`] where bit e of `active` is set, 0 elsewhere. A few active
    /// normals are looked up one by one; many take the vector gathers of all 64.
    #[inline(always)]
    pub fn samples64_where(&self, r: &[[u32; 8]; 4], active: u64) -> [f32; 64] {
        if active.count_ones() <= 8 {
            let words = words_in_output_order(r);
            let mut out = [0.0; 64];
            let mut left = active;
            while left != 0 {
                let e = left.trailing_zeros() as usize;
                left &= left - 1;
                out[e] = self.sample((words[e / 2] >> (16 * (e % 2))) as u16);
            }
            return out;
        }
        let mut out = self.samples64(r);
        for (e, v) in out.iter_mut().enumerate() {
            *v = if (active >> e) & 1 == 1 { *v } else { 0.0 };
        }
        out
    }

    /// The normals of the low and of the high halves of `L` words (vector gathers).
    #[inline(always)]
    pub fn sample_halves<const L: usize>(&self, words: &[u32; L]) -> ([f32; L], [f32; L]) {
        // The table borrowed once, so that the look-ups compile to gathers.
        let values: &[f32; NORMAL_BINS] = &self.values;
        let signed = |bits: u32| {
            let magnitude = values[normal_bin(bits)];
            f32::from_bits(magnitude.to_bits() | ((bits & 0x8000) << 16))
        };
        // Plain loops, not array::from_fn: that one is not always inlined, and then the
        // gathers run outside the caller's AVX-512 code.
        let (mut low, mut high) = ([0.0f32; L], [0.0f32; L]);
        for k in 0..L {
            low[k] = signed(words[k]);
            high[k] = signed(words[k] >> 16);
        }
        (low, high)
    }

    /// The 64 normals of 8 Philox blocks (`r[w][lane]`): lane l gives normals 8l..8l + 8, word w
    /// of it normals 8l + 2w (low half) and 8l + 2w + 1 (high half).
    #[inline(always)]
    pub fn samples64(&self, r: &[[u32; 8]; 4]) -> [f32; 64] {
        let words = words_in_output_order(r);
        // The table borrowed once and the halves gathered in two plain passes, then interleaved:
        // straight-line vector gathers and one shuffle.
        let values: &[f32; NORMAL_BINS] = &self.values;
        let signed = |bits: u32| {
            let magnitude = values[normal_bin(bits)];
            f32::from_bits(magnitude.to_bits() | ((bits & 0x8000) << 16))
        };
        let (mut low, mut high) = ([0.0f32; 32], [0.0f32; 32]);
        for k in 0..32 {
            low[k] = signed(words[k]);
            high[k] = signed(words[k] >> 16);
        }
        let mut out = [0.0; 64];
        for k in 0..32 {
            out[2 * k] = low[k];
            out[2 * k + 1] = high[k];
        }
        out
    }
}

/// The words of 8 Philox blocks (`r[w][lane]`) in the order of their normals: word w of lane l
/// holds normals 8l + 2w and 8l + 2w + 1, so it goes to position 4l + w, and the samples then
/// run over contiguous halves (vector gathers).
#[inline(always)]
fn words_in_output_order(r: &[[u32; 8]; 4]) -> [u32; 32] {
    std::array::from_fn(|k| r[k % 4][k / 4])
}

/// The process-wide table (built once, in about a millisecond).
pub fn normal_table() -> &'static NormalTable {
    static TABLE: OnceLock<NormalTable> = OnceLock::new();
    TABLE.get_or_init(build_normal_table)
}

/// erf(z) by the everywhere-convergent series erf(z) = 2/√π · e^(−z²) · Σ 2ⁿ z^(2n+1) / (2n+1)!!,
/// whose terms are all positive (no cancellation), accurate to ~1e-16 for 0 ≤ z ≤ 4.
fn erf_series(z: f64) -> f64 {
    let z2 = z * z;
    let mut term = z;
    let mut sum = z;
    let mut n = 0.0;
    while term > 1e-18 * sum {
        n += 1.0;
        term *= 2.0 * z2 / (2.0 * n + 1.0);
        sum += term;
    }
    2.0 / std::f64::consts::PI.sqrt() * (-z2).exp() * sum
}

/// The half-normal quantile x of probability p: P(|ξ| ≤ x) = erf(x/√2) = p, by Newton from
/// `start` (at or below the answer: f is concave there, so every step stays below it).
fn half_normal_quantile(p: f64, start: f64) -> f64 {
    let sqrt2 = std::f64::consts::SQRT_2;
    let mut x = start;
    for _ in 0..60 {
        let f = erf_series(x / sqrt2) - p;
        let dx = f / (2.0 * standard_pdf(x));
        x = (x - dx).max(0.0);
        if dx.abs() < 1e-14 {
            break;
        }
    }
    x
}

fn standard_pdf(x: f64) -> f64 {
    (-0.5 * x * x).exp() / (2.0 * std::f64::consts::PI).sqrt()
}

/// The first level of each bin, and NORMAL_LEVELS after the last.
fn bin_starts() -> Vec<u32> {
    let mut starts: Vec<u32> = (0..FINE_FROM).step_by(1 << COARSE_SHIFT).collect();
    starts.extend(FINE_FROM..=NORMAL_LEVELS as u32);
    starts
}

fn build_normal_table() -> NormalTable {
    let starts = bin_starts();
    let mut values = vec![0.0f32; NORMAL_BINS];
    // The quantile at the lower edge of the current bin (p = 0: x = 0).
    let mut lower = 0.0f64;
    for (bin, edge) in starts.windows(2).enumerate() {
        let (p_lo, p_hi) = (
            f64::from(edge[0]) / NORMAL_LEVELS as f64,
            f64::from(edge[1]) / NORMAL_LEVELS as f64,
        );
        // The mean of |ξ| over [x_lo, x_hi): ∫ x · 2φ(x) dx / (p_hi − p_lo)
        // = 2 (φ(x_lo) − φ(x_hi)) / (p_hi − p_lo); the top bin reaches to infinity, φ = 0.
        let upper = if edge[1] as usize == NORMAL_LEVELS {
            f64::INFINITY
        } else {
            half_normal_quantile(p_hi, lower)
        };
        let pdf_upper = if upper.is_finite() {
            standard_pdf(upper)
        } else {
            0.0
        };
        values[bin] = (2.0 * (standard_pdf(lower) - pdf_upper) / (p_hi - p_lo)) as f32;
        lower = upper;
    }
    NormalTable {
        values: values
            .into_boxed_slice()
            .try_into()
            .expect("the table has NORMAL_BINS entries"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn philox_known_answers_random123() {
        // Random123 kat_vectors, philox4x32_10.
        assert_eq!(
            philox4x32_10([0, 0, 0, 0], [0, 0]),
            [0x6627_e8d5, 0xe169_c58d, 0xbc57_ac4c, 0x9b00_dbd8]
        );
        assert_eq!(
            philox4x32_10([u32::MAX; 4], [u32::MAX; 2]),
            [0x408f_276d, 0x41c8_3b0e, 0xa20b_c7c6, 0x6d54_51fd]
        );
        assert_eq!(
            philox4x32_10(
                [0x243f_6a88, 0x85a3_08d3, 0x1319_8a2e, 0x0370_7344],
                [0xa409_3822, 0x299f_31d0]
            ),
            [0xd16c_fe09, 0x94fd_cceb, 0x5001_e420, 0x2412_6ea1]
        );
    }

    #[test]
    fn block_normals_match_eight_calls_of_normals8() {
        let stream = Stream::new(0x1234_5678_9ABC, Purpose::PulseNoise);
        let table = normal_table();
        let (a0, b, c, step) = (40, 7, 3, 11);
        let eight: Vec<f32> = (0..8)
            .flat_map(|l| stream.normals8(a0 + l, b, c, step, table))
            .collect();
        assert_eq!(stream.normals64(a0, b, c, step, table).to_vec(), eight);
        let r = stream.blocks64_on::<true>(a0, b, c, step);
        assert_eq!(table.samples64(&r).to_vec(), eight);
        assert_eq!(r, stream.blocks64_on::<false>(a0, b, c, step));
        // Many active (the vector gathers) and a few (the look-ups one by one).
        for active in [
            (0..64).fold(0u64, |m, k| m | u64::from(k % 3 != 1) << k),
            1 << 5 | 1 << 6 | 1 << 63,
        ] {
            let some = table.samples64_where(&r, active);
            for k in 0..64 {
                let expected = if (active >> k) & 1 == 1 {
                    eight[k]
                } else {
                    0.0
                };
                assert_eq!(some[k].to_bits(), expected.to_bits(), "normal {k}");
            }
        }
    }

    #[test]
    #[allow(clippy::needless_range_loop)]
    fn lanes_match_the_scalar_function() {
        let mut ctr = [[0u32; 8]; 4];
        for l in 0..8 {
            for w in 0..4 {
                ctr[w][l] = (l as u32 + 1).wrapping_mul(0x9E37_79B9) ^ (w as u32 * 77);
            }
        }
        let out = philox4x32_10_lanes(ctr, [5, 6]);
        let wide = philox4x32_10_wide(ctr, [5, 6]);
        #[cfg(target_arch = "x86_64")]
        if std::arch::is_x86_feature_detected!("avx512f")
            && std::arch::is_x86_feature_detected!("avx512vl")
        {
            // Keys and counters with every bit set too (carries into the high halves).
            for key in [[5, 6], [u32::MAX, u32::MAX], [0xa409_3822, 0x299f_31d0]] {
                for c in [ctr, [[u32::MAX; 8]; 4]] {
                    // SAFETY: the CPU has both features (checked above).
                    #[allow(unsafe_code)]
                    let fast = unsafe { philox4x32_10_avx512(&c, key) };
                    assert_eq!(fast, philox4x32_10_lanes(c, key), "key {key:?}");
                }
            }
        }
        for l in 0..8 {
            let scalar = philox4x32_10([ctr[0][l], ctr[1][l], ctr[2][l], ctr[3][l]], [5, 6]);
            assert_eq!(scalar, [out[0][l], out[1][l], out[2][l], out[3][l]]);
            assert_eq!(scalar, [wide[0][l], wide[1][l], wide[2][l], wide[3][l]]);
        }
    }

    #[test]
    fn erf_series_matches_known_values() {
        assert!((erf_series(0.5) - 0.520_499_877_813_046_5).abs() < 1e-14);
        assert!((erf_series(1.0) - 0.842_700_792_949_714_9).abs() < 1e-14);
        assert!((erf_series(2.0) - 0.995_322_265_018_952_7).abs() < 1e-14);
    }

    #[test]
    fn bins_cover_the_levels_in_order() {
        let starts = bin_starts();
        assert_eq!(starts.len() - 1, NORMAL_BINS_USED);
        for (bin, edge) in starts.windows(2).enumerate() {
            for level in edge[0]..edge[1] {
                // The sign bit does not change the bin.
                assert_eq!(normal_bin(level), bin, "level {level}");
                assert_eq!(normal_bin(level | 0x8000), bin, "level {level} negative");
            }
        }
        assert_eq!(normal_bin(0x7FFF), NORMAL_BINS_USED - 1);
    }

    #[test]
    fn normal_table_moments() {
        let t = normal_table();
        let values = t.values();
        // Exact moments of the discrete distribution: every 16-bit code equally likely, a bin
        // weighted by its number of levels.
        let (mut m1, mut m2, mut m4) = (0.0f64, 0.0f64, 0.0f64);
        for (bin, edge) in bin_starts().windows(2).enumerate() {
            let weight = f64::from(edge[1] - edge[0]) / NORMAL_LEVELS as f64;
            let v = f64::from(values[bin]);
            m1 += weight * v;
            m2 += weight * v * v;
            m4 += weight * v * v * v * v;
        }
        // E|ξ| = √(2/π), exactly for bin means (up to the f32 rounding of the values).
        assert!(
            (m1 - (2.0 / std::f64::consts::PI).sqrt()).abs() < 1e-7,
            "E|ξ| {m1}"
        );
        // Only the spread inside the bins is lost: at most a few 10⁻⁶ of the variance.
        assert!(m2 < 1.0 && m2 > 1.0 - 1e-5, "variance {m2}");
        assert!((m4 - 3.0).abs() < 2e-3, "fourth moment {m4}");
        // The values increase, and the top bin's mean lies above its lower edge.
        assert!(values[..NORMAL_BINS_USED].windows(2).all(|w| w[0] < w[1]));
        // The top bin: |ξ| above Φ⁻¹(1 − 2⁻¹⁶) = 4.16957, with mean φ(4.16957) · 2¹⁶ = 4.38751
        // (both from Python's statistics.NormalDist).
        let top_edge = half_normal_quantile(1.0 - 1.0 / NORMAL_LEVELS as f64, 4.0);
        assert!((top_edge - 4.169_569).abs() < 1e-5, "{top_edge}");
        assert!((normal_max() - 4.387_511).abs() < 1e-5, "{}", normal_max());
        // The median of |ξ| is Φ⁻¹(0.75) = 0.6745 (the bin just above it: 16 levels wide).
        assert!((values[normal_bin(1 << 14)] - 0.6745).abs() < 1e-3);
        assert_eq!(t.sample(0x8000 | 5), -t.sample(5));
    }

    #[test]
    fn streams_differ_by_purpose_and_are_pure() {
        let a = Stream::new(42, Purpose::XPulses);
        let b = Stream::new(42, Purpose::DPulses);
        assert_ne!(a.block(0, 0, 0, 0), b.block(0, 0, 0, 0));
        assert_eq!(
            a.block(1, 2, 3, 4),
            Stream::new(42, Purpose::XPulses).block(1, 2, 3, 4)
        );
    }
}
