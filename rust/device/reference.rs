//! The reference devices (reference §4.2): `SoftBoundsReferenceDevice` and
//! `PowStepReferenceDevice`. The device state is a conductance g; the visible weight is
//! w = g − ref_ij, ref_ij = reference_mean + reference_std·ξ (+ the device's symmetry point with
//! `subtract_symmetry_point`, so that plain SGD's attractor is the visible 0).

use super::{shape_normals, ConstantStepArray, LinearStepArray, PowStepArray};
use crate::config::{PowStepReferenceParameters, SoftBoundsReferenceParameters};

/// Soft bounds with the slope variation moving each bound, plus the reference per device.
pub fn soft_bounds_reference(
    p: &SoftBoundsReferenceParameters,
    rows: usize,
    cols: usize,
    tile_seed: u64,
) -> crate::Result<(LinearStepArray, Vec<f32>, Vec<f32>)> {
    let mut base = ConstantStepArray::build(&p.pulsed, rows, cols, tile_seed)?;
    let n = rows * cols;
    let mut slope_up = crate::memory::with_capacity("device parameters", n)?;
    let mut slope_down = crate::memory::with_capacity("device parameters", n)?;
    let mut reference = crate::memory::with_capacity("device parameters", n)?;
    let mut symmetry = crate::memory::with_capacity("device parameters", n)?;
    for k in 0..n {
        let xi = shape_normals(&p.pulsed, tile_seed, k);
        let (mut hi, mut lo) = (base.w_max[k], base.w_min[k]);
        let (up, down) = (base.step_up[k], base.step_down[k]);
        let consistent = hi > 0.0 && lo < 0.0;
        if consistent {
            // The slope Δ/b varies by |1 + dtod·ξ|: the soft bound moves with it.
            hi /= (1.0 + p.slope_up_dtod * xi[4]).abs();
            lo /= (1.0 + p.slope_down_dtod * xi[5]).abs();
            base.w_max[k] = hi;
            base.w_min[k] = lo;
        }
        slope_up.push(if hi > 0.0 { -up / hi } else { 0.0 });
        slope_down.push(if lo < 0.0 { -down / lo } else { 0.0 });
        let sp = if p.subtract_symmetry_point && consistent {
            // Equal steps: Δ⁺(1 − g/b_max) = Δ⁻(1 − g/b_min).
            (up - down) / (up / hi - down / lo)
        } else {
            0.0
        };
        reference.push(p.reference_mean + p.reference_std * xi[6] + sp);
        symmetry.push(sp);
    }
    let array = LinearStepArray {
        base,
        slope_up,
        slope_down,
        mult_noise: p.mult_noise,
        allow_increasing: false,
    };
    Ok((array, reference, symmetry))
}

/// The power step with per-device exponents drawn like the steps, plus the reference.
pub fn pow_step_reference(
    p: &PowStepReferenceParameters,
    rows: usize,
    cols: usize,
    tile_seed: u64,
) -> crate::Result<(PowStepArray, Vec<f32>, Vec<f32>)> {
    let base = ConstantStepArray::build(&p.pulsed, rows, cols, tile_seed)?;
    let n = rows * cols;
    let up_bias = p.pow_up_down.min(0.0);
    let down_bias = -p.pow_up_down.max(0.0);
    let mut gamma_up = crate::memory::with_capacity("device parameters", n)?;
    let mut gamma_down = crate::memory::with_capacity("device parameters", n)?;
    let mut reference = crate::memory::with_capacity("device parameters", n)?;
    let mut symmetry = crate::memory::with_capacity("device parameters", n)?;
    for k in 0..n {
        let xi = shape_normals(&p.pulsed, tile_seed, k);
        let gain = 1.0 + p.pow_gamma_dtod * xi[2];
        let r = p.pow_up_down_dtod * xi[3];
        let mut gu = (up_bias + gain + r) * p.pow_gamma;
        let mut gd = (down_bias + gain - r) * p.pow_gamma;
        if p.pulsed.enforce_consistency {
            gu = gu.abs();
            gd = gd.abs();
        }
        gamma_up.push(gu);
        gamma_down.push(gd);
        let (hi, lo) = (base.w_max[k], base.w_min[k]);
        let sp = if p.subtract_symmetry_point && hi > 0.0 && lo < 0.0 {
            let (su, sd) = (base.step_up[k], base.step_down[k]);
            if p.n_estimation_steps > 0 {
                iterate_symmetry_point(su, sd, gu, gd, lo, hi, p.n_estimation_steps as usize)
            } else {
                bisect_symmetry_point(su, sd, gu, gd, lo, hi)
            }
        } else {
            0.0
        };
        reference.push(p.reference_mean + p.reference_std * xi[6] + sp);
        symmetry.push(sp);
    }
    let array = PowStepArray {
        base,
        gamma_up,
        gamma_down,
    };
    Ok((array, reference, symmetry))
}

/// Up step minus down step of the power step at g (decreasing in g).
fn net_step(su: f32, sd: f32, gu: f32, gd: f32, lo: f32, hi: f32, g: f32) -> f64 {
    let range = f64::from(hi - lo);
    let up = f64::from(su) * (f64::from(hi - g) / range).max(0.0).powf(f64::from(gu));
    let down = f64::from(sd) * (f64::from(g - lo) / range).max(0.0).powf(f64::from(gd));
    up - down
}

/// The symmetry point as the root of equal up and down steps (60 bisections of [b_min, b_max]).
fn bisect_symmetry_point(su: f32, sd: f32, gu: f32, gd: f32, lo: f32, hi: f32) -> f32 {
    let (mut a, mut b) = (lo, hi);
    for _ in 0..60 {
        let mid = 0.5 * (a + b);
        if net_step(su, sd, gu, gd, lo, hi, mid) > 0.0 {
            a = mid;
        } else {
            b = mid;
        }
    }
    0.5 * (a + b)
}

/// The reference's estimate: `steps` alternating up/down steps from 0 (within a step of the root).
fn iterate_symmetry_point(
    su: f32,
    sd: f32,
    gu: f32,
    gd: f32,
    lo: f32,
    hi: f32,
    steps: usize,
) -> f32 {
    let range = hi - lo;
    let mut sp = 0.0f32;
    for _ in 0..steps {
        sp += -sd * ((sp - lo) / range).max(0.0).powf(gd)
            + su * ((hi - sp) / range).max(0.0).powf(gu);
    }
    sp
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bisection_finds_the_balance_of_the_steps() {
        let sp = bisect_symmetry_point(0.01, 0.005, 1.0, 1.0, -1.0, 1.0);
        // Linear case: 0.01(1 − g)/2 = 0.005(g + 1)/2 → g = 1/3.
        assert!((sp - 1.0 / 3.0).abs() < 1e-5, "{sp}");
        let it = iterate_symmetry_point(0.01, 0.005, 1.0, 1.0, -1.0, 1.0, 2000);
        assert!((it - sp).abs() < 0.01, "{it} vs {sp}");
    }
}
