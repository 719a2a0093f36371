//! Pulse-by-pulse replay of one device: its coincidences in vector order with its reads, and
//! the sequential replay normals of its stream.

use super::apply::ApplyContext;
use super::batch::{PulseScratch, Streams};
use super::captures::Sink;
use crate::device::{ConstantStepArray, PulseStep};

/// The vectors of the group in which d_i fired at least once (none listed for trains kept as
/// bit planes: replays scan those in place).
pub(super) fn fired_vectors(
    s: &PulseScratch,
    i: usize,
    len: usize,
    words: usize,
    out: &mut Vec<u32>,
) {
    out.clear();
    if s.direct_planes {
        return;
    }
    let d_row = &s.d_bits[i * len * words..(i + 1) * len * words];
    for (v, db) in d_row.chunks(words).enumerate() {
        if db.iter().any(|&b| b != 0) {
            out.push(v as u32);
        }
    }
}

/// Sequential normals of one device's replay stream (counter (j, i, group·2²⁰ + block, step)).
pub(super) struct ReplayNormals<'a> {
    pub(super) st: &'a Streams,
    pub(super) i: u32,
    pub(super) j: u32,
    pub(super) group: u32,
    pub(super) drawn: u32,
    pub(super) cache: [f32; 8],
}

impl ReplayNormals<'_> {
    #[inline(always)]
    pub(super) fn next(&mut self) -> f32 {
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
pub(super) fn replay<S: PulseStep>(
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
    // The device's own parameters for runs, read once.
    let runs = runs.map(|a| a.device(i * cols + j));
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
    let sign_words = len.div_ceil(64);
    // Trains of one slot kept as bit planes: a vector's pulse count is its bit in both fired
    // masks.
    let direct = s.direct_planes;
    let fired_mask = |pos: &[u64], neg: &[u64], e: usize, w: usize| {
        pos[e * sign_words + w] | neg[e * sign_words + w]
    };
    let (d_row, x_col): (&[u64], &[u64]) = if direct {
        (&[], &[])
    } else {
        (
            &s.d_bits[i * len * words..(i + 1) * len * words],
            &s.x_bits[j * len * words..(j + 1) * len * words],
        )
    };
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
    // The vectors with a coincidence of d_i and x_j, found 64 at a time without a branch per
    // vector (whether one has a coincidence is as random as the trains). With one word per
    // vector and d_i firing in at least a quarter of them, every vector is scanned in place
    // (where d_i did not fire there is none); otherwise only those of `fired`.
    let in_place = direct || (words == 1 && 4 * fired.len() >= len);
    let scanned = if in_place { len } else { fired.len() };
    for q0 in (0..scanned).step_by(64) {
        let width = 64.min(scanned - q0);
        let mut hits = 0u64;
        if direct {
            hits = fired_mask(&s.d_pos_planes, &s.d_neg_planes, i, q0 / 64)
                & fired_mask(&s.x_pos_planes, &s.x_neg_planes, j, q0 / 64);
        } else if in_place {
            let vs = q0..q0 + width;
            for (f, (d, x)) in d_row[vs.clone()].iter().zip(&x_col[vs]).enumerate() {
                hits |= u64::from(d & x != 0) << f;
            }
        } else {
            for (f, &v) in fired[q0..q0 + width].iter().enumerate() {
                let v = v as usize;
                let any = if words == 1 {
                    d_row[v] & x_col[v]
                } else {
                    let (db, xb) = (&d_row[v * words..(v + 1) * words], &x_col[v * words..]);
                    db.iter().zip(xb).fold(0, |a, (d, x)| a | (d & x))
                };
                hits |= u64::from(any != 0) << f;
            }
        }
        while hits != 0 {
            let f = q0 + hits.trailing_zeros() as usize;
            let v = if in_place { f } else { fired[f] as usize };
            hits &= hits - 1;
            while next_cap < caps.len() && (caps[next_cap].0 as usize) < v {
                sink.put(caps[next_cap].1, j, visible(w, pulsed));
                next_cap += 1;
            }
            let count: u32 = if direct {
                1
            } else if words == 1 {
                (d_row[v] & x_col[v]).count_ones()
            } else {
                let db = &d_row[v * words..(v + 1) * words];
                let xb = &x_col[v * words..(v + 1) * words];
                db.iter().zip(xb).map(|(a, b)| (a & b).count_ones()).sum()
            };
            // A pulse goes up when x_j and d_i have opposite signs.
            let Some(up) =
                polarity.taken(((d_signs[v / 64] ^ x_signs[v / 64]) >> (v % 64)) & 1 == 1)
            else {
                continue;
            };
            pulsed = true;
            if let (true, Some(a)) = (count > 1, runs) {
                if let Some(next) = a.pulse_run(w, up, count, xi(), c.st.xi_max) {
                    w = next;
                    continue;
                }
            }
            for _ in 0..count {
                w = dev.pulse(w, up, xi());
            }
        }
    }
    for &(_, event) in &caps[next_cap..] {
        sink.put(event, j, visible(w, pulsed));
    }
    (w, pulsed)
}
