//! Stochastic pulsed update, `STOCHASTIC_COMPRESSED` (reference §3), and the exact
//! floating-point update.
//!
//! For each (x, d) vector pair: update management picks the train length BL and the scales A, B;
//! every x_j and d_i gets a bit-packed train of BL slots that fire with probability B|x_j| and
//! A|d_i|; each coincidence of a row's and a column's train is one pulse on that device, up when
//! x_j and d_i have opposite signs. Per row, the counts of up and down pulses over a group of
//! vectors are accumulated by adding byte planes (one per slot; 1 marks a positive, 16 a negative
//! firing x_j, so one byte add counts both signs in two nibbles); each device then receives its
//! pulses as one group when no order of them can reach a bound (exact in distribution), or pulse
//! by pulse in vector order otherwise.

use crate::config::{UpdateParameters, MAX_BL};
use crate::device::{
    ConstantStepArray, DeviceArray, DeviceModel, ExpStepArray, LinearStepArray, PiecewiseStepArray,
    PowStepArray, PulseStep, LANES,
};
use crate::gemm::{matmul, MatRef};
use crate::numeric;
use crate::periphery::PAR_ELEMENTS;
use crate::rng::{normal_max, normal_table, uniform_from_u32, NormalTable, Purpose, Stream};
use rayon::prelude::*;

/// Byte budget of the per-group slot planes.
const PLANE_BUDGET: usize = 8 << 20;
/// Per-row pulse counters are u16: a group never holds more than this many slots.
const MAX_GROUP_SLOTS: usize = u16::MAX as usize;
/// Counter word of the write-noise draws of a pulsed update (other writes use other words).
pub const WRITE_NOISE_UPDATE: u32 = 0x5752_0000;

mod dense;
mod lockstep;
pub use dense::{coincidences, dense_factors, dense_update, is_dense};
pub use lockstep::portable_lanes_only;

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

/// Reusable buffers of the pulsed update.
#[derive(Default, Clone, Debug)]
pub struct PulseScratch {
    trains: Vec<Train>,
    x_bits: Vec<u64>,
    d_bits: Vec<u64>,
    /// Sign masks `[element][vector / 64]`: bit set where x_j (d_i) of that vector is negative.
    x_negative: Vec<u64>,
    d_negative: Vec<u64>,
    planes: Vec<u8>,
    /// Per (vector of the group, slot): the columns whose x fires (bit 31: x < 0), CSR.
    slot_columns: Vec<u32>,
    slot_offsets: Vec<u32>,
    /// Whether the group's pulses are dense (several per device and vector).
    dense: bool,
    /// Pins that choice (tests: both orders must give the same weights).
    pinned_dense: Option<bool>,
}

impl PulseScratch {
    /// Applies pulse-by-pulse devices in one order whatever the pulse density: `Some(true)`
    /// device by device (in lockstep lanes), `Some(false)` slot by slot, `None` the faster one.
    /// The results are the same; this exists to test that.
    pub fn pin_order(&mut self, dense: Option<bool>) {
        self.pinned_dense = dense;
    }
}

/// The learning rate of an update: one for the batch, or one per vector.
#[derive(Clone, Copy, Debug)]
pub enum Lr<'a> {
    Same(f32),
    PerVector(&'a [f32]),
}

impl Lr<'_> {
    #[inline]
    pub fn at(&self, n: usize) -> f32 {
        match self {
            Lr::Same(lr) => *lr,
            Lr::PerVector(v) => v[n],
        }
    }
}

/// Which coincidences a device array takes (the halves of a one-sided pair).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Polarity {
    /// Up and down pulses as they come.
    #[default]
    Both,
    /// Only the up pulses (W⁺ of a one-sided pair).
    UpOnly,
    /// The down pulses, applied as up pulses (W⁻ of a one-sided pair: W⁻ grows when W shrinks).
    DownAsUp,
}

/// Inputs of one pulsed update call.
pub struct PulseBatch<'a> {
    pub x: &'a [f32],
    pub d: &'a [f32],
    pub batch: usize,
    pub rows: usize,
    pub cols: usize,
    pub lr: Lr<'a>,
    /// The granularity g the update management scales the trains with.
    pub granularity: f32,
    /// Seed of the trains (and of the probability rounding).
    pub seed: u64,
    /// Seed of the pulsed array's cycle-to-cycle and write noise.
    pub noise_seed: u64,
    pub step: u32,
    pub polarity: Polarity,
}

impl PulseBatch<'_> {
    fn streams(&self) -> Streams {
        Streams {
            x: Stream::new(self.seed, Purpose::XPulses),
            d: Stream::new(self.seed, Purpose::DPulses),
            rounding: Stream::new(self.seed, Purpose::ProbabilityRounding),
            noise: Stream::new(self.noise_seed, Purpose::PulseNoise),
            replay: Stream::new(self.noise_seed, Purpose::PulseNoiseReplay),
            write: Stream::new(self.noise_seed, Purpose::WriteNoise),
            step: self.step,
            table: normal_table(),
            xi_max: normal_max(),
        }
    }
}

/// A read of one column (or row) of the pulsed array after vector `vector` of the batch: what a
/// transfer reads in the middle of a batch, taken during the update itself.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capture {
    pub vector: u32,
    pub index: u32,
}

/// The reads to take during an update, in vector order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CapturePlan {
    /// Rows (index = row) instead of columns (index = column).
    pub by_rows: bool,
    pub events: Vec<Capture>,
}

impl CapturePlan {
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }

    /// Values per capture: a column has `rows` values, a row `cols`.
    pub fn width(&self, rows: usize, cols: usize) -> usize {
        if self.by_rows {
            cols
        } else {
            rows
        }
    }
}

struct Streams {
    x: Stream,
    d: Stream,
    rounding: Stream,
    noise: Stream,
    replay: Stream,
    write: Stream,
    step: u32,
    table: &'static NormalTable,
    xi_max: f32,
}

/// The pulse response of a device array as the update sees it.
#[derive(Clone, Copy)]
pub enum Response<'a> {
    /// Linear in the pulse counts: a group of pulses can be applied at once.
    Constant(&'a ConstantStepArray),
    /// The step depends on the weight: pulses are applied one by one in vector order.
    Linear(&'a LinearStepArray),
    /// Likewise.
    Exp(&'a ExpStepArray),
    /// Likewise.
    Pow(&'a PowStepArray),
    /// Likewise.
    Piecewise(&'a PiecewiseStepArray),
}

/// A pulsed device array: its response, the reference its visible weight is read against and
/// its write noise.
#[derive(Clone, Copy)]
pub struct Pulsed<'a> {
    pub response: Response<'a>,
    /// Per device; empty: none (the visible weight is the conductance).
    pub reference: &'a [f32],
    /// Write noise σ (0: none).
    pub write_noise: f32,
}

impl<'a> Pulsed<'a> {
    /// The pulsed view of a device array (None for floating-point devices).
    pub fn of(device: &'a DeviceArray) -> Option<Self> {
        let response = match &device.model {
            DeviceModel::ConstantStep(a) => Response::Constant(a),
            DeviceModel::LinearStep(a) => Response::Linear(a),
            DeviceModel::ExpStep(a) => Response::Exp(a),
            DeviceModel::PowStep(a) => Response::Pow(a),
            DeviceModel::PiecewiseStep(a) => Response::Piecewise(a),
            DeviceModel::FloatingPoint => return None,
        };
        Some(Self {
            response,
            reference: &device.reference,
            write_noise: device.write_noise,
        })
    }

    /// Steps, bounds and noise level.
    pub fn steps(&self) -> &ConstantStepArray {
        match self.response {
            Response::Constant(a) => a,
            Response::Linear(a) => &a.base,
            Response::Exp(a) => &a.base,
            Response::Pow(a) => &a.base,
            Response::Piecewise(a) => &a.base,
        }
    }

    /// Whether pulses may be applied in groups (see [`ConstantStepArray::pulse_groups`]).
    pub fn grouped(&self) -> bool {
        matches!(self.response, Response::Constant(_)) && self.reference.is_empty()
    }

    /// How many vectors' pulses a group may carry (see [`plan_groups`]): pulse-by-pulse models
    /// never need a group to stay clear of the bounds.
    pub fn group_budget(&self) -> f32 {
        if self.grouped() {
            self.steps().group_budget
        } else {
            f32::INFINITY
        }
    }
}

/// A device read against a reference: its pulses act on the conductance g = w + r.
#[derive(Clone, Copy)]
struct Referenced<S> {
    inner: S,
    r: f32,
}

impl<S: PulseStep> PulseStep for Referenced<S> {
    const LOCKSTEP: bool = S::LOCKSTEP;
    type Lanes = (S::Lanes, [f32; LANES]);

    #[inline(always)]
    fn pulse(&self, w: f32, up: bool, xi: f32) -> f32 {
        self.inner.pulse(w + self.r, up, xi) - self.r
    }

    #[inline(always)]
    fn lanes(d: &[Self; LANES]) -> Self::Lanes {
        (
            S::lanes(&std::array::from_fn(|l| d[l].inner)),
            std::array::from_fn(|l| d[l].r),
        )
    }

    #[inline(always)]
    fn pulse_lanes(
        (inner, r): &Self::Lanes,
        up: &[bool; LANES],
        w: &[f32; LANES],
        xi: &[f32; LANES],
    ) -> [f32; LANES] {
        let g: [f32; LANES] = std::array::from_fn(|l| w[l] + r[l]);
        let next = S::pulse_lanes(inner, up, &g, xi);
        std::array::from_fn(|l| next[l] - r[l])
    }
}

/// Where the reads of a row's devices go (see [`CapturePlan`]).
struct Sink<'s> {
    buf: &'s mut Vec<f32>,
    by_rows: bool,
    /// Position of each event among its row's events (by rows).
    slots: &'s [u32],
    cols: usize,
}

impl Sink<'_> {
    #[inline]
    fn put(&mut self, event: u32, j: usize, value: f32) {
        if self.by_rows {
            self.buf[self.slots[event as usize] as usize * self.cols + j] = value;
        } else {
            self.buf[event as usize] = value;
        }
    }
}

/// The captures of one group, per column (or per row): CSR offsets into `entries`, each entry
/// (vector within the group, event).
#[derive(Default)]
struct GroupCaptures {
    offsets: Vec<u32>,
    entries: Vec<(u32, u32)>,
    /// Whether any read is taken after vector v of the group.
    after: Vec<bool>,
}

impl GroupCaptures {
    fn build(plan: &CapturePlan, keys: usize, start: usize, end: usize) -> Self {
        let mut offsets = vec![0u32; keys + 1];
        let in_group = |c: &Capture| (start..end).contains(&(c.vector as usize));
        for c in plan.events.iter().filter(|c| in_group(c)) {
            offsets[c.index as usize + 1] += 1;
        }
        for k in 0..keys {
            offsets[k + 1] += offsets[k];
        }
        let mut fill = offsets.clone();
        let mut entries = vec![(0u32, 0u32); offsets[keys] as usize];
        let mut after = vec![false; end - start];
        for (e, c) in plan.events.iter().enumerate() {
            if in_group(c) {
                let slot = &mut fill[c.index as usize];
                entries[*slot as usize] = (c.vector - start as u32, e as u32);
                *slot += 1;
                after[c.vector as usize - start] = true;
            }
        }
        Self {
            offsets,
            entries,
            after,
        }
    }

    /// The table as one u32 array: offsets (keys + 1), then the (vector, event) pairs.
    fn flat(&self) -> Vec<u32> {
        let mut out = self.offsets.clone();
        for &(v, e) in &self.entries {
            out.push(v);
            out.push(e);
        }
        out
    }

    fn of(&self, key: usize) -> &[(u32, u32)] {
        if self.offsets.is_empty() {
            return &[];
        }
        &self.entries[self.offsets[key] as usize..self.offsets[key + 1] as usize]
    }
}

/// The reads of vectors `start..end` of `plan` per column (or row) as one u32 table: offsets into
/// the pairs (`keys + 1` values), then (vector within the group, read number) pairs (the layout
/// `pulse_apply.wgsl` reads).
pub fn capture_table(plan: &CapturePlan, keys: usize, start: usize, end: usize) -> Vec<u32> {
    GroupCaptures::build(plan, keys, start, end).flat()
}

/// Applies the stochastic pulsed update of a batch to a pulsed device array and returns the reads
/// of `captures` (`[event][rows]` for columns, `[event][cols]` for rows). `weights` are what the
/// pulses act on; with write noise they are the hidden persistent weights and `apparent` the
/// visible ones, redrawn for every device that received a pulse.
pub fn pulsed_update(
    p: &UpdateParameters,
    pulsed: Pulsed<'_>,
    weights: &mut [f32],
    mut apparent: Option<&mut [f32]>,
    input: &PulseBatch<'_>,
    captures: &CapturePlan,
    scratch: &mut PulseScratch,
) -> Vec<f32> {
    let (rows, cols) = (input.rows, input.cols);
    let s = scratch;
    s.trains = plan_trains(p, input);
    let max_bl = s.trains.iter().map(|t| t.bl).max().unwrap_or(0) as usize;
    let width = captures.width(rows, cols);
    if max_bl == 0 && captures.is_empty() {
        return Vec::new();
    }
    let (slots, mut row_reads) = capture_buffers(captures, rows, cols);
    let words = max_bl.max(1).div_ceil(64);
    let streams = input.streams();
    let mut start = 0;
    for (group_index, end) in plan_groups(&s.trains, cols, pulsed.group_budget())
        .into_iter()
        .enumerate()
    {
        let group = Group {
            start,
            end,
            index: group_index as u32,
            words,
            max_bl: max_bl.max(1),
        };
        let caps = if captures.is_empty() {
            GroupCaptures::default()
        } else {
            GroupCaptures::build(
                captures,
                if captures.by_rows { rows } else { cols },
                start,
                end,
            )
        };
        make_trains(p, input, &group, &streams, s, pulsed.grouped());
        let ctx = ApplyContext {
            pulsed,
            input,
            g: &group,
            st: &streams,
            s,
            caps: &caps,
            by_rows: captures.by_rows,
            slots: &slots,
        };
        let mut app_rows: Vec<Option<&mut [f32]>> = match apparent.as_deref_mut() {
            Some(a) => a.chunks_mut(cols).map(Some).collect(),
            None => (0..rows).map(|_| None).collect(),
        };
        if pulsed.grouped() {
            apply_group(&ctx, weights, &mut app_rows, &mut row_reads);
        } else {
            apply_sequential(&ctx, weights, &mut app_rows, &mut row_reads);
        }
        start = end;
    }
    reads_in_event_order(captures, &slots, &row_reads, width, cols)
}

/// Per-row capture buffers of an update, and (by rows) each event's place among its row's
/// events: `(slots, row_reads)`.
pub(crate) fn capture_buffers(
    captures: &CapturePlan,
    rows: usize,
    cols: usize,
) -> (Vec<u32>, Vec<Vec<f32>>) {
    let events = captures.events.len();
    let mut slots = vec![0u32; if captures.by_rows { events } else { 0 }];
    let mut per_row = vec![0u32; rows];
    if captures.by_rows {
        for (e, c) in captures.events.iter().enumerate() {
            slots[e] = per_row[c.index as usize];
            per_row[c.index as usize] += 1;
        }
    }
    let row_reads = (0..rows)
        .map(|i| {
            let n = if captures.by_rows {
                per_row[i] as usize * cols
            } else {
                events
            };
            vec![0.0; n]
        })
        .collect();
    (slots, row_reads)
}

/// The reads gathered in the per-row buffers, as one `[event][width]` array in event order.
pub(crate) fn reads_in_event_order(
    captures: &CapturePlan,
    slots: &[u32],
    row_reads: &[Vec<f32>],
    width: usize,
    cols: usize,
) -> Vec<f32> {
    let mut out = vec![0.0f32; captures.events.len() * width];
    for (e, c) in captures.events.iter().enumerate() {
        let dst = &mut out[e * width..(e + 1) * width];
        if captures.by_rows {
            let slot = slots[e] as usize;
            dst.copy_from_slice(&row_reads[c.index as usize][slot * cols..(slot + 1) * cols]);
        } else {
            for (i, v) in dst.iter_mut().enumerate() {
                *v = row_reads[i][e];
            }
        }
    }
    out
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

struct Group {
    start: usize,
    end: usize,
    index: u32,
    words: usize,
    max_bl: usize,
}

/// Firing threshold on a 16-bit uniform for probability `prob` (≥ 1: always fires).
#[inline]
fn threshold(prob: f32, step: f32, sto: Option<f32>) -> u32 {
    let q = if step > 0.0 {
        match sto {
            Some(u) => numeric::floor(prob / step + u) * step,
            None => numeric::round_even(prob / step) * step,
        }
    } else {
        prob
    };
    numeric::round_even(q.clamp(0.0, 1.0) * 65536.0) as u32
}

/// Vectors whose trains are drawn together (one Philox evaluation per lane).
const TRAIN_LANES: usize = 8;

/// [`fill_trains`] compiled for AVX-512 (8 Philox lanes per instruction); only called where
/// the CPU has it. The same integer operations, so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt")]
fn fill_trains_avx512(
    stream: &Stream,
    counter: [u32; 3],
    t: &[u32; TRAIN_LANES],
    bl: &[usize; TRAIN_LANES],
    out: &mut [u64],
    words: usize,
) {
    fill_trains::<true>(stream, counter, t, bl, out, words);
}

/// [`fill_trains`] with AVX-512 when `wide` (the caller checked the CPU).
#[inline(always)]
fn fill_trains_on(
    wide: bool,
    stream: &Stream,
    counter: [u32; 3],
    t: &[u32; TRAIN_LANES],
    bl: &[usize; TRAIN_LANES],
    out: &mut [u64],
    words: usize,
) {
    #[cfg(target_arch = "x86_64")]
    if wide {
        // SAFETY: `wide` is lockstep::has_wide_lanes(): the CPU has every enabled feature.
        #[allow(unsafe_code)]
        unsafe {
            fill_trains_avx512(stream, counter, t, bl, out, words);
        }
        return;
    }
    let _ = wide;
    fill_trains::<false>(stream, counter, t, bl, out, words);
}

/// Bits of one element's trains for up to [`TRAIN_LANES`] consecutive vectors n0.. (counter base
/// `[element, n0, step]`): slot s of vector n fires
/// when its 16-bit uniform (half of a word of Philox(element, s / 8, n, step)) is below the
/// vector's threshold `t[l]` (≥ 65536: always). Branch-free, so random outcomes cost no
/// mispredictions.
#[inline(always)]
fn fill_trains<const WIDE: bool>(
    stream: &Stream,
    [element, n0, step]: [u32; 3],
    t: &[u32; TRAIN_LANES],
    bl: &[usize; TRAIN_LANES],
    out: &mut [u64],
    words: usize,
) {
    let lanes = out.len() / words;
    out.fill(0);
    let max_bl = bl[..lanes].iter().copied().max().unwrap_or(0);
    for block in 0..max_bl.div_ceil(8) {
        let ctr = [
            [element; TRAIN_LANES],
            [block as u32; TRAIN_LANES],
            std::array::from_fn(|l| n0 + l as u32),
            [step; TRAIN_LANES],
        ];
        let r = if WIDE {
            stream.blocks_wide(ctr)
        } else {
            stream.blocks(ctr)
        };
        for l in 0..lanes {
            let bits = &mut out[l * words..(l + 1) * words];
            for h in 0..8 {
                let slot = block * 8 + h;
                let u = (r[h / 2][l] >> (16 * (h % 2))) & 0xFFFF;
                let fire = u64::from(u < t[l]) & u64::from(slot < bl[l]);
                bits[slot / 64] |= fire << (slot % 64);
            }
        }
    }
}

/// Generates the x and d trains of every vector of a group, element-major (`[element][vector]`,
/// so a row's or a column's trains are contiguous), and (`planes`) the x slot planes of every
/// vector.
fn make_trains(
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
        for (c, chunk) in bits.chunks_mut(TRAIN_LANES * words).enumerate() {
            let n0 = g.start + c * TRAIN_LANES;
            let mut t = [0u32; TRAIN_LANES];
            let mut bl = [0usize; TRAIN_LANES];
            for l in 0..chunk.len() / words {
                let n = n0 + l;
                let train = trains[n];
                let scale = if which == 0 {
                    train.x_scale
                } else {
                    train.d_scale
                };
                t[l] = firing_threshold(
                    p,
                    &st.rounding,
                    st.step,
                    scale,
                    values[n * width + e],
                    e,
                    n,
                    which,
                );
                bl[l] = if t[l] == 0 { 0 } else { train.bl as usize };
            }
            fill_trains_on(
                wide,
                stream,
                [e as u32, n0 as u32, st.step],
                &t,
                &bl,
                chunk,
                words,
            );
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
/// the sign of x_j in bit 31 (the slot-ordered application of [`apply_sequential`]).
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

/// Plane marks: a firing positive x_j counts in the low nibble, a negative one in the high.
const POSITIVE: u8 = 1;
const NEGATIVE: u8 = 16;
/// Planes added to a nibble accumulator before it must be flushed (15 fits in 4 bits).
const NIBBLE_ADDS: u32 = 15;

/// Columns accumulated together: the byte counters of a block stay in registers while every
/// fired slot of the row is added.
const BLOCK: usize = 64;

/// Per-row buffers: the plane offsets of the row's fired slots, split by the sign of d_i, and
/// the up/down pulse counts of every column.
struct RowCounts {
    fired: [Vec<usize>; 2],
    up: Vec<u16>,
    down: Vec<u16>,
    /// The vectors in which the row's d_i fired (for replays).
    vectors: Vec<u32>,
}

impl RowCounts {
    fn new(cols: usize) -> Self {
        Self {
            fired: [Vec::new(), Vec::new()],
            up: vec![0; cols],
            down: vec![0; cols],
            vectors: Vec::new(),
        }
    }

    /// Sums the planes of all fired slots into up/down counts, one block of columns at a time.
    /// Byte accumulators hold two 4-bit counters (positive / negative x_j), so at most 15 planes
    /// are added before they are moved into the u16 counts. A pulse goes up when x_j and d_i
    /// have opposite signs: for d_i > 0 the negative-x nibble counts up, for d_i < 0 the positive.
    fn accumulate(&mut self, planes: &[u8], cols: usize) {
        self.up.fill(0);
        self.down.fill(0);
        for c0 in (0..cols).step_by(BLOCK) {
            let width = BLOCK.min(cols - c0);
            for d_negative in 0..2 {
                let (same, opposite) = if d_negative == 0 {
                    (&mut self.down[c0..c0 + width], &mut self.up[c0..c0 + width])
                } else {
                    (&mut self.up[c0..c0 + width], &mut self.down[c0..c0 + width])
                };
                for chunk in self.fired[d_negative].chunks(NIBBLE_ADDS as usize) {
                    let mut acc = [0u8; BLOCK];
                    if width == BLOCK {
                        for &offset in chunk {
                            let plane: &[u8; BLOCK] =
                                planes[offset + c0..offset + c0 + BLOCK].try_into().unwrap();
                            for q in 0..BLOCK {
                                acc[q] = acc[q].wrapping_add(plane[q]);
                            }
                        }
                    } else {
                        for &offset in chunk {
                            let plane = &planes[offset + c0..offset + c0 + width];
                            for (a, &b) in acc.iter_mut().zip(plane) {
                                *a = a.wrapping_add(b);
                            }
                        }
                    }
                    for q in 0..width {
                        same[q] += u16::from(acc[q] & 0x0F);
                        opposite[q] += u16::from(acc[q] >> 4);
                    }
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.fired[0].is_empty() && self.fired[1].is_empty()
    }
}

/// What the appliers of one group share.
struct ApplyContext<'c> {
    pulsed: Pulsed<'c>,
    input: &'c PulseBatch<'c>,
    g: &'c Group,
    st: &'c Streams,
    s: &'c PulseScratch,
    caps: &'c GroupCaptures,
    by_rows: bool,
    slots: &'c [u32],
}

impl ApplyContext<'_> {
    /// The captures of device (i, j) in this group.
    fn captures(&self, i: usize, j: usize) -> &[(u32, u32)] {
        self.caps.of(if self.by_rows { i } else { j })
    }

    /// Whether any device of row i is read in this group.
    fn row_captured(&self, i: usize) -> bool {
        if self.by_rows {
            !self.caps.of(i).is_empty()
        } else {
            !self.caps.entries.is_empty()
        }
    }

    /// Write-noise normals of the 64 devices (i, c0..c0 + 64) for this update.
    fn write_normals(&self, i: usize, c0: usize) -> [f32; 64] {
        self.st.write.normals64(
            (c0 / 8) as u32,
            i as u32,
            WRITE_NOISE_UPDATE,
            self.st.step,
            self.st.table,
        )
    }
}

/// Counts each row's coincidences over the group and applies them to the devices (constant
/// steps); devices that might reach a bound, or that are read in this group, are replayed.
fn apply_group(
    c: &ApplyContext<'_>,
    weights: &mut [f32],
    apparent: &mut [Option<&mut [f32]>],
    reads: &mut [Vec<f32>],
) {
    let Response::Constant(device) = c.pulsed.response else {
        unreachable!("grouped application needs constant steps");
    };
    let (cols, words) = (c.input.cols, c.g.words);
    let len = c.g.end - c.g.start;
    let sign_words = len.div_ceil(64);
    let plane_stride = c.g.max_bl * cols;
    let noisy = device.dw_min_std > 0.0;
    let sigma = c.pulsed.write_noise;
    let s = c.s;
    weights
        .par_chunks_mut(cols)
        .zip(apparent.par_iter_mut())
        .zip(reads.par_iter_mut())
        .with_min_len((PAR_ELEMENTS / (cols * len).max(1)).max(1))
        .enumerate()
        .for_each_init(
            || RowCounts::new(cols),
            |counts, (i, ((w, app), buf))| {
                let mut sink = Sink {
                    buf,
                    by_rows: c.by_rows,
                    slots: c.slots,
                    cols,
                };
                counts.fired[0].clear();
                counts.fired[1].clear();
                let row_bits = &s.d_bits[i * len * words..(i + 1) * len * words];
                let d_signs = &s.d_negative[i * sign_words..(i + 1) * sign_words];
                for (k, db) in row_bits.chunks(words).enumerate() {
                    let d_negative = ((d_signs[k / 64] >> (k % 64)) & 1) as usize;
                    for (wi, &word) in db.iter().enumerate() {
                        let mut word = word;
                        while word != 0 {
                            let slot = wi * 64 + word.trailing_zeros() as usize;
                            word &= word - 1;
                            counts.fired[d_negative].push(k * plane_stride + slot * cols);
                        }
                    }
                }
                let captured = c.row_captured(i);
                if counts.is_empty() && !captured {
                    return;
                }
                counts.accumulate(&s.planes, cols);
                match c.input.polarity {
                    Polarity::Both => {}
                    Polarity::UpOnly => counts.down.fill(0),
                    Polarity::DownAsUp => {
                        std::mem::swap(&mut counts.up, &mut counts.down);
                        counts.down.fill(0);
                    }
                }
                fired_vectors(s, i, len, words, &mut counts.vectors);
                // Columns in blocks of 64: one Philox call per lane gives the block's 64 normals
                // (normal of device (i, j) = normal j % 8 of counter (j / 8, i, group, step)).
                let mut xi = [0.0f32; BLOCK];
                let mut flagged = [false; BLOCK];
                for c0 in (0..cols).step_by(BLOCK) {
                    let width = BLOCK.min(cols - c0);
                    if noisy {
                        xi = c.st.noise.normals64(
                            (c0 / 8) as u32,
                            i as u32,
                            c.g.index,
                            c.st.step,
                            c.st.table,
                        );
                    }
                    // Devices read in this group are replayed in order: no group step for them.
                    let mut read = [false; BLOCK];
                    let (mut up, mut down) = ([0u16; BLOCK], [0u16; BLOCK]);
                    up[..width].copy_from_slice(&counts.up[c0..c0 + width]);
                    down[..width].copy_from_slice(&counts.down[c0..c0 + width]);
                    if captured {
                        for q in 0..width {
                            if !c.captures(i, c0 + q).is_empty() {
                                (read[q], up[q], down[q]) = (true, 0, 0);
                            }
                        }
                    }
                    device.pulse_groups(
                        i * cols + c0,
                        &mut w[c0..c0 + width],
                        &up[..width],
                        &down[..width],
                        &xi[..width],
                        c.st.xi_max,
                        &mut flagged[..width],
                    );
                    let wn = if sigma > 0.0 {
                        c.write_normals(i, c0)
                    } else {
                        [0.0; BLOCK]
                    };
                    for q in 0..width {
                        let j = c0 + q;
                        let caps = c.captures(i, j);
                        let pulses = counts.up[j] > 0 || counts.down[j] > 0;
                        if flagged[q] || read[q] {
                            // Replayed from the weight before the group (pulse_groups left
                            // flagged and read devices unchanged).
                            let w0 = w[j];
                            let old = app.as_deref().map_or(w0, |a| a[j]);
                            let (next, pulsed) = replay(
                                c,
                                device.device(i * cols + j),
                                Some(device),
                                w0,
                                i,
                                j,
                                &counts.vectors,
                                caps,
                                &mut sink,
                                (sigma, wn[q], old),
                            );
                            w[j] = next;
                            if pulsed {
                                if let Some(a) = app.as_deref_mut() {
                                    a[j] = next + sigma * wn[q];
                                }
                            }
                        } else if pulses && sigma > 0.0 {
                            if let Some(a) = app.as_deref_mut() {
                                a[j] = w[j] + sigma * wn[q];
                            }
                        }
                    }
                }
            },
        );
}

/// Applies a group's pulses to every device one by one in vector order (devices whose step depends
/// on the weight). Rows skip the vectors in which their d_i never fired.
fn apply_sequential(
    c: &ApplyContext<'_>,
    weights: &mut [f32],
    apparent: &mut [Option<&mut [f32]>],
    reads: &mut [Vec<f32>],
) {
    let rows = (weights, apparent, reads);
    // One monomorphized loop per model: the device's parameters are loaded once per device.
    match c.pulsed.response {
        Response::Constant(a) => sequential(c, rows, |k| a.device(k)),
        Response::Linear(a) => sequential(c, rows, |k| a.device(k)),
        Response::Exp(a) => sequential(c, rows, |k| a.device(k)),
        Response::Pow(a) => sequential(c, rows, |k| a.device(k)),
        Response::Piecewise(a) => sequential(c, rows, |k| a.device(k)),
    }
}

type Rows<'r, 'a> = (
    &'r mut [f32],
    &'r mut [Option<&'a mut [f32]>],
    &'r mut [Vec<f32>],
);

fn sequential<S: PulseStep, F: Fn(usize) -> S + Sync>(
    c: &ApplyContext<'_>,
    rows: Rows<'_, '_>,
    device: F,
) {
    let reference = c.pulsed.reference;
    if reference.is_empty() {
        sequential_rows(c, rows, device);
    } else {
        sequential_rows(c, rows, |k| Referenced {
            inner: device(k),
            r: reference[k],
        });
    }
}

/// Both orders give every device the same pulses with the same normals (identical results);
/// the faster one is picked from the group's expected pulses per (device, vector) visited.
fn sequential_rows<S: PulseStep, F: Fn(usize) -> S + Sync>(
    c: &ApplyContext<'_>,
    rows: Rows<'_, '_>,
    device: F,
) {
    if c.s.dense && S::LOCKSTEP {
        lockstep::device_rows(c, rows, device);
    } else if c.s.dense {
        device_rows(c, rows, device);
    } else {
        slot_rows(c, rows, device);
    }
}

/// Slot by slot as the reference does: per slot in which d_i fires, one pulse on every device
/// whose x fires in it, so consecutive pulses hit different devices (the better order when
/// pulses are sparse).
fn slot_rows<S: PulseStep, F: Fn(usize) -> S + Sync>(
    c: &ApplyContext<'_>,
    (weights, apparent, reads): Rows<'_, '_>,
    device: F,
) {
    let (cols, words, max_bl) = (c.input.cols, c.g.words, c.g.max_bl);
    let len = c.g.end - c.g.start;
    let sigma = c.pulsed.write_noise;
    let noisy = c.pulsed.steps().dw_min_std > 0.0;
    let s = c.s;
    let sign_words = len.div_ceil(64);
    let polarity = c.input.polarity;
    weights
        .par_chunks_mut(cols)
        .zip(apparent.par_iter_mut())
        .zip(reads.par_iter_mut())
        .with_min_len((PAR_ELEMENTS / (cols * len).max(1)).max(1))
        .enumerate()
        .for_each_init(RowState::default, |state, (i, ((row, app), buf))| {
            let d_row = &s.d_bits[i * len * words..(i + 1) * len * words];
            let captured = c.row_captured(i);
            if !captured && d_row.iter().all(|&b| b == 0) {
                return;
            }
            state.reset(cols);
            let mut sink = Sink {
                buf,
                by_rows: c.by_rows,
                slots: c.slots,
                cols,
            };
            let old: Option<Vec<f32>> = (sigma > 0.0 && captured)
                .then(|| app.as_deref().map_or_else(|| row.to_vec(), <[f32]>::to_vec));
            let seen = |state: &RowState, row: &[f32], j: usize, wn: f32| {
                if sigma > 0.0 {
                    if state.pulsed[j] {
                        row[j] + sigma * wn
                    } else {
                        old.as_ref().map_or(row[j], |o| o[j])
                    }
                } else {
                    row[j]
                }
            };
            let d_signs = &s.d_negative[i * sign_words..(i + 1) * sign_words];
            for k in 0..len {
                if captured && k > 0 && c.caps.after[k - 1] {
                    state.take_reads(c, i, k as u32, row, &mut sink, &seen);
                }
                let d_negative = ((d_signs[k / 64] >> (k % 64)) & 1) as u32;
                // The slots in which d_i fired, in order; per slot the columns whose x fired:
                // one pulse per (slot, column), consecutive pulses on different devices.
                for (w, &word) in d_row[k * words..(k + 1) * words].iter().enumerate() {
                    let mut word = word;
                    while word != 0 {
                        let slot = w * 64 + word.trailing_zeros() as usize;
                        word &= word - 1;
                        let q = k * max_bl + slot;
                        let list = &s.slot_columns
                            [s.slot_offsets[q] as usize..s.slot_offsets[q + 1] as usize];
                        for &e in list {
                            let j = (e & 0x7FFF_FFFF) as usize;
                            // A pulse goes up when x_j and d_i have opposite signs.
                            let mut up = (e >> 31) != d_negative;
                            match polarity {
                                Polarity::Both => {}
                                Polarity::UpOnly if !up => continue,
                                Polarity::DownAsUp if up => continue,
                                Polarity::UpOnly => {}
                                Polarity::DownAsUp => up = true,
                            }
                            let xi = if noisy { state.normal(c, i, j) } else { 0.0 };
                            row[j] = device(i * cols + j).pulse(row[j], up, xi);
                            state.pulsed[j] = true;
                        }
                    }
                }
            }
            if captured {
                state.take_reads(c, i, u32::MAX, row, &mut sink, &seen);
            }
            if sigma > 0.0 {
                if let Some(a) = app.as_deref_mut() {
                    for c0 in (0..cols).step_by(BLOCK) {
                        let width = BLOCK.min(cols - c0);
                        let wn = c.write_normals(i, c0);
                        for q in 0..width {
                            if state.pulsed[c0 + q] {
                                a[c0 + q] = row[c0 + q] + sigma * wn[q];
                            }
                        }
                    }
                }
            }
        });
}

/// Per-row state of the slot-ordered application: which devices were pulsed, how many replay
/// normals each has drawn (device (i, j)'s m-th pulse uses normal m % 8 of counter
/// (j, i, group·2²⁰ + m / 8, step), the same numbers as one device replayed alone), and the
/// next read of each column.
#[derive(Default)]
struct RowState {
    pulsed: Vec<bool>,
    drawn: Vec<u32>,
    cache: Vec<[f32; 8]>,
    next_read: Vec<u32>,
}

impl RowState {
    fn reset(&mut self, cols: usize) {
        self.pulsed.clear();
        self.pulsed.resize(cols, false);
        self.drawn.clear();
        self.drawn.resize(cols, 0);
        self.cache.resize(cols, [0.0; 8]);
        self.next_read.clear();
        self.next_read.resize(cols, 0);
    }

    #[inline(always)]
    fn normal(&mut self, c: &ApplyContext<'_>, i: usize, j: usize) -> f32 {
        let n = self.drawn[j];
        if n.is_multiple_of(8) {
            let st = c.st;
            let block = (c.g.index << 20) | (n / 8);
            self.cache[j] = st
                .replay
                .normals8(j as u32, i as u32, block, st.step, st.table);
        }
        self.drawn[j] = n + 1;
        self.cache[j][(n % 8) as usize]
    }

    /// Takes the reads of the row's devices due before vector `before` of the group.
    fn take_reads(
        &mut self,
        c: &ApplyContext<'_>,
        i: usize,
        before: u32,
        row: &[f32],
        sink: &mut Sink<'_>,
        seen: &impl Fn(&RowState, &[f32], usize, f32) -> f32,
    ) {
        let cols = row.len();
        let sigma = c.pulsed.write_noise;
        for c0 in (0..cols).step_by(BLOCK) {
            let width = BLOCK.min(cols - c0);
            let mut wn: Option<[f32; BLOCK]> = None;
            for q in 0..width {
                let j = c0 + q;
                let caps = c.captures(i, j);
                let mut r = self.next_read[j] as usize;
                while r < caps.len() && caps[r].0 < before {
                    let noise = if sigma > 0.0 {
                        wn.get_or_insert_with(|| c.write_normals(i, c0))[q]
                    } else {
                        0.0
                    };
                    sink.put(caps[r].1, j, seen(self, row, j, noise));
                    r += 1;
                }
                self.next_read[j] = r as u32;
            }
        }
    }
}

/// One device at a time, its pulses in vector order (parameters in registers: the better order
/// when devices get several pulses per vector).
fn device_rows<S: PulseStep, F: Fn(usize) -> S + Sync>(
    c: &ApplyContext<'_>,
    (weights, apparent, reads): Rows<'_, '_>,
    device: F,
) {
    let (cols, words) = (c.input.cols, c.g.words);
    let len = c.g.end - c.g.start;
    let sigma = c.pulsed.write_noise;
    weights
        .par_chunks_mut(cols)
        .zip(apparent.par_iter_mut())
        .zip(reads.par_iter_mut())
        .with_min_len((PAR_ELEMENTS / (cols * len).max(1)).max(1))
        .enumerate()
        .for_each_init(Vec::new, |fired, (i, ((row, app), buf))| {
            fired_vectors(c.s, i, len, words, fired);
            if fired.is_empty() && !c.row_captured(i) {
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
                for (q, &wn) in wn[..width].iter().enumerate() {
                    let j = c0 + q;
                    let old = app.as_deref().map_or(row[j], |a| a[j]);
                    let caps = c.captures(i, j);
                    let (next, pulsed) = replay(
                        c,
                        device(i * cols + j),
                        None,
                        row[j],
                        i,
                        j,
                        fired,
                        caps,
                        &mut sink,
                        (sigma, wn, old),
                    );
                    row[j] = next;
                    if pulsed {
                        if let Some(a) = app.as_deref_mut() {
                            a[j] = next + sigma * wn;
                        }
                    }
                }
            }
        });
}

/// The vectors of the group in which d_i fired at least once.
fn fired_vectors(s: &PulseScratch, i: usize, len: usize, words: usize, out: &mut Vec<u32>) {
    out.clear();
    let d_row = &s.d_bits[i * len * words..(i + 1) * len * words];
    for (v, db) in d_row.chunks(words).enumerate() {
        if db.iter().any(|&b| b != 0) {
            out.push(v as u32);
        }
    }
}

/// Sequential normals of one device's replay stream (counter (j, i, group·2²⁰ + block, step)).
struct ReplayNormals<'a> {
    st: &'a Streams,
    i: u32,
    j: u32,
    group: u32,
    drawn: u32,
    cache: [f32; 8],
}

impl ReplayNormals<'_> {
    fn next(&mut self) -> f32 {
        if self.drawn.is_multiple_of(8) {
            let block = (self.group << 20) | (self.drawn / 8);
            self.cache =
                self.st
                    .replay
                    .normals8(self.j, self.i, block, self.st.step, self.st.table);
        }
        self.drawn += 1;
        self.cache[((self.drawn - 1) % 8) as usize]
    }
}

/// Applies the pulses of device (i, j) in vector order and takes its reads; returns the weight
/// and whether it received a pulse. Within one vector all pulses go the same way: for constant
/// steps such a run is applied as a group when it cannot reach a bound, else pulse by pulse.
/// `fired` lists the vectors of the group in which d_i fired at all (the others hold no pulse for
/// row i); `caps` the reads (vector within the group, event), each taken after its vector.
/// `noise` is (write-noise σ, this update's write-noise normal, the visible weight before it):
/// a read sees the visible weight, persistent + σξ once the device has been written.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn replay<S: PulseStep>(
    c: &ApplyContext<'_>,
    dev: S,
    runs: Option<&ConstantStepArray>,
    mut w: f32,
    i: usize,
    j: usize,
    fired: &[u32],
    caps: &[(u32, u32)],
    sink: &mut Sink<'_>,
    (sigma, wn, old): (f32, f32, f32),
) -> (f32, bool) {
    let (cols, words) = (c.input.cols, c.g.words);
    let len = c.g.end - c.g.start;
    let k = i * cols + j;
    let noisy = c.pulsed.steps().dw_min_std > 0.0;
    let mut normals = ReplayNormals {
        st: c.st,
        i: i as u32,
        j: j as u32,
        group: c.g.index,
        drawn: 0,
        cache: [0.0; 8],
    };
    let mut xi = || if noisy { normals.next() } else { 0.0 };
    let s = c.s;
    let d_row = &s.d_bits[i * len * words..(i + 1) * len * words];
    let x_col = &s.x_bits[j * len * words..(j + 1) * len * words];
    let sign_words = len.div_ceil(64);
    let d_signs = &s.d_negative[i * sign_words..(i + 1) * sign_words];
    let x_signs = &s.x_negative[j * sign_words..(j + 1) * sign_words];
    let mut pulsed = false;
    let visible = |w: f32, pulsed: bool| {
        if sigma > 0.0 {
            if pulsed {
                w + sigma * wn
            } else {
                old
            }
        } else {
            w
        }
    };
    let polarity = c.input.polarity;
    let mut next_cap = 0;
    for &v in fired {
        while next_cap < caps.len() && caps[next_cap].0 < v {
            sink.put(caps[next_cap].1, j, visible(w, pulsed));
            next_cap += 1;
        }
        let v = v as usize;
        let count: u32 = if words == 1 {
            (d_row[v] & x_col[v]).count_ones()
        } else {
            let db = &d_row[v * words..(v + 1) * words];
            let xb = &x_col[v * words..(v + 1) * words];
            db.iter().zip(xb).map(|(a, b)| (a & b).count_ones()).sum()
        };
        if count == 0 {
            continue;
        }
        // A pulse goes up when x_j and d_i have opposite signs.
        let mut up = ((d_signs[v / 64] ^ x_signs[v / 64]) >> (v % 64)) & 1 == 1;
        match polarity {
            Polarity::Both => {}
            Polarity::UpOnly if !up => continue,
            Polarity::DownAsUp if up => continue,
            Polarity::UpOnly => {}
            Polarity::DownAsUp => up = true,
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

/// Exact update `W -= lr · dᵀ x` over the batch (`pulse_type = NONE`, floating-point devices).
pub fn float_update(
    weights: &mut [f32],
    rows: usize,
    cols: usize,
    x: &[f32],
    d: &[f32],
    batch: usize,
    lr: f32,
) {
    matmul(
        weights,
        MatRef::transposed(d, rows, batch),
        MatRef::row_major(x, batch, cols),
        -lr,
        1.0,
    );
}

/// The exact update of an array, taken in pieces between the reads of `u.captures` (returned as
/// [`pulsed_update`] returns them); with `clip` the device bounds are applied after each piece
/// (`NONE_WITH_DEVICE`).
pub fn float_update_with_captures(
    weights: &mut [f32],
    rows: usize,
    cols: usize,
    u: &crate::backend::ArrayUpdate<'_>,
    clip: Option<&DeviceArray>,
) -> Vec<f32> {
    // Per-vector rates scale the rows of d.
    let scaled;
    let (d, lr) = match u.lr {
        Lr::Same(lr) => (u.d, lr),
        Lr::PerVector(rates) => {
            scaled =
                u.d.chunks(rows)
                    .zip(rates)
                    .flat_map(|(row, &r)| row.iter().map(move |v| v * r))
                    .collect::<Vec<f32>>();
            (scaled.as_slice(), 1.0)
        }
    };
    let plan = u.captures;
    let width = plan.width(rows, cols);
    let mut out = vec![0.0f32; plan.events.len() * width];
    let mut start = 0;
    let mut ends: Vec<usize> = plan.events.iter().map(|c| c.vector as usize + 1).collect();
    ends.push(u.batch);
    ends.dedup();
    let mut e = 0;
    for end in ends {
        let end = end.min(u.batch).max(start);
        if end > start {
            let n = end - start;
            float_update(
                weights,
                rows,
                cols,
                &u.x[start * cols..end * cols],
                &d[start * rows..end * rows],
                n,
                lr,
            );
            if let Some(device) = clip {
                device.clip_weights(weights);
            }
        }
        start = end;
        while e < plan.events.len() && (plan.events[e].vector as usize) < start {
            let index = plan.events[e].index as usize;
            let dst = &mut out[e * width..(e + 1) * width];
            if plan.by_rows {
                dst.copy_from_slice(&weights[index * cols..(index + 1) * cols]);
            } else {
                for (i, v) in dst.iter_mut().enumerate() {
                    *v = weights[i * cols + index];
                }
            }
            e += 1;
        }
    }
    out
}

/// Visible weights of an array with write noise: persistent + σ·ξ for every device, ξ normal
/// j % 8 of (j / 8, i, `word`, `step`) of the array's write-noise stream.
pub fn redraw_write_noise(
    visible: &mut [f32],
    persistent: &[f32],
    cols: usize,
    sigma: f32,
    seed: u64,
    word: u32,
    step: u32,
) {
    let stream = Stream::new(seed, Purpose::WriteNoise);
    let table = normal_table();
    visible
        .par_chunks_mut(cols)
        .zip(persistent.par_chunks(cols))
        .with_min_len((PAR_ELEMENTS / cols).max(1))
        .enumerate()
        .for_each(|(i, (v, p))| {
            for c0 in (0..cols).step_by(BLOCK) {
                let xi = stream.normals64((c0 / 8) as u32, i as u32, word, step, table);
                let width = BLOCK.min(cols - c0);
                for q in 0..width {
                    v[c0 + q] = p[c0 + q] + sigma * xi[q];
                }
            }
        });
}

/// The value device k of an array takes when reset: its reset target + reset_std·ξ, clipped
/// into its bounds (ξ normal k % 8 of (k / 8, k >> 35, event, step) of the reset stream).
pub fn reset_value(device: &DeviceArray, k: usize, seed: u64, event: u32, step: u32) -> f32 {
    let xi = Stream::new(seed, Purpose::Reset).normals8(
        (k / 8) as u32,
        (k >> 35) as u32,
        event,
        step,
        normal_table(),
    )[k % 8];
    let mut w = [device.reset_target(k) + device.reset_std * xi];
    device.clip_one(k, &mut w[0]);
    w[0]
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
    fn zero_gradient_plans_nothing() {
        let p = UpdateParameters::default();
        assert_eq!(plan_train(&p, 0.01, 0.001, &[1.0], &[0.0]).bl, 0);
    }
}
