//! The wgpu backend: the tile's weights and per-device parameters live in GPU buffers; x, d and
//! the outputs are the only data that move per call. Every kernel evaluates the same Philox
//! counters as the CPU backend, so integer decisions (pulse trains, coincidence counts) are
//! bit-identical and floating-point results agree to rounding.

mod buffers;
mod context;
mod kernels;

pub use buffers::BINDING_LIMIT_ENV;
pub use context::{context, describe, ADAPTER_ENV};

use super::cpu::{of_array, prefixed};
use super::{
    build_device_arrays, drift_on_host, ArrayUpdate, BackendKind, TileBackend, Visible,
    WRITE_NOISE_POST, WRITE_NOISE_RESET, WRITE_NOISE_SET,
};
use crate::config::quantization_step;
use crate::config::{BoundManagement, IoParameters, PulseType, TileConfig, WeightNoiseType};
use crate::device::{DeviceArray, DeviceModel};
use crate::error::{Error, Result};
use crate::periphery::{max_reduction, needs_abs_weights, noise_scale, pcm_read_on};
use crate::pulsed::{
    capture_table, dense_factors, firing_threshold, float_update_with_captures, is_dense,
    plan_groups, plan_trains, redraw_write_noise, reset_value, PulseBatch, Pulsed,
    WRITE_NOISE_UPDATE,
};
use crate::rng::{normal_max, Purpose, Stream};
use buffers::{byte_size, encoder, read_back, storage_init, Scratch};
use context::GpuContext;
use kernels::{dispatch, grid, groups_of, Kernel, Params};
use rayon::prelude::*;
use std::sync::Arc;

/// Decay and diffusion rates on the GPU (a 4-byte placeholder where an effect is off).
struct DecayBuffers {
    decay_rate: wgpu::Buffer,
    reset_bias: wgpu::Buffer,
    diffusion_rate: wgpu::Buffer,
}

/// Rows `row0 .. row0 + rows` of one device array: its weights and per-device parameters.
struct Band {
    /// The visible weights of the array.
    weights: wgpu::Buffer,
    /// The persistent weights (write noise only).
    persistent: Option<wgpu::Buffer>,
    /// Δ⁺, Δ⁻, b_max, b_min as four planes (pulsed devices only).
    device: Option<wgpu::Buffer>,
    /// Linear-step slopes or power-step exponents, up then down; piecewise nodes (else a
    /// placeholder).
    slopes: wgpu::Buffer,
    reference: Option<wgpu::Buffer>,
    decay: Option<DecayBuffers>,
}

/// One device array on the GPU: the host copy of its device draws (fixed during training and
/// saved with the state) and its bands.
struct GpuArray {
    device: DeviceArray,
    seed: u64,
    bands: Vec<Band>,
    /// Which of decay (bit 0) and diffusion (bit 1) the devices have.
    decay_flags: u32,
}

/// A tile's state on a GPU. Tiles whose arrays exceed the storage binding limit are split into
/// bands of rows (the same split for every array).
pub struct GpuTile {
    ctx: Arc<GpuContext>,
    config: TileConfig,
    rows: usize,
    cols: usize,
    seed: u64,
    arrays: Vec<GpuArray>,
    /// (first row, rows) of each band.
    band_rows: Vec<(usize, usize)>,
    visible: Visible,
    /// Σ γ_k W_k per band (when the visible weight is a sum), and whether it is stale.
    sum: Vec<wgpu::Buffer>,
    dirty: bool,
    /// 4-byte stand-ins for absent bindings: read-only ones, and one per read-write binding (a
    /// buffer bound read-write cannot appear twice in one dispatch).
    placeholder: wgpu::Buffer,
    placeholder_apparent: wgpu::Buffer,
    placeholder_reads: wgpu::Buffer,
    limit: u64,
    scratch: Scratch,
}

/// The most rows of a `rows` x `cols` tile that one band may hold, after checking that the tile
/// fits the adapter: every index in u32 (the kernels' index type), one row of the widest
/// per-device binding (four planes of 4 bytes per device) within `limit`, and the workgroup
/// counts of the kernels within the adapter's limit per dimension.
///
/// # Errors
/// `Error::Backend` naming the size asked for and the limit it exceeds.
fn band_rows_limit(ctx: &GpuContext, rows: usize, cols: usize, limit: u64) -> Result<usize> {
    let adapter = &ctx.info.name;
    if rows == 0 || cols == 0 {
        return Err(Error::Backend(format!(
            "a {rows} x {cols} tile has no devices; the gpu backend needs at least one row and \
             one column"
        )));
    }
    for (what, n) in [("rows", rows), ("columns", cols)] {
        if u32::try_from(n).is_err() {
            return Err(Error::Backend(format!(
                "a tile of {n} {what} is beyond the gpu backend's 32-bit indices (at most {})",
                u32::MAX
            )));
        }
    }
    byte_size("tile", &[rows, cols, 4], 4)?;
    let row_bytes = cols as u64 * 16;
    if row_bytes > limit {
        return Err(Error::Backend(format!(
            "one row of {cols} devices needs {row_bytes} bytes in one GPU storage binding (four \
             planes of 4 bytes per device), but the adapter {adapter:?} allows {limit}; use \
             fewer columns or the cpu backend"
        )));
    }
    // Kernels over the devices launch ceil(cols / 64) x ceil(band rows / 4) workgroups.
    let groups = u64::from(ctx.limits.max_compute_workgroups_per_dimension);
    if cols.div_ceil(64) as u64 > groups {
        return Err(Error::Backend(format!(
            "{cols} columns need {} workgroups of 64, but the adapter {adapter:?} allows {groups} \
             per dimension; use fewer columns or the cpu backend",
            cols.div_ceil(64)
        )));
    }
    let per_band = (limit / row_bytes).min(groups * 4).max(1);
    Ok(usize::try_from(per_band).unwrap_or(usize::MAX))
}

/// Products with at most this many rows (vectors) use the GEMV kernel.
const GEMV_ROWS: usize = 8;

fn bytes(v: &[f32]) -> &[u8] {
    bytemuck::cast_slice(v)
}

/// Operands of the GEMM kernel: a buffer with (offset, row stride, column stride).
struct Operand<'a> {
    buffer: &'a wgpu::Buffer,
    offset: usize,
    row_stride: usize,
    col_stride: usize,
}

fn operand(
    buffer: &wgpu::Buffer,
    offset: usize,
    row_stride: usize,
    col_stride: usize,
) -> Operand<'_> {
    Operand {
        buffer,
        offset,
        row_stride,
        col_stride,
    }
}

impl GpuTile {
    pub fn new(
        config: TileConfig,
        rows: usize,
        cols: usize,
        seed: u64,
        visible: Visible,
    ) -> Result<Self> {
        let limit = buffers::binding_limit(&*context()?);
        Self::with_binding_limit(config, rows, cols, seed, visible, limit)
    }

    /// A tile whose storage bindings stay within `limit` bytes (at most the adapter's limit):
    /// weights and per-device arrays are split into bands of rows that fit.
    pub fn with_binding_limit(
        config: TileConfig,
        rows: usize,
        cols: usize,
        seed: u64,
        visible: Visible,
        limit: u64,
    ) -> Result<Self> {
        let ctx = context()?;
        let limit = limit.min(buffers::binding_limit(&ctx));
        let per_band = band_rows_limit(&ctx, rows, cols, limit)?;
        // The initial weights, allocated before the device arrays: a tile too large for the
        // host fails here with an error instead of aborting the process.
        let mut zeros: Vec<f32> = Vec::new();
        zeros.try_reserve_exact(rows * cols).map_err(|_| {
            Error::Backend(format!(
                "a {rows} x {cols} tile needs {} bytes of host memory per array, more than is \
                 available",
                rows * cols * 4
            ))
        })?;
        zeros.resize(rows * cols, 0.0);
        let placeholder = storage_init(&ctx, "placeholder", &[0u8; 4], limit)?;
        let placeholder_apparent = storage_init(&ctx, "placeholder", &[0u8; 4], limit)?;
        let placeholder_reads = storage_init(&ctx, "placeholder", &[0u8; 4], limit)?;
        let mut band_rows = Vec::new();
        let mut row0 = 0;
        while row0 < rows {
            let n = per_band.min(rows - row0);
            band_rows.push((row0, n));
            row0 += n;
        }
        let mut tile = Self {
            ctx,
            config,
            rows,
            cols,
            seed,
            arrays: Vec::new(),
            band_rows,
            visible,
            sum: Vec::new(),
            dirty: true,
            placeholder,
            placeholder_apparent,
            placeholder_reads,
            limit,
            scratch: Scratch::new(limit),
        };
        for (device, s) in build_device_arrays(&tile.config, rows, cols, seed)? {
            let array = tile.upload_array(device, s, &zeros, None)?;
            tile.arrays.push(array);
        }
        if let Visible::Sum(_) = tile.visible {
            for &(_, n) in &tile.band_rows {
                tile.sum.push(storage_init(
                    &tile.ctx,
                    "visible",
                    &vec![0u8; n * cols * 4],
                    limit,
                )?);
            }
        }
        // Submit the initial writes (see `upload`).
        tile.ctx.queue.submit([]);
        Ok(tile)
    }

    /// Uploads a device array's draws and weights into bands.
    fn upload_array(
        &self,
        device: DeviceArray,
        seed: u64,
        weights: &[f32],
        persistent: Option<&[f32]>,
    ) -> Result<GpuArray> {
        let (ctx, cols, limit) = (&self.ctx, self.cols, self.limit);
        let mut bands = Vec::new();
        for &(row0, rows) in &self.band_rows {
            let slice =
                |v: &[f32]| -> Vec<u8> { bytes(&v[row0 * cols..(row0 + rows) * cols]).to_vec() };
            let init = |label: &str, v: &[f32]| storage_init(ctx, label, &slice(v), limit);
            // Per-device shape of the step, up then down: linear-step slopes, power-step γ.
            let pair = |up: &[f32], down: &[f32]| -> Result<wgpu::Buffer> {
                let mut both = slice(up);
                both.extend(slice(down));
                storage_init(ctx, "slopes", &both, limit)
            };
            let slopes = match &device.model {
                DeviceModel::LinearStep(a) => pair(&a.slope_up, &a.slope_down)?,
                DeviceModel::PowStep(a) => pair(&a.gamma_up, &a.gamma_down)?,
                // The node curves are the same for every device: up nodes, then down nodes.
                DeviceModel::PiecewiseStep(a) => {
                    let nodes: Vec<f32> = a.nodes_up.iter().chain(&a.nodes_down).copied().collect();
                    storage_init(ctx, "piecewise nodes", bytes(&nodes), limit)?
                }
                _ => self.placeholder.clone(),
            };
            let planes = match device.model.steps() {
                Some(a) => {
                    let mut all = slice(&a.step_up);
                    all.extend(slice(&a.step_down));
                    all.extend(slice(&a.w_max));
                    all.extend(slice(&a.w_min));
                    Some(storage_init(ctx, "device", &all, limit)?)
                }
                None => None,
            };
            let optional = |label: &str, v: &[f32]| -> Result<wgpu::Buffer> {
                if v.is_empty() {
                    Ok(self.placeholder.clone())
                } else {
                    init(label, v)
                }
            };
            let decay = match &device.decay_diffusion {
                Some(dd) => Some(DecayBuffers {
                    decay_rate: optional("decay_rate", &dd.decay_rate)?,
                    reset_bias: optional("reset_bias", &dd.reset_bias)?,
                    diffusion_rate: optional("diffusion_rate", &dd.diffusion_rate)?,
                }),
                None => None,
            };
            let reference = if device.reference.is_empty() {
                None
            } else {
                Some(init("reference", &device.reference)?)
            };
            let persistent = match (device.has_write_noise(), persistent) {
                (true, Some(p)) => Some(init("persistent", p)?),
                (true, None) => Some(init("persistent", weights)?),
                (false, _) => None,
            };
            bands.push(Band {
                weights: init("weights", weights)?,
                persistent,
                device: planes,
                slopes,
                reference,
                decay,
            });
        }
        let decay_flags = device.decay_diffusion.as_ref().map_or(0, |dd| {
            u32::from(!dd.decay_rate.is_empty()) | (u32::from(!dd.diffusion_rate.is_empty()) << 1)
        });
        Ok(GpuArray {
            device,
            seed,
            bands,
            decay_flags,
        })
    }

    fn array(&self, k: usize) -> Result<&GpuArray> {
        self.arrays
            .get(k)
            .ok_or_else(|| Error::Backend(format!("no device array {k}")))
    }

    /// Reads one band buffer set of array `k` back: (visible, persistent).
    fn download(&self, k: usize) -> Result<(Vec<f32>, Option<Vec<f32>>)> {
        let a = self.array(k)?;
        let mut w = Vec::with_capacity(self.rows * self.cols);
        let mut p = a
            .device
            .has_write_noise()
            .then(|| Vec::with_capacity(self.rows * self.cols));
        for (band, &(_, rows)) in a.bands.iter().zip(&self.band_rows) {
            let n = rows * self.cols;
            w.extend(read_back::<f32>(
                &self.ctx,
                encoder(&self.ctx),
                &band.weights,
                n,
                None,
            )?);
            if let (Some(buffer), Some(p)) = (&band.persistent, p.as_mut()) {
                p.extend(read_back::<f32>(
                    &self.ctx,
                    encoder(&self.ctx),
                    buffer,
                    n,
                    None,
                )?);
            }
        }
        Ok((w, p))
    }

    /// Writes the visible (and persistent) weights of array `k`.
    fn upload(&mut self, k: usize, weights: &[f32], persistent: Option<&[f32]>) -> Result<()> {
        self.dirty = true;
        let cols = self.cols;
        let a = self.array(k)?;
        for (band, &(row0, rows)) in a.bands.iter().zip(&self.band_rows) {
            let part = |v: &[f32]| bytes(&v[row0 * cols..(row0 + rows) * cols]).to_vec();
            self.ctx
                .queue
                .write_buffer(&band.weights, 0, &part(weights));
            if let (Some(buffer), Some(p)) = (&band.persistent, persistent) {
                self.ctx.queue.write_buffer(buffer, 0, &part(p));
            }
        }
        // Flush the writes now: wgpu holds each write's staging copy until the next submission,
        // so a loop of writes alone (set_weights, restore) would otherwise grow without bound.
        self.ctx.queue.submit([]);
        Ok(())
    }

    /// The visible weights' band buffers (recombined first when stale).
    fn visible_bands(&mut self) -> Result<Vec<wgpu::Buffer>> {
        Ok(match &self.visible {
            Visible::Array(k) => self.arrays[*k]
                .bands
                .iter()
                .map(|b| b.weights.clone())
                .collect(),
            Visible::Sum(gammas) => {
                if self.dirty {
                    let mut enc = encoder(&self.ctx);
                    for (b, &(_, rows)) in self.band_rows.iter().enumerate() {
                        let len = (rows * self.cols) as u32;
                        let mut first = true;
                        for (a, &g) in self.arrays.iter().zip(gammas) {
                            if g == 0.0 {
                                continue;
                            }
                            let params = Params::default().u(len).f(g).u(u32::from(!first));
                            dispatch(
                                &self.ctx,
                                &mut enc,
                                Kernel::Axpy,
                                params,
                                &[&a.bands[b].weights, &self.sum[b]],
                                grid(len.div_ceil(256)),
                            )?;
                            first = false;
                        }
                        if first {
                            enc.clear_buffer(&self.sum[b], 0, None);
                        }
                    }
                    self.ctx.queue.submit([enc.finish()]);
                    self.dirty = false;
                }
                self.sum.clone()
            }
        })
    }

    /// `c[m, n] = alpha · a · b (+ c)` with C's rows `ldc` apart, see `gemm.wgsl`.
    #[allow(clippy::too_many_arguments)]
    fn gemm(
        &self,
        enc: &mut wgpu::CommandEncoder,
        [m, n, k]: [usize; 3],
        a: Operand<'_>,
        b: Operand<'_>,
        c: Operand<'_>,
        alpha: f32,
        accumulate: bool,
    ) -> Result<()> {
        let params = Params::default()
            .u(m as u32)
            .u(n as u32)
            .u(k as u32)
            .u(a.row_stride as u32)
            .u(a.col_stride as u32)
            .u(b.row_stride as u32)
            .u(b.col_stride as u32)
            .u(c.row_stride as u32)
            .f(alpha)
            .u(u32::from(accumulate))
            .u(a.offset as u32)
            .u(c.offset as u32);
        let buffers = [a.buffer, b.buffer, c.buffer];
        let columns = groups_of("product", n, 64)?;
        if m <= GEMV_ROWS {
            dispatch(
                &self.ctx,
                enc,
                Kernel::Gemv,
                params,
                &buffers,
                grid(columns),
            )
        } else {
            let groups = (columns, groups_of("product", m, 64)?);
            dispatch(&self.ctx, enc, Kernel::Gemm, params, &buffers, groups)
        }
    }

    /// `out[m, out_size] = input[m, in_size] · (Wᵀ when transposed, else W)`, band by band.
    fn analog_product(
        &self,
        enc: &mut wgpu::CommandEncoder,
        weights: &[wgpu::Buffer],
        input: &wgpu::Buffer,
        m: usize,
        out: &wgpu::Buffer,
        transposed: bool,
    ) -> Result<()> {
        self.scaled_product(enc, weights, input, m, out, transposed, 1.0)
    }

    /// `alpha ·` [`Self::analog_product`].
    #[allow(clippy::too_many_arguments)]
    fn scaled_product(
        &self,
        enc: &mut wgpu::CommandEncoder,
        weights: &[wgpu::Buffer],
        input: &wgpu::Buffer,
        m: usize,
        out: &wgpu::Buffer,
        transposed: bool,
        alpha: f32,
    ) -> Result<()> {
        let cols = self.cols;
        for (b, (w, &(row0, rows))) in weights.iter().zip(&self.band_rows).enumerate() {
            if transposed {
                // y[:, rows of the band] = x · W_bandᵀ (B[j, i] = W[i, j]).
                self.gemm(
                    enc,
                    [m, rows, cols],
                    operand(input, 0, cols, 1),
                    operand(w, 0, 1, cols),
                    operand(out, row0, self.rows, 1),
                    alpha,
                    false,
                )?;
            } else {
                // z = Σ_bands d[:, rows of the band] · W_band.
                self.gemm(
                    enc,
                    [m, cols, rows],
                    operand(input, row0, self.rows, 1),
                    operand(w, 0, cols, 1),
                    operand(out, 0, cols, 1),
                    alpha,
                    b > 0,
                )?;
            }
        }
        Ok(())
    }

    /// One dispatch of `analog_effects.wgsl` over `len` elements.
    #[allow(clippy::too_many_arguments)]
    fn effects_kernel(
        &self,
        enc: &mut wgpu::CommandEncoder,
        kind: u32,
        len: usize,
        in_size: usize,
        src: &wgpu::Buffer,
        other: &wgpu::Buffer,
        dst: &wgpu::Buffer,
    ) -> Result<()> {
        let params = Params::default().u(len as u32).u(kind).u(in_size as u32);
        dispatch(
            &self.ctx,
            enc,
            Kernel::AnalogEffects,
            params,
            &[src, other, dst],
            grid(groups_of("analog_effects", len, 256)?),
        )
    }

    /// |W| of each band of the visible weights (for IR drop and PCM read noise).
    fn abs_bands(
        &self,
        enc: &mut wgpu::CommandEncoder,
        weights: &[wgpu::Buffer],
    ) -> Result<Vec<wgpu::Buffer>> {
        let mut out = Vec::with_capacity(weights.len());
        for (w, &(_, rows)) in weights.iter().zip(&self.band_rows) {
            let len = rows * self.cols;
            let abs = self.ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("abs weights"),
                size: byte_size("abs weights", &[len], 4)?,
                usage: wgpu::BufferUsages::STORAGE,
                mapped_at_creation: false,
            });
            self.effects_kernel(enc, 0, len, 1, w, &self.placeholder, &abs)?;
            out.push(abs);
        }
        Ok(out)
    }

    /// IR drop applied to `analog` (the `m` products W u of this pass) and, with PCM read noise,
    /// the per-output sums Σ_j |w_ij| u_j² it returns; rust/periphery.rs `AnalogEffects` step
    /// for step (the formulas are documented there).
    #[allow(clippy::too_many_arguments)]
    fn analog_effects(
        &mut self,
        enc: &mut wgpu::CommandEncoder,
        io: &IoParameters,
        [weights, abs_weights]: [&[wgpu::Buffer]; 2],
        u: &wgpu::Buffer,
        [m, in_size, out_size]: [usize; 3],
        analog: &wgpu::Buffer,
        transposed: bool,
    ) -> Result<Option<wgpu::Buffer>> {
        let ctx = self.ctx.clone();
        let in_len = m * in_size;
        let out_len = m * out_size;
        let derived = self.scratch.get(
            &ctx,
            "effects_in",
            byte_size("effects_in", &[m, in_size], 4)?,
        )?;
        if io.ir_drop > 0.0 {
            let current = self.scratch.get(
                &ctx,
                "ir_current",
                byte_size("ir_current", &[m, out_size], 4)?,
            )?;
            let product = self.scratch.get(
                &ctx,
                "ir_product",
                byte_size("ir_product", &[m, out_size], 4)?,
            )?;
            let ph = &self.placeholder;
            self.effects_kernel(enc, 0, in_len, in_size, u, ph, &derived)?;
            let a_scale = in_size as f32 / io.ir_drop_g_ratio;
            self.scaled_product(enc, abs_weights, &derived, m, &current, transposed, a_scale)?;
            self.effects_kernel(enc, 1, in_len, in_size, u, ph, &derived)?;
            self.scaled_product(enc, weights, &derived, m, &product, transposed, io.ir_drop)?;
            self.effects_kernel(enc, 3, out_len, in_size, &current, &product, analog)?;
        }
        if !pcm_read_on(io) {
            return Ok(None);
        }
        let sums = self
            .scratch
            .get(&ctx, "pcm_sum", byte_size("pcm_sum", &[m, out_size], 4)?)?;
        self.effects_kernel(enc, 2, in_len, in_size, u, &self.placeholder, &derived)?;
        self.analog_product(enc, abs_weights, &derived, m, &sums, transposed)?;
        Ok(Some(sums))
    }

    /// The analog MVM with the periphery of `io` (rust/periphery.rs, step for step).
    #[allow(clippy::too_many_arguments)]
    fn mvm(
        &mut self,
        io: &IoParameters,
        input: &[f32],
        batch: usize,
        out: &mut [f32],
        transposed: bool,
        seed: u64,
        step: u32,
        bound_management: bool,
    ) -> Result<()> {
        if batch == 0 {
            // Nothing to compute (the cpu backend returns the empty result likewise); the tile
            // advances its counters either way.
            return Ok(());
        }
        let ctx = self.ctx.clone();
        let weights = self.visible_bands()?;
        let (in_size, out_size) = if transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        };
        let x = self.scratch.upload(&ctx, "input", bytes(input))?;
        let result =
            self.scratch
                .get(&ctx, "output", byte_size("output", &[batch, out_size], 4)?)?;
        let mut enc = encoder(&ctx);
        if io.exact() {
            self.analog_product(&mut enc, &weights, &x, batch, &result, transposed)?;
            let staging = self.scratch.staging(&ctx, (out.len() * 4) as u64);
            let data = read_back::<f32>(&ctx, enc, &result, out.len(), Some(staging))?;
            out.copy_from_slice(&data);
            return Ok(());
        }
        let alpha: Vec<f32> = input
            .par_chunks(in_size)
            .with_min_len((crate::periphery::PAR_ELEMENTS / in_size).max(1))
            .map(|row| noise_scale(io, row))
            .collect();
        let mut reduction = vec![1.0f32; batch];
        let iterative = bound_management
            && io.bound_management == BoundManagement::Iterative
            && io.out_bound > 0.0;
        let limit = max_reduction(io);
        let keys = [
            Stream::new(seed, Purpose::InputNoise).key(),
            Stream::new(seed, Purpose::InputRounding).key(),
            Stream::new(seed, Purpose::OutputNoise).key(),
            Stream::new(seed, Purpose::OutputRounding).key(),
        ];
        let inp_step = quantization_step(io.inp_res, io.inp_bound);
        let out_step = quantization_step(io.out_res, io.out_bound);
        let abs_weights = if needs_abs_weights(io) {
            Some(self.abs_bands(&mut enc, &weights)?)
        } else {
            None
        };
        let mut pending: Vec<u32> = (0..batch as u32).collect();
        let mut pass = 0u32;
        loop {
            let m = pending.len();
            let inv_scales: Vec<f32> = pending
                .iter()
                .map(|&n| {
                    let scale = alpha[n as usize] * reduction[n as usize];
                    if scale > 0.0 {
                        1.0 / scale
                    } else {
                        0.0
                    }
                })
                .collect();
            let pend = self
                .scratch
                .upload(&ctx, "pending", bytemuck::cast_slice(&pending))?;
            let inv = self
                .scratch
                .upload(&ctx, "inv_scales", bytes(&inv_scales))?;
            let u = self
                .scratch
                .get(&ctx, "dac", byte_size("dac", &[m, in_size], 4)?)?;
            let norm2 = self
                .scratch
                .get(&ctx, "norm2", byte_size("norm2", &[m], 4)?)?;
            let analog =
                self.scratch
                    .get(&ctx, "analog", byte_size("analog", &[m, out_size], 4)?)?;
            let saturated =
                self.scratch
                    .get(&ctx, "saturated", byte_size("saturated", &[m], 4)?)?;
            let flags = u32::from(inp_step > 0.0)
                | (u32::from(inp_step > 0.0 && io.inp_sto_round) << 1)
                | (u32::from(io.inp_noise > 0.0) << 2);
            let params = Params::default()
                .u(in_size as u32)
                .u(m as u32)
                .u(pass)
                .u(step)
                .u(flags)
                .f(io.inp_bound)
                .f(inp_step)
                .f(if inp_step > 0.0 { 1.0 / inp_step } else { 0.0 })
                .f(io.inp_noise)
                .key(keys[0])
                .key(keys[1]);
            dispatch(
                &ctx,
                &mut enc,
                Kernel::Dac,
                params,
                &[&x, &pend, &inv, &u, &norm2],
                grid(groups_of("dac", m, 1)?),
            )?;
            self.analog_product(&mut enc, &weights, &u, m, &analog, transposed)?;
            let pcm_sum = match &abs_weights {
                Some(abs_w) => self.analog_effects(
                    &mut enc,
                    io,
                    [&weights, abs_w],
                    &u,
                    [m, in_size, out_size],
                    &analog,
                    transposed,
                )?,
                None => None,
            };
            enc.clear_buffer(&saturated, 0, None);
            let bounded = io.out_bound > 0.0;
            let flags = u32::from(out_step > 0.0)
                | (u32::from(out_step > 0.0 && io.out_sto_round) << 1)
                | (u32::from(bounded) << 2)
                | (u32::from(io.bm_test_negative_bound) << 3);
            let flags = flags | (u32::from(pcm_sum.is_some()) << 4);
            let w_noise =
                if io.w_noise_type == WeightNoiseType::AdditiveConstant || pcm_sum.is_some() {
                    io.w_noise
                } else {
                    0.0
                };
            let params = Params::default()
                .u(out_size as u32)
                .u(m as u32)
                .u(pass)
                .u(step)
                .u(flags)
                .f(io.out_noise)
                .f(w_noise)
                .f(out_step)
                .f(if out_step > 0.0 { 1.0 / out_step } else { 0.0 })
                .f(if bounded { io.out_bound } else { f32::MAX })
                .key(keys[2])
                .key(keys[3]);
            let threads = m * out_size.div_ceil(8);
            dispatch(
                &ctx,
                &mut enc,
                Kernel::Adc,
                params,
                &[
                    &analog,
                    &pend,
                    &norm2,
                    &saturated,
                    &result,
                    pcm_sum.as_ref().unwrap_or(&self.placeholder),
                ],
                grid(groups_of("adc", threads, 64)?),
            )?;
            if !iterative {
                break;
            }
            // Bound management: read which vectors saturated, re-read those with half the input.
            let staging = self.scratch.staging(&ctx, (m * 4) as u64);
            let flags = read_back::<u32>(&ctx, enc, &saturated, m, Some(staging))?;
            enc = encoder(&ctx);
            let mut next = Vec::new();
            for (&n, &sat) in pending.iter().zip(&flags) {
                let n = n as usize;
                if sat != 0 && alpha[n] > 0.0 && reduction[n] <= limit {
                    reduction[n] *= 2.0;
                    next.push(n as u32);
                }
            }
            if next.is_empty() {
                break;
            }
            pending = next;
            pass += 1;
        }
        let factor: Vec<f32> = (0..batch)
            .map(|n| io.out_scale * alpha[n] * reduction[n])
            .collect();
        let factor = self.scratch.upload(&ctx, "factor", bytes(&factor))?;
        let params = Params::default().u(out_size as u32).u(batch as u32);
        dispatch(
            &ctx,
            &mut enc,
            Kernel::ScaleRows,
            params,
            &[&factor, &result],
            grid(groups_of("scale_rows", batch * out_size, 256)?),
        )?;
        let staging = self.scratch.staging(&ctx, (out.len() * 4) as u64);
        let data = read_back::<f32>(&ctx, enc, &result, out.len(), Some(staging))?;
        out.copy_from_slice(&data);
        Ok(())
    }

    /// Decay/diffusion (flags 1, 2) and clipping to the bounds (4) of array `k`, as selected.
    fn device_pass(
        &self,
        enc: &mut wgpu::CommandEncoder,
        k: usize,
        flags: u32,
        step: u32,
    ) -> Result<()> {
        let ph = &self.placeholder;
        let a = &self.arrays[k];
        for (band, &(row0, rows)) in a.bands.iter().zip(&self.band_rows) {
            let (dr, rb, df) = match &band.decay {
                Some(d) => (&d.decay_rate, &d.reset_bias, &d.diffusion_rate),
                None => (ph, ph, ph),
            };
            let device = band.device.as_ref().unwrap_or(ph);
            let (reference, with_reference) = match &band.reference {
                Some(r) => (r, 8),
                None => (ph, 0),
            };
            let params = Params::default()
                .u(rows as u32)
                .u(self.cols as u32)
                .u(step)
                .u(flags | with_reference)
                .key(Stream::new(a.seed, Purpose::Diffusion).key())
                .u(row0 as u32);
            let groups = ((self.cols as u32).div_ceil(64), (rows as u32).div_ceil(4));
            dispatch(
                &self.ctx,
                enc,
                Kernel::DecayDiffusion,
                params,
                &[&band.weights, dr, rb, df, device, reference],
                groups,
            )?;
        }
        Ok(())
    }

    fn pulsed_update(&mut self, u: &ArrayUpdate<'_>) -> Result<Vec<f32>> {
        let k = u.array;
        let device = &self.arrays[k].device;
        let Some(pulsed) = Pulsed::of(device) else {
            return Err(Error::Backend(
                "pulsed update without a pulsed device".into(),
            ));
        };
        // The model in bits 0-2 (0 constant step, applied in groups; 1 linear, 2 exp, 3 power,
        // 4 piecewise step, pulse by pulse), its options above (see pulse_apply.wgsl).
        let no_shape = crate::device::ExpShape {
            a_up: 0.0,
            a_down: 0.0,
            gamma_up: 0.0,
            gamma_down: 0.0,
            a: 0.0,
            b: 0.0,
            std_add: 0.0,
            std_slope: 0.0,
        };
        let (kind, shape) = match &device.model {
            DeviceModel::ConstantStep(_) => (0, no_shape),
            DeviceModel::LinearStep(a) => (
                1 | (u32::from(a.mult_noise) << 3) | (u32::from(a.allow_increasing) << 4),
                no_shape,
            ),
            DeviceModel::ExpStep(a) => (2 | (u32::from(a.shape.complex_noise()) << 5), a.shape),
            DeviceModel::PowStep(_) => (3, no_shape),
            DeviceModel::PiecewiseStep(_) => (4, no_shape),
            DeviceModel::FloatingPoint => unreachable!("checked above"),
        };
        let nodes = match &device.model {
            DeviceModel::PiecewiseStep(a) => a.nodes_up.len(),
            _ => 0,
        };
        let dw_min_std = pulsed.steps().dw_min_std;
        let sigma = pulsed.write_noise;
        let has_reference = !pulsed.reference.is_empty();
        let group_budget = pulsed.group_budget();
        let (rows, cols, batch) = (self.rows, self.cols, u.batch);
        let p = u.up;
        let input = PulseBatch {
            x: u.x,
            d: u.d,
            batch,
            rows,
            cols,
            lr: u.lr,
            granularity: u.granularity,
            seed: u.seed,
            noise_seed: u.noise_seed,
            step: u.step,
            polarity: u.polarity,
        };
        let plan = u.captures;
        let trains = plan_trains(p, &input);
        let max_bl = trains.iter().map(|t| t.bl).max().unwrap_or(0) as usize;
        if max_bl == 0 && plan.is_empty() {
            return Ok(Vec::new());
        }
        let ends = plan_groups(&trains, cols, group_budget);
        let step = u.step;
        let rounding = Stream::new(u.seed, Purpose::ProbabilityRounding);
        // Thresholds of every element of every vector, x's then d's; bit 31 marks a negative value.
        let side = |values: &[f32], width: usize, which: u32| -> Vec<u32> {
            let mut t = vec![0u32; batch * width];
            t.par_chunks_mut(width)
                .with_min_len((crate::periphery::PAR_ELEMENTS / width).max(1))
                .enumerate()
                .for_each(|(n, row)| {
                    let train = trains[n];
                    let scale = if which == 0 {
                        train.x_scale
                    } else {
                        train.d_scale
                    };
                    for (e, out) in row.iter_mut().enumerate() {
                        let v = values[n * width + e];
                        let th = firing_threshold(p, &rounding, step, scale, v, e, n, which);
                        *out = th | (u32::from(v < 0.0) << 31);
                    }
                });
            t
        };
        // Deterministic counts (MEAN_COUNT, DETERMINISTIC_IMPLICIT): no trains; the buffer holds
        // each element's signed factor instead (its sign bit is the same bit 31).
        let dense = is_dense(p.pulse_type);
        let thresholds: Vec<u32> = if dense {
            dense_factors(p, &input, &trains)
                .iter()
                .map(|f| f.to_bits())
                .collect()
        } else {
            let mut t = side(u.x, cols, 0);
            t.extend(side(u.d, rows, 1));
            t
        };
        let lengths: Vec<u32> = trains.iter().map(|t| t.bl).collect();
        let max_bl = max_bl.max(1);
        let words = max_bl.div_ceil(32);
        let mut longest = 0;
        let mut start = 0;
        // The reads of every group in one table: each group's part starts at its base.
        let keys = if plan.by_rows { rows } else { cols };
        let mut table: Vec<u32> = Vec::new();
        let mut bases = Vec::with_capacity(ends.len());
        for &end in &ends {
            longest = longest.max(end - start);
            bases.push(table.len() as u32);
            if !plan.is_empty() {
                table.extend(capture_table(plan, keys, start, end));
            }
            start = end;
        }
        let width = plan.width(rows, cols);
        let ctx = self.ctx.clone();
        let th = self
            .scratch
            .upload(&ctx, "thresholds", bytemuck::cast_slice(&thresholds))?;
        let bl = self
            .scratch
            .upload(&ctx, "train_lengths", bytemuck::cast_slice(&lengths))?;
        let bits = self.scratch.get(
            &ctx,
            "train_bits",
            byte_size("train_bits", &[longest, words, rows + cols], 4)?,
        )?;
        let (read_table, read_values) = if plan.is_empty() {
            (self.placeholder.clone(), self.placeholder_reads.clone())
        } else {
            let t = self
                .scratch
                .upload(&ctx, "read_table", bytemuck::cast_slice(&table))?;
            let v =
                self.scratch
                    .get(&ctx, "read_values", (plan.events.len() * width * 4) as u64)?;
            (t, v)
        };
        let x_key = Stream::new(u.seed, Purpose::XPulses).key();
        let d_key = Stream::new(u.seed, Purpose::DPulses).key();
        let noise_key = Stream::new(u.noise_seed, Purpose::PulseNoise).key();
        let replay_key = Stream::new(u.noise_seed, Purpose::PulseNoiseReplay).key();
        let write_key = Stream::new(u.noise_seed, Purpose::WriteNoise).key();
        let polarity = match u.polarity {
            crate::pulsed::Polarity::Both => 0,
            crate::pulsed::Polarity::UpOnly => 1,
            crate::pulsed::Polarity::DownAsUp => 2,
        };
        let options_base = polarity
            | (u32::from(sigma > 0.0) << 2)
            | (u32::from(has_reference) << 3)
            | (u32::from(plan.by_rows) << 5);
        let mut enc = encoder(&ctx);
        let mut start = 0;
        let a = &self.arrays[k];
        for (index, &end) in ends.iter().enumerate() {
            let len = end - start;
            let d_bits_offset = (len * words * cols) as u32;
            let sides = if dense {
                Vec::new()
            } else {
                vec![
                    (cols, x_key, 0u32, 0u32),
                    (rows, d_key, (batch * cols) as u32, d_bits_offset),
                ]
            };
            for (elements, key, th_offset, bits_offset) in sides {
                let params = Params::default()
                    .u(elements as u32)
                    .u(len as u32)
                    .u(words as u32)
                    .u(start as u32)
                    .u(step)
                    .key(key)
                    .u(th_offset)
                    .u(bits_offset);
                // One thread per octet of elements (they share each Philox evaluation).
                let threads = elements.div_ceil(crate::pulsed::OCTET) * len * words;
                dispatch(
                    &ctx,
                    &mut enc,
                    Kernel::PulseTrains,
                    params,
                    &[&th, &bl, &bits],
                    grid(groups_of("pulse_trains", threads, 64)?),
                )?;
            }
            let has_reads = !plan.is_empty()
                && plan
                    .events
                    .iter()
                    .any(|c| (start..end).contains(&(c.vector as usize)));
            let options = options_base | (u32::from(has_reads) << 4) | (u32::from(dense) << 6);
            for (band, &(row0, band_rows)) in a.bands.iter().zip(&self.band_rows) {
                let Some(planes) = &band.device else {
                    return Err(Error::Backend("device buffers missing".into()));
                };
                let (target, apparent) = match &band.persistent {
                    Some(persistent) => (persistent, &band.weights),
                    None => (&band.weights, &self.placeholder_apparent),
                };
                let reference = band.reference.as_ref().unwrap_or(&self.placeholder);
                let params = Params::default()
                    .u(rows as u32)
                    .u(cols as u32)
                    .u(len as u32)
                    .u(words as u32)
                    .u(start as u32)
                    .u(index as u32)
                    .u(step)
                    .u(u32::from(dw_min_std > 0.0))
                    .f(dw_min_std)
                    .f(normal_max())
                    .key(noise_key)
                    .key(replay_key)
                    .u((batch * cols) as u32)
                    .u(d_bits_offset)
                    .u(row0 as u32)
                    .u(band_rows as u32)
                    .u(kind)
                    .f(shape.a_up)
                    .f(shape.a_down)
                    .f(shape.gamma_up)
                    .f(shape.gamma_down)
                    .f(shape.a)
                    .f(shape.b)
                    .f(shape.std_add)
                    .f(shape.std_slope)
                    .u(nodes as u32)
                    .u(options)
                    .f(sigma)
                    .key(write_key)
                    .u(WRITE_NOISE_UPDATE)
                    .u(keys as u32)
                    .u(bases[index])
                    .u(width as u32);
                let groups = ((cols as u32).div_ceil(64), (band_rows as u32).div_ceil(4));
                dispatch(
                    &ctx,
                    &mut enc,
                    Kernel::PulseApply,
                    params,
                    &[
                        target,
                        &bits,
                        &th,
                        planes,
                        &band.slopes,
                        apparent,
                        reference,
                        &read_table,
                        &read_values,
                    ],
                    groups,
                )?;
            }
            start = end;
        }
        self.dirty = true;
        if plan.is_empty() {
            ctx.queue.submit([enc.finish()]);
            ctx.take_error()?;
            return Ok(Vec::new());
        }
        let n = plan.events.len() * width;
        let staging = self.scratch.staging(&ctx, byte_size("reads", &[n], 4)?);
        let data = read_back::<f32>(&ctx, enc, &read_values, n, Some(staging))?;
        ctx.take_error()?;
        Ok(data)
    }

    /// The exact update, on the GPU when nothing else is asked of it; with reads or write
    /// noise on the host (rare: exact updates of compound arrays).
    fn float_update(&mut self, u: &ArrayUpdate<'_>, clip: bool) -> Result<Vec<f32>> {
        let k = u.array;
        let a = &self.arrays[k];
        let simple = u.captures.is_empty()
            && !a.device.has_write_noise()
            && matches!(u.lr, crate::pulsed::Lr::Same(_));
        if !simple {
            let (mut w, mut p) = self.download(k)?;
            let device = &self.arrays[k].device;
            let target = p.as_mut().unwrap_or(&mut w);
            let reads =
                float_update_with_captures(target, self.rows, self.cols, u, clip.then_some(device));
            if let Some(p) = &p {
                let (sigma, seed) = (device.write_noise, self.arrays[k].seed);
                redraw_write_noise(&mut w, p, self.cols, sigma, seed, WRITE_NOISE_POST, u.step);
            }
            self.upload(k, &w, p.as_deref())?;
            return Ok(reads);
        }
        let lr = u.lr.at(0);
        let ctx = self.ctx.clone();
        let xb = self.scratch.upload(&ctx, "update_x", bytes(u.x))?;
        let db = self.scratch.upload(&ctx, "update_d", bytes(u.d))?;
        let mut enc = encoder(&ctx);
        // W[rows, cols] -= lr · dᵀ x: A = dᵀ (A[i, n] = d[n, i]), B = x; band by band.
        for (band, &(row0, rows)) in a.bands.iter().zip(&self.band_rows) {
            self.gemm(
                &mut enc,
                [rows, self.cols, u.batch],
                operand(&db, row0, 1, self.rows),
                operand(&xb, 0, self.cols, 1),
                operand(&band.weights, 0, self.cols, 1),
                -lr,
                true,
            )?;
        }
        if clip && a.device.bounds().is_some() {
            self.device_pass(&mut enc, k, 4, 0)?;
        }
        self.dirty = true;
        ctx.queue.submit([enc.finish()]);
        ctx.take_error()?;
        Ok(Vec::new())
    }
}

impl TileBackend for GpuTile {
    fn kind(&self) -> BackendKind {
        BackendKind::Gpu
    }

    fn forward(&mut self, x: &[f32], batch: usize, out: &mut [f32], step: u32) -> Result<()> {
        let io = self.config.forward.clone();
        self.mvm(&io, x, batch, out, true, self.seed, step, true)
    }

    fn backward(&mut self, d: &[f32], batch: usize, out: &mut [f32], step: u32) -> Result<()> {
        let io = self.config.backward.clone();
        let seed = self.seed ^ super::BACKWARD_SEED;
        self.mvm(&io, d, batch, out, false, seed, step, false)
    }

    fn update(&mut self, u: &ArrayUpdate<'_>) -> Result<Vec<f32>> {
        self.array(u.array)?;
        let pulse_type = u.up.pulse_type;
        let pulsed = self.arrays[u.array].device.model.steps().is_some();
        let pulses = !matches!(pulse_type, PulseType::None | PulseType::NoneWithDevice);
        if pulsed && pulses {
            self.pulsed_update(u)
        } else {
            self.float_update(u, pulse_type == PulseType::NoneWithDevice)
        }
    }

    fn post_update(&mut self, array: usize, step: u32) -> Result<()> {
        if self.array(array)?.device.decay_diffusion.is_none() {
            return Ok(());
        }
        self.dirty = true;
        let a = &self.arrays[array];
        if a.device.has_write_noise() {
            // Decay of the persistent weights, then new write noise: on the host (rare).
            let (mut w, p) = self.download(array)?;
            let mut p = p.expect("write noise keeps persistent weights");
            let a = &self.arrays[array];
            a.device.post_update(&mut p, self.cols, a.seed, step);
            let sigma = a.device.write_noise;
            redraw_write_noise(&mut w, &p, self.cols, sigma, a.seed, WRITE_NOISE_POST, step);
            return self.upload(array, &w, Some(&p));
        }
        let flags = a.decay_flags | (u32::from(a.device.bounds().is_some()) << 2);
        let mut enc = encoder(&self.ctx);
        self.device_pass(&mut enc, array, flags, step)?;
        self.ctx.queue.submit([enc.finish()]);
        self.ctx.take_error()
    }

    fn synchronize(&self) -> Result<()> {
        self.ctx.finish()
    }

    fn weights(&self, array: Option<usize>) -> Result<Vec<f32>> {
        match array {
            Some(k) => Ok(self.download(k)?.0),
            None => match &self.visible {
                Visible::Array(k) => Ok(self.download(*k)?.0),
                Visible::Sum(gammas) => {
                    // Combined on the host from the arrays (the same sum as the CPU's).
                    let mut out = vec![0.0f32; self.rows * self.cols];
                    for (k, &g) in gammas.iter().enumerate() {
                        if g != 0.0 {
                            for (o, w) in out.iter_mut().zip(self.download(k)?.0) {
                                *o += g * w;
                            }
                        }
                    }
                    Ok(out)
                }
            },
        }
    }

    fn persistent(&self, array: usize) -> Result<Option<Vec<f32>>> {
        Ok(self.download(array)?.1)
    }

    fn set_weights(&mut self, array: usize, weights: &[f32], event: u32) -> Result<()> {
        let a = self.array(array)?;
        let mut w = weights.to_vec();
        a.device.clip_weights(&mut w);
        if a.device.has_write_noise() {
            let p = w.clone();
            if a.device.write_noise_on_set {
                let sigma = a.device.write_noise;
                redraw_write_noise(&mut w, &p, self.cols, sigma, a.seed, WRITE_NOISE_SET, event);
            }
            return self.upload(array, &w, Some(&p));
        }
        self.upload(array, &w, None)
    }

    fn restore(&mut self, array: usize, visible: &[f32], persistent: Option<&[f32]>) -> Result<()> {
        let a = self.array(array)?;
        if persistent.is_some() && !a.device.has_write_noise() {
            return Err(Error::State(format!(
                "array {array}: persistent weights saved for devices without write noise"
            )));
        }
        self.upload(array, visible, persistent.or(Some(visible)))
    }

    fn reset_devices(
        &mut self,
        array: usize,
        indices: &[u32],
        event: u32,
        step: u32,
    ) -> Result<()> {
        // On the host (resets are rare): the same values as the CPU backend.
        let (mut w, mut p) = self.download(array)?;
        let a = &self.arrays[array];
        {
            let target = p.as_mut().unwrap_or(&mut w);
            for &i in indices {
                let i = i as usize;
                target[i] = reset_value(&a.device, i, a.seed, event, step);
            }
        }
        if let Some(p) = &p {
            let sigma = a.device.write_noise;
            redraw_write_noise(&mut w, p, self.cols, sigma, a.seed, WRITE_NOISE_RESET, step);
        }
        self.upload(array, &w, p.as_deref())
    }

    fn drift(&mut self, array: usize, delta_t: f32) -> Result<()> {
        if self.array(array)?.device.drift.is_none() {
            return Ok(());
        }
        // On the host (an explicit, rare call): the same values as the CPU backend.
        let (mut w, mut p) = self.download(array)?;
        let cols = self.cols;
        let a = &mut self.arrays[array];
        drift_on_host(
            &mut a.device,
            &mut w,
            p.as_deref_mut(),
            cols,
            a.seed,
            delta_t,
        );
        self.upload(array, &w, p.as_deref())
    }

    fn device_arrays(&self) -> Vec<(String, Vec<f32>)> {
        prefixed(self.arrays.iter().map(|a| &a.device))
    }

    fn load_device_arrays(&mut self, arrays: &[(String, Vec<f32>)]) -> Result<()> {
        let n = self.arrays.len();
        for k in 0..n {
            let (w, p) = self.download(k)?;
            let mut device = self.arrays[k].device.clone();
            device.load_arrays(&of_array(arrays, k, n))?;
            let seed = self.arrays[k].seed;
            self.arrays[k] = self.upload_array(device, seed, &w, p.as_deref())?;
        }
        self.dirty = true;
        self.ctx.queue.submit([]);
        Ok(())
    }
}

/// Philox blocks and their eight table normals computed by the GPU kernel, for tests against the
/// CPU implementation.
pub fn philox_on_gpu(counters: &[[u32; 4]], key: [u32; 2]) -> Result<(Vec<[u32; 4]>, Vec<f32>)> {
    let ctx = context()?;
    let n = counters.len();
    let limit = buffers::binding_limit(&ctx);
    let ctr = storage_init(&ctx, "counters", bytemuck::cast_slice(counters), limit)?;
    let blocks = storage_init(&ctx, "blocks", &vec![0u8; n * 16], limit)?;
    let normals = storage_init(&ctx, "normals", &vec![0u8; n * 32], limit)?;
    let mut enc = encoder(&ctx);
    let params = Params::default().u(n as u32).key(key);
    dispatch(
        &ctx,
        &mut enc,
        Kernel::PhiloxTest,
        params,
        &[&ctr, &blocks, &normals],
        (groups_of("philox_test", n, 64)?, 1),
    )?;
    ctx.queue.submit([enc.finish()]);
    let blocks = read_back::<[u32; 4]>(&ctx, encoder(&ctx), &blocks, n, None)?;
    let normals = read_back::<f32>(&ctx, encoder(&ctx), &normals, n * 8, None)?;
    Ok((blocks, normals))
}

/// Compiles every kernel and reports the first error (shader validation, pipeline creation).
pub fn compile_all() -> Result<()> {
    let ctx = context()?;
    ctx.take_error()?;
    for k in kernels::ALL {
        ctx.pipeline(k);
        ctx.finish().map_err(|e| {
            Error::Backend(format!("kernel {}: {e}", kernels::KERNELS[k as usize].name))
        })?;
    }
    Ok(())
}

impl GpuTile {
    /// Number of row bands the tile is split into (1 unless it exceeds the binding limit).
    pub fn band_count(&self) -> usize {
        self.band_rows.len()
    }
}
