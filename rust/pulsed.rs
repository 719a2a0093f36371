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
    ConstantStepArray, ExpStepArray, LinearStepArray, PiecewiseStepArray, PowStepArray,
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
}

/// Inputs of one pulsed update call.
pub struct PulseBatch<'a> {
    pub x: &'a [f32],
    pub d: &'a [f32],
    pub batch: usize,
    pub rows: usize,
    pub cols: usize,
    pub lr: f32,
    pub seed: u64,
    pub step: u32,
}

struct Streams {
    x: Stream,
    d: Stream,
    rounding: Stream,
    noise: Stream,
    replay: Stream,
    step: u32,
    table: &'static NormalTable,
    xi_max: f32,
}

/// A pulsed device array as the update sees it.
#[derive(Clone, Copy)]
pub enum Pulsed<'a> {
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

impl Pulsed<'_> {
    /// Steps, bounds and noise level.
    pub fn steps(&self) -> &ConstantStepArray {
        match self {
            Pulsed::Constant(a) => a,
            Pulsed::Linear(a) => &a.base,
            Pulsed::Exp(a) => &a.base,
            Pulsed::Pow(a) => &a.base,
            Pulsed::Piecewise(a) => &a.base,
        }
    }

    /// Whether pulses may be applied in groups (see [`ConstantStepArray::pulse_groups`]).
    pub fn grouped(&self) -> bool {
        matches!(self, Pulsed::Constant(_))
    }

    #[inline]
    fn pulse(&self, k: usize, w: f32, up: bool, xi: f32) -> f32 {
        match self {
            Pulsed::Constant(a) => a.pulse(k, w, up, xi),
            Pulsed::Linear(a) => a.pulse(k, w, up, xi),
            Pulsed::Exp(a) => a.pulse(k, w, up, xi),
            Pulsed::Pow(a) => a.pulse(k, w, up, xi),
            Pulsed::Piecewise(a) => a.pulse(k, w, up, xi),
        }
    }
}

/// Applies the stochastic pulsed update of a batch to a pulsed device array.
pub fn pulsed_update(
    p: &UpdateParameters,
    pulsed: Pulsed<'_>,
    weights: &mut [f32],
    input: &PulseBatch<'_>,
    scratch: &mut PulseScratch,
) {
    let cols = input.cols;
    let device = pulsed.steps();
    let granularity = device.dw_min;
    let s = scratch;
    s.trains = plan_trains(p, input, granularity);
    let max_bl = s.trains.iter().map(|t| t.bl).max().unwrap_or(0) as usize;
    if max_bl == 0 {
        return;
    }
    let words = max_bl.div_ceil(64);
    let streams = Streams {
        x: Stream::new(input.seed, Purpose::XPulses),
        d: Stream::new(input.seed, Purpose::DPulses),
        rounding: Stream::new(input.seed, Purpose::ProbabilityRounding),
        noise: Stream::new(input.seed, Purpose::PulseNoise),
        replay: Stream::new(input.seed, Purpose::PulseNoiseReplay),
        step: input.step,
        table: normal_table(),
        xi_max: normal_max(),
    };
    let mut start = 0;
    for (group_index, end) in plan_groups(&s.trains, cols, device.group_budget)
        .into_iter()
        .enumerate()
    {
        let group = Group {
            start,
            end,
            index: group_index as u32,
            words,
            max_bl,
        };
        make_trains(p, input, &group, &streams, s, pulsed.grouped());
        if let Pulsed::Constant(device) = pulsed {
            apply_group(device, weights, input, &group, &streams, s);
        } else {
            apply_sequential(pulsed, weights, input, &group, &streams, s);
        }
        start = end;
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
pub fn plan_trains(p: &UpdateParameters, input: &PulseBatch<'_>, granularity: f32) -> Vec<Train> {
    let (rows, cols) = (input.rows, input.cols);
    (0..input.batch)
        .map(|n| {
            plan_train(
                p,
                input.lr,
                granularity,
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
const LANES: usize = 8;

/// Bits of one element's trains for up to [`LANES`] consecutive vectors n0.. (counter base
/// `[element, n0, step]`): slot s of vector n fires
/// when its 16-bit uniform (half of a word of Philox(element, s / 8, n, step)) is below the
/// vector's threshold `t[l]` (≥ 65536: always). Branch-free, so random outcomes cost no
/// mispredictions.
#[inline]
fn fill_trains(
    stream: &Stream,
    [element, n0, step]: [u32; 3],
    t: &[u32; LANES],
    bl: &[usize; LANES],
    out: &mut [u64],
    words: usize,
) {
    let lanes = out.len() / words;
    out.fill(0);
    let max_bl = bl[..lanes].iter().copied().max().unwrap_or(0);
    for block in 0..max_bl.div_ceil(8) {
        let ctr = [
            [element; LANES],
            [block as u32; LANES],
            std::array::from_fn(|l| n0 + l as u32),
            [step; LANES],
        ];
        let r = stream.blocks(ctr);
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
        for (c, chunk) in bits.chunks_mut(LANES * words).enumerate() {
            let n0 = g.start + c * LANES;
            let mut t = [0u32; LANES];
            let mut bl = [0usize; LANES];
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
            fill_trains(
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

/// Counts each row's coincidences over the group and applies them to the devices.
fn apply_group(
    device: &ConstantStepArray,
    weights: &mut [f32],
    input: &PulseBatch<'_>,
    g: &Group,
    st: &Streams,
    s: &PulseScratch,
) {
    let (cols, words) = (input.cols, g.words);
    let len = g.end - g.start;
    let sign_words = len.div_ceil(64);
    let plane_stride = g.max_bl * cols;
    let noisy = device.dw_min_std > 0.0;
    weights
        .par_chunks_mut(cols)
        .with_min_len((PAR_ELEMENTS / (cols * len).max(1)).max(1))
        .enumerate()
        .for_each_init(
            || RowCounts::new(cols),
            |counts, (i, w)| {
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
                if counts.is_empty() {
                    return;
                }
                counts.accumulate(&s.planes, cols);
                // Columns in blocks of 64: one Philox call per lane gives the block's 64 normals
                // (normal of device (i, j) = normal j % 8 of counter (j / 8, i, group, step)).
                let mut xi = [0.0f32; BLOCK];
                let mut flagged = [false; BLOCK];
                let mut vectors_listed = false;
                for c0 in (0..cols).step_by(BLOCK) {
                    let width = BLOCK.min(cols - c0);
                    if noisy {
                        xi = st.noise.normals64(
                            (c0 / 8) as u32,
                            i as u32,
                            g.index,
                            st.step,
                            st.table,
                        );
                    }
                    device.pulse_groups(
                        i * cols + c0,
                        &mut w[c0..c0 + width],
                        &counts.up[c0..c0 + width],
                        &counts.down[c0..c0 + width],
                        &xi[..width],
                        st.xi_max,
                        &mut flagged[..width],
                    );
                    for (q, &flag) in flagged[..width].iter().enumerate() {
                        if flag {
                            if !vectors_listed {
                                fired_vectors(s, i, len, words, &mut counts.vectors);
                                vectors_listed = true;
                            }
                            let device = Pulsed::Constant(device);
                            let j = c0 + q;
                            w[j] = replay(device, w[j], input, g, st, s, i, j, &counts.vectors);
                        }
                    }
                }
            },
        );
}

/// Applies a group's pulses to every device one by one in vector order (devices whose step depends
/// on the weight). Rows skip the vectors in which their d_i never fired.
fn apply_sequential(
    device: Pulsed<'_>,
    weights: &mut [f32],
    input: &PulseBatch<'_>,
    g: &Group,
    st: &Streams,
    s: &PulseScratch,
) {
    let (cols, words) = (input.cols, g.words);
    let len = g.end - g.start;
    weights
        .par_chunks_mut(cols)
        .with_min_len((PAR_ELEMENTS / (cols * len).max(1)).max(1))
        .enumerate()
        .for_each_init(Vec::new, |fired, (i, row)| {
            fired_vectors(s, i, len, words, fired);
            if fired.is_empty() {
                return;
            }
            for (j, w) in row.iter_mut().enumerate() {
                *w = replay(device, *w, input, g, st, s, i, j, fired);
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

/// Applies the pulses of device (i, j) in vector order (used when the group as a whole might reach
/// a bound). Within one vector all pulses go the same way: such a run is applied as a group when
/// it cannot reach a bound, else pulse by pulse.
/// `fired` lists the vectors of the group in which d_i fired at all (the others hold no pulse
/// for row i).
#[allow(clippy::too_many_arguments)]
fn replay(
    device: Pulsed<'_>,
    mut w: f32,
    input: &PulseBatch<'_>,
    g: &Group,
    st: &Streams,
    s: &PulseScratch,
    i: usize,
    j: usize,
    fired: &[u32],
) -> f32 {
    let (cols, words) = (input.cols, g.words);
    let len = g.end - g.start;
    let k = i * cols + j;
    let noisy = device.steps().dw_min_std > 0.0;
    let mut normals = ReplayNormals {
        st,
        i: i as u32,
        j: j as u32,
        group: g.index,
        drawn: 0,
        cache: [0.0; 8],
    };
    let mut xi = || if noisy { normals.next() } else { 0.0 };
    let d_row = &s.d_bits[i * len * words..(i + 1) * len * words];
    let x_col = &s.x_bits[j * len * words..(j + 1) * len * words];
    let sign_words = len.div_ceil(64);
    let d_signs = &s.d_negative[i * sign_words..(i + 1) * sign_words];
    let x_signs = &s.x_negative[j * sign_words..(j + 1) * sign_words];
    for &v in fired {
        let v = v as usize;
        let db = &d_row[v * words..(v + 1) * words];
        let xb = &x_col[v * words..(v + 1) * words];
        let count: u32 = db.iter().zip(xb).map(|(a, b)| (a & b).count_ones()).sum();
        if count == 0 {
            continue;
        }
        // A pulse goes up when x_j and d_i have opposite signs.
        let up = ((d_signs[v / 64] ^ x_signs[v / 64]) >> (v % 64)) & 1 == 1;
        if let (true, Pulsed::Constant(a)) = (count > 1, device) {
            if let Some(next) = a.pulse_run(k, w, up, count, xi(), st.xi_max) {
                w = next;
                continue;
            }
        }
        for _ in 0..count {
            w = device.pulse(k, w, up, xi());
        }
    }
    w
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
