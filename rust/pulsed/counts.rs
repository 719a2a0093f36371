//! Stage 3, coincidence counting: per row, the up and down pulse counts of every column over a
//! group, summed from the x slot planes in nibble accumulators, or popcounted from bit planes.

/// Plane marks: a firing positive x_j counts in the low nibble, a negative one in the high.
pub(super) const POSITIVE: u8 = 1;
pub(super) const NEGATIVE: u8 = 16;
/// Planes added to a nibble accumulator before it must be flushed (15 fits in 4 bits).
const NIBBLE_ADDS: u32 = 15;

/// Columns accumulated together: the byte counters of a block stay in registers while every
/// fired slot of the row is added.
pub(super) const BLOCK: usize = 64;

/// Per-row buffers: the plane offsets of the row's fired slots, split by the sign of d_i, and
/// the up/down pulse counts of every column.
pub(super) struct RowCounts {
    pub(super) fired: [Vec<usize>; 2],
    pub(super) up: Vec<u16>,
    pub(super) down: Vec<u16>,
    /// The vectors in which the row's d_i fired (for replays).
    pub(super) vectors: Vec<u32>,
}

impl RowCounts {
    pub(super) fn new(cols: usize) -> Self {
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
    #[inline(always)]
    pub(super) fn accumulate(&mut self, planes: &[u8], cols: usize) {
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

    /// The up/down counts of one row from bit planes (`[element][slot][vector / 64]`, `span`
    /// words per element): a coincidence is a vector and slot in which both fire, up when their
    /// signs differ. Returns whether the row fires at all.
    #[inline(always)]
    pub(super) fn count_bits(
        &mut self,
        x_pos: &[u64],
        x_neg: &[u64],
        d_pos: &[u64],
        d_neg: &[u64],
        span: usize,
    ) -> bool {
        if d_pos.iter().chain(d_neg).all(|&w| w == 0) {
            return false;
        }
        let columns = x_pos.chunks_exact(span).zip(x_neg.chunks_exact(span));
        for ((up, down), (xp, xn)) in self.up.iter_mut().zip(&mut self.down).zip(columns) {
            let (mut u, mut d) = (0u32, 0u32);
            for q in 0..span {
                u += (xp[q] & d_neg[q]).count_ones() + (xn[q] & d_pos[q]).count_ones();
                d += (xp[q] & d_pos[q]).count_ones() + (xn[q] & d_neg[q]).count_ones();
            }
            // A group holds at most u16::MAX slots per vector pair (plan_groups).
            (*up, *down) = (u as u16, d as u16);
        }
        true
    }

    pub(super) fn is_empty(&self) -> bool {
        self.fired[0].is_empty() && self.fired[1].is_empty()
    }
}
