//! The exact floating-point update (`pulse_type = NONE`, floating-point devices), optionally
//! taken in pieces between reads and clipped into the device bounds.

use super::batch::{ArrayUpdate, Lr};
use crate::device::DeviceArray;
use crate::gemm::{matmul, MatRef};

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

/// The exact update of an array, taken in pieces between the reads of `u.captures` (returned as
/// [`super::pulsed_update`] returns them); with `clip` the device bounds are applied after each
/// piece (`NONE_WITH_DEVICE`).
pub fn float_update_with_captures(
    weights: &mut [f32],
    rows: usize,
    cols: usize,
    u: &ArrayUpdate<'_>,
    clip: Option<&DeviceArray>,
) -> Vec<f32> {
    // Per-vector rates scale the rows of d.
    let scaled;
    let (d, lr) = match u.lr {
        Lr::Same(lr) => (u.d, lr),
        Lr::PerVector(rates) => {
            scaled =
                u.d.chunks(rows)
                    .zip(rates)
                    .flat_map(|(row, &r)| row.iter().map(move |v| v * r))
                    .collect::<Vec<f32>>();
            (scaled.as_slice(), 1.0)
        }
    };
    let plan = u.captures;
    let width = plan.width(rows, cols);
    let mut out = vec![0.0f32; plan.events.len() * width];
    let mut start = 0;
    let mut ends: Vec<usize> = plan.events.iter().map(|c| c.vector as usize + 1).collect();
    ends.push(u.batch);
    ends.dedup();
    let mut e = 0;
    for end in ends {
        let end = end.min(u.batch).max(start);
        if end > start {
            let n = end - start;
            float_update(
                weights,
                rows,
                cols,
                &u.x[start * cols..end * cols],
                &d[start * rows..end * rows],
                n,
                lr,
            );
            if let Some(device) = clip {
                device.clip_weights(weights);
            }
        }
        start = end;
        while e < plan.events.len() && (plan.events[e].vector as usize) < start {
            let index = plan.events[e].index as usize;
            let dst = &mut out[e * width..(e + 1) * width];
            if plan.by_rows {
                dst.copy_from_slice(&weights[index * cols..(index + 1) * cols]);
            } else {
                for (i, v) in dst.iter_mut().enumerate() {
                    *v = weights[i * cols + index];
                }
            }
            e += 1;
        }
    }
    out
}
