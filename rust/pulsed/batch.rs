//! The inputs of an update: the vectors and rates of a batch ([`PulseBatch`], [`ArrayUpdate`]),
//! the random streams they seed, and the reusable buffers the stages fill ([`PulseScratch`]).

use super::captures::CapturePlan;
use super::plan::Train;
use crate::config::UpdateParameters;
use crate::rng::{normal_max, normal_table, NormalTable, Purpose, Stream};

/// Reusable buffers of the pulsed update.
#[derive(Default, Clone, Debug)]
pub struct PulseScratch {
    pub(super) trains: Vec<Train>,
    pub(super) x_bits: Vec<u64>,
    pub(super) d_bits: Vec<u64>,
    /// Sign masks `[element][vector / 64]`: bit set where x_j (d_i) of that vector is negative.
    pub(super) x_negative: Vec<u64>,
    pub(super) d_negative: Vec<u64>,
    pub(super) planes: Vec<u8>,
    /// Bit planes `[element][slot][vector / 64]` (groups of short trains over many vectors):
    /// bit k of word w set where the element fires in that slot of vector 64w + k and is
    /// positive (`*_pos_planes`) or negative (`*_neg_planes`).
    pub(super) x_pos_planes: Vec<u64>,
    pub(super) x_neg_planes: Vec<u64>,
    pub(super) d_pos_planes: Vec<u64>,
    pub(super) d_neg_planes: Vec<u64>,
    /// Whether this group's coincidences are counted from the bit planes (else the byte planes).
    pub(super) bit_planes: bool,
    /// Pins that choice (tests: both countings must give the same weights).
    pub(super) pinned_bit_planes: Option<bool>,
    /// Whether the group's trains (one slot each) exist only as the bit planes: `x_bits` and
    /// `d_bits` are empty, and replays read the planes.
    pub(super) direct_planes: bool,
    /// Firing thresholds `[vector][element]` of the group's x and d (deterministic rounding).
    pub(super) x_thresholds: Vec<u32>,
    pub(super) d_thresholds: Vec<u32>,
    /// Per vector and octet of elements: the sign bits and whether any can fire (see
    /// `trains::octet_summaries`).
    pub(super) x_octets: Vec<u16>,
    pub(super) d_octets: Vec<u16>,
    /// Per (vector of the group, slot): the columns whose x fires (bit 31: x < 0), CSR.
    pub(super) slot_columns: Vec<u32>,
    pub(super) slot_offsets: Vec<u32>,
    /// Whether the group's pulses are dense (several per device and vector).
    pub(super) dense: bool,
    /// Pins that choice (tests: both orders must give the same weights).
    pub(super) pinned_dense: Option<bool>,
}

impl PulseScratch {
    /// Applies pulse-by-pulse devices in one order whatever the pulse density: `Some(true)`
    /// device by device (in lockstep lanes), `Some(false)` slot by slot, `None` the faster one.
    /// The results are the same; this exists to test that.
    pub fn pin_order(&mut self, dense: Option<bool>) {
        self.pinned_dense = dense;
    }

    /// Counts the coincidences of grouped updates in one way whatever the shape: `Some(true)`
    /// from bit planes (popcounts over vectors), `Some(false)` from byte planes (sums over
    /// fired slots), `None` the cheaper one. The counts are the same; this exists to test that.
    pub fn pin_counting(&mut self, bit_planes: Option<bool>) {
        self.pinned_bit_planes = bit_planes;
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

impl Polarity {
    /// The direction in which this array takes a pulse of direction `up` (true: up), or None
    /// when it does not take it.
    #[inline(always)]
    pub fn taken(self, up: bool) -> Option<bool> {
        match self {
            Polarity::Both => Some(up),
            Polarity::UpOnly => up.then_some(true),
            Polarity::DownAsUp => (!up).then_some(true),
        }
    }
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
    pub(super) fn streams(&self) -> Streams {
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

pub(super) struct Streams {
    pub(super) x: Stream,
    pub(super) d: Stream,
    pub(super) rounding: Stream,
    pub(super) noise: Stream,
    pub(super) replay: Stream,
    pub(super) write: Stream,
    pub(super) step: u32,
    pub(super) table: &'static NormalTable,
    pub(super) xi_max: f32,
}

/// One update of one device array: the pulsed (or exact) update of a batch, and the reads of
/// columns or rows to take in the middle of it.
pub struct ArrayUpdate<'a> {
    pub array: usize,
    pub x: &'a [f32],
    pub d: &'a [f32],
    pub batch: usize,
    pub lr: Lr<'a>,
    /// Pulse type, train length and update management of this update.
    pub up: &'a UpdateParameters,
    pub granularity: f32,
    pub seed: u64,
    pub noise_seed: u64,
    pub step: u32,
    pub polarity: Polarity,
    pub captures: &'a CapturePlan,
}
