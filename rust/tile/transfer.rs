//! The transfer compounds (reference §6): `TransferCompound` (Tiki-Taka), `BufferedTransfer-
//! Compound` (TTv2), `ChoppedTransferCompound` (c-TTv2) and `DynamicTransferCompound` (AGAD).
//!
//! The gradient pulses go to the fast array A (array 0). After every `transfer_every`-th vector
//! update, the next column(s) of A are read through `transfer_forward` and written into the next
//! array with a pulsed update of a one-hot x: directly (Tiki-Taka), or through a digital buffer
//! per device that writes whole steps once they exceed a threshold (TTv2 and successors).
//!
//! A read in the middle of a batch must see A as it was after that vector: the reads are taken
//! by the update itself ([`CapturePlan`]), each device's pulses being applied in vector order, so
//! the whole batch is one update however many transfers it holds. The choppers of c-TTv2 and
//! AGAD flip at transfers independently of the data, so the sign of every vector's gradient on A
//! is known before the update and applied to x and d.

use super::cell::{load_named, Context};
use crate::backend::{array_seed, ArrayUpdate};
use crate::config::{DeviceConfig, TransferKind, TransferParameters};
use crate::error::{Error, Result};
use crate::memory::zeros;
use crate::periphery::read_one_hot;
use crate::pulsed::{Capture, CapturePlan, Lr, Polarity};
use serde::{Deserialize, Serialize};

/// Seed salts: transfer reads, transfer writes, and the pieces of an update split by resets.
const READ: u64 = 0x5452_5244_0000_0000;
const WRITE: u64 = 0x5452_5752_0000_0000;
const PIECE: u64 = 0x5452_5043_0000_0000;

/// Words of the compound stream (first counter word) per random choice.
const PICK_COLUMN: u32 = 1;
const RESET: u32 = 2;
const IN_CHOP: u32 = 3;
const OUT_CHOP: u32 = 4;

/// The compound's bookkeeping between updates.
#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct TransferState {
    /// Vector updates since the last `set_weights`.
    pub updates: u64,
    /// Next column (or row) to read, per array.
    pub slices: Vec<usize>,
    /// Chopper signs (true = flipped) of A's inputs (columns) and outputs (rows).
    pub in_chopper: Vec<bool>,
    pub out_chopper: Vec<bool>,
    /// Which input choppers switched at their last transfer (AGAD).
    pub in_switched: Vec<bool>,
    /// Running averages of max|x| and max|d| (auto_scale).
    pub m_x: f32,
    pub m_d: f32,
    /// Completed passes over all columns (chopped, AGAD).
    pub transfer_counter: u64,
    /// Transfer events so far (indexes the random choices and reads).
    pub events: u64,
}

pub struct TransferCell {
    p: TransferParameters,
    kind: TransferKind,
    rows: usize,
    cols: usize,
    pub gammas: Vec<f32>,
    /// Transfer period of each array (in vectors, or in mini-batches with `units_in_mbatch`).
    every: Vec<f32>,
    /// Learning rate of the transfer out of each array.
    transfer_lr: Vec<f32>,
    granularity: Vec<f32>,
    /// States between the mean bounds of the fast device (auto transfer period).
    states: f32,
    /// Digital buffers per source array (buffered family), row-major `[rows][cols]`.
    buffers: Vec<Vec<f32>>,
    /// AGAD: running mean of the reads and its value at the last chopper switch.
    running_mean: Vec<f32>,
    past_mean: Vec<f32>,
    pub state: TransferState,
}

/// One read of the transfer schedule: column (or row) `index` of array `from` after vector
/// `vector` of the batch.
#[derive(Clone, Copy, Debug)]
struct Read {
    vector: usize,
    from: usize,
    index: usize,
    /// Reset the read column afterwards (with_reset_prob).
    reset: bool,
    /// Chopper signs when the read happens (chopped family).
    in_chop: bool,
    /// AGAD: whether the column's chopper switched at its previous transfer, the sample within
    /// the chopper period, and the pass counter then.
    switched: bool,
    counter: u64,
    /// Out choppers at the read (chopped family): index into the snapshots.
    out_snapshot: usize,
}

impl TransferCell {
    pub fn new(device: &DeviceConfig, rows: usize, cols: usize) -> Result<Self> {
        let (p, kind) = match device {
            DeviceConfig::TransferCompound(p) => (p.clone(), TransferKind::Plain),
            DeviceConfig::BufferedTransferCompound(p) => (p.clone(), TransferKind::Buffered),
            DeviceConfig::ChoppedTransferCompound(p) => (p.clone(), TransferKind::Chopped),
            DeviceConfig::DynamicTransferCompound(p) => (p.clone(), TransferKind::Dynamic),
            _ => unreachable!("not a transfer compound"),
        };
        let n = p.array_count();
        let devices = p.devices();
        let (in_size, out_size) = if p.transfer_columns {
            (cols, rows)
        } else {
            (rows, cols)
        };
        // γ_k: explicit, else γ^(n−1−k) (the last array 1; with γ = 0 the others are hidden).
        let gammas = if p.gamma_vec.is_empty() {
            (0..n).map(|k| p.gamma.powi((n - 1 - k) as i32)).collect()
        } else {
            p.gamma_vec.clone()
        };
        // Periods: explicit, else geometric, each array ×(out_size / reads) slower.
        let every = if p.transfer_every_vec.is_empty() {
            let mut t = p.transfer_every;
            let mut v = Vec::with_capacity(n);
            for _ in 0..n {
                v.push(t);
                t *= out_size as f32 / p.n_reads_per_transfer.min(in_size) as f32;
            }
            if p.no_self_transfer {
                v[n - 1] = 0.0;
            }
            v
        } else {
            p.transfer_every_vec.clone()
        };
        let transfer_lr = if p.transfer_lr_vec.is_empty() {
            vec![p.transfer_lr; n]
        } else {
            p.transfer_lr_vec.clone()
        };
        let buffered = kind != TransferKind::Plain;
        let size = rows * cols;
        let mut buffers = Vec::new();
        if buffered {
            for _ in 0..n - 1 {
                buffers.push(zeros("transfer buffers", size)?);
            }
        }
        let dynamic = kind == TransferKind::Dynamic;
        let running_mean = if dynamic {
            zeros("running_mean", size)?
        } else {
            Vec::new()
        };
        let past_mean = if dynamic {
            zeros("past_mean", size)?
        } else {
            Vec::new()
        };
        Ok(Self {
            kind,
            rows,
            cols,
            every,
            transfer_lr,
            granularity: devices.iter().map(|d| d.granularity()).collect(),
            states: devices[0].num_states(),
            buffers,
            running_mean,
            past_mean,
            state: TransferState {
                slices: vec![0; n],
                in_chopper: vec![false; in_size],
                out_chopper: vec![false; out_size],
                in_switched: vec![false; in_size],
                ..TransferState::default()
            },
            gammas,
            p,
        })
    }

    fn arrays(&self) -> usize {
        self.gammas.len()
    }

    fn chopped(&self) -> bool {
        matches!(self.kind, TransferKind::Chopped | TransferKind::Dynamic)
    }

    /// (inputs, outputs) of a read: columns are read with one-hot x.
    fn sizes(&self) -> (usize, usize) {
        if self.p.transfer_columns {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        }
    }

    /// Vectors between transfers out of array `k` for a batch of `m_batch` (0: never).
    fn period(&self, k: usize, m_batch: usize) -> u64 {
        let t = self.every[k];
        if self.chopped() && k == 0 && self.p.transfer_every < 0.0 {
            // Automatic: the fast device's states per column, × |transfer_every|.
            let (in_size, _) = self.sizes();
            let auto = self.states / in_size as f32 * self.p.transfer_every.abs();
            return auto.round().max(1.0) as u64;
        }
        if self.p.units_in_mbatch {
            (t * m_batch as f32).ceil().max(0.0) as u64
        } else {
            t.round().max(0.0) as u64
        }
    }

    /// The chopper period of AGAD, in passes over the columns.
    fn chop_samples(&self) -> u64 {
        if self.p.in_chop_prob > 0.0 {
            ((1.0 / self.p.in_chop_prob).ceil() as u64).max(2)
        } else {
            2
        }
    }

    /// The digital buffer's threshold granularity of the chopped family (reference
    /// `getBufferGranularity`).
    fn buffer_granularity(&self) -> f32 {
        let g = self.granularity[0];
        let bg = if self.p.buffer_granularity > 0.0 {
            self.p.buffer_granularity
        } else {
            1.0
        };
        if self.p.auto_granularity > 0.0 {
            let (in_size, _) = self.sizes();
            let period = in_size as f32 * self.p.transfer_every.abs();
            bg * g * self.p.auto_granularity / period
        } else {
            bg * g
        }
    }

    pub fn update(
        &mut self,
        ctx: &mut Context<'_>,
        x: &[f32],
        d: &[f32],
        batch: usize,
        lr: f32,
    ) -> Result<()> {
        let (rows, cols) = (self.rows, self.cols);
        let n_arrays = self.arrays();
        let (in_size, _) = self.sizes();
        let chopped = self.chopped();

        // The pulse-count learning rate of A, per vector (auto_scale follows max|x|, max|d|).
        let bl = ctx.config.update.desired_bl as f32;
        let mut count_lr = Vec::with_capacity(batch);
        for n in 0..batch {
            let rate = if chopped && self.p.auto_scale && self.p.fast_lr > 0.0 {
                let xm = crate::numeric::abs_max(&x[n * cols..(n + 1) * cols]);
                let dm = crate::numeric::abs_max(&d[n * rows..(n + 1) * rows]);
                auto_scale(&mut self.state.m_x, xm, batch, self.p.auto_momentum);
                auto_scale(&mut self.state.m_d, dm, batch, self.p.auto_momentum);
                let mut r = self.p.fast_lr * bl * self.granularity[0];
                if self.state.m_x > 0.0 && self.state.m_d > 0.0 {
                    let m = self.state.m_x * self.state.m_d;
                    if m.is_finite() {
                        r /= m;
                    } else {
                        // Enormous inputs: the product leaves float32, the rate does not.
                        let m = f64::from(self.state.m_x) * f64::from(self.state.m_d);
                        r = (f64::from(r) / m) as f32;
                    }
                }
                r
            } else if self.p.fast_lr > 0.0 {
                self.p.fast_lr
            } else {
                lr
            };
            count_lr.push(rate);
        }

        // The transfer schedule of the batch, choppers and resets included; the signs of A's
        // gradient per vector (chopped family).
        let mut reads: Vec<Read> = Vec::new();
        let mut out_snapshots: Vec<Vec<bool>> = vec![self.state.out_chopper.clone()];
        let (mut xs, mut ds) = (Vec::new(), Vec::new());
        if chopped {
            xs.reserve(x.len());
            ds.reserve(d.len());
        }
        let periods: Vec<u64> = (0..n_arrays).map(|k| self.period(k, batch)).collect();
        for n in 0..batch {
            if chopped {
                let (xn, dn) = (&x[n * cols..(n + 1) * cols], &d[n * rows..(n + 1) * rows]);
                let (cx, cd) = if self.p.transfer_columns {
                    (&self.state.in_chopper, &self.state.out_chopper)
                } else {
                    (&self.state.out_chopper, &self.state.in_chopper)
                };
                xs.extend(xn.iter().zip(cx).map(|(v, &c)| if c { -v } else { *v }));
                ds.extend(dn.iter().zip(cd).map(|(v, &c)| if c { -v } else { *v }));
            }
            let count = self.state.updates + n as u64 + 1;
            for (from, &every) in periods.iter().enumerate() {
                if every == 0 || !count.is_multiple_of(every) {
                    continue;
                }
                self.schedule(ctx, from, n, in_size, &mut reads, &mut out_snapshots);
            }
        }
        self.state.updates += batch as u64;

        // Array by array: the update of the array (A: the gradient; the others: the writes of
        // the transfers into them), taking the reads of the transfers out of it, whose writes
        // then go to the next array.
        let (xa, da) = if chopped {
            (xs.as_slice(), ds.as_slice())
        } else {
            (x, d)
        };
        let lr_a = if count_lr.iter().all(|&r| r == count_lr[0]) {
            Lr::Same(count_lr.first().copied().unwrap_or(0.0))
        } else {
            Lr::PerVector(&count_lr)
        };
        let mut incoming: Option<Writes> = None;
        for k in 0..n_arrays {
            let outgoing: Vec<Read> = reads.iter().filter(|r| r.from == k).copied().collect();
            let values = if k == 0 {
                self.update_fast(ctx, xa, da, batch, lr_a, &outgoing)?
            } else {
                match incoming.take() {
                    Some(w) => self.write(ctx, k, &w, &outgoing)?,
                    None => self.read_unchanged(ctx, k, &outgoing)?,
                }
            };
            if k + 1 < n_arrays && !outgoing.is_empty() {
                let to = (k + 1).min(n_arrays - 1);
                incoming = Some(self.transfers(
                    ctx,
                    k,
                    to,
                    lr,
                    &count_lr,
                    &outgoing,
                    &values,
                    &out_snapshots,
                ));
            } else {
                incoming = None;
            }
        }
        Ok(())
    }

    /// Adds the reads of one transfer out of array `from` after vector `n`: the next
    /// `n_reads_per_transfer` columns (cyclic, or one random column), with their reset and
    /// chopper decisions, and advances the pointers and choppers.
    fn schedule(
        &mut self,
        ctx: &Context<'_>,
        from: usize,
        n: usize,
        in_size: usize,
        reads: &mut Vec<Read>,
        out_snapshots: &mut Vec<Vec<bool>>,
    ) {
        let event = self.state.events;
        self.state.events += 1;
        let n_reads = self.p.n_reads_per_transfer.min(in_size);
        let mut start = self.state.slices[from];
        if self.p.random_selection {
            let u = ctx.uniform(PICK_COLUMN, event as u32, (event >> 32) as u32);
            start = ((u * in_size as f32) as usize).min(in_size - 1);
        }
        for r in 0..n_reads {
            let index = (start + r) % in_size;
            let reset = self.p.with_reset_prob > 0.0
                && ctx.uniform(RESET, event as u32, index as u32) < self.p.with_reset_prob;
            let mut read = Read {
                vector: n,
                from,
                index,
                reset,
                in_chop: false,
                switched: false,
                counter: self.state.transfer_counter,
                out_snapshot: out_snapshots.len() - 1,
            };
            if self.chopped() && from == 0 {
                read.in_chop = self.state.in_chopper[index];
                read.switched = self.state.in_switched[index];
                self.advance_choppers(ctx, index, in_size, event, out_snapshots);
            }
            reads.push(read);
        }
        self.state.slices[from] = (start + n_reads) % in_size;
    }

    /// The chopper flips after the transfer of column `index` (reference `readAndUpdate`).
    fn advance_choppers(
        &mut self,
        ctx: &Context<'_>,
        index: usize,
        in_size: usize,
        event: u64,
        out_snapshots: &mut Vec<Vec<bool>>,
    ) {
        let samples = self.chop_samples();
        let s = &mut self.state;
        let p = &self.p;
        if self.kind == TransferKind::Dynamic {
            s.in_switched[index] = false;
            let mut switch = (s.transfer_counter % samples) + 1 == samples;
            if p.in_chop_random && ctx.uniform(IN_CHOP, event as u32, index as u32) < p.in_chop_prob
            {
                switch = true;
            }
            if switch {
                s.in_chopper[index] = !s.in_chopper[index];
                s.in_switched[index] = true;
            }
        } else {
            if p.in_chop_prob > 0.0 {
                let flip = if p.in_chop_random {
                    ctx.uniform(IN_CHOP, event as u32, index as u32) < p.in_chop_prob
                } else {
                    let samples = ((1.0 / p.in_chop_prob).ceil() as u64).max(2);
                    (s.transfer_counter % samples) + 1 == samples
                };
                if flip {
                    s.in_chopper[index] = !s.in_chopper[index];
                }
            }
            if index == in_size - 1 && p.out_chop_prob > 0.0 {
                for (r, c) in s.out_chopper.iter_mut().enumerate() {
                    if ctx.uniform(OUT_CHOP, event as u32, r as u32) < p.out_chop_prob {
                        *c = !*c;
                    }
                }
                out_snapshots.push(s.out_chopper.clone());
            }
        }
        if index == in_size - 1 {
            s.transfer_counter += 1;
        }
    }

    fn plan(&self, reads: &[Read], at: impl Fn(&Read) -> Option<u32>) -> CapturePlan {
        CapturePlan {
            by_rows: !self.p.transfer_columns,
            events: reads
                .iter()
                .filter_map(|r| {
                    at(r).map(|v| Capture {
                        vector: v,
                        index: r.index as u32,
                    })
                })
                .collect(),
        }
    }

    /// The gradient update of A with its reads; resets split it into pieces.
    fn update_fast(
        &mut self,
        ctx: &mut Context<'_>,
        x: &[f32],
        d: &[f32],
        batch: usize,
        lr: Lr<'_>,
        reads: &[Read],
    ) -> Result<Vec<f32>> {
        let (rows, cols) = (self.rows, self.cols);
        let width = if self.p.transfer_columns { rows } else { cols };
        // Pieces end after vectors whose reads reset a column.
        let mut ends: Vec<usize> = reads
            .iter()
            .filter(|r| r.reset)
            .map(|r| r.vector + 1)
            .collect();
        ends.push(batch);
        ends.dedup();
        let mut values = Vec::with_capacity(reads.len() * width);
        let mut start = 0;
        for (piece, end) in ends.into_iter().enumerate() {
            let end = end.max(start);
            let mine: Vec<Read> = reads
                .iter()
                .filter(|r| r.vector >= start && r.vector < end)
                .copied()
                .collect();
            let plan = self.plan(&mine, |r| Some((r.vector - start) as u32));
            let rates;
            let lr_piece = match lr {
                Lr::Same(v) => Lr::Same(v),
                Lr::PerVector(v) => {
                    rates = v[start..end].to_vec();
                    Lr::PerVector(&rates)
                }
            };
            let salt = (piece as u64).wrapping_mul(PIECE);
            let u = ArrayUpdate {
                array: 0,
                x: &x[start * cols..end * cols],
                d: &d[start * rows..end * rows],
                batch: end - start,
                lr: lr_piece,
                up: &ctx.config.update,
                granularity: self.granularity[0],
                seed: ctx.seed ^ salt,
                noise_seed: ctx.seed ^ salt,
                step: ctx.step,
                polarity: Polarity::Both,
                captures: &plan,
            };
            values.extend(ctx.backend.update(&u)?);
            let resets: Vec<u32> = mine
                .iter()
                .filter(|r| r.reset)
                .flat_map(|r| (0..rows).map(move |i| (i * cols + r.index) as u32))
                .collect();
            if !resets.is_empty() {
                ctx.backend
                    .reset_devices(0, &resets, piece as u32, ctx.step)?;
            }
            start = end;
        }
        Ok(values)
    }

    /// Reads of an array that received no writes in this batch.
    fn read_unchanged(&self, ctx: &mut Context<'_>, k: usize, reads: &[Read]) -> Result<Vec<f32>> {
        let w = ctx.backend.weights(Some(k))?;
        Ok(self.take_reads(&w, reads))
    }

    /// The values of `reads` from weights `w`.
    fn take_reads(&self, w: &[f32], reads: &[Read]) -> Vec<f32> {
        let cols = self.cols;
        let mut out = Vec::new();
        for r in reads {
            if self.p.transfer_columns {
                out.extend((0..self.rows).map(|i| w[i * cols + r.index]));
            } else {
                out.extend_from_slice(&w[r.index * cols..(r.index + 1) * cols]);
            }
        }
        out
    }

    /// The writes of the transfers into array `k`, in order, taking the reads of the transfers
    /// out of it (after every write made before them).
    fn write(
        &mut self,
        ctx: &mut Context<'_>,
        k: usize,
        w: &Writes,
        reads: &[Read],
    ) -> Result<Vec<f32>> {
        let width = if self.p.transfer_columns {
            self.rows
        } else {
            self.cols
        };
        // Reads before the first write see the array as it is now.
        let early: Vec<Read> = reads
            .iter()
            .filter(|r| w.vectors.first().is_none_or(|&v| r.vector < v))
            .copied()
            .collect();
        let mut values = self.take_reads(&ctx.backend.weights(Some(k))?, &early);
        let later: Vec<Read> = reads[early.len()..].to_vec();
        let plan = self.plan(&later, |r| {
            // After the last write made at or before the read's vector.
            let m = w.vectors.partition_point(|&v| v <= r.vector);
            (m > 0).then(|| (m - 1) as u32)
        });
        if w.vectors.is_empty() {
            return Ok(values);
        }
        let (x, d) = if self.p.transfer_columns {
            (&w.onehot, &w.values)
        } else {
            (&w.values, &w.onehot)
        };
        let seed = array_seed(ctx.seed, k) ^ WRITE;
        let u = ArrayUpdate {
            array: k,
            x,
            d,
            batch: w.vectors.len(),
            lr: Lr::PerVector(&w.lr),
            up: &self.p.transfer_update,
            granularity: self.granularity[k],
            seed,
            noise_seed: seed,
            step: ctx.step,
            polarity: Polarity::Both,
            captures: &plan,
        };
        values.extend(ctx.backend.update(&u)?);
        debug_assert_eq!(values.len(), reads.len() * width);
        Ok(values)
    }

    /// Turns the raw reads of array `from` into the writes into array `to` (read periphery,
    /// then directly or through the buffers).
    #[allow(clippy::too_many_arguments)]
    fn transfers(
        &mut self,
        ctx: &Context<'_>,
        from: usize,
        to: usize,
        lr: f32,
        count_lr: &[f32],
        reads: &[Read],
        raw: &[f32],
        out_snapshots: &[Vec<bool>],
    ) -> Writes {
        let (in_size, out_size) = self.sizes();
        let mut w = Writes::default();
        if to == from || lr == 0.0 {
            return w;
        }
        // The transfer learning rate (scaled by the SGD rate; the buffered family by γ_from/γ_to).
        let mut lr_t = self.transfer_lr[from];
        if self.p.scale_transfer_lr {
            lr_t *= lr;
        }
        if self.kind != TransferKind::Plain && self.gammas[to] > 0.0 && self.gammas[from] > 0.0 {
            lr_t *= self.gammas[from] / self.gammas[to];
        }
        let g_to = self.granularity[to];
        let max_steps = self.p.transfer_update.desired_bl as f32;
        let read_seed = array_seed(ctx.seed, from) ^ READ;
        for (r, read) in reads.iter().enumerate() {
            let mut v = raw[r * out_size..(r + 1) * out_size].to_vec();
            read_one_hot(
                &self.p.transfer_forward,
                &mut v,
                read_seed,
                ctx.step,
                r as u32,
            );
            let steps = match self.kind {
                TransferKind::Plain => {
                    // C += lr_t · A e_i.
                    w.push(read.vector, read.index, in_size, v.iter().map(|a| -a), lr_t);
                    continue;
                }
                TransferKind::Buffered => {
                    let bg = self.p.thres_scale * g_to;
                    let buffer = &mut self.buffers[from];
                    let keep = 1.0 - self.p.momentum.clamp(0.0, 1.0);
                    let mut steps = vec![0.0f32; out_size];
                    for (o, s) in steps.iter_mut().enumerate() {
                        let b = &mut buffer
                            [buffer_index(self.p.transfer_columns, self.cols, read.index, o)];
                        let omega = *b + v[o] * lr_t.abs();
                        let n = (omega / bg).trunc().clamp(-max_steps, max_steps);
                        *b = if n == 0.0 {
                            omega
                        } else if self.p.forget_buffer {
                            omega * self.p.momentum
                        } else {
                            omega - keep * n * bg
                        };
                        *s = n;
                    }
                    steps
                }
                TransferKind::Chopped => {
                    let mut scale = lr_t.abs() / self.buffer_granularity();
                    if self.p.correct_gradient_magnitudes {
                        let bg = self.buffer_granularity() * g_to / self.granularity[0];
                        scale = lr_t.abs() / count_lr[read.vector] / bg;
                    }
                    let out_chop = &out_snapshots[read.out_snapshot];
                    let buffer = &mut self.buffers[from];
                    let keep = 1.0 - self.p.momentum.clamp(0.0, 1.0);
                    let mut steps = vec![0.0f32; out_size];
                    for (o, s) in steps.iter_mut().enumerate() {
                        let b = &mut buffer
                            [buffer_index(self.p.transfer_columns, self.cols, read.index, o)];
                        let val = v[o] * scale;
                        let signed = if read.in_chop != out_chop[o] {
                            -val
                        } else {
                            val
                        };
                        let mut omega = if self.p.no_buffer { 0.0 } else { *b } + signed;
                        let mut n = 0.0;
                        if omega.abs() >= 1.0 {
                            n = omega.trunc().clamp(-max_steps, max_steps);
                            if self.p.forget_buffer {
                                omega *= self.p.momentum;
                            } else {
                                omega -= keep * n;
                            }
                        }
                        *b = omega;
                        *s = n;
                    }
                    steps
                }
                TransferKind::Dynamic => {
                    self.dynamic_steps(read, &v, lr_t, count_lr, out_snapshots)
                }
            };
            if steps.iter().any(|&s| s != 0.0) {
                // Whole steps of the target's granularity: lr = step · g, d = −steps.
                let lr_w = self.p.step * g_to;
                let allowed =
                    self.kind != TransferKind::Dynamic || read.counter > self.chop_samples();
                if allowed {
                    w.push(
                        read.vector,
                        read.index,
                        in_size,
                        steps.iter().map(|s| -s),
                        lr_w,
                    );
                }
            }
        }
        w
    }

    /// AGAD's buffer step of one read: the change of the read against its mean at the last
    /// chopper switch, chopper-corrected, accumulated until whole steps.
    fn dynamic_steps(
        &mut self,
        read: &Read,
        v: &[f32],
        lr_t: f32,
        count_lr: &[f32],
        out_snapshots: &[Vec<bool>],
    ) -> Vec<f32> {
        let (_, out_size) = self.sizes();
        let samples = self.chop_samples();
        let current = (read.counter % samples) + 1;
        let sample_momentum = (self.p.tail_weightening / samples as f32).min(1.0);
        let mut scale = lr_t.abs() / self.buffer_granularity();
        if self.p.correct_gradient_magnitudes {
            let bg = self.buffer_granularity() * self.granularity[1] / self.granularity[0];
            scale = lr_t.abs() / count_lr[read.vector] / bg;
        }
        if self.p.experimental_correct_accumulation {
            scale /= (current as f32).min(1.0 / self.granularity[0]);
        }
        let max_steps = self.p.transfer_update.desired_bl as f32;
        let cap = max_steps * self.p.buffer_cap;
        let out_chop = &out_snapshots[read.out_snapshot];
        let mut steps = vec![0.0f32; out_size];
        for (o, s) in steps.iter_mut().enumerate() {
            let k = buffer_index(self.p.transfer_columns, self.cols, read.index, o);
            let val = v[o];
            let mut mu_past = self.past_mean[k];
            if read.switched {
                // A new chopper period: its reference is the mean of the last one.
                mu_past = self.running_mean[k];
                self.past_mean[k] = mu_past;
            }
            let mut dw = val - mu_past;
            if read.in_chop != out_chop[o] {
                dw = -dw;
            }
            let mut omega = self.buffers[0][k] + dw * scale;
            let mut n = 0.0;
            if omega.abs() >= 1.0 {
                n = omega.trunc().clamp(-max_steps, max_steps);
                if self.p.forget_buffer {
                    omega *= self.p.momentum;
                } else {
                    omega -= (1.0 - self.p.momentum) * n;
                    if cap > 0.0 {
                        omega = omega.clamp(-cap, cap);
                    }
                }
            }
            self.buffers[0][k] = omega;
            self.running_mean[k] =
                self.running_mean[k] * (1.0 - sample_momentum) + val * sample_momentum;
            *s = n;
        }
        steps
    }

    /// All weights into the last array (divided by its γ), the others exactly zero, counters
    /// reset. As in the reference, the other arrays are zeroed, not written: their visible and
    /// persistent weights are 0 without write noise (a device gets write noise when a pulse
    /// writes it); the last array is written as a device is, with its write noise on set.
    pub fn set_weights(&mut self, ctx: &mut Context<'_>, weights: &[f32]) -> Result<()> {
        let n = self.arrays();
        let last = self.gammas[n - 1];
        self.state.updates = 0;
        self.state.slices.iter_mut().for_each(|s| *s = 0);
        let zeros = zeros("weights", weights.len())?;
        for k in 0..n - 1 {
            ctx.backend.restore(k, &zeros, None)?;
        }
        let scaled: Vec<f32> = weights.iter().map(|w| w / last).collect();
        ctx.backend.set_weights(n - 1, &scaled, ctx.step)
    }

    pub fn hidden(&self) -> Vec<(String, Vec<f32>)> {
        let mut out: Vec<(String, Vec<f32>)> = self
            .buffers
            .iter()
            .enumerate()
            .map(|(k, b)| (format!("buffer_{k}"), b.clone()))
            .collect();
        if self.kind == TransferKind::Dynamic {
            out.push(("running_mean".into(), self.running_mean.clone()));
            out.push(("past_mean".into(), self.past_mean.clone()));
        }
        out
    }

    /// Checks a loaded bookkeeping state against this compound's sizes (a state saved for
    /// another shape or compound would index out of range later).
    fn check_state(&self) -> Result<()> {
        let (in_size, out_size) = self.sizes();
        let s = &self.state;
        let lengths = [
            ("slices", s.slices.len(), self.arrays()),
            ("in_chopper", s.in_chopper.len(), in_size),
            ("out_chopper", s.out_chopper.len(), out_size),
            ("in_switched", s.in_switched.len(), in_size),
        ];
        for (name, got, expected) in lengths {
            if got != expected {
                return Err(Error::State(format!(
                    "cell_json.{name}: expected {expected} entries, got {got}"
                )));
            }
        }
        if let Some(k) = s.slices.iter().position(|&i| i >= in_size) {
            return Err(Error::State(format!(
                "cell_json.slices[{k}]: expected an index < {in_size}, got {}",
                s.slices[k]
            )));
        }
        for (name, v) in [("m_x", s.m_x), ("m_d", s.m_d)] {
            if !v.is_finite() {
                return Err(Error::State(format!("cell_json.{name}: {v} is not finite")));
            }
        }
        Ok(())
    }

    pub fn load_hidden(&mut self, arrays: &[(String, Vec<f32>)], size: usize) -> Result<()> {
        self.check_state()?;
        let names: Vec<String> = (0..self.buffers.len())
            .map(|k| format!("buffer_{k}"))
            .collect();
        let mut targets: Vec<(&str, &mut Vec<f32>)> = names
            .iter()
            .map(String::as_str)
            .zip(self.buffers.iter_mut())
            .collect();
        if self.kind == TransferKind::Dynamic {
            targets.push(("running_mean", &mut self.running_mean));
            targets.push(("past_mean", &mut self.past_mean));
        }
        load_named(arrays, &mut targets, size)
    }
}

/// Writes into one array, in order: one-hot inputs, values and learning rates per write, and the
/// vector of the batch each one belongs to.
#[derive(Default)]
struct Writes {
    vectors: Vec<usize>,
    onehot: Vec<f32>,
    values: Vec<f32>,
    lr: Vec<f32>,
}

impl Writes {
    fn push(
        &mut self,
        vector: usize,
        index: usize,
        in_size: usize,
        values: impl Iterator<Item = f32>,
        lr: f32,
    ) {
        self.vectors.push(vector);
        let mut onehot = vec![0.0f32; in_size];
        onehot[index] = 1.0;
        self.onehot.extend(onehot);
        self.values.extend(values);
        self.lr.push(lr);
    }
}

/// The buffer entry of read index `index`, output `o` (buffers are `[rows][cols]`).
fn buffer_index(columns: bool, cols: usize, index: usize, o: usize) -> usize {
    if columns {
        o * cols + index
    } else {
        index * cols + o
    }
}

/// The running average of a maximum (reference `updateAutoScale`): the first value as it is,
/// then m ← (1 − τ)m + τ·v with τ = (1 − momentum)/m_batch, ignoring zeros.
fn auto_scale(m: &mut f32, value: f32, m_batch: usize, momentum: f32) {
    if *m <= 0.0 {
        *m = value;
        return;
    }
    if value <= 0.0 {
        return;
    }
    let tau = (1.0 - momentum) / m_batch as f32;
    *m = (1.0 - tau) * *m + tau * value;
}
