//! Power-law drift of pulsed devices (reference §4.3): between writes a device's weight decays
//! as w₀·(Δt/t₀)^(−ν), applied by explicit `drift_weights(Δt)` calls. Every device keeps the
//! drift clock's reading and its weight at its last write; a call that finds the weight changed
//! since the previous call (by more than `reset_tol`: a pulse, a set, a reset) restarts that
//! device's clock instead of drifting it.

use crate::config::DriftParameters;
use crate::rng::{normal_table, Purpose, Stream};

/// Smallest conductance the ν(g) dependence takes the log of.
const MIN_CONDUCTANCE: f32 = 1e-7;

/// The drift state of one device array.
#[derive(Clone, Debug, PartialEq)]
pub struct Drift {
    pub p: DriftParameters,
    /// ν_ij = ν(1 + nu_dtod·ξ), drawn at construction.
    pub nu: Vec<f32>,
    /// Per device: the clock at its last write, its weight then, and its weight after the last
    /// call (the change detector).
    pub written_at: Vec<f32>,
    pub w0: Vec<f32>,
    pub previous: Vec<f32>,
    /// [clock in units of t₀, calls so far, 1 once the state holds the weights]: saved with the
    /// per-device arrays.
    pub clock: Vec<f32>,
}

/// What one drift call sees of the devices.
pub struct DriftContext<'a> {
    /// Per-device (lower, upper) bounds of the weights the drift acts on, if any.
    pub bounds: Option<(&'a [f32], &'a [f32])>,
    /// Per-device reference (the bounds hold for w + reference); empty: none.
    pub reference: &'a [f32],
    /// Seed of the array's stream of drift noise.
    pub seed: u64,
}

impl Drift {
    /// The drift of `n` devices, None when ν = 0. ν_ij uses normal 7 of the devices' first set
    /// of device-to-device normals (counter (k, k >> 32, 0, 0); 0-6 are the step's and decay's).
    pub fn build(p: &DriftParameters, n: usize, draw_seed: u64) -> crate::Result<Option<Self>> {
        if !p.is_on() {
            return Ok(None);
        }
        let stream = Stream::new(draw_seed, Purpose::DeviceToDevice);
        let table = normal_table();
        let mut nu = crate::memory::with_capacity("device parameters", n)?;
        nu.extend((0..n).map(|k| {
            let xi = stream.normals8(k as u32, (k >> 32) as u32, 0, 0, table)[7];
            p.nu * (1.0 + p.nu_dtod * xi)
        }));
        Ok(Some(Self {
            p: p.clone(),
            nu,
            written_at: crate::memory::zeros("device parameters", n)?,
            w0: crate::memory::zeros("device parameters", n)?,
            previous: crate::memory::zeros("device parameters", n)?,
            clock: vec![0.0, 0.0, 0.0],
        }))
    }

    /// Advances the clock by `delta_t` and drifts every device whose weight did not change since
    /// the previous call (the others restart their clock). The noise of call c on device k is
    /// normals 0 (ν) and 1 (weight) of counter (k, k >> 32, c, 0) of the drift stream.
    pub fn apply(&mut self, weights: &mut [f32], delta_t: f32, ctx: &DriftContext<'_>) {
        let p = &self.p;
        if self.clock[2] == 0.0 {
            // First call: every device starts its clock now, at its current weight.
            self.w0.copy_from_slice(weights);
            self.previous.copy_from_slice(weights);
            self.written_at.fill(0.0);
            self.clock = vec![0.0, 0.0, 1.0];
        }
        let clock = self.clock[0] + delta_t / p.t_0;
        let call = self.clock[1] as u32;
        self.clock[0] = clock;
        self.clock[1] += 1.0;
        let offset = {
            let a = p.g_offset * p.wg_ratio + p.w_offset;
            if a.abs() < p.reset_tol {
                0.0
            } else {
                a
            }
        };
        let noisy = p.nu_std > 0.0 || p.w_noise_std > 0.0;
        let stream = Stream::new(ctx.seed, Purpose::Drift);
        let table = normal_table();
        for (k, w) in weights.iter_mut().enumerate() {
            let xi = if noisy {
                stream.normals8(k as u32, (k >> 32) as u32, call, 0, table)
            } else {
                [0.0; 8]
            };
            let mut v = *w;
            if (self.previous[k] - v).abs() > p.reset_tol {
                // Written since the last call: the clock of this device restarts.
                self.written_at[k] = clock;
                self.w0[k] = v;
            } else {
                let mut nu = self.nu[k];
                if p.nu_std > 0.0 {
                    nu += p.nu_std * nu * xi[0];
                }
                if p.nu_k != 0.0 {
                    // The conductance, kept positive (the reference takes the log of whatever
                    // it is and produces NaN below zero).
                    let g = ((v - p.w_offset) / p.wg_ratio + p.g_offset).max(MIN_CONDUCTANCE);
                    nu += -p.nu_k * g.ln() + p.nu_k * p.log_g0;
                }
                // At least one t₀ after the write.
                let elapsed = (clock - self.written_at[k]).max(1.0);
                let scale = elapsed.powf(-nu);
                v = self.w0[k] * scale;
                if offset != 0.0 {
                    v += offset * (scale - 1.0);
                }
            }
            if p.w_noise_std > 0.0 {
                v += p.w_noise_std * xi[1];
            }
            if let Some((lo, hi)) = ctx.bounds {
                let r = ctx.reference.get(k).copied().unwrap_or(0.0);
                v = v.max(lo[k] - r).min(hi[k] - r);
            }
            self.previous[k] = v;
            *w = v;
        }
    }

    /// Named state arrays (saved with the device arrays).
    pub fn arrays(&self) -> Vec<(&'static str, &[f32])> {
        vec![
            ("drift_nu", &self.nu),
            ("drift_written_at", &self.written_at),
            ("drift_w0", &self.w0),
            ("drift_previous", &self.previous),
            ("drift_clock", &self.clock),
        ]
    }

    pub fn arrays_mut(&mut self) -> Vec<(&'static str, &mut Vec<f32>)> {
        vec![
            ("drift_nu", &mut self.nu),
            ("drift_written_at", &mut self.written_at),
            ("drift_w0", &mut self.w0),
            ("drift_previous", &mut self.previous),
            ("drift_clock", &mut self.clock),
        ]
    }
}
