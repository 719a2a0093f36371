//! Write noise and resets: the visible weights redrawn around the persistent ones, and the value
//! a reset device takes.

use super::counts::BLOCK;
use crate::device::DeviceArray;
use crate::periphery::PAR_ELEMENTS;
use crate::rng::{normal_table, Purpose, Stream};
use rayon::prelude::*;

/// Counter word of the write-noise draws of a pulsed update (other writes use other words).
pub const WRITE_NOISE_UPDATE: u32 = 0x5752_0000;

/// Visible weights of an array with write noise: persistent + σ·ξ for every device, ξ normal
/// j % 8 of (j / 8, i, `word`, `step`) of the array's write-noise stream.
pub fn redraw_write_noise(
    visible: &mut [f32],
    persistent: &[f32],
    cols: usize,
    sigma: f32,
    seed: u64,
    word: u32,
    step: u32,
) {
    let stream = Stream::new(seed, Purpose::WriteNoise);
    let table = normal_table();
    visible
        .par_chunks_mut(cols)
        .zip(persistent.par_chunks(cols))
        .with_min_len((PAR_ELEMENTS / cols).max(1))
        .enumerate()
        .for_each(|(i, (v, p))| {
            for c0 in (0..cols).step_by(BLOCK) {
                let xi = stream.normals64((c0 / 8) as u32, i as u32, word, step, table);
                let width = BLOCK.min(cols - c0);
                for q in 0..width {
                    v[c0 + q] = p[c0 + q] + sigma * xi[q];
                }
            }
        });
}

/// The value device k of an array takes when reset: its reset target + reset_std·ξ, clipped
/// into its bounds (ξ normal k % 8 of (k / 8, k >> 35, event, step) of the reset stream).
pub fn reset_value(device: &DeviceArray, k: usize, seed: u64, event: u32, step: u32) -> f32 {
    let xi = Stream::new(seed, Purpose::Reset).normals8(
        (k / 8) as u32,
        (k >> 35) as u32,
        event,
        step,
        normal_table(),
    )[k % 8];
    let mut w = [device.reset_target(k) + device.reset_std * xi];
    device.clip_one(k, &mut w[0]);
    w[0]
}
