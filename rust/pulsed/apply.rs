//! Stage 4, grouped application (constant steps): each device receives a group's counted pulses
//! as one group step; devices that might reach a bound, or are read in the group, are replayed.

use super::batch::Polarity;
use super::batch::{PulseBatch, PulseScratch, Streams};
use super::captures::{GroupCaptures, Sink};
use super::counts::{RowCounts, BLOCK};
use super::lockstep::has_wide_lanes;
use super::plan::Group;
use super::replay::{fired_vectors, replay};
use super::response::{Pulsed, Response};
use super::write_noise::WRITE_NOISE_UPDATE;
use crate::periphery::PAR_ELEMENTS;
use crate::rng::counters64;
use rayon::prelude::*;

/// What the appliers of one group share.
pub(super) struct ApplyContext<'c> {
    pub(super) pulsed: Pulsed<'c>,
    pub(super) input: &'c PulseBatch<'c>,
    pub(super) g: &'c Group,
    pub(super) st: &'c Streams,
    pub(super) s: &'c PulseScratch,
    pub(super) caps: &'c GroupCaptures,
    pub(super) by_rows: bool,
    pub(super) slots: &'c [u32],
}

impl ApplyContext<'_> {
    /// The captures of device (i, j) in this group.
    pub(super) fn captures(&self, i: usize, j: usize) -> &[(u32, u32)] {
        self.caps.of(if self.by_rows { i } else { j })
    }

    /// Whether any device of row i is read in this group.
    pub(super) fn row_captured(&self, i: usize) -> bool {
        if self.by_rows {
            !self.caps.of(i).is_empty()
        } else {
            !self.caps.entries.is_empty()
        }
    }

    /// Write-noise normals of the 64 devices (i, c0..c0 + 64) for this update.
    pub(super) fn write_normals(&self, i: usize, c0: usize) -> [f32; 64] {
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
pub(super) fn apply_group(
    c: &ApplyContext<'_>,
    weights: &mut [f32],
    apparent: &mut [Option<&mut [f32]>],
    reads: &mut [Vec<f32>],
) {
    let cols = c.input.cols;
    let len = c.g.end - c.g.start;
    let wide = has_wide_lanes();
    weights
        .par_chunks_mut(cols)
        .zip(apparent.par_iter_mut())
        .zip(reads.par_iter_mut())
        .with_min_len((PAR_ELEMENTS / (cols * len).max(1)).max(1))
        .enumerate()
        .for_each_init(
            || RowCounts::new(cols),
            |counts, (i, ((w, app), buf))| {
                let row = Row { i, w, app, buf };
                #[cfg(target_arch = "x86_64")]
                if wide {
                    // SAFETY: `wide` is lockstep::has_wide_lanes(): the CPU has every
                    // enabled feature.
                    #[allow(unsafe_code)]
                    unsafe {
                        apply_row_avx512(c, row, counts);
                    }
                    return;
                }
                let _ = wide;
                apply_row::<false>(c, row, counts);
            },
        );
}

/// One row of [`apply_group`]: its weights, visible weights and read buffer.
struct Row<'r, 'a> {
    i: usize,
    w: &'r mut [f32],
    app: &'r mut Option<&'a mut [f32]>,
    buf: &'r mut Vec<f32>,
}

/// [`apply_row`] compiled for AVX-512 (a block's 64 byte counters in one register, 16 devices
/// per vector operation, 8 Philox lanes per instruction); the same IEEE and integer operations,
/// so the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt")]
fn apply_row_avx512(c: &ApplyContext<'_>, row: Row<'_, '_>, counts: &mut RowCounts) {
    apply_row::<true>(c, row, counts);
}

#[inline(always)]
fn apply_row<const WIDE: bool>(c: &ApplyContext<'_>, row: Row<'_, '_>, counts: &mut RowCounts) {
    let Response::Constant(device) = c.pulsed.response else {
        unreachable!("grouped application needs constant steps");
    };
    let Row { i, w, app, buf } = row;
    let (cols, words) = (c.input.cols, c.g.words);
    let len = c.g.end - c.g.start;
    let sign_words = len.div_ceil(64);
    let plane_stride = c.g.max_bl * cols;
    let noisy = device.dw_min_std > 0.0;
    let sigma = c.pulsed.write_noise;
    let s = c.s;
    let mut sink = Sink {
        buf,
        by_rows: c.by_rows,
        slots: c.slots,
        cols,
    };
    let captured = c.row_captured(i);
    if s.bit_planes {
        let span = c.g.max_bl * sign_words;
        let row = i * span..(i + 1) * span;
        let fires = counts.count_bits(
            &s.x_pos_planes,
            &s.x_neg_planes,
            &s.d_pos_planes[row.clone()],
            &s.d_neg_planes[row],
            span,
        );
        if !fires {
            if !captured {
                return;
            }
            counts.up.fill(0);
            counts.down.fill(0);
        }
    } else {
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
        if counts.is_empty() && !captured {
            return;
        }
        counts.accumulate(&s.planes, cols);
    }
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
        // A block without coincidences keeps its weights (its normals are drawn by
        // counter, so skipping them changes no other device's).
        if !captured
            && counts.up[c0..c0 + width].iter().all(|&u| u == 0)
            && counts.down[c0..c0 + width].iter().all(|&d| d == 0)
        {
            continue;
        }
        // Devices read in this group are replayed in order: no group step for them.
        let mut read = [false; BLOCK];
        let (mut up, mut down) = ([0u16; BLOCK], [0u16; BLOCK]);
        up[..width].copy_from_slice(&counts.up[c0..c0 + width]);
        down[..width].copy_from_slice(&counts.down[c0..c0 + width]);
        if noisy {
            // Only devices with pulses read their normal (the others' would be multiplied by 0).
            let active = (0..BLOCK).fold(0u64, |m, q| m | u64::from((up[q] | down[q]) != 0) << q);
            let ctr = counters64((c0 / 8) as u32, i as u32, c.g.index, c.st.step);
            // SAFETY: WIDE only from apply_row_avx512 (has_wide_lanes() checked).
            #[allow(unsafe_code)]
            let r = unsafe { c.st.noise.blocks8_on::<WIDE>(ctr) };
            xi = c.st.table.samples64_where(&r, active);
        }
        if captured {
            for q in 0..width {
                if !c.captures(i, c0 + q).is_empty() {
                    (read[q], up[q], down[q]) = (true, 0, 0);
                }
            }
        }
        let any_flagged = device.pulse_groups(
            i * cols + c0,
            &mut w[c0..c0 + width],
            &up[..width],
            &down[..width],
            &xi[..width],
            c.st.xi_max,
            &mut flagged[..width],
        );
        // Nothing left to do for the block: no replays, reads or write noise.
        if sigma == 0.0 && !captured && !any_flagged {
            continue;
        }
        let wn = if sigma > 0.0 {
            c.write_normals(i, c0)
        } else {
            [0.0; BLOCK]
        };
        for q in 0..width {
            if sigma == 0.0 && !flagged[q] && !read[q] {
                continue;
            }
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
}
