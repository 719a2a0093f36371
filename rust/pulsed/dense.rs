//! Deterministic coincidence counts: `MEAN_COUNT` and `DETERMINISTIC_IMPLICIT` (reference §3;
//! aihwkit's dense bit-line maker).
//!
//! Both plan BL, A and B per vector pair exactly as the stochastic types do ([`plan_train`]:
//! update BL management, update management, `um_grad_scale`), but draw no trains: every element
//! gets a signed factor, and device (i, j) receives in vector n
//!
//! `c_ij = round_even(|f_x(x_j)| · |f_d(d_i)|)`
//!
//! pulses, up when x_j and d_i have opposite signs (W −= lr·d·xᵀ), where with
//! `q(v, s) = round(v / s)·s` (the quantisation to step s; stochastic rounding with `sto_round`;
//! s = 0: none; a value s > 1 means a step of 1/s):
//!
//! * `MEAN_COUNT`: p_x = q(B|x_j|, res), n_x = clamp(round_even(BL·p_x), 0, BL), and likewise
//!   n_d from A|d_i|; f_x = n_x, f_d = n_d / BL, so c = round_even(n_d·n_x / BL): the expected
//!   coincidence count BL·p_x·p_d of two trains with n_x and n_d firings, taken without its
//!   fluctuation.
//! * `DETERMINISTIC_IMPLICIT`: p_x = clamp(q(B|x_j|, x_res_implicit), 0, 1), p_d =
//!   clamp(q(A|d_i|, d_res_implicit), 0, 1); f_d = BL·p_d, f_x = p_x, so c = round_even(BL·p_d·p_x)
//!   (the count of two implicit deterministic trains), ≤ BL.
//!
//! Without quantisation and clipping both give c ≈ lr·|d_i||x_j|/dw_min, the expected count of
//! the stochastic types, with no spread. The products are taken in float32 in this order (the
//! GPU computes the same product and rounding, `pulse_apply.wgsl`).
//!
//! The counts then reach the devices through the same application as the stochastic pulses
//! (the same vector groups, group steps of constant-step devices, pulse-by-pulse replay of the
//! others, polarity, references, write noise and reads), so every device model, compound and
//! transfer takes them.

use super::batch::{Polarity, PulseBatch, Streams};
use super::captures::{capture_buffers, reads_in_event_order, CapturePlan, GroupCaptures, Sink};
use super::counts::BLOCK;
use super::plan::{plan_groups, plan_trains, Train};
use super::replay::ReplayNormals;
use super::response::{Pulsed, Referenced, Response};
use super::write_noise::WRITE_NOISE_UPDATE;
use crate::config::{PulseType, UpdateParameters};
use crate::device::{ConstantStepArray, PulseStep};
use crate::numeric;
use crate::periphery::PAR_ELEMENTS;
use crate::rng::{uniform_from_u32, Purpose, Stream};
use rayon::prelude::*;

/// Whether a pulse type is applied through deterministic counts.
pub fn is_dense(pulse_type: PulseType) -> bool {
    matches!(
        pulse_type,
        PulseType::MeanCount | PulseType::DeterministicImplicit
    )
}

/// Quantisation step of a resolution parameter: ≤ 0 off (0), ≤ 1 the step, > 1 the number of
/// steps on [0, 1] (step 1/res).
fn step_of(res: f32) -> f32 {
    if res <= 0.0 {
        0.0
    } else if res <= 1.0 {
        res
    } else {
        1.0 / res
    }
}

/// `q(v, s)`: v rounded to a multiple of `step` (half to even; with `sto`, up with probability
/// equal to the remainder), or v itself when step = 0.
#[inline]
fn quantise(v: f32, step: f32, sto: Option<f32>) -> f32 {
    if step <= 0.0 {
        return v;
    }
    match sto {
        Some(u) => numeric::floor(v / step + u) * step,
        None => numeric::round_even(v / step) * step,
    }
}

/// The coincidence count of two factors (see the module documentation).
#[inline]
pub fn coincidences(x_factor: f32, d_factor: f32) -> u32 {
    numeric::round_even(x_factor.abs() * d_factor.abs()) as u32
}

/// The signed factors of every element of every vector: x's (`[n][j]`), then d's (`[n][i]`).
/// The sign bit is the sign of the value (set for a negative x_j or d_i).
pub fn dense_factors(p: &UpdateParameters, input: &PulseBatch<'_>, trains: &[Train]) -> Vec<f32> {
    let (rows, cols, batch) = (input.rows, input.cols, input.batch);
    let rounding = Stream::new(input.seed, Purpose::ProbabilityRounding);
    let step = input.step;
    let mut out = vec![0.0f32; batch * (rows + cols)];
    let (xs, ds) = out.split_at_mut(batch * cols);
    let side = |values: &[f32], width: usize, which: u32, dst: &mut [f32]| {
        if width == 0 {
            return;
        }
        dst.par_chunks_mut(width)
            .with_min_len((PAR_ELEMENTS / width).max(1))
            .enumerate()
            .for_each(|(n, row)| {
                let train = trains[n];
                let scale = if which == 0 {
                    train.x_scale
                } else {
                    train.d_scale
                };
                for (e, out) in row.iter_mut().enumerate() {
                    let v = values[n * width + e];
                    let magnitude =
                        element_factor(p, &rounding, step, train, scale, v, e, n, which);
                    *out = if v < 0.0 { -magnitude } else { magnitude };
                }
            });
    };
    side(input.x, cols, 0, xs);
    side(input.d, rows, 1, ds);
    out
}

/// |f| of element `e` (x_j when `which` = 0, d_i when 1) of vector `n`.
#[allow(clippy::too_many_arguments)]
#[inline]
fn element_factor(
    p: &UpdateParameters,
    rounding: &Stream,
    step: u32,
    train: Train,
    scale: f32,
    value: f32,
    e: usize,
    n: usize,
    which: u32,
) -> f32 {
    if train.bl == 0 {
        return 0.0;
    }
    let res = match (p.pulse_type, which) {
        (PulseType::DeterministicImplicit, 0) => p.x_res_implicit,
        (PulseType::DeterministicImplicit, _) => p.d_res_implicit,
        _ => p.res,
    };
    let q_step = step_of(res);
    // The same rounding uniforms as the stochastic types' probability quantisation.
    let sto = (p.sto_round && q_step > 0.0).then(|| {
        let r = rounding.block(e as u32 / 4, which, n as u32, step);
        uniform_from_u32(r[e % 4])
    });
    let prob = quantise(scale * value.abs(), q_step, sto);
    let bl = train.bl as f32;
    if p.pulse_type == PulseType::DeterministicImplicit {
        let prob = prob.clamp(0.0, 1.0);
        if which == 0 {
            prob
        } else {
            prob * bl
        }
    } else {
        let count = numeric::round_even(bl * prob).clamp(0.0, bl);
        if which == 0 {
            count
        } else {
            count / bl
        }
    }
}

/// What the appliers of one group share.
struct DenseContext<'c> {
    pulsed: Pulsed<'c>,
    input: &'c PulseBatch<'c>,
    st: &'c Streams,
    /// This batch's factors (see [`dense_factors`]).
    factors: &'c [f32],
    start: usize,
    end: usize,
    group: u32,
    caps: &'c GroupCaptures,
    by_rows: bool,
    slots: &'c [u32],
}

impl DenseContext<'_> {
    /// Count and direction (up) of device (i, j) in vector v of the group, after the polarity.
    #[inline]
    fn pulses(&self, i: usize, j: usize, v: usize) -> (u32, bool) {
        let (rows, cols, batch) = (self.input.rows, self.input.cols, self.input.batch);
        let n = self.start + v;
        let xf = self.factors[n * cols + j];
        let df = self.factors[batch * cols + n * rows + i];
        let count = coincidences(xf, df);
        let mut up = xf.is_sign_negative() != df.is_sign_negative();
        if count == 0 {
            return (0, up);
        }
        match self.input.polarity {
            Polarity::Both => (count, up),
            Polarity::UpOnly if !up => (0, up),
            Polarity::DownAsUp if up => (0, up),
            Polarity::UpOnly => (count, up),
            Polarity::DownAsUp => {
                up = true;
                (count, up)
            }
        }
    }

    fn captures(&self, i: usize, j: usize) -> &[(u32, u32)] {
        self.caps.of(if self.by_rows { i } else { j })
    }
}

/// Applies a batch's deterministic counts to a pulsed device array; returns the reads of
/// `captures` as [`super::pulsed_update`] does (same arguments and meaning).
pub fn dense_update(
    p: &UpdateParameters,
    pulsed: Pulsed<'_>,
    weights: &mut [f32],
    mut apparent: Option<&mut [f32]>,
    input: &PulseBatch<'_>,
    captures: &CapturePlan,
) -> Vec<f32> {
    let (rows, cols) = (input.rows, input.cols);
    let trains = plan_trains(p, input);
    let max_bl = trains.iter().map(|t| t.bl).max().unwrap_or(0);
    let width = captures.width(rows, cols);
    if max_bl == 0 && captures.is_empty() {
        return Vec::new();
    }
    let factors = dense_factors(p, input, &trains);
    let (slots, mut row_reads) = capture_buffers(captures, rows, cols);
    let streams = input.streams();
    let mut start = 0;
    for (group, end) in plan_groups(&trains, cols, pulsed.group_budget())
        .into_iter()
        .enumerate()
    {
        let caps = if captures.is_empty() {
            GroupCaptures::default()
        } else {
            let keys = if captures.by_rows { rows } else { cols };
            GroupCaptures::build(captures, keys, start, end)
        };
        let ctx = DenseContext {
            pulsed,
            input,
            st: &streams,
            factors: &factors,
            start,
            end,
            group: group as u32,
            caps: &caps,
            by_rows: captures.by_rows,
            slots: &slots,
        };
        let app_rows: Vec<Option<&mut [f32]>> = match apparent.as_deref_mut() {
            Some(a) => a.chunks_mut(cols).map(Some).collect(),
            None => (0..rows).map(|_| None).collect(),
        };
        apply(&ctx, weights, app_rows, &mut row_reads);
        start = end;
    }
    reads_in_event_order(captures, &slots, &row_reads, width, cols)
}

/// One group: one monomorphized loop per device model.
fn apply(
    c: &DenseContext<'_>,
    weights: &mut [f32],
    apparent: Vec<Option<&mut [f32]>>,
    reads: &mut [Vec<f32>],
) {
    let reference = c.pulsed.reference;
    macro_rules! rows_with {
        ($a:expr, $grouped:expr) => {
            if reference.is_empty() {
                rows(c, weights, apparent, reads, $grouped, |k| $a.device(k))
            } else {
                rows(c, weights, apparent, reads, None, |k| Referenced {
                    inner: $a.device(k),
                    r: reference[k],
                })
            }
        };
    }
    match c.pulsed.response {
        Response::Constant(a) => rows_with!(a, Some(a)),
        Response::Linear(a) => rows_with!(a, None),
        Response::Exp(a) => rows_with!(a, None),
        Response::Pow(a) => rows_with!(a, None),
        Response::Piecewise(a) => rows_with!(a, None),
    }
}

/// Every row of the array, in parallel. `grouped`: constant steps without a reference, whose
/// group totals are applied at once where no order of the pulses can reach a bound.
fn rows<S: PulseStep, F: Fn(usize) -> S + Sync>(
    c: &DenseContext<'_>,
    weights: &mut [f32],
    mut apparent: Vec<Option<&mut [f32]>>,
    reads: &mut [Vec<f32>],
    grouped: Option<&ConstantStepArray>,
    device: F,
) {
    let cols = c.input.cols;
    let len = c.end - c.start;
    let sigma = c.pulsed.write_noise;
    let noisy = c.pulsed.steps().dw_min_std > 0.0;
    weights
        .par_chunks_mut(cols)
        .zip(apparent.par_iter_mut())
        .zip(reads.par_iter_mut())
        .with_min_len((PAR_ELEMENTS / (cols * len).max(1)).max(1))
        .enumerate()
        .for_each(|(i, ((w, app), buf))| {
            let mut sink = Sink {
                buf,
                by_rows: c.by_rows,
                slots: c.slots,
                cols,
            };
            for c0 in (0..cols).step_by(BLOCK) {
                let width = BLOCK.min(cols - c0);
                let (mut up, mut down) = ([0u16; BLOCK], [0u16; BLOCK]);
                let mut any = false;
                for q in 0..width {
                    for v in 0..len {
                        let (count, goes_up) = c.pulses(i, c0 + q, v);
                        if goes_up {
                            up[q] += count as u16;
                        } else {
                            down[q] += count as u16;
                        }
                    }
                    any |= up[q] > 0 || down[q] > 0 || !c.captures(i, c0 + q).is_empty();
                }
                if !any {
                    continue;
                }
                let wn = if sigma > 0.0 {
                    c.st.write.normals64(
                        (c0 / 8) as u32,
                        i as u32,
                        WRITE_NOISE_UPDATE,
                        c.st.step,
                        c.st.table,
                    )
                } else {
                    [0.0; BLOCK]
                };
                // Group steps (constant steps): devices that may reach a bound or are read in
                // this group are left to the replay.
                let mut replayed = [true; BLOCK];
                if let Some(array) = grouped {
                    let xi = if noisy {
                        c.st.noise.normals64(
                            (c0 / 8) as u32,
                            i as u32,
                            c.group,
                            c.st.step,
                            c.st.table,
                        )
                    } else {
                        [0.0; BLOCK]
                    };
                    let (mut u, mut d) = (up, down);
                    for q in 0..width {
                        if !c.captures(i, c0 + q).is_empty() {
                            (u[q], d[q]) = (0, 0);
                        }
                    }
                    array.pulse_groups(
                        i * cols + c0,
                        &mut w[c0..c0 + width],
                        &u[..width],
                        &d[..width],
                        &xi[..width],
                        c.st.xi_max,
                        &mut replayed[..width],
                    );
                    for (q, replay) in replayed[..width].iter_mut().enumerate() {
                        *replay |= !c.captures(i, c0 + q).is_empty();
                    }
                }
                for q in 0..width {
                    let j = c0 + q;
                    let mut pulsed = up[q] > 0 || down[q] > 0;
                    if replayed[q] {
                        if !pulsed && c.captures(i, j).is_empty() {
                            continue;
                        }
                        let old = app.as_deref().map_or(w[j], |a| a[j]);
                        let (next, any_pulse) = replay(
                            c,
                            device(i * cols + j),
                            grouped,
                            w[j],
                            i,
                            j,
                            &mut sink,
                            (sigma, wn[q], old),
                        );
                        w[j] = next;
                        pulsed = any_pulse;
                    }
                    if pulsed && sigma > 0.0 {
                        if let Some(a) = app.as_deref_mut() {
                            a[j] = w[j] + sigma * wn[q];
                        }
                    }
                }
            }
        });
}

/// The pulses of device (i, j) in vector order with its reads, as [`super::replay::replay`]
/// applies stochastic coincidences: a same-direction run of a constant-step device (`runs`) as one
/// step when it cannot reach a bound, else pulse by pulse with the device's replay normals.
#[allow(clippy::too_many_arguments)]
fn replay<S: PulseStep>(
    c: &DenseContext<'_>,
    dev: S,
    runs: Option<&ConstantStepArray>,
    mut w: f32,
    i: usize,
    j: usize,
    sink: &mut Sink<'_>,
    (sigma, wn, old): (f32, f32, f32),
) -> (f32, bool) {
    let k = i * c.input.cols + j;
    let noisy = c.pulsed.steps().dw_min_std > 0.0;
    let mut normals = ReplayNormals {
        st: c.st,
        i: i as u32,
        j: j as u32,
        group: c.group,
        drawn: 0,
        cache: [0.0; 8],
    };
    let mut xi = || if noisy { normals.next() } else { 0.0 };
    let visible = |w: f32, pulsed: bool| match (sigma > 0.0, pulsed) {
        (false, _) => w,
        (true, true) => w + sigma * wn,
        (true, false) => old,
    };
    let caps = c.captures(i, j);
    let mut next_cap = 0;
    let mut pulsed = false;
    for v in 0..c.end - c.start {
        while next_cap < caps.len() && (caps[next_cap].0 as usize) < v {
            sink.put(caps[next_cap].1, j, visible(w, pulsed));
            next_cap += 1;
        }
        let (count, up) = c.pulses(i, j, v);
        if count == 0 {
            continue;
        }
        pulsed = true;
        if let (true, Some(a)) = (count > 1, runs) {
            if let Some(next) = a.pulse_run(k, w, up, count, xi(), c.st.xi_max) {
                w = next;
                continue;
            }
        }
        for _ in 0..count {
            w = dev.pulse(w, up, xi());
        }
    }
    for &(_, event) in &caps[next_cap..] {
        sink.put(event, j, visible(w, pulsed));
    }
    (w, pulsed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pulsed::{Lr, PulseBatch};

    fn batch<'a>(x: &'a [f32], d: &'a [f32], lr: f32) -> PulseBatch<'a> {
        PulseBatch {
            x,
            d,
            batch: 1,
            rows: d.len(),
            cols: x.len(),
            lr: Lr::Same(lr),
            granularity: 0.001,
            seed: 7,
            noise_seed: 8,
            step: 0,
            polarity: Polarity::Both,
        }
    }

    fn counts(p: &UpdateParameters, x: &[f32], d: &[f32], lr: f32) -> Vec<(u32, bool)> {
        let input = batch(x, d, lr);
        let trains = plan_trains(p, &input);
        let f = dense_factors(p, &input, &trains);
        let (cols, rows) = (x.len(), d.len());
        let mut out = Vec::new();
        for i in 0..rows {
            for j in 0..cols {
                let (xf, df) = (f[j], f[cols + i]);
                out.push((
                    coincidences(xf, df),
                    xf.is_sign_negative() != df.is_sign_negative(),
                ));
            }
        }
        out
    }

    #[test]
    fn mean_count_rounds_the_element_counts_then_their_product() {
        let p = UpdateParameters {
            pulse_type: PulseType::MeanCount,
            ..Default::default()
        };
        // k = lr·xm·dm/g = 0.01·1·0.8/0.001 = 8 → BL = 8, A = √(lr/(g·BL))·√(xm/dm),
        // so A·0.8 = 1 and B·1 = 1: n_x = round(8·|x|/1), n_d = round(8·|d|/0.8).
        let x = [1.0, -0.3];
        let d = [0.8, 0.25];
        let c = counts(&p, &x, &d, 0.01);
        // n_x = [8, round(2.4) = 2], n_d = [8, round(2.5) = 2 (half to even)].
        // c = round(n_d/8 · n_x): [[8, 2], [2, round(0.5) = 0]].
        assert_eq!(c[0], (8, false));
        assert_eq!(c[1], (2, true));
        assert_eq!(c[2], (2, false));
        assert_eq!(c[3].0, 0);
    }

    #[test]
    fn implicit_quantises_to_the_resolutions_and_caps_at_bl() {
        let p = UpdateParameters {
            pulse_type: PulseType::DeterministicImplicit,
            x_res_implicit: 0.25,
            d_res_implicit: 0.5,
            ..Default::default()
        };
        let x = [1.0, 0.3];
        let d = [-0.8, 0.2];
        let c = counts(&p, &x, &d, 0.01);
        // BL = 8; p_x = [1, q(0.3, 0.25) = 0.25], p_d = [1, q(0.25, 0.5) = 0 (half to even)].
        assert_eq!(c[0], (8, true));
        assert_eq!(c[1], (2, true));
        assert_eq!(c[2].0, 0);
        assert_eq!(c[3].0, 0);
        // A product far above the train: both sides clip at 1, the count at BL = desired_bl.
        let c = counts(&p, &[1.0], &[1.0], 10.0);
        assert_eq!(c[0], (31, false));
    }

    #[test]
    fn step_of_reads_resolutions_like_res() {
        assert_eq!(step_of(0.0), 0.0);
        assert_eq!(step_of(0.1), 0.1);
        assert_eq!(step_of(4.0), 0.25);
        assert_eq!(quantise(0.3, 0.25, None), 0.25);
        assert_eq!(quantise(0.3, 0.0, None), 0.3);
        assert_eq!(quantise(0.3, 0.25, Some(0.9)), 0.5);
    }
}
