//! Reads in the middle of an update: the capture plan, its per-group table, where the appliers
//! put the reads ([`Sink`]) and their gathering back into event order.

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

/// Where the reads of a row's devices go (see [`CapturePlan`]).
pub(super) struct Sink<'s> {
    pub(super) buf: &'s mut Vec<f32>,
    pub(super) by_rows: bool,
    /// Position of each event among its row's events (by rows).
    pub(super) slots: &'s [u32],
    pub(super) cols: usize,
}

impl Sink<'_> {
    #[inline]
    pub(super) fn put(&mut self, event: u32, j: usize, value: f32) {
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
pub(super) struct GroupCaptures {
    pub(super) offsets: Vec<u32>,
    pub(super) entries: Vec<(u32, u32)>,
    /// Whether any read is taken after vector v of the group.
    pub(super) after: Vec<bool>,
}

impl GroupCaptures {
    pub(super) fn build(plan: &CapturePlan, keys: usize, start: usize, end: usize) -> Self {
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

    pub(super) fn of(&self, key: usize) -> &[(u32, u32)] {
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

/// Per-row capture buffers of an update, and (by rows) each event's place among its row's
/// events: `(slots, row_reads)`.
pub(super) fn capture_buffers(
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
pub(super) fn reads_in_event_order(
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
