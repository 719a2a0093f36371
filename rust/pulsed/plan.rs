//! Stage 1, planning: update management of every vector pair (train length BL and the
//! probability scales A, B), the split of a batch into groups of vectors applied together, and
//! the firing thresholds of the elements.

use super::batch::PulseBatch;
use crate::config::{UpdateParameters, MAX_BL};
use crate::numeric;
use crate::rng::{uniform_from_u32, Stream};

/// Byte budget of the per-group slot planes.
const PLANE_BUDGET: usize = 8 << 20;
/// Per-row pulse counters are u16: a group never holds more than this many slots.
const MAX_GROUP_SLOTS: usize = u16::MAX as usize;

/// Train length and probability scales of one vector pair.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Train {
    /// Number of time slots (0: nothing is applied).
    pub bl: u32,
    /// Probability per unit |d_i| (A).
    pub d_scale: f32,
    /// Probability per unit |x_j| (B).
    pub x_scale: f32,
    /// Expected pulses of the pair with the largest |x_j|·|d_i|: BL·min(1, A·max|d|)·min(1, B·max|x|).
    pub peak: f32,
}

/// Update management of one vector pair (reference §3, steps 2-3).
pub fn plan_train(p: &UpdateParameters, lr: f32, granularity: f32, x: &[f32], d: &[f32]) -> Train {
    let xm = numeric::abs_max(x);
    let dmax = numeric::abs_max(d);
    if xm == 0.0 || dmax == 0.0 || lr == 0.0 {
        return Train::default();
    }
    let g = granularity;
    let desired = p.desired_bl as f32;
    let mut bl = desired;
    let mut scale = (lr / (g * bl)).sqrt();
    if !(p.fixed_bl || p.update_bl_management) && g * desired < lr {
        scale = 1.0;
        bl = (lr / g).ceil().clamp(1.0, MAX_BL as f32);
    }
    let (mut a, mut b) = (scale, scale);
    let dm = p.um_grad_scale * dmax;
    let k = lr * xm * dm / g;
    if p.update_bl_management {
        bl = k.ceil().clamp(1.0, desired);
        a = (lr / (g * bl)).sqrt();
        b = a;
    }
    if p.update_management || p.update_bl_management {
        // Clip d rather than x when the train is too short for the largest product.
        let dm_eff = if k > desired { dm * desired / k } else { dm };
        a *= (xm / dm_eff).sqrt();
        b *= (dm_eff / xm).sqrt();
    }
    if !(k.is_finite() && a.is_finite() && b.is_finite() && a > 0.0 && b > 0.0) {
        // lr·max|x|·max|d| or the balance of the scales left float32: plan in float64.
        return plan_train_wide(p, lr, granularity, xm, dmax);
    }
    Train {
        bl: bl as u32,
        d_scale: a,
        x_scale: b,
        peak: bl * (a * dmax).min(1.0) * (b * xm).min(1.0),
    }
}

/// [`plan_train`] in float64, for gradients whose scales overflow or underflow float32 (an
/// enormous |x|·|d| saturates the train: every slot of the largest products fires). The scales
/// come back to float32 saturated within its normal range, so the probabilities of the largest
/// elements stay ≥ 1.
fn plan_train_wide(p: &UpdateParameters, lr: f32, granularity: f32, xm: f32, dmax: f32) -> Train {
    let (lr, g) = (f64::from(lr), f64::from(granularity));
    let (xm64, dmax64) = (f64::from(xm), f64::from(dmax));
    let desired = f64::from(p.desired_bl);
    let mut bl = desired;
    let mut scale = (lr / (g * bl)).sqrt();
    if !(p.fixed_bl || p.update_bl_management) && g * desired < lr {
        scale = 1.0;
        bl = (lr / g).ceil().clamp(1.0, f64::from(MAX_BL));
    }
    let (mut a, mut b) = (scale, scale);
    let dm = f64::from(p.um_grad_scale) * dmax64;
    let k = lr * xm64 * dm / g;
    if p.update_bl_management {
        bl = k.ceil().clamp(1.0, desired);
        a = (lr / (g * bl)).sqrt();
        b = a;
    }
    if p.update_management || p.update_bl_management {
        let dm_eff = if k > desired { dm * desired / k } else { dm };
        a *= (xm64 / dm_eff).sqrt();
        b *= (dm_eff / xm64).sqrt();
    }
    let narrow = |v: f64| (v as f32).clamp(f32::MIN_POSITIVE, f32::MAX);
    let (a, b) = (narrow(a), narrow(b));
    let bl = bl as f32;
    Train {
        bl: bl as u32,
        d_scale: a,
        x_scale: b,
        peak: bl * (a * dmax).min(1.0) * (b * xm).min(1.0),
    }
}

/// Splits a batch into groups of consecutive vectors whose pulses are applied together; returns
/// the end of each group. Every backend uses this split: it fixes which random numbers a device
/// draws.
pub fn plan_groups(trains: &[Train], cols: usize, group_budget: f32) -> Vec<usize> {
    let max_bl = trains.iter().map(|t| t.bl).max().unwrap_or(0) as usize;
    let plane_bytes = max_bl.max(1) * cols;
    let group_cap = (PLANE_BUDGET / plane_bytes).max(1);
    let mut ends = Vec::new();
    let mut start = 0;
    while start < trains.len() {
        // Vectors [start, end) form one group: bounded plane memory and u16-safe counters.
        // Groups are also kept short enough that the busiest devices are expected to stay
        // clear of their bounds, so grouped application rarely has to fall back to a replay.
        let mut end = start;
        let mut slots = 0usize;
        let mut peak = 0.0f32;
        while end < trains.len()
            && end - start < group_cap
            && slots + (trains[end].bl as usize) <= MAX_GROUP_SLOTS
            && (end == start || peak + trains[end].peak <= group_budget)
        {
            slots += trains[end].bl as usize;
            peak += trains[end].peak;
            end += 1;
        }
        ends.push(end);
        start = end;
    }
    ends
}

/// The train plans of every vector pair of a batch.
pub fn plan_trains(p: &UpdateParameters, input: &PulseBatch<'_>) -> Vec<Train> {
    let (rows, cols) = (input.rows, input.cols);
    (0..input.batch)
        .map(|n| {
            plan_train(
                p,
                input.lr.at(n),
                input.granularity,
                &input.x[n * cols..(n + 1) * cols],
                &input.d[n * rows..(n + 1) * rows],
            )
        })
        .collect()
}

/// Firing threshold of element `e` (an x_j when `which` = 0, a d_i when 1) of vector `n`: its
/// probability `scale · |value|`, rounded to the probability resolution (stochastically with the
/// rounding stream when `sto_round`), on the 16-bit scale the train uniforms use.
#[allow(clippy::too_many_arguments)]
#[inline]
pub fn firing_threshold(
    p: &UpdateParameters,
    rounding: &Stream,
    step: u32,
    scale: f32,
    value: f32,
    e: usize,
    n: usize,
    which: u32,
) -> u32 {
    let prob_step = p.probability_step();
    let sto = (p.sto_round && prob_step > 0.0).then(|| {
        let r = rounding.block(e as u32 / 4, which, n as u32, step);
        uniform_from_u32(r[e % 4])
    });
    threshold(scale * value.abs(), prob_step, sto)
}

pub(super) struct Group {
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) index: u32,
    pub(super) words: usize,
    pub(super) max_bl: usize,
}

/// Firing threshold on a 16-bit uniform for probability `prob` (≥ 1: always fires).
#[inline]
pub(super) fn threshold(prob: f32, step: f32, sto: Option<f32>) -> u32 {
    let q = if step > 0.0 {
        match sto {
            Some(u) => numeric::floor(prob / step + u) * step,
            None => numeric::round_even(prob / step) * step,
        }
    } else {
        prob
    };
    unit_to_u16_scale(q)
}

/// [`threshold`] without stochastic rounding for a whole vector: `out[e]` is the threshold of
/// probability `scale · |values[e]|`. Branch-free with the same IEEE operations (so the same
/// integers), so it vectorizes.
#[inline(always)]
pub(super) fn thresholds(out: &mut [u32], values: &[f32], scale: f32, step: f32) {
    if step > 0.0 {
        for (t, &value) in out.iter_mut().zip(values) {
            let q = numeric::round_even(scale * value.abs() / step) * step;
            *t = unit_to_u16_scale(q);
        }
    } else {
        for (t, &value) in out.iter_mut().zip(values) {
            *t = unit_to_u16_scale(scale * value.abs());
        }
    }
}

/// round_even(clamp(q, 0, 1) · 65536) as an integer, NaN giving 0. The clamped product lies in
/// [0, 65536], far below 2²³: adding 2²³ rounds it to an integer (ties to even, as
/// `round_even`), which the float's low mantissa bits then hold. No float-to-int conversion, so
/// a loop of these vectorizes.
#[inline(always)]
#[allow(clippy::manual_clamp)] // max/min, not clamp: NaN becomes 0
fn unit_to_u16_scale(q: f32) -> u32 {
    const TWO_23: f32 = 8_388_608.0;
    (q.max(0.0).min(1.0) * 65536.0 + TWO_23).to_bits() - TWO_23.to_bits()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn update_management_balances_the_largest_entries() {
        let p = UpdateParameters::default();
        let x = [0.5, -2.0, 1.0];
        let d = [0.1, -0.4];
        let t = plan_train(&p, 0.01, 0.001, &x, &d);
        // k = lr·xm·dm/g = 0.01·2·0.4/0.001 = 8 → BL = 8, both maxima fire with sqrt(k/BL) = 1.
        assert_eq!(t.bl, 8);
        assert!((t.x_scale * 2.0 - 1.0).abs() < 1e-6);
        assert!((t.d_scale * 0.4 - 1.0).abs() < 1e-6);
        // Expected coincidences BL·p·q = lr·|d||x|/g for every pair.
        let e = t.bl as f32 * t.d_scale * 0.1 * t.x_scale * 0.5;
        assert!((e - 0.01 * 0.1 * 0.5 / 0.001).abs() < 1e-5);
    }

    #[test]
    fn long_products_clip_d_not_x() {
        let p = UpdateParameters::default();
        let t = plan_train(&p, 1.0, 0.001, &[1.0], &[1.0]);
        assert_eq!(t.bl, 31);
        assert!((t.x_scale - 1.0).abs() < 1e-5, "x keeps probability 1");
        assert!(t.d_scale > 1.0, "d saturates");
    }

    #[test]
    fn vector_thresholds_equal_the_scalar_ones() {
        // Ties of the 16-bit scale (k + 0.5)/65536, the ends, beyond them, NaN and infinities.
        let mut values: Vec<f32> = (0..2000).map(|k| (k as f32 + 0.5) / 65536.0).collect();
        values.extend([
            0.0,
            -0.0,
            1.0,
            -1.0,
            1.5,
            7e-6,
            3e38,
            f32::NAN,
            f32::INFINITY,
        ]);
        values.extend((0..500).map(|k| (k as f32 * 0.6180339).sin()));
        for step in [0.0, 1.0 / 65536.0, 0.001, 0.25] {
            for scale in [1.0, 0.37, 1e3] {
                let mut out = vec![0; values.len()];
                thresholds(&mut out, &values, scale, step);
                for (&t, &v) in out.iter().zip(&values) {
                    let q = if step > 0.0 {
                        numeric::round_even(scale * v.abs() / step) * step
                    } else {
                        scale * v.abs()
                    };
                    // The conversion as written before: clamp, scale, round, saturating cast.
                    let expected = numeric::round_even(q.clamp(0.0, 1.0) * 65536.0) as u32;
                    assert_eq!(t, expected, "value {v}, scale {scale}, step {step}");
                    assert_eq!(t, threshold(scale * v.abs(), step, None));
                }
            }
        }
    }

    #[test]
    fn zero_gradient_plans_nothing() {
        let p = UpdateParameters::default();
        assert_eq!(plan_train(&p, 0.01, 0.001, &[1.0], &[0.0]).bl, 0);
    }
}
