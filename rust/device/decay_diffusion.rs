//! Decay and diffusion: what happens to a device between pulses, once per mini-batch
//! (reference §4.1, applied in the optimizer's post-update step).
//!
//! Decay: w ← b + (w − b)(1 − δ), δ = 1/(lifetime(1 + lifetime_dtod ξ)), reset bias
//! b = reset + reset_dtod ξ. Diffusion: w ← w + ρ ξ, ρ = |diffusion(1 + diffusion_dtod ξ)|.
//! Device-to-device draws are fixed at construction; ξ of diffusion is fresh every mini-batch.

use crate::config::DeviceConfig;
use crate::rng::{normal_table, Purpose, Stream};
use rayon::prelude::*;

/// Per-device decay and diffusion rates of a tile (absent arrays mean the effect is off).
#[derive(Clone, Debug, PartialEq)]
pub struct DecayDiffusion {
    /// δ per device (empty: no decay).
    pub decay_rate: Vec<f32>,
    /// b per device (empty: no decay).
    pub reset_bias: Vec<f32>,
    /// ρ per device (empty: no diffusion).
    pub diffusion_rate: Vec<f32>,
}

struct Rates {
    lifetime: f32,
    lifetime_dtod: f32,
    reset: f32,
    reset_dtod: f32,
    diffusion: f32,
    diffusion_dtod: f32,
    construction_seed: u64,
}

impl DecayDiffusion {
    /// The decay/diffusion of a device configuration, or None when both are off.
    pub fn build(
        config: &DeviceConfig,
        rows: usize,
        cols: usize,
        tile_seed: u64,
    ) -> crate::Result<Option<Self>> {
        let r = match config {
            DeviceConfig::IdealDevice(p) | DeviceConfig::FloatingPointDevice(p) => Rates {
                lifetime: p.lifetime,
                lifetime_dtod: 0.0,
                reset: 0.0,
                reset_dtod: 0.0,
                diffusion: p.diffusion,
                diffusion_dtod: 0.0,
                construction_seed: p.construction_seed,
            },
            pulsed => {
                let Some(p) = pulsed.pulsed() else {
                    return Ok(None);
                };
                Rates {
                    lifetime: p.lifetime,
                    lifetime_dtod: p.lifetime_dtod,
                    reset: p.reset,
                    reset_dtod: p.reset_dtod,
                    diffusion: p.diffusion,
                    diffusion_dtod: p.diffusion_dtod,
                    construction_seed: p.construction_seed,
                }
            }
        };
        if r.lifetime <= 0.0 && r.diffusion <= 0.0 {
            return Ok(None);
        }
        let n = rows * cols;
        let seed = if r.construction_seed != 0 {
            r.construction_seed
        } else {
            tile_seed
        };
        let stream = Stream::new(seed, Purpose::DeviceToDevice);
        let table = normal_table();
        let mut out = Self {
            decay_rate: Vec::new(),
            reset_bias: Vec::new(),
            diffusion_rate: Vec::new(),
        };
        if r.lifetime > 0.0 {
            out.decay_rate = crate::memory::with_capacity("device parameters", n)?;
            out.reset_bias = crate::memory::with_capacity("device parameters", n)?;
        }
        if r.diffusion > 0.0 {
            out.diffusion_rate = crate::memory::with_capacity("device parameters", n)?;
        }
        for k in 0..n {
            // Normals 0-3 of this counter are the constant-step draws; 4-6 are ours.
            let xi = stream.normals8(k as u32, (k >> 32) as u32, 0, 0, table);
            if r.lifetime > 0.0 {
                // A lifetime below one mini-batch decays fully: δ is kept within [0, 1].
                let life = r.lifetime * (1.0 + r.lifetime_dtod * xi[4]);
                out.decay_rate
                    .push(if life > 1.0 { 1.0 / life } else { 1.0 });
                out.reset_bias.push(r.reset + r.reset_dtod * xi[5]);
            }
            if r.diffusion > 0.0 {
                out.diffusion_rate
                    .push((r.diffusion * (1.0 + r.diffusion_dtod * xi[6])).abs());
            }
        }
        Ok(Some(out))
    }

    /// One mini-batch of decay then diffusion, clipped to the bounds when given (bounds of the
    /// conductance w + reference when the devices have a reference).
    pub fn apply(
        &self,
        weights: &mut [f32],
        cols: usize,
        bounds: Option<(&[f32], &[f32])>,
        reference: &[f32],
        seed: u64,
        step: u32,
    ) {
        let stream = Stream::new(seed, Purpose::Diffusion);
        let table = normal_table();
        weights
            .par_chunks_mut(cols)
            .with_min_len((crate::periphery::PAR_ELEMENTS / cols).max(1))
            .enumerate()
            .for_each(|(i, row)| {
                let k0 = i * cols;
                if !self.decay_rate.is_empty() {
                    let rate = &self.decay_rate[k0..k0 + cols];
                    let bias = &self.reset_bias[k0..k0 + cols];
                    for ((w, d), b) in row.iter_mut().zip(rate).zip(bias) {
                        *w = b + (*w - b) * (1.0 - d);
                    }
                }
                if !self.diffusion_rate.is_empty() {
                    let rate = &self.diffusion_rate[k0..k0 + cols];
                    for (c, chunk) in row.chunks_mut(64).enumerate() {
                        let xi = stream.normals64((c * 8) as u32, i as u32, 0, step, table);
                        for ((w, r), e) in chunk.iter_mut().zip(&rate[c * 64..]).zip(xi) {
                            *w += r * e;
                        }
                    }
                }
                if let Some((lo, hi)) = bounds {
                    let (lo, hi) = (&lo[k0..k0 + cols], &hi[k0..k0 + cols]);
                    if reference.is_empty() {
                        for ((w, l), h) in row.iter_mut().zip(lo).zip(hi) {
                            *w = w.max(*l).min(*h);
                        }
                    } else {
                        let r = &reference[k0..k0 + cols];
                        for (q, w) in row.iter_mut().enumerate() {
                            *w = w.max(lo[q] - r[q]).min(hi[q] - r[q]);
                        }
                    }
                }
            });
    }

    pub fn arrays(&self) -> Vec<(&'static str, &[f32])> {
        let mut v: Vec<(&'static str, &[f32])> = Vec::new();
        if !self.decay_rate.is_empty() {
            v.push(("decay_rate", &self.decay_rate));
            v.push(("reset_bias", &self.reset_bias));
        }
        if !self.diffusion_rate.is_empty() {
            v.push(("diffusion_rate", &self.diffusion_rate));
        }
        v
    }

    pub fn arrays_mut(&mut self) -> Vec<(&'static str, &mut Vec<f32>)> {
        let mut v: Vec<(&'static str, &mut Vec<f32>)> = Vec::new();
        if !self.decay_rate.is_empty() {
            v.push(("decay_rate", &mut self.decay_rate));
            v.push(("reset_bias", &mut self.reset_bias));
        }
        if !self.diffusion_rate.is_empty() {
            v.push(("diffusion_rate", &mut self.diffusion_rate));
        }
        v
    }
}
