//! Forward/backward periphery of an analog MVM (reference §2): noise management, DAC, the analog
//! product with IR drop, weight and output noise, ADC, iterative bound management and rescaling.
//!
//! Every vector of a batch is independent; its random numbers are indexed by
//! (vector, bound-management pass, element), so the result does not depend on threading.

use crate::config::{
    quantization_step, BoundManagement, IoParameters, NoiseManagement, WeightNoiseType,
};
use crate::gemm::{matmul, MatRef};
use crate::numeric;
use crate::pulsed::has_wide_lanes;
use crate::rng::{normal_table, NormalTable, Purpose, Stream};
use rayon::prelude::*;

/// Elements per parallel task at least (smaller jobs cost more to hand to rayon than to run).
pub const PAR_ELEMENTS: usize = 8192;

/// Reusable buffers of one tile direction (no allocation once sizes are known).
#[derive(Default, Clone, Debug)]
pub struct MvmScratch {
    dac: Vec<f32>,
    alpha: Vec<f32>,
    reduction: Vec<f32>,
    norm2: Vec<f32>,
    saturated: Vec<bool>,
    pending: Vec<usize>,
    sub_in: Vec<f32>,
    sub_out: Vec<f32>,
    /// |W| in the layout of the weights (IR drop and PCM read noise only).
    abs_weights: Vec<f32>,
    /// Per-vector inputs derived from the DAC output (|u|, u·position weight, u²).
    derived_in: Vec<f32>,
    /// Per-output IR-drop current term a_i, then the PCM read-noise sum Σ_j |w_ij| u_j².
    current: Vec<f32>,
    /// Per-output position-weighted product of the IR drop.
    ir_product: Vec<f32>,
    /// Σ_j |w_ij| u_j² per output of the current pass (PCM read noise).
    pcm_sum: Vec<f32>,
}

/// Random streams of one MVM call.
struct Noise {
    input: Stream,
    input_round: Stream,
    output: Stream,
    output_round: Stream,
    step: u32,
    table: &'static NormalTable,
}

/// Settings of one direction, derived once per call.
struct Settings<'a> {
    io: &'a IoParameters,
    inp_step: f32,
    out_step: f32,
    out_bound: f32,
    max_reduction: f32,
    /// DAC and ADC compiled for AVX-512 (see [`crate::pulsed::has_wide_lanes`]).
    wide: bool,
}

/// `out[n, :] = periphery(Wᵀ-view · x[n, :])` for a batch of `batch` vectors.
///
/// `weights` is seen as `in_size × out_size` (the forward pass passes Wᵀ, the backward pass W).
/// `bound_management` is false for the backward pass (the reference forces it off there).
#[allow(clippy::too_many_arguments)]
pub fn analog_mvm(
    io: &IoParameters,
    weights: MatRef<'_>,
    x: &[f32],
    batch: usize,
    out: &mut [f32],
    seed: u64,
    step: u32,
    bound_management: bool,
    scratch: &mut MvmScratch,
) {
    let (in_size, out_size) = (weights.rows, weights.cols);
    debug_assert_eq!(x.len(), batch * in_size);
    debug_assert_eq!(out.len(), batch * out_size);
    if io.exact() {
        matmul(out, MatRef::row_major(x, batch, in_size), weights, 1.0, 0.0);
        return;
    }
    let settings = Settings {
        io,
        inp_step: quantization_step(io.inp_res, io.inp_bound),
        out_step: quantization_step(io.out_res, io.out_bound),
        out_bound: if io.out_bound > 0.0 {
            io.out_bound
        } else {
            f32::INFINITY
        },
        max_reduction: max_reduction(io),
        wide: has_wide_lanes(),
    };
    let noise = Noise {
        input: Stream::new(seed, Purpose::InputNoise),
        input_round: Stream::new(seed, Purpose::InputRounding),
        output: Stream::new(seed, Purpose::OutputNoise),
        output_round: Stream::new(seed, Purpose::OutputRounding),
        step,
        table: normal_table(),
    };
    let s = scratch;
    s.alpha.clear();
    s.alpha
        .extend(x.chunks_exact(in_size).map(|row| noise_scale(io, row)));
    s.reduction.clear();
    s.reduction.resize(batch, 1.0);
    s.norm2.clear();
    s.norm2.resize(batch, 0.0);
    s.saturated.clear();
    s.saturated.resize(batch, false);
    s.dac.resize(batch * in_size, 0.0);

    // Pass 0: every vector at reduction 1.
    let min_len = (PAR_ELEMENTS / in_size.max(out_size)).max(1);
    s.dac
        .par_chunks_mut(in_size)
        .zip(s.norm2.par_iter_mut())
        .with_min_len(min_len)
        .enumerate()
        .for_each(|(n, (u, norm2))| {
            let xr = &x[n * in_size..(n + 1) * in_size];
            *norm2 = dac(&settings, &noise, xr, s.alpha[n], u, n as u32, 0);
        });
    matmul(
        out,
        MatRef::row_major(&s.dac, batch, in_size),
        weights,
        1.0,
        0.0,
    );
    let abs_weights = if needs_abs_weights(io) {
        s.abs_weights.clear();
        s.abs_weights.extend(weights.data.iter().map(|w| w.abs()));
        Some(MatRef {
            data: &s.abs_weights,
            ..weights
        })
    } else {
        None
    };
    let mut effects = AnalogEffects {
        io,
        weights,
        abs_weights,
        derived_in: &mut s.derived_in,
        current: &mut s.current,
        ir_product: &mut s.ir_product,
    };
    effects.apply(&s.dac, batch, out, &mut s.pcm_sum);
    let pcm = &s.pcm_sum;
    out.par_chunks_mut(out_size)
        .zip(s.saturated.par_iter_mut())
        .with_min_len(min_len)
        .enumerate()
        .for_each(|(n, (v, sat))| {
            let pcm_n = pcm_row(pcm, n, out_size);
            *sat = adc(&settings, &noise, v, s.norm2[n], pcm_n, n as u32, 0);
        });

    // Iterative bound management: re-read saturated vectors with the input halved.
    let iterative = bound_management
        && io.bound_management == BoundManagement::Iterative
        && settings.out_bound.is_finite();
    let mut pass = 0u32;
    while iterative && s.saturated.iter().any(|&x| x) {
        s.pending.clear();
        for n in 0..batch {
            if s.saturated[n] && s.alpha[n] > 0.0 && s.reduction[n] <= settings.max_reduction {
                s.reduction[n] *= 2.0;
                s.pending.push(n);
            }
        }
        if s.pending.is_empty() {
            break;
        }
        pass += 1;
        let m = s.pending.len();
        s.sub_in.resize(m * in_size, 0.0);
        s.sub_out.resize(m * out_size, 0.0);
        let mut norms = vec![0.0f32; m];
        s.sub_in
            .par_chunks_mut(in_size)
            .zip(norms.par_iter_mut())
            .zip(s.pending.par_iter())
            .with_min_len(min_len)
            .for_each(|((u, norm2), &n)| {
                let xr = &x[n * in_size..(n + 1) * in_size];
                let scale = s.alpha[n] * s.reduction[n];
                *norm2 = dac(&settings, &noise, xr, scale, u, n as u32, pass);
            });
        matmul(
            &mut s.sub_out,
            MatRef::row_major(&s.sub_in, m, in_size),
            weights,
            1.0,
            0.0,
        );
        effects.apply(&s.sub_in, m, &mut s.sub_out, &mut s.pcm_sum);
        for (k, &n) in s.pending.iter().enumerate() {
            let v = &mut s.sub_out[k * out_size..(k + 1) * out_size];
            let pcm_k = pcm_row(&s.pcm_sum, k, out_size);
            s.saturated[n] = adc(&settings, &noise, v, norms[k], pcm_k, n as u32, pass);
            out[n * out_size..(n + 1) * out_size].copy_from_slice(v);
        }
    }

    // Rescale to the digital domain: y = out_scale · α · r · ADC output.
    out.par_chunks_mut(out_size)
        .with_min_len(min_len)
        .enumerate()
        .for_each(|(n, v)| {
            let f = io.out_scale * s.alpha[n] * s.reduction[n];
            v.iter_mut().for_each(|y| *y *= f);
        });
}

/// A read of one column (or row) with a one-hot input through the periphery of `io` with noise
/// and bound management off (a transfer or refresh read): `values` holds the column of W and
/// becomes out_scale · ADC(u·W[:, i] + noise), u the DAC output of 1. The random numbers are
/// those of vector `n` of an MVM of (seed, step).
pub fn read_one_hot(io: &IoParameters, values: &mut [f32], seed: u64, step: u32, n: u32) {
    if io.exact() {
        return;
    }
    let io = IoParameters {
        noise_management: NoiseManagement::None,
        bound_management: BoundManagement::None,
        ..io.clone()
    };
    let settings = Settings {
        io: &io,
        inp_step: quantization_step(io.inp_res, io.inp_bound),
        out_step: quantization_step(io.out_res, io.out_bound),
        out_bound: if io.out_bound > 0.0 {
            io.out_bound
        } else {
            f32::INFINITY
        },
        max_reduction: 1.0,
        wide: false,
    };
    let noise = Noise {
        input: Stream::new(seed, Purpose::InputNoise),
        input_round: Stream::new(seed, Purpose::InputRounding),
        output: Stream::new(seed, Purpose::OutputNoise),
        output_round: Stream::new(seed, Purpose::OutputRounding),
        step,
        table: normal_table(),
    };
    let mut u = [0.0f32];
    let norm2 = dac(&settings, &noise, &[1.0], 1.0, &mut u, n, 0);
    for v in values.iter_mut() {
        *v *= u[0];
    }
    adc(&settings, &noise, values, norm2, None, n, 0);
    for v in values.iter_mut() {
        *v *= io.out_scale;
    }
}

/// Largest bound-management reduction: `max_bm_factor`, and no finer than `max_bm_res` DAC steps.
pub fn max_reduction(io: &IoParameters) -> f32 {
    let dac = quantization_step(io.inp_res, io.inp_bound);
    let by_res = if dac > 0.0 {
        io.max_bm_res / dac
    } else {
        f32::INFINITY
    };
    io.max_bm_factor.min(by_res)
}

/// Noise-management scale α of one input vector (0 → the output is 0).
pub fn noise_scale(io: &IoParameters, x: &[f32]) -> f32 {
    let cap = |a: f32| {
        if io.nm_thres > 0.0 {
            a.min(io.nm_thres)
        } else {
            a
        }
    };
    match io.noise_management {
        NoiseManagement::AbsMax => cap(numeric::abs_max(x)),
        NoiseManagement::Max => cap(numeric::max(x).max(0.0)),
        NoiseManagement::Constant if io.nm_thres > 0.0 => io.nm_thres,
        _ => 1.0,
    }
}

/// Normals 64·b .. 64·b + len (len ≤ 64) of vector n in pass `pass` of `stream`: normal e is
/// normal e % 8 of counter (e / 8, pass, n, step). A full block takes its 8 counters as the lanes
/// of one Philox evaluation.
#[inline(always)]
fn normals_of<const WIDE: bool>(
    stream: &Stream,
    noise: &Noise,
    b: usize,
    len: usize,
    pass: u32,
    n: u32,
) -> [f32; 64] {
    let a0 = 8 * b as u32;
    if len == 64 {
        return noise
            .table
            .samples64(&stream.blocks64_on::<WIDE>(a0, pass, n, noise.step));
    }
    if WIDE {
        // Eight Philox lanes cost about one scalar evaluation: a short vector takes the
        // whole block and reads the table for its first `len` normals.
        let r = stream.blocks64_on::<true>(a0, pass, n, noise.step);
        return noise.table.samples64_where(&r, u64::MAX >> (64 - len));
    }
    let mut out = [0.0; 64];
    for (k, chunk) in out[..len].chunks_mut(8).enumerate() {
        let xi = stream.normals8(a0 + k as u32, pass, n, noise.step, noise.table);
        chunk.copy_from_slice(&xi[..chunk.len()]);
    }
    out
}

#[inline(always)]
fn quantize(v: f32, step: f32, inv_step: f32, u: f32, stochastic: bool) -> f32 {
    if stochastic {
        numeric::floor(v * inv_step + u) * step
    } else {
        numeric::round_even(v * inv_step) * step
    }
}

/// DAC of one vector: u = clip(quantise(x / scale), ±inp_bound) + inp_noise·ξ.
/// Returns ‖u‖² (for the output-referred weight noise).
fn dac(
    s: &Settings<'_>,
    noise: &Noise,
    x: &[f32],
    scale: f32,
    u: &mut [f32],
    n: u32,
    pass: u32,
) -> f32 {
    #[cfg(target_arch = "x86_64")]
    if s.wide {
        // SAFETY: `wide` is has_wide_lanes(): the CPU has every enabled feature.
        #[allow(unsafe_code)]
        return unsafe { dac_avx512(s, noise, x, scale, u, n, pass) };
    }
    dac_on::<false>(s, noise, x, scale, u, n, pass)
}

/// [`dac`] compiled for AVX-512 (16 elements per instruction, 8 Philox lanes for 64 normals);
/// the same IEEE operations, so the same values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt")]
fn dac_avx512(
    s: &Settings<'_>,
    noise: &Noise,
    x: &[f32],
    scale: f32,
    u: &mut [f32],
    n: u32,
    pass: u32,
) -> f32 {
    dac_on::<true>(s, noise, x, scale, u, n, pass)
}

#[inline(always)]
fn dac_on<const WIDE: bool>(
    s: &Settings<'_>,
    noise: &Noise,
    x: &[f32],
    scale: f32,
    u: &mut [f32],
    n: u32,
    pass: u32,
) -> f32 {
    let io = s.io;
    if scale <= 0.0 {
        u.fill(0.0);
        return 0.0;
    }
    let inv = 1.0 / scale;
    let bound = io.inp_bound;
    let step = s.inp_step;
    let inv_step = if step > 0.0 { 1.0 / step } else { 0.0 };
    if step > 0.0 && io.inp_sto_round {
        for (b, (uc, xc)) in u.chunks_mut(4).zip(x.chunks(4)).enumerate() {
            let r = noise.input_round.uniforms4(b as u32, pass, n, noise.step);
            for ((ui, xi), ri) in uc.iter_mut().zip(xc).zip(r) {
                *ui = quantize(xi * inv, step, inv_step, ri, true).clamp(-bound, bound);
            }
        }
    } else if step > 0.0 {
        for (ui, xi) in u.iter_mut().zip(x) {
            *ui = quantize(xi * inv, step, inv_step, 0.0, false).clamp(-bound, bound);
        }
    } else {
        for (ui, xi) in u.iter_mut().zip(x) {
            *ui = (xi * inv).clamp(-bound, bound);
        }
    }
    if io.inp_noise > 0.0 {
        for (b, uc) in u.chunks_mut(64).enumerate() {
            let xi = normals_of::<WIDE>(&noise.input, noise, b, uc.len(), pass, n);
            for (ui, e) in uc.iter_mut().zip(xi) {
                *ui += io.inp_noise * e;
            }
        }
    }
    u.iter().map(|v| v * v).sum()
}

/// Output noise and ADC of one vector, in place. Returns whether an output saturated.
///
/// `pcm_sum` holds Σ_j |w_ij| u_j² per output when the weight noise is `PCM_READ`.
#[allow(clippy::too_many_arguments)]
fn adc(
    s: &Settings<'_>,
    noise: &Noise,
    v: &mut [f32],
    norm2: f32,
    pcm_sum: Option<&[f32]>,
    n: u32,
    pass: u32,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if s.wide {
        // SAFETY: `wide` is has_wide_lanes(): the CPU has every enabled feature.
        #[allow(unsafe_code)]
        return unsafe { adc_avx512(s, noise, v, norm2, pcm_sum, n, pass) };
    }
    adc_on::<false>(s, noise, v, norm2, pcm_sum, n, pass)
}

/// [`adc`] compiled for AVX-512; the same IEEE operations, so the same values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt")]
fn adc_avx512(
    s: &Settings<'_>,
    noise: &Noise,
    v: &mut [f32],
    norm2: f32,
    pcm_sum: Option<&[f32]>,
    n: u32,
    pass: u32,
) -> bool {
    adc_on::<true>(s, noise, v, norm2, pcm_sum, n, pass)
}

#[inline(always)]
fn adc_on<const WIDE: bool>(
    s: &Settings<'_>,
    noise: &Noise,
    v: &mut [f32],
    norm2: f32,
    pcm_sum: Option<&[f32]>,
    n: u32,
    pass: u32,
) -> bool {
    let io = s.io;
    // Output noise and output-referred weight noise are independent Gaussians: one draw with
    // the combined variance out_noise² + (weight-noise variance).
    let out_var = io.out_noise * io.out_noise;
    match pcm_sum {
        Some(sums) if io.w_noise_type == WeightNoiseType::PcmRead => {
            for (b, (vc, sc)) in v.chunks_mut(64).zip(sums.chunks(64)).enumerate() {
                let xi = normals_of::<WIDE>(&noise.output, noise, b, vc.len(), pass, n);
                for ((vi, si), e) in vc.iter_mut().zip(sc).zip(xi) {
                    let sigma = pcm_sigma(io.out_noise, io.w_noise, *si);
                    *vi += sigma * e;
                }
            }
        }
        _ => {
            let w_var = if io.w_noise_type == WeightNoiseType::AdditiveConstant {
                io.w_noise * io.w_noise * norm2
            } else {
                0.0
            };
            let sigma = (out_var + w_var).sqrt();
            if sigma > 0.0 {
                for (b, vc) in v.chunks_mut(64).enumerate() {
                    let xi = normals_of::<WIDE>(&noise.output, noise, b, vc.len(), pass, n);
                    for (vi, e) in vc.iter_mut().zip(xi) {
                        *vi += sigma * e;
                    }
                }
            }
        }
    }
    let step = s.out_step;
    if step > 0.0 {
        let inv_step = 1.0 / step;
        if io.out_sto_round {
            for (b, vc) in v.chunks_mut(4).enumerate() {
                let r = noise.output_round.uniforms4(b as u32, pass, n, noise.step);
                for (vi, ri) in vc.iter_mut().zip(r) {
                    *vi = quantize(*vi, step, inv_step, ri, true);
                }
            }
        } else {
            for vi in v.iter_mut() {
                *vi = quantize(*vi, step, inv_step, 0.0, false);
            }
        }
    }
    let bound = s.out_bound;
    let mut saturated = false;
    if bound.is_finite() {
        for vi in v.iter_mut() {
            // Non-short-circuit: no branch per output.
            saturated |= (*vi >= bound) | (io.bm_test_negative_bound & (*vi <= -bound));
            *vi = vi.clamp(-bound, bound);
        }
    }
    saturated
}

/// Std of one output's noise under `PCM_READ` weight noise: out_noise and the read noise are
/// independent, so σ = sqrt(out_noise² + w_noise² · Σ_j |w_ij| u_j²) (same expression in adc.wgsl).
#[inline(always)]
pub fn pcm_sigma(out_noise: f32, w_noise: f32, sum: f32) -> f32 {
    (out_noise * out_noise + w_noise * w_noise * sum).sqrt()
}

/// Row `n` of the per-output PCM sums, if they were computed.
fn pcm_row(sums: &[f32], n: usize, out_size: usize) -> Option<&[f32]> {
    sums.get(n * out_size..(n + 1) * out_size)
}

/// Whether the analog product needs |W| (IR drop or PCM read noise).
pub fn needs_abs_weights(io: &IoParameters) -> bool {
    io.ir_drop > 0.0 || pcm_read_on(io)
}

/// Whether `PCM_READ` weight noise is on.
pub fn pcm_read_on(io: &IoParameters) -> bool {
    io.w_noise_type == WeightNoiseType::PcmRead && io.w_noise > 0.0
}

/// Weight of input `j` of `n` in the IR-drop product: 1 − (1 − j/n)². Input 0 gets no drop and
/// the weight grows towards the last input (aihwkit's position coding).
#[inline(always)]
pub fn ir_position_weight(j: usize, n: usize) -> f32 {
    let p = 1.0 - j as f32 / n as f32;
    1.0 - p * p
}

/// The cubic IR-drop factor of one output, c(a) = a·(a·(0.05·a − 0.2) + 0.5).
#[inline(always)]
pub fn ir_drop_factor(a: f32) -> f32 {
    a * (a * (0.05 * a - 0.2) + 0.5)
}

/// The deterministic effects of the analog product after y = W u, on a batch of DAC outputs:
///
/// **IR drop** (aihwkit 1.1 `ForwardBackwardPassIOManaged::applyIrDrop` and `computeTotalCurrent`
/// in src/rpucuda/rpu_forward_backward_pass.cpp; same formula in cuda/forward_backward_pass.cu),
/// with u the DAC output (after input noise), n the input size of this direction and
/// g = ir_drop_g_ratio:
///   a_i = (n / g) · Σ_j |w_ij| |u_j|            (the line's total current, in g_max units)
///   c_i = a_i · (a_i · (0.05 · a_i − 0.2) + 0.5)
///   y_i ← y_i − c_i · ir_drop · Σ_j w_ij u_j (1 − (1 − j/n)²)
/// applied before the weight noise, the output noise and the ADC of the same pass (so again on
/// every bound-management re-read, with that pass's u), deterministic.
///
/// **PCM read noise** (aihwkit `applyOutputWeightNoise`, case `PCMRead`, same file): the sums
/// s_i = Σ_j |w_ij| u_j² are written to `pcm_sum` and the ADC adds w_noise · sqrt(s_i) · ξ_i
/// (combined with the output noise, see [`pcm_sigma`]).
struct AnalogEffects<'a> {
    io: &'a IoParameters,
    weights: MatRef<'a>,
    abs_weights: Option<MatRef<'a>>,
    derived_in: &'a mut Vec<f32>,
    current: &'a mut Vec<f32>,
    ir_product: &'a mut Vec<f32>,
}

impl AnalogEffects<'_> {
    /// Applies IR drop to `out` (`m` rows) and fills `pcm_sum` (emptied when PCM noise is off).
    fn apply(&mut self, u: &[f32], m: usize, out: &mut [f32], pcm_sum: &mut Vec<f32>) {
        pcm_sum.clear();
        let Some(abs_w) = self.abs_weights else {
            return;
        };
        let (in_size, out_size) = (self.weights.rows, self.weights.cols);
        let io = self.io;
        if io.ir_drop > 0.0 {
            self.derived_in.clear();
            self.derived_in.extend(u.iter().map(|v| v.abs()));
            self.current.resize(m * out_size, 0.0);
            matmul(
                self.current,
                MatRef::row_major(self.derived_in, m, in_size),
                abs_w,
                in_size as f32 / io.ir_drop_g_ratio,
                0.0,
            );
            self.derived_in.clear();
            self.derived_in.extend(
                u.iter()
                    .enumerate()
                    .map(|(k, v)| v * ir_position_weight(k % in_size, in_size)),
            );
            self.ir_product.resize(m * out_size, 0.0);
            matmul(
                self.ir_product,
                MatRef::row_major(self.derived_in, m, in_size),
                self.weights,
                io.ir_drop,
                0.0,
            );
            for ((y, a), b) in out
                .iter_mut()
                .zip(self.current.iter())
                .zip(self.ir_product.iter())
            {
                *y -= ir_drop_factor(*a) * b;
            }
        }
        if pcm_read_on(io) {
            self.derived_in.clear();
            self.derived_in.extend(u.iter().map(|v| v * v));
            pcm_sum.resize(m * out_size, 0.0);
            matmul(
                pcm_sum,
                MatRef::row_major(self.derived_in, m, in_size),
                abs_w,
                1.0,
                0.0,
            );
        }
    }
}
