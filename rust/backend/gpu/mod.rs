//! The wgpu backend: the tile's weights and per-device parameters live in GPU buffers; x, d and
//! the outputs are the only data that move per call. Every kernel evaluates the same Philox
//! counters as the CPU backend, so integer decisions (pulse trains, coincidence counts) are
//! bit-identical and floating-point results agree to rounding.

mod buffers;
mod context;
mod kernels;

pub use buffers::BINDING_LIMIT_ENV;
pub use context::{context, describe, ADAPTER_ENV};

use super::{BackendKind, TileBackend};
use crate::config::quantization_step;
use crate::config::{BoundManagement, IoParameters, PulseType, TileConfig, WeightNoiseType};
use crate::device::{DeviceArray, DeviceModel};
use crate::error::{Error, Result};
use crate::periphery::{max_reduction, noise_scale};
use crate::pulsed::{firing_threshold, plan_groups, plan_trains, PulseBatch};
use crate::rng::{normal_max, Purpose, Stream};
use buffers::{encoder, read_back, storage_init, Scratch};
use context::GpuContext;
use kernels::{dispatch, grid, Kernel, Params};
use rayon::prelude::*;
use std::sync::Arc;

/// Per-device parameters of a constant-step array, on the GPU.
struct StepBuffers {
    step_up: wgpu::Buffer,
    step_down: wgpu::Buffer,
    w_max: wgpu::Buffer,
    w_min: wgpu::Buffer,
    /// Linear-step slopes of the band, s⁺ then s⁻ (a placeholder for constant steps).
    slopes: wgpu::Buffer,
}

/// Decay and diffusion rates on the GPU (a 4-byte placeholder where an effect is off).
struct DecayBuffers {
    decay_rate: wgpu::Buffer,
    reset_bias: wgpu::Buffer,
    diffusion_rate: wgpu::Buffer,
}

/// Rows `row0 .. row0 + rows` of a tile: their weights and per-device parameters. A tile is one
/// band unless its arrays exceed the adapter's storage binding limit.
struct Band {
    row0: usize,
    rows: usize,
    weights: wgpu::Buffer,
    steps: Option<StepBuffers>,
    decay: Option<DecayBuffers>,
}

/// A tile's state on a GPU.
pub struct GpuTile {
    ctx: Arc<GpuContext>,
    config: TileConfig,
    rows: usize,
    cols: usize,
    seed: u64,
    /// Host copy of the device-to-device draws (fixed during training; saved with the state).
    device: DeviceArray,
    bands: Vec<Band>,
    /// Which of decay (bit 0) and diffusion (bit 1) the devices have.
    decay_flags: u32,
    placeholder: wgpu::Buffer,
    limit: u64,
    scratch: Scratch,
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
    pub fn new(config: TileConfig, rows: usize, cols: usize, seed: u64) -> Result<Self> {
        let limit = buffers::binding_limit(&*context()?);
        Self::with_binding_limit(config, rows, cols, seed, limit)
    }

    /// A tile whose storage bindings stay within `limit` bytes (at most the adapter's limit):
    /// weights and per-device arrays are split into bands of rows that fit.
    pub fn with_binding_limit(
        config: TileConfig,
        rows: usize,
        cols: usize,
        seed: u64,
        limit: u64,
    ) -> Result<Self> {
        let ctx = context()?;
        let limit = limit.min(buffers::binding_limit(&ctx));
        let device = DeviceArray::build(&config.device, rows, cols, seed);
        let placeholder = storage_init(&ctx, "placeholder", &[0u8; 4], limit)?;
        let mut tile = Self {
            ctx,
            config,
            rows,
            cols,
            seed,
            device,
            bands: Vec::new(),
            decay_flags: 0,
            placeholder,
            limit,
            scratch: Scratch::new(limit),
        };
        tile.upload_device(&vec![0.0; rows * cols])?;
        Ok(tile)
    }

    /// Splits the rows into bands within the binding limit and uploads the weights and the
    /// host's per-device arrays into them.
    fn upload_device(&mut self, weights: &[f32]) -> Result<()> {
        let (ctx, cols, limit) = (&self.ctx, self.cols, self.limit);
        // Linear-step slopes hold two values per device in one binding.
        let per_device = if matches!(
            self.device.model,
            DeviceModel::LinearStep(_) | DeviceModel::PowStep(_)
        ) {
            8
        } else {
            4
        };
        let per_band = (limit / (cols as u64 * per_device)).max(1) as usize;
        let slice = |v: &[f32], r0: usize, n: usize| -> Vec<u8> {
            bytes(&v[r0 * cols..(r0 + n) * cols]).to_vec()
        };
        let mut bands = Vec::new();
        let mut row0 = 0;
        while row0 < self.rows {
            let rows = per_band.min(self.rows - row0);
            let init =
                |label: &str, v: &[f32]| storage_init(ctx, label, &slice(v, row0, rows), limit);
            // Per-device shape of the step, up then down: linear-step slopes, power-step γ.
            let pair = |up: &[f32], down: &[f32]| -> Result<wgpu::Buffer> {
                let mut both = slice(up, row0, rows);
                both.extend(slice(down, row0, rows));
                storage_init(ctx, "slopes", &both, limit)
            };
            let slopes = match &self.device.model {
                DeviceModel::LinearStep(a) => pair(&a.slope_up, &a.slope_down)?,
                DeviceModel::PowStep(a) => pair(&a.gamma_up, &a.gamma_down)?,
                // The node curves are the same for every device: up nodes, then down nodes.
                DeviceModel::PiecewiseStep(a) => {
                    let nodes: Vec<f32> = a.nodes_up.iter().chain(&a.nodes_down).copied().collect();
                    storage_init(ctx, "piecewise nodes", bytes(&nodes), limit)?
                }
                _ => self.placeholder.clone(),
            };
            let steps = match self.device.model.steps() {
                Some(a) => Some(StepBuffers {
                    step_up: init("step_up", &a.step_up)?,
                    step_down: init("step_down", &a.step_down)?,
                    w_max: init("w_max", &a.w_max)?,
                    w_min: init("w_min", &a.w_min)?,
                    slopes,
                }),
                None => None,
            };
            let optional = |label: &str, v: &[f32]| -> Result<wgpu::Buffer> {
                if v.is_empty() {
                    Ok(self.placeholder.clone())
                } else {
                    init(label, v)
                }
            };
            let decay = match &self.device.decay_diffusion {
                Some(dd) => Some(DecayBuffers {
                    decay_rate: optional("decay_rate", &dd.decay_rate)?,
                    reset_bias: optional("reset_bias", &dd.reset_bias)?,
                    diffusion_rate: optional("diffusion_rate", &dd.diffusion_rate)?,
                }),
                None => None,
            };
            bands.push(Band {
                row0,
                rows,
                weights: init("weights", weights)?,
                steps,
                decay,
            });
            row0 += rows;
        }
        self.bands = bands;
        self.decay_flags = self.device.decay_diffusion.as_ref().map_or(0, |dd| {
            u32::from(!dd.decay_rate.is_empty()) | (u32::from(!dd.diffusion_rate.is_empty()) << 1)
        });
        Ok(())
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
    ) {
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
        if m <= GEMV_ROWS {
            let groups = grid((n as u32).div_ceil(64));
            dispatch(&self.ctx, enc, Kernel::Gemv, params, &buffers, groups);
        } else {
            let groups = ((n as u32).div_ceil(64), (m as u32).div_ceil(64));
            dispatch(&self.ctx, enc, Kernel::Gemm, params, &buffers, groups);
        }
    }

    /// `out[m, out_size] = input[m, in_size] · (Wᵀ when transposed, else W)`, band by band.
    fn analog_product(
        &self,
        enc: &mut wgpu::CommandEncoder,
        input: &wgpu::Buffer,
        m: usize,
        out: &wgpu::Buffer,
        transposed: bool,
    ) {
        let cols = self.cols;
        for (b, band) in self.bands.iter().enumerate() {
            if transposed {
                // y[:, rows of the band] = x · W_bandᵀ (B[j, i] = W[i, j]).
                self.gemm(
                    enc,
                    [m, band.rows, cols],
                    operand(input, 0, cols, 1),
                    operand(&band.weights, 0, 1, cols),
                    operand(out, band.row0, self.rows, 1),
                    1.0,
                    false,
                );
            } else {
                // z = Σ_bands d[:, rows of the band] · W_band.
                self.gemm(
                    enc,
                    [m, cols, band.rows],
                    operand(input, band.row0, self.rows, 1),
                    operand(&band.weights, 0, cols, 1),
                    operand(out, 0, cols, 1),
                    1.0,
                    b > 0,
                );
            }
        }
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
        let ctx = self.ctx.clone();
        let (in_size, out_size) = if transposed {
            (self.cols, self.rows)
        } else {
            (self.rows, self.cols)
        };
        let x = self.scratch.upload(&ctx, "input", bytes(input))?;
        let result = self
            .scratch
            .get(&ctx, "output", (batch * out_size * 4) as u64)?;
        let mut enc = encoder(&ctx);
        if io.exact() {
            self.analog_product(&mut enc, &x, batch, &result, transposed);
            let staging = self.scratch.staging(&ctx, (out.len() * 4) as u64);
            let data = read_back(&ctx, enc, &result, (out.len() * 4) as u64, Some(staging))?;
            out.copy_from_slice(bytemuck::cast_slice(&data));
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
            let u = self.scratch.get(&ctx, "dac", (m * in_size * 4) as u64)?;
            let norm2 = self.scratch.get(&ctx, "norm2", (m * 4) as u64)?;
            let analog = self
                .scratch
                .get(&ctx, "analog", (m * out_size * 4) as u64)?;
            let saturated = self.scratch.get(&ctx, "saturated", (m * 4) as u64)?;
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
                grid(m as u32),
            );
            self.analog_product(&mut enc, &u, m, &analog, transposed);
            enc.clear_buffer(&saturated, 0, None);
            let bounded = io.out_bound > 0.0;
            let flags = u32::from(out_step > 0.0)
                | (u32::from(out_step > 0.0 && io.out_sto_round) << 1)
                | (u32::from(bounded) << 2)
                | (u32::from(io.bm_test_negative_bound) << 3);
            let w_noise = if io.w_noise_type == WeightNoiseType::AdditiveConstant {
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
            let threads = (m * out_size.div_ceil(8)) as u32;
            dispatch(
                &ctx,
                &mut enc,
                Kernel::Adc,
                params,
                &[&analog, &pend, &norm2, &saturated, &result],
                grid(threads.div_ceil(64)),
            );
            if !iterative {
                break;
            }
            // Bound management: read which vectors saturated, re-read those with half the input.
            let staging = self.scratch.staging(&ctx, (m * 4) as u64);
            let flags = read_back(&ctx, enc, &saturated, (m * 4) as u64, Some(staging))?;
            enc = encoder(&ctx);
            let flags: &[u32] = bytemuck::cast_slice(&flags);
            let mut next = Vec::new();
            for (&n, &sat) in pending.iter().zip(flags) {
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
        let threads = (batch * out_size) as u32;
        dispatch(
            &ctx,
            &mut enc,
            Kernel::ScaleRows,
            params,
            &[&factor, &result],
            grid(threads.div_ceil(256)),
        );
        let staging = self.scratch.staging(&ctx, (out.len() * 4) as u64);
        let data = read_back(&ctx, enc, &result, (out.len() * 4) as u64, Some(staging))?;
        out.copy_from_slice(bytemuck::cast_slice(&data));
        Ok(())
    }

    /// Decay/diffusion (flags 1, 2) and clipping to the bounds (4), as selected.
    fn device_pass(&self, enc: &mut wgpu::CommandEncoder, flags: u32, step: u32) {
        let ph = &self.placeholder;
        for band in &self.bands {
            let (dr, rb, df) = match &band.decay {
                Some(d) => (&d.decay_rate, &d.reset_bias, &d.diffusion_rate),
                None => (ph, ph, ph),
            };
            let (lo, hi) = match &band.steps {
                Some(s) => (&s.w_min, &s.w_max),
                None => (ph, ph),
            };
            let params = Params::default()
                .u(band.rows as u32)
                .u(self.cols as u32)
                .u(step)
                .u(flags)
                .key(Stream::new(self.seed, Purpose::Diffusion).key())
                .u(band.row0 as u32);
            let groups = (
                (self.cols as u32).div_ceil(64),
                (band.rows as u32).div_ceil(4),
            );
            dispatch(
                &self.ctx,
                enc,
                Kernel::DecayDiffusion,
                params,
                &[&band.weights, dr, rb, df, lo, hi],
                groups,
            );
        }
    }

    fn pulsed_update(
        &mut self,
        x: &[f32],
        d: &[f32],
        batch: usize,
        lr: f32,
        step: u32,
    ) -> Result<()> {
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
        let (array, kind, shape) = match &self.device.model {
            DeviceModel::ConstantStep(a) => (a, 0, no_shape),
            DeviceModel::LinearStep(a) => (
                &a.base,
                1 | (u32::from(a.mult_noise) << 3) | (u32::from(a.allow_increasing) << 4),
                no_shape,
            ),
            DeviceModel::ExpStep(a) => (
                &a.base,
                2 | (u32::from(a.shape.complex_noise()) << 5),
                a.shape,
            ),
            DeviceModel::PowStep(a) => (&a.base, 3, no_shape),
            DeviceModel::PiecewiseStep(a) => (&a.base, 4, no_shape),
            DeviceModel::FloatingPoint => {
                return Err(Error::Backend(
                    "pulsed update without a pulsed device".into(),
                ))
            }
        };
        let nodes = match &self.device.model {
            DeviceModel::PiecewiseStep(a) => a.nodes_up.len(),
            _ => 0,
        };
        let (rows, cols) = (self.rows, self.cols);
        let p = &self.config.update;
        let input = PulseBatch {
            x,
            d,
            batch,
            rows,
            cols,
            lr,
            seed: self.seed,
            step,
        };
        let trains = plan_trains(p, &input, array.dw_min);
        let max_bl = trains.iter().map(|t| t.bl).max().unwrap_or(0) as usize;
        if max_bl == 0 {
            return Ok(());
        }
        let ends = plan_groups(&trains, cols, array.group_budget);
        let rounding = Stream::new(self.seed, Purpose::ProbabilityRounding);
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
        let mut thresholds = side(x, cols, 0);
        thresholds.extend(side(d, rows, 1));
        let lengths: Vec<u32> = trains.iter().map(|t| t.bl).collect();
        let words = max_bl.div_ceil(32);
        let mut longest = 0;
        let mut start = 0;
        for &end in &ends {
            longest = longest.max(end - start);
            start = end;
        }
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
            (longest * words * (rows + cols) * 4) as u64,
        )?;
        let x_key = Stream::new(self.seed, Purpose::XPulses).key();
        let d_key = Stream::new(self.seed, Purpose::DPulses).key();
        let noise_key = Stream::new(self.seed, Purpose::PulseNoise).key();
        let replay_key = Stream::new(self.seed, Purpose::PulseNoiseReplay).key();
        let mut enc = encoder(&ctx);
        let mut start = 0;
        for (index, &end) in ends.iter().enumerate() {
            let len = end - start;
            let d_bits_offset = (len * words * cols) as u32;
            for (elements, key, th_offset, bits_offset) in [
                (cols, x_key, 0u32, 0u32),
                (rows, d_key, (batch * cols) as u32, d_bits_offset),
            ] {
                let params = Params::default()
                    .u(elements as u32)
                    .u(len as u32)
                    .u(words as u32)
                    .u(start as u32)
                    .u(step)
                    .key(key)
                    .u(th_offset)
                    .u(bits_offset);
                let threads = (elements * len * words) as u32;
                dispatch(
                    &ctx,
                    &mut enc,
                    Kernel::PulseTrains,
                    params,
                    &[&th, &bl, &bits],
                    grid(threads.div_ceil(64)),
                );
            }
            for band in &self.bands {
                let Some(steps) = &band.steps else {
                    return Err(Error::Backend("constant-step buffers missing".into()));
                };
                let params = Params::default()
                    .u(rows as u32)
                    .u(cols as u32)
                    .u(len as u32)
                    .u(words as u32)
                    .u(start as u32)
                    .u(index as u32)
                    .u(step)
                    .u(u32::from(array.dw_min_std > 0.0))
                    .f(array.dw_min_std)
                    .f(normal_max())
                    .key(noise_key)
                    .key(replay_key)
                    .u((batch * cols) as u32)
                    .u(d_bits_offset)
                    .u(band.row0 as u32)
                    .u(band.rows as u32)
                    .u(kind)
                    .f(shape.a_up)
                    .f(shape.a_down)
                    .f(shape.gamma_up)
                    .f(shape.gamma_down)
                    .f(shape.a)
                    .f(shape.b)
                    .f(shape.std_add)
                    .f(shape.std_slope)
                    .u(nodes as u32);
                let groups = ((cols as u32).div_ceil(64), (band.rows as u32).div_ceil(4));
                dispatch(
                    &ctx,
                    &mut enc,
                    Kernel::PulseApply,
                    params,
                    &[
                        &band.weights,
                        &bits,
                        &th,
                        &steps.step_up,
                        &steps.step_down,
                        &steps.w_max,
                        &steps.w_min,
                        &steps.slopes,
                    ],
                    groups,
                );
            }
            start = end;
        }
        ctx.queue.submit([enc.finish()]);
        ctx.take_error()
    }

    fn has_bounds(&self) -> bool {
        self.device.bounds().is_some()
    }

    fn float_update(
        &mut self,
        x: &[f32],
        d: &[f32],
        batch: usize,
        lr: f32,
        clip: bool,
    ) -> Result<()> {
        let ctx = self.ctx.clone();
        let xb = self.scratch.upload(&ctx, "update_x", bytes(x))?;
        let db = self.scratch.upload(&ctx, "update_d", bytes(d))?;
        let mut enc = encoder(&ctx);
        // W[rows, cols] -= lr · dᵀ x: A = dᵀ (A[i, n] = d[n, i]), B = x; band by band.
        for band in &self.bands {
            self.gemm(
                &mut enc,
                [band.rows, self.cols, batch],
                operand(&db, band.row0, 1, self.rows),
                operand(&xb, 0, self.cols, 1),
                operand(&band.weights, 0, self.cols, 1),
                -lr,
                true,
            );
        }
        if clip && self.has_bounds() {
            self.device_pass(&mut enc, 4, 0);
        }
        ctx.queue.submit([enc.finish()]);
        ctx.take_error()
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

    fn update(&mut self, x: &[f32], d: &[f32], batch: usize, lr: f32, step: u32) -> Result<()> {
        let pulse_type = self.config.update.pulse_type;
        match &self.device.model {
            DeviceModel::ConstantStep(_)
            | DeviceModel::LinearStep(_)
            | DeviceModel::ExpStep(_)
            | DeviceModel::PowStep(_)
            | DeviceModel::PiecewiseStep(_)
                if pulse_type == PulseType::StochasticCompressed =>
            {
                self.pulsed_update(x, d, batch, lr, step)
            }
            _ => self.float_update(x, d, batch, lr, pulse_type == PulseType::NoneWithDevice),
        }
    }

    fn post_update(&mut self, step: u32) -> Result<()> {
        if self.device.decay_diffusion.is_none() {
            return Ok(());
        }
        let flags = self.decay_flags | (u32::from(self.has_bounds()) << 2);
        let mut enc = encoder(&self.ctx);
        self.device_pass(&mut enc, flags, step);
        self.ctx.queue.submit([enc.finish()]);
        self.ctx.take_error()
    }

    fn synchronize(&self) -> Result<()> {
        self.ctx.finish()
    }

    fn weights(&self) -> Result<Vec<f32>> {
        let mut w = Vec::with_capacity(self.rows * self.cols);
        for band in &self.bands {
            let n = (band.rows * self.cols * 4) as u64;
            let data = read_back(&self.ctx, encoder(&self.ctx), &band.weights, n, None)?;
            w.extend_from_slice(bytemuck::cast_slice(&data));
        }
        Ok(w)
    }

    fn set_weights(&mut self, weights: &[f32]) -> Result<()> {
        let mut w = weights.to_vec();
        self.device.clip_weights(&mut w);
        for band in &self.bands {
            let part = &w[band.row0 * self.cols..(band.row0 + band.rows) * self.cols];
            self.ctx.queue.write_buffer(&band.weights, 0, bytes(part));
        }
        Ok(())
    }

    fn device_arrays(&self) -> Vec<(String, Vec<f32>)> {
        self.device.named_arrays()
    }

    fn load_device_arrays(&mut self, arrays: &[(String, Vec<f32>)]) -> Result<()> {
        let weights = self.weights()?;
        self.device.load_arrays(arrays)?;
        self.upload_device(&weights)
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
        ((n as u32).div_ceil(64), 1),
    );
    ctx.queue.submit([enc.finish()]);
    let b = read_back(&ctx, encoder(&ctx), &blocks, (n * 16) as u64, None)?;
    let z = read_back(&ctx, encoder(&ctx), &normals, (n * 32) as u64, None)?;
    let words: &[u32] = bytemuck::cast_slice(&b);
    Ok((
        words.chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect(),
        bytemuck::cast_slice(&z).to_vec(),
    ))
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
        self.bands.len()
    }
}
