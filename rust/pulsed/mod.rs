//! Stochastic pulsed update, `STOCHASTIC_COMPRESSED` (reference §3), and the exact
//! floating-point update.
//!
//! For each (x, d) vector pair: update management picks the train length BL and the scales A, B;
//! every x_j and d_i gets a bit-packed train of BL slots that fire with probability B|x_j| and
//! A|d_i|; each coincidence of a row's and a column's train is one pulse on that device, up when
//! x_j and d_i have opposite signs. Per row, the counts of up and down pulses over a group of
//! vectors are accumulated by adding byte planes (one per slot; 1 marks a positive, 16 a negative
//! firing x_j, so one byte add counts both signs in two nibbles), or, for groups of short trains
//! over many vectors (a convolution's patches), by popcounts of bit planes (per element and slot,
//! one bit per vector); each device then receives its
//! pulses as one group when no order of them can reach a bound (exact in distribution), or pulse
//! by pulse in vector order otherwise.
//!
//! The stages, one file each:
//!
//! * `plan.rs`: update management of each vector pair ([`Train`], [`plan_train`]), the split of
//!   a batch into groups ([`plan_groups`]) and the firing thresholds.
//! * `batch.rs`: the inputs ([`PulseBatch`], [`ArrayUpdate`], [`Lr`], [`Polarity`]), the random
//!   streams and the reusable buffers ([`PulseScratch`]).
//! * `response.rs`: the pulsed view of a device array ([`Pulsed`], [`Response`]).
//! * `captures.rs`: reads in the middle of an update ([`CapturePlan`], [`capture_table`]).
//! * `trains.rs`: Philox train generation (portable and AVX-512), byte and bit planes, slot
//!   lists.
//! * `counts.rs`: coincidence counting of a row over a group (nibble planes or bit planes).
//! * `apply.rs`: grouped application of the counts (constant steps).
//! * `sequential.rs`: pulse-by-pulse application, slot by slot or device by device;
//!   `lockstep.rs`: the device-ordered one in lanes, `lane_trains.rs` its pass 1.
//! * `replay.rs`: one device's pulses in vector order with its reads.
//! * `dense.rs`: deterministic coincidence counts (`MEAN_COUNT`, `DETERMINISTIC_IMPLICIT`).
//! * `float.rs`: the exact floating-point update.
//! * `write_noise.rs`: write noise redraws and reset values.
//!
//! [`pulsed_update`] below runs the stochastic stages in order, group by group.

mod apply;
mod batch;
mod captures;
mod counts;
mod dense;
mod float;
mod lane_trains;
mod lockstep;
mod plan;
mod replay;
mod response;
mod sequential;
mod trains;
mod write_noise;

pub use batch::{ArrayUpdate, Lr, Polarity, PulseBatch, PulseScratch};
pub use captures::{capture_table, Capture, CapturePlan};
pub use dense::{coincidences, dense_factors, dense_update, is_dense};
pub use float::{float_update, float_update_with_captures};
pub(crate) use lockstep::has_wide_lanes;
pub use lockstep::portable_lanes_only;
pub use plan::{firing_threshold, plan_groups, plan_train, plan_trains, Train};
pub use response::{Pulsed, Response};
pub use write_noise::{redraw_write_noise, reset_value, WRITE_NOISE_UPDATE};

use crate::config::UpdateParameters;
use apply::{apply_group, ApplyContext};
use captures::{capture_buffers, reads_in_event_order, GroupCaptures};
use plan::Group;
use sequential::apply_sequential;
use trains::make_trains;
pub use trains::OCTET;

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
        make_trains(p, input, &group, &streams, s, pulsed);
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
