//! Stage 4, pulse-by-pulse application (weight-dependent steps or a reference): every device
//! receives its pulses one by one in vector order, slot by slot or device by device (the lockstep
//! lanes of [`super::lockstep`]), whichever the pulse density favours.

use super::apply::ApplyContext;
use super::captures::Sink;
use super::counts::BLOCK;
use super::lockstep;
use super::replay::{fired_vectors, replay};
use super::response::{Referenced, Response};
use crate::device::PulseStep;
use crate::periphery::PAR_ELEMENTS;
use rayon::prelude::*;

/// Applies a group's pulses to every device one by one in vector order (devices whose step depends
/// on the weight). Rows skip the vectors in which their d_i never fired.
pub(super) fn apply_sequential(
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

pub(super) type Rows<'r, 'a> = (
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
                            let Some(up) = polarity.taken((e >> 31) != d_negative) else {
                                continue;
                            };
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
