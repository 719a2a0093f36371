//! The CPU backend: periphery and pulsed update on rayon, GEMMs by `matrixmultiply`.

use super::{
    build_device_arrays, drift_on_host, ArrayUpdate, BackendKind, TileBackend, Visible,
    WRITE_NOISE_POST, WRITE_NOISE_RESET, WRITE_NOISE_SET,
};
use crate::config::{PulseType, TileConfig};
use crate::device::DeviceArray;
use crate::error::{Error, Result};
use crate::gemm::MatRef;
use crate::memory::zeros;
use crate::periphery::{analog_mvm, MvmScratch};
use crate::pulsed::{
    dense_update, float_update_with_captures, is_dense, pulsed_update, redraw_write_noise,
    reset_value, PulseBatch, PulseScratch, Pulsed,
};

/// One device array on the CPU.
struct CpuArray {
    /// The visible weights of this array (persistent + write noise when it has write noise).
    weights: Vec<f32>,
    /// The hidden persistent weights the pulses act on (write noise only).
    persistent: Option<Vec<f32>>,
    device: DeviceArray,
    seed: u64,
}

/// A tile's state on the CPU.
pub struct CpuTile {
    config: TileConfig,
    rows: usize,
    cols: usize,
    seed: u64,
    arrays: Vec<CpuArray>,
    visible: Visible,
    /// Σ γ_k W_k, recomputed before a read when an array changed.
    sum: Vec<f32>,
    dirty: bool,
    forward_scratch: MvmScratch,
    backward_scratch: MvmScratch,
    pulse_scratch: PulseScratch,
}

impl CpuTile {
    pub fn new(
        config: TileConfig,
        rows: usize,
        cols: usize,
        seed: u64,
        visible: Visible,
    ) -> Result<Self> {
        let size = rows * cols;
        let mut arrays = Vec::new();
        for (device, s) in build_device_arrays(&config, rows, cols, seed)? {
            let persistent = if device.has_write_noise() {
                Some(zeros("persistent weights", size)?)
            } else {
                None
            };
            arrays.push(CpuArray {
                weights: zeros("weights", size)?,
                persistent,
                device,
                seed: s,
            });
        }
        let sum = match visible {
            Visible::Sum(_) => zeros("visible weights", size)?,
            Visible::Array(_) => Vec::new(),
        };
        Ok(Self {
            config,
            rows,
            cols,
            seed,
            arrays,
            visible,
            sum,
            dirty: false,
            forward_scratch: MvmScratch::default(),
            backward_scratch: MvmScratch::default(),
            pulse_scratch: PulseScratch::default(),
        })
    }

    fn array(&self, k: usize) -> Result<&CpuArray> {
        self.arrays
            .get(k)
            .ok_or_else(|| Error::Backend(format!("no device array {k}")))
    }

    /// Recomputes Σ γ_k W_k if an array changed since.
    fn refresh_sum(&mut self) {
        if let (Visible::Sum(gammas), true) = (&self.visible, self.dirty) {
            combine(&mut self.sum, &self.arrays, gammas);
            self.dirty = false;
        }
    }
}

/// The visible weights (after [`CpuTile::refresh_sum`]).
fn visible_weights<'a>(visible: &Visible, arrays: &'a [CpuArray], sum: &'a [f32]) -> &'a [f32] {
    match visible {
        Visible::Array(k) => &arrays[*k].weights,
        Visible::Sum(_) => sum,
    }
}

fn combine(out: &mut [f32], arrays: &[CpuArray], gammas: &[f32]) {
    out.fill(0.0);
    for (a, &g) in arrays.iter().zip(gammas) {
        if g != 0.0 {
            for (o, w) in out.iter_mut().zip(&a.weights) {
                *o += g * w;
            }
        }
    }
}

impl TileBackend for CpuTile {
    fn kind(&self) -> BackendKind {
        BackendKind::Cpu
    }

    fn forward(&mut self, x: &[f32], batch: usize, out: &mut [f32], step: u32) -> Result<()> {
        self.refresh_sum();
        // y = W x: the weights seen as Wᵀ (cols × rows).
        let visible = visible_weights(&self.visible, &self.arrays, &self.sum);
        let w = MatRef::transposed(visible, self.cols, self.rows);
        analog_mvm(
            &self.config.forward,
            w,
            x,
            batch,
            out,
            self.seed,
            step,
            true,
            &mut self.forward_scratch,
        );
        Ok(())
    }

    fn backward(&mut self, d: &[f32], batch: usize, out: &mut [f32], step: u32) -> Result<()> {
        self.refresh_sum();
        // z = Wᵀ d: the weights as stored (rows × cols). The backward pass has its own streams.
        let visible = visible_weights(&self.visible, &self.arrays, &self.sum);
        let w = MatRef::row_major(visible, self.rows, self.cols);
        let seed = self.seed ^ super::BACKWARD_SEED;
        analog_mvm(
            &self.config.backward,
            w,
            d,
            batch,
            out,
            seed,
            step,
            false,
            &mut self.backward_scratch,
        );
        Ok(())
    }

    fn update(&mut self, u: &ArrayUpdate<'_>) -> Result<Vec<f32>> {
        let (rows, cols) = (self.rows, self.cols);
        let a = self
            .arrays
            .get_mut(u.array)
            .ok_or_else(|| Error::Backend(format!("no device array {}", u.array)))?;
        self.dirty = true;
        let pulse_type = u.up.pulse_type;
        let CpuArray {
            weights,
            persistent,
            device,
            seed,
        } = a;
        let sigma = device.write_noise;
        let stochastic = matches!(
            pulse_type,
            PulseType::StochasticCompressed | PulseType::Stochastic
        );
        let input = PulseBatch {
            x: u.x,
            d: u.d,
            batch: u.batch,
            rows,
            cols,
            lr: u.lr,
            granularity: u.granularity,
            seed: u.seed,
            noise_seed: u.noise_seed,
            step: u.step,
            polarity: u.polarity,
        };
        let reads = match Pulsed::of(device) {
            Some(pulsed) if is_dense(pulse_type) => match persistent {
                Some(p) => dense_update(u.up, pulsed, p, Some(weights), &input, u.captures),
                None => dense_update(u.up, pulsed, weights, None, &input, u.captures),
            },
            Some(pulsed) if stochastic => match persistent {
                Some(p) => pulsed_update(
                    u.up,
                    pulsed,
                    p,
                    Some(weights),
                    &input,
                    u.captures,
                    &mut self.pulse_scratch,
                ),
                None => pulsed_update(
                    u.up,
                    pulsed,
                    weights,
                    None,
                    &input,
                    u.captures,
                    &mut self.pulse_scratch,
                ),
            },
            _ => {
                let clip = pulse_type == PulseType::NoneWithDevice;
                let target = persistent.as_mut().unwrap_or(weights);
                let reads =
                    float_update_with_captures(target, rows, cols, u, clip.then_some(&*device));
                if let Some(p) = persistent {
                    redraw_write_noise(weights, p, cols, sigma, *seed, WRITE_NOISE_POST, u.step);
                }
                reads
            }
        };
        Ok(reads)
    }

    fn post_update(&mut self, array: usize, step: u32) -> Result<()> {
        let cols = self.cols;
        let a = &mut self.arrays[array];
        if a.device.decay_diffusion.is_none() {
            return Ok(());
        }
        self.dirty = true;
        match &mut a.persistent {
            Some(p) => {
                a.device.post_update(p, cols, a.seed, step);
                let sigma = a.device.write_noise;
                redraw_write_noise(
                    &mut a.weights,
                    p,
                    cols,
                    sigma,
                    a.seed,
                    WRITE_NOISE_POST,
                    step,
                );
            }
            None => a.device.post_update(&mut a.weights, cols, a.seed, step),
        }
        Ok(())
    }

    fn weights(&self, array: Option<usize>) -> Result<Vec<f32>> {
        match array {
            Some(k) => Ok(self.array(k)?.weights.clone()),
            None => match &self.visible {
                Visible::Array(k) => Ok(self.arrays[*k].weights.clone()),
                Visible::Sum(g) => {
                    let mut out = zeros("visible weights", self.rows * self.cols)?;
                    combine(&mut out, &self.arrays, g);
                    Ok(out)
                }
            },
        }
    }

    fn persistent(&self, array: usize) -> Result<Option<Vec<f32>>> {
        Ok(self.array(array)?.persistent.clone())
    }

    fn set_weights(&mut self, array: usize, weights: &[f32], event: u32) -> Result<()> {
        let cols = self.cols;
        self.array(array)?;
        let a = &mut self.arrays[array];
        self.dirty = true;
        a.weights.copy_from_slice(weights);
        a.device.clip_weights(&mut a.weights);
        if let Some(p) = &mut a.persistent {
            p.copy_from_slice(&a.weights);
            if a.device.write_noise_on_set {
                let sigma = a.device.write_noise;
                redraw_write_noise(
                    &mut a.weights,
                    p,
                    cols,
                    sigma,
                    a.seed,
                    WRITE_NOISE_SET,
                    event,
                );
            }
        }
        Ok(())
    }

    fn restore(&mut self, array: usize, visible: &[f32], persistent: Option<&[f32]>) -> Result<()> {
        self.array(array)?;
        let a = &mut self.arrays[array];
        self.dirty = true;
        a.weights.copy_from_slice(visible);
        match (&mut a.persistent, persistent) {
            (Some(p), Some(saved)) => p.copy_from_slice(saved),
            (Some(p), None) => p.copy_from_slice(visible),
            (None, Some(_)) => {
                return Err(Error::State(format!(
                    "array {array}: persistent weights saved for devices without write noise"
                )))
            }
            (None, None) => {}
        }
        Ok(())
    }

    fn reset_devices(
        &mut self,
        array: usize,
        indices: &[u32],
        event: u32,
        step: u32,
    ) -> Result<()> {
        let cols = self.cols;
        self.array(array)?;
        let a = &mut self.arrays[array];
        self.dirty = true;
        let target = a.persistent.as_mut().unwrap_or(&mut a.weights);
        for &k in indices {
            let k = k as usize;
            target[k] = reset_value(&a.device, k, a.seed, event, step);
        }
        if let Some(p) = &a.persistent {
            let sigma = a.device.write_noise;
            redraw_write_noise(
                &mut a.weights,
                p,
                cols,
                sigma,
                a.seed,
                WRITE_NOISE_RESET,
                step,
            );
        }
        Ok(())
    }

    fn drift(&mut self, array: usize, delta_t: f32) -> Result<()> {
        let cols = self.cols;
        self.array(array)?;
        let a = &mut self.arrays[array];
        let persistent = a.persistent.as_deref_mut();
        if drift_on_host(
            &mut a.device,
            &mut a.weights,
            persistent,
            cols,
            a.seed,
            delta_t,
        ) {
            self.dirty = true;
        }
        Ok(())
    }

    fn device_arrays(&self) -> Vec<(String, Vec<f32>)> {
        prefixed(self.arrays.iter().map(|a| &a.device))
    }

    fn load_device_arrays(&mut self, arrays: &[(String, Vec<f32>)]) -> Result<()> {
        let n = self.arrays.len();
        for (k, a) in self.arrays.iter_mut().enumerate() {
            a.device.load_arrays(&of_array(arrays, k, n))?;
        }
        Ok(())
    }
}

/// The named device arrays of several arrays: `k.name` when there is more than one array.
pub(crate) fn prefixed<'a>(
    devices: impl Iterator<Item = &'a DeviceArray>,
) -> Vec<(String, Vec<f32>)> {
    let devices: Vec<&DeviceArray> = devices.collect();
    let n = devices.len();
    let mut out = Vec::new();
    for (k, d) in devices.into_iter().enumerate() {
        for (name, values) in d.named_arrays() {
            let name = if n == 1 { name } else { format!("{k}.{name}") };
            out.push((name, values));
        }
    }
    out
}

/// The saved arrays of array `k` of `n`, with their prefix removed.
pub(crate) fn of_array(
    arrays: &[(String, Vec<f32>)],
    k: usize,
    n: usize,
) -> Vec<(String, Vec<f32>)> {
    if n == 1 {
        return arrays.to_vec();
    }
    let prefix = format!("{k}.");
    arrays
        .iter()
        .filter_map(|(name, v)| {
            name.strip_prefix(&prefix)
                .map(|s| (s.to_string(), v.clone()))
        })
        .collect()
}
