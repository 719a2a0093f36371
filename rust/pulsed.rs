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
use crate::device::ConstantStepArray;
use crate::gemm::{matmul, MatRef};
use crate::numeric;
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
    }
}

/// Reusable buffers of the pulsed update.
#[derive(Default, Clone, Debug)]
pub struct PulseScratch {
    trains: Vec<Train>,
    x_bits: Vec<u64>,
    d_bits: Vec<u64>,
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

/// Applies the stochastic pulsed update of a batch to a constant-step device array.
pub fn pulsed_update(
    p: &UpdateParameters,
    device: &ConstantStepArray,
    weights: &mut [f32],
    input: &PulseBatch<'_>,
    scratch: &mut PulseScratch,
) {
    let (rows, cols, batch) = (input.rows, input.cols, input.batch);
    let granularity = device.dw_min;
    let s = scratch;
    s.trains.clear();
    s.trains.extend((0..batch).map(|n| {
        plan_train(
            p,
            input.lr,
            granularity,
            &input.x[n * cols..(n + 1) * cols],
            &input.d[n * rows..(n + 1) * rows],
        )
    }));
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
    let plane_bytes = max_bl * cols;
    let group_cap = (PLANE_BUDGET / plane_bytes).max(1);
    let mut start = 0;
    let mut group_index = 0u32;
    while start < batch {
        // Vectors [start, end) form one group: bounded plane memory and u16-safe counters.
        let mut end = start;
        let mut slots = 0usize;
        while end < batch
            && end - start < group_cap
            && slots + (s.trains[end].bl as usize) <= MAX_GROUP_SLOTS
        {
            slots += s.trains[end].bl as usize;
            end += 1;
        }
        let group = Group {
            start,
            end,
            index: group_index,
            words,
            max_bl,
        };
        make_trains(p, input, &group, &streams, s);
        apply_group(device, weights, input, &group, &streams, s);
        start = end;
        group_index += 1;
    }
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

/// Bits of one element's train: slot s fires when its 16-bit uniform is below `t`.
#[inline]
fn fill_train(
    stream: &Stream,
    element: u32,
    n: u32,
    step: u32,
    t: u32,
    bl: usize,
    out: &mut [u64],
) {
    out.fill(0);
    if t == 0 {
        return;
    }
    if t >= 65536 {
        for s in 0..bl {
            out[s / 64] |= 1 << (s % 64);
        }
        return;
    }
    for block in 0..bl.div_ceil(8) {
        let r = stream.block(element, block as u32, n, step);
        for h in 0..8 {
            let s = block * 8 + h;
            if s >= bl {
                break;
            }
            let u = (r[h / 2] >> (16 * (h % 2))) & 0xFFFF;
            if u < t {
                out[s / 64] |= 1 << (s % 64);
            }
        }
    }
}

/// Generates the x and d trains and the x slot planes of every vector of a group.
fn make_trains(
    p: &UpdateParameters,
    input: &PulseBatch<'_>,
    g: &Group,
    st: &Streams,
    s: &mut PulseScratch,
) {
    let (rows, cols, words) = (input.rows, input.cols, g.words);
    let len = g.end - g.start;
    s.x_bits.resize(len * cols * words, 0);
    s.d_bits.resize(len * rows * words, 0);
    s.planes.resize(len * g.max_bl * cols, 0);
    let prob_step = p.probability_step();
    let sto = p.sto_round && prob_step > 0.0;
    let trains = &s.trains;
    s.x_bits
        .par_chunks_mut(cols * words)
        .zip(s.d_bits.par_chunks_mut(rows * words))
        .zip(s.planes.par_chunks_mut(g.max_bl * cols))
        .enumerate()
        .for_each(|(k, ((xb, db), planes))| {
            let n = g.start + k;
            let train = trains[n];
            let bl = train.bl as usize;
            let x = &input.x[n * cols..(n + 1) * cols];
            let d = &input.d[n * rows..(n + 1) * rows];
            let rounding = |element: usize, which: u32| {
                sto.then(|| {
                    let r = st
                        .rounding
                        .block(element as u32 / 4, which, n as u32, st.step);
                    uniform_from_u32(r[element % 4])
                })
            };
            for (j, bits) in xb.chunks_mut(words).enumerate() {
                let t = threshold(train.x_scale * x[j].abs(), prob_step, rounding(j, 0));
                fill_train(&st.x, j as u32, n as u32, st.step, t, bl, bits);
            }
            for (i, bits) in db.chunks_mut(words).enumerate() {
                let t = threshold(train.d_scale * d[i].abs(), prob_step, rounding(i, 1));
                fill_train(&st.d, i as u32, n as u32, st.step, t, bl, bits);
            }
            // Slot planes of x: byte j of plane s is 1 if x_j > 0 fires in slot s, 16 if x_j < 0.
            planes[..bl * cols].fill(0);
            for (j, bits) in xb.chunks(words).enumerate() {
                let mark = if x[j] < 0.0 { NEGATIVE } else { POSITIVE };
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

/// Per-row counters: byte accumulators for rows with d_i > 0 and d_i < 0 (two nibbles each), and
/// the u16 up/down pulse counts they are flushed into.
struct RowCounts {
    nibbles: [Vec<u8>; 2],
    adds: [u32; 2],
    up: Vec<u16>,
    down: Vec<u16>,
}

impl RowCounts {
    fn new(cols: usize) -> Self {
        Self {
            nibbles: [vec![0; cols], vec![0; cols]],
            adds: [0; 2],
            up: vec![0; cols],
            down: vec![0; cols],
        }
    }

    fn clear(&mut self) {
        self.up.fill(0);
        self.down.fill(0);
    }

    /// Adds one slot plane for a row whose d_i has sign `d_negative`.
    #[inline]
    fn add(&mut self, d_negative: usize, plane: &[u8]) {
        if self.adds[d_negative] == NIBBLE_ADDS {
            self.flush(d_negative);
        }
        for (a, &b) in self.nibbles[d_negative].iter_mut().zip(plane) {
            *a = a.wrapping_add(b);
        }
        self.adds[d_negative] += 1;
    }

    /// Moves nibble counts into the up/down counters. A pulse goes up when x_j and d_i have
    /// opposite signs: for d_i > 0 the negative-x (high) nibble counts up, for d_i < 0 the low.
    fn flush(&mut self, d_negative: usize) {
        let (same, opposite) = if d_negative == 0 {
            (&mut self.down, &mut self.up)
        } else {
            (&mut self.up, &mut self.down)
        };
        for ((acc, s), o) in self.nibbles[d_negative]
            .iter_mut()
            .zip(same.iter_mut())
            .zip(opposite.iter_mut())
        {
            *s += u16::from(*acc & 0x0F);
            *o += u16::from(*acc >> 4);
            *acc = 0;
        }
        self.adds[d_negative] = 0;
    }

    fn flush_all(&mut self) {
        for sign in 0..2 {
            if self.adds[sign] > 0 {
                self.flush(sign);
            }
        }
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
    let (rows, cols, words) = (input.rows, input.cols, g.words);
    let plane_stride = g.max_bl * cols;
    let noisy = device.dw_min_std > 0.0;
    weights.par_chunks_mut(cols).enumerate().for_each_init(
        || RowCounts::new(cols),
        |counts, (i, w)| {
            counts.clear();
            let mut any = false;
            for k in 0..g.end - g.start {
                let db = &s.d_bits[(k * rows + i) * words..(k * rows + i + 1) * words];
                if db.iter().all(|&b| b == 0) {
                    continue;
                }
                any = true;
                let d_negative = usize::from(input.d[(g.start + k) * rows + i] < 0.0);
                let planes = &s.planes[k * plane_stride..(k + 1) * plane_stride];
                for (wi, &word) in db.iter().enumerate() {
                    let mut word = word;
                    while word != 0 {
                        let slot = wi * 64 + word.trailing_zeros() as usize;
                        word &= word - 1;
                        counts.add(d_negative, &planes[slot * cols..(slot + 1) * cols]);
                    }
                }
            }
            if !any {
                return;
            }
            counts.flush_all();
            let (up, down) = (&counts.up, &counts.down);
            let mut cache_block = usize::MAX;
            let mut xi8 = [0.0f32; 8];
            for j in 0..cols {
                let (nu, nd) = (u32::from(up[j]), u32::from(down[j]));
                if nu == 0 && nd == 0 {
                    continue;
                }
                let xi = if noisy {
                    if j / 8 != cache_block {
                        cache_block = j / 8;
                        xi8 = st.noise.normals8(
                            cache_block as u32,
                            i as u32,
                            g.index,
                            st.step,
                            st.table,
                        );
                    }
                    xi8[j % 8]
                } else {
                    0.0
                };
                let k = i * cols + j;
                w[j] = match device.pulse_group(k, w[j], nu, nd, xi, st.xi_max) {
                    Some(v) => v,
                    None => replay(device, w[j], input, g, st, s, i, j),
                };
            }
        },
    );
}

/// Applies the pulses of device (i, j) one by one, in vector order (used near the bounds).
#[allow(clippy::too_many_arguments)]
fn replay(
    device: &ConstantStepArray,
    mut w: f32,
    input: &PulseBatch<'_>,
    g: &Group,
    st: &Streams,
    s: &PulseScratch,
    i: usize,
    j: usize,
) -> f32 {
    let (rows, cols, words) = (input.rows, input.cols, g.words);
    let k = i * cols + j;
    let mut pulse = 0u32;
    let mut xi8 = [0.0f32; 8];
    for v in 0..g.end - g.start {
        let n = g.start + v;
        let db = &s.d_bits[(v * rows + i) * words..(v * rows + i + 1) * words];
        let xb = &s.x_bits[(v * cols + j) * words..(v * cols + j + 1) * words];
        let count: u32 = db.iter().zip(xb).map(|(a, b)| (a & b).count_ones()).sum();
        if count == 0 {
            continue;
        }
        let up = (input.d[n * rows + i] > 0.0) != (input.x[n * cols + j] > 0.0);
        for _ in 0..count {
            if pulse % 8 == 0 {
                let block = (g.index << 20) | (pulse / 8);
                xi8 = st
                    .replay
                    .normals8(j as u32, i as u32, block, st.step, st.table);
            }
            let xi = if device.dw_min_std > 0.0 {
                xi8[(pulse % 8) as usize]
            } else {
                0.0
            };
            w = device.pulse(k, w, up, xi);
            pulse += 1;
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
