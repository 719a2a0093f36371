//! Small numeric kernels written so the compiler vectorizes them on baseline x86-64 (SSE2, no
//! `roundps`): rounding by the 1.5·2²³ trick, lane-parallel maxima, branch-free finiteness checks.
//! Rounding is ties-to-even, as WGSL's `round`, so every backend quantises identically.

/// 1.5·2²³: adding and subtracting it rounds an f32 of magnitude < 2²² to an integer.
const ROUND_MAGIC: f32 = 12_582_912.0;
const ROUND_LIMIT: f32 = 4_194_304.0;

/// Round to the nearest integer, ties to even.
#[inline(always)]
pub fn round_even(v: f32) -> f32 {
    if v.abs() < ROUND_LIMIT {
        (v + ROUND_MAGIC) - ROUND_MAGIC
    } else {
        v
    }
}

/// Largest integer ≤ v.
#[inline(always)]
pub fn floor(v: f32) -> f32 {
    let r = round_even(v);
    if r > v {
        r - 1.0
    } else {
        r
    }
}

/// max |v| (0 for an empty slice). Values must be finite.
pub fn abs_max(values: &[f32]) -> f32 {
    let mut lanes = [0.0f32; 8];
    let mut chunks = values.chunks_exact(8);
    for c in &mut chunks {
        for k in 0..8 {
            let a = c[k].abs();
            lanes[k] = if a > lanes[k] { a } else { lanes[k] };
        }
    }
    let mut m = 0.0f32;
    for a in lanes
        .iter()
        .copied()
        .chain(chunks.remainder().iter().map(|v| v.abs()))
    {
        m = if a > m { a } else { m };
    }
    m
}

/// max v (−∞ for an empty slice). Values must be finite.
pub fn max(values: &[f32]) -> f32 {
    let mut lanes = [f32::NEG_INFINITY; 8];
    let mut chunks = values.chunks_exact(8);
    for c in &mut chunks {
        for k in 0..8 {
            lanes[k] = if c[k] > lanes[k] { c[k] } else { lanes[k] };
        }
    }
    let mut m = f32::NEG_INFINITY;
    for a in lanes
        .iter()
        .copied()
        .chain(chunks.remainder().iter().copied())
    {
        m = if a > m { a } else { m };
    }
    m
}

/// Whether every value is finite (no NaN, no ±Inf).
pub fn all_finite(values: &[f32]) -> bool {
    #[cfg(target_arch = "x86_64")]
    if values.len() >= 64 && std::arch::is_x86_feature_detected!("avx512f") {
        // SAFETY: the CPU has AVX-512F, the only feature the function enables.
        #[allow(unsafe_code)]
        return unsafe { all_finite_avx512(values) };
    }
    all_finite_on(values)
}

/// [`all_finite`] compiled for AVX-512 (16 values per instruction).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn all_finite_avx512(values: &[f32]) -> bool {
    all_finite_on(values)
}

#[inline(always)]
fn all_finite_on(values: &[f32]) -> bool {
    // The exponent bits of NaN and ±Inf are all ones.
    let bad = values.iter().fold(0u32, |acc, v| {
        acc | u32::from(v.to_bits() & 0x7F80_0000 == 0x7F80_0000)
    });
    bad == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_even_matches_std() {
        for v in [
            -2.5f32, -1.5, -0.5, 0.5, 1.5, 2.5, 0.49999997, -7.3, 1e7, -3e9, 4194303.5,
        ] {
            assert_eq!(round_even(v), v.round_ties_even(), "{v}");
            assert_eq!(floor(v), v.floor(), "{v}");
        }
    }

    #[test]
    fn maxima_and_finiteness() {
        let v: Vec<f32> = (0..37).map(|i| (i as f32 - 20.0) * 0.5).collect();
        assert_eq!(abs_max(&v), 10.0);
        assert_eq!(max(&v), 8.0);
        assert_eq!(abs_max(&[]), 0.0);
        assert!(all_finite(&v));
        assert!(!all_finite(&[1.0, f32::NAN]));
        assert!(!all_finite(&[f32::NEG_INFINITY]));
        // Long enough for the AVX-512 path, the bad value at every place.
        for bad in [f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            let mut long = vec![1.5f32; 130];
            assert!(all_finite(&long));
            for at in 0..long.len() {
                long[at] = bad;
                assert!(!all_finite(&long), "{bad} at {at}");
                long[at] = f32::MAX;
            }
        }
    }
}
