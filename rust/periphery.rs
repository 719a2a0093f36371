//! Forward/backward periphery of an analog MVM (reference §2): noise management, DAC, the analog
//! product with IR drop, weight and output noise, ADC, iterative bound management and rescaling.
//!
//! Every vector of a batch is independent; its random numbers are indexed by
//! (vector, bound-management pass, element), so the result does not depend on threading.

use crate::config::{
    quantization_step, BoundManagement, IoParameters, NoiseManagement, WeightNoiseType,
};
use crate::gemm::{matmul, packed_rows, takes_packed_path, MatRef, SEQUENTIAL_WORK};
use crate::numeric;
use crate::pulsed::has_wide_lanes;
use crate::rng::{normal_table, NormalTable, Purpose, Stream};
use rayon::prelude::*;
use std::sync::atomic::{AtomicBool, Ordering};

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
    /// Vectors the fused pass 0 left unscaled (saturated, to be re-read).
    late: Vec<usize>,
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

impl Settings<'_> {
    /// Whether the output noise depends on ‖u‖² (output-referred additive weight noise): only
    /// then does the DAC sum it, a chain of dependent additions as long as the vector (for
    /// LeNet5's conv2 a quarter of its forward pass).
    fn uses_input_norm(&self) -> bool {
        self.io.w_noise_type == WeightNoiseType::AdditiveConstant && self.io.w_noise != 0.0
    }
}

static SPLIT_PASSES_ONLY: AtomicBool = AtomicBool::new(false);

/// Runs pass 0 of every MVM as separate DAC, product and ADC loops over the batch even where
/// one task per block of vectors could do all three (the results are the same; this exists to
/// test that).
pub fn split_passes_only(on: bool) {
    SPLIT_PASSES_ONLY.store(on, Ordering::Relaxed);
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
    // The noise-management scales α, filled by pass 0.
    s.alpha.clear();
    s.alpha.resize(batch, 0.0);
    s.reduction.clear();
    s.reduction.resize(batch, 1.0);
    s.norm2.clear();
    s.norm2.resize(batch, 0.0);
    s.saturated.clear();
    s.saturated.resize(batch, false);
    s.dac.resize(batch * in_size, 0.0);

    // Pass 0: every vector at reduction 1.
    let min_len = (PAR_ELEMENTS / in_size.max(out_size)).max(1);
    let shared = vectors_per_noise_block(&settings, out_size);
    let iterative = bound_management
        && io.bound_management == BoundManagement::Iterative
        && settings.out_bound.is_finite();
    // Without IR drop or PCM read noise a block of vectors runs DAC, product, ADC and rescale
    // in one task: one hand-off to rayon instead of four, and its data stays in cache.
    let fused_rows = fused_rows(batch, in_size, out_size, min_len, shared).filter(|_| {
        !needs_abs_weights(io)
            && takes_packed_path(batch, weights)
            && !SPLIT_PASSES_ONLY.load(Ordering::Relaxed)
    });
    let fused = fused_rows.is_some();
    if let Some(rows) = fused_rows {
        let pass = FusedPass {
            settings: &settings,
            noise: &noise,
            weights,
            rows,
            shared,
            iterative,
        };
        pass.run(x, out, s);
    }
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
    if !fused {
        for (a, row) in s.alpha.iter_mut().zip(x.chunks_exact(in_size)) {
            *a = noise_scale(io, row);
        }
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
        effects.apply(&s.dac, batch, out, &mut s.pcm_sum);
        let pcm = &s.pcm_sum;
        out.par_chunks_mut(out_size * shared)
            .zip(s.saturated.par_chunks_mut(shared))
            .with_min_len((min_len / shared).max(1))
            .enumerate()
            .for_each(|(g, (vs, sats))| {
                let n0 = g * shared;
                let norm2 = &s.norm2[n0..n0 + sats.len()];
                let pcm_g = pcm.get(n0 * out_size..n0 * out_size + vs.len());
                adc_group(
                    &settings, &noise, vs, out_size, norm2, pcm_g, sats, n0 as u32,
                );
            });
    }

    // Iterative bound management: re-read saturated vectors with the input halved.
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
            s.saturated[n] = adc(&settings, &noise, v, norms[k], pcm_k, n as u32, pass, None);
            out[n * out_size..(n + 1) * out_size].copy_from_slice(v);
        }
    }

    // Rescale to the digital domain: y = out_scale · α · r · ADC output (the fused pass has
    // rescaled every vector but those saturated in it).
    if fused {
        for &n in &s.late {
            rescale(
                io,
                &mut out[n * out_size..][..out_size],
                s.alpha[n],
                s.reduction[n],
            );
        }
    } else {
        out.par_chunks_mut(out_size)
            .with_min_len(min_len)
            .enumerate()
            .for_each(|(n, v)| rescale(io, v, s.alpha[n], s.reduction[n]));
    }
}

/// Pass 0 of an MVM without IR drop or PCM read noise, one task per `rows` vectors: noise
/// management, DAC, the packed product of the block, ADC (normals drawn `shared` vectors at a
/// time) and the final rescale of every vector that bound management will not re-read. The
/// same operations per vector as the separate loops, so the same bits.
struct FusedPass<'a> {
    settings: &'a Settings<'a>,
    noise: &'a Noise,
    weights: MatRef<'a>,
    rows: usize,
    shared: usize,
    iterative: bool,
}

impl FusedPass<'_> {
    fn run(&self, x: &[f32], out: &mut [f32], s: &mut MvmScratch) {
        let (settings, noise, rows, shared) = (self.settings, self.noise, self.rows, self.shared);
        let io = settings.io;
        let (in_size, out_size) = (self.weights.rows, self.weights.cols);
        s.pcm_sum.clear();
        let reduction = &s.reduction;
        out.par_chunks_mut(rows * out_size)
            .zip(s.dac.par_chunks_mut(rows * in_size))
            .zip(s.norm2.par_chunks_mut(rows))
            .zip(s.saturated.par_chunks_mut(rows))
            .zip(s.alpha.par_chunks_mut(rows))
            .enumerate()
            .for_each(|(c, ((((o, u), norm2), saturated), alpha))| {
                let n0 = c * rows;
                let vectors = u
                    .chunks_mut(in_size)
                    .zip(norm2.iter_mut())
                    .zip(alpha.iter_mut());
                for (k, ((uk, nk), ak)) in vectors.enumerate() {
                    let n = n0 + k;
                    let xr = &x[n * in_size..(n + 1) * in_size];
                    *ak = noise_scale(io, xr);
                    *nk = dac(settings, noise, xr, *ak, uk, n as u32, 0);
                }
                let m = norm2.len();
                packed_rows(o, MatRef::row_major(u, m, in_size), self.weights, 1.0, 0.0);
                for (g, ((vs, sats), n2)) in o
                    .chunks_mut(shared * out_size)
                    .zip(saturated.chunks_mut(shared))
                    .zip(norm2.chunks(shared))
                    .enumerate()
                {
                    let n = (n0 + g * shared) as u32;
                    adc_group(settings, noise, vs, out_size, n2, None, sats, n);
                }
                // A vector that will not be re-read has its final scale now.
                for (k, (v, &sat)) in o.chunks_mut(out_size).zip(saturated.iter()).enumerate() {
                    if !(self.iterative && sat) {
                        rescale(io, v, alpha[k], reduction[n0 + k]);
                    }
                }
            });
        s.late.clear();
        if self.iterative {
            s.late
                .extend((0..s.saturated.len()).filter(|&n| s.saturated[n]));
        }
    }
}

/// y = out_scale · α · r · ADC output, in place.
#[inline(always)]
fn rescale(io: &IoParameters, v: &mut [f32], alpha: f32, reduction: f32) {
    let f = io.out_scale * alpha * reduction;
    v.iter_mut().for_each(|y| *y *= f);
}

/// Vectors per task of the fused pass 0, or `None` where the separate loops are faster. Each
/// task packs the weights again (work of the order of `in·out/(in + out)` vectors' DAC and
/// ADC), so a task takes at least twice that many vectors, and at least `min_len`; a product
/// worth splitting that cannot give every thread such a task is left to the separate loops,
/// whose product splits by columns instead. (LeNet5's layers, timed side by side in one
/// process: 2, 1 and 8 times were level, all 1–8 % faster than the separate loops.)
fn fused_rows(
    batch: usize,
    in_size: usize,
    out_size: usize,
    min_len: usize,
    shared: usize,
) -> Option<usize> {
    let target = min_len
        .max(2 * in_size * out_size / (in_size + out_size))
        .max(1);
    let threads = rayon::current_num_threads().max(1);
    if batch * in_size * out_size >= SEQUENTIAL_WORK && batch < threads * target {
        return None;
    }
    let tasks = (batch / target).max(1);
    Some(batch.div_ceil(tasks).next_multiple_of(shared))
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
    adc(&settings, &noise, values, norm2, None, n, 0, None);
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
/// Returns ‖u‖² for the output-referred weight noise (0 where there is none, see
/// [`Settings::uses_input_norm`]: w_noise² · ‖u‖² is 0 then).
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
    if !s.uses_input_norm() {
        return 0.0;
    }
    u.iter().map(|v| v * v).sum()
}

/// Output noise and ADC of one vector, in place. Returns whether an output saturated.
///
/// `pcm_sum` holds Σ_j |w_ij| u_j² per output when the weight noise is `PCM_READ`.
///
/// `drawn`: the vector's output normals when the caller has drawn them (see [`adc_group`]).
#[allow(clippy::too_many_arguments)]
fn adc(
    s: &Settings<'_>,
    noise: &Noise,
    v: &mut [f32],
    norm2: f32,
    pcm_sum: Option<&[f32]>,
    n: u32,
    pass: u32,
    drawn: Option<&[f32]>,
) -> bool {
    #[cfg(target_arch = "x86_64")]
    if s.wide {
        // SAFETY: `wide` is has_wide_lanes(): the CPU has every enabled feature.
        #[allow(unsafe_code)]
        return unsafe { adc_avx512(s, noise, v, norm2, pcm_sum, n, pass, drawn) };
    }
    adc_on::<false>(s, noise, v, norm2, pcm_sum, n, pass, drawn)
}

/// [`adc`] compiled for AVX-512; the same IEEE operations, so the same values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt")]
#[allow(clippy::too_many_arguments)]
fn adc_avx512(
    s: &Settings<'_>,
    noise: &Noise,
    v: &mut [f32],
    norm2: f32,
    pcm_sum: Option<&[f32]>,
    n: u32,
    pass: u32,
    drawn: Option<&[f32]>,
) -> bool {
    adc_on::<true>(s, noise, v, norm2, pcm_sum, n, pass, drawn)
}

/// How many vectors of `out_size` outputs share one 8-lane Philox evaluation for their output
/// noise in pass 0. A vector's normals are counters (0.., pass, n, step), 8 normals each; the
/// AVX-512 path evaluates 8 counters at once, so a vector of at most 32 outputs leaves lanes
/// idle that the next vectors' counters can fill. Only where the noise is drawn at all.
fn vectors_per_noise_block(s: &Settings<'_>, out_size: usize) -> usize {
    let io = s.io;
    let drawn = io.out_noise > 0.0
        || (io.w_noise > 0.0
            && matches!(
                io.w_noise_type,
                WeightNoiseType::AdditiveConstant | WeightNoiseType::PcmRead
            ));
    let counters = out_size.div_ceil(8);
    if s.wide && drawn && counters <= 4 {
        8 / counters
    } else {
        1
    }
}

/// [`adc`] of the pass-0 vectors n0, n0 + 1, … in `vs` (`out_size` each), their output normals
/// drawn together: one 8-lane Philox evaluation holds the counters of several vectors. The same
/// counters as vector by vector, so the same values.
#[allow(clippy::too_many_arguments)]
fn adc_group(
    s: &Settings<'_>,
    noise: &Noise,
    vs: &mut [f32],
    out_size: usize,
    norm2: &[f32],
    pcm_sum: Option<&[f32]>,
    saturated: &mut [bool],
    n0: u32,
) {
    #[cfg(target_arch = "x86_64")]
    if s.wide && saturated.len() > 1 {
        // SAFETY: `wide` is has_wide_lanes(): the CPU has every enabled feature.
        #[allow(unsafe_code)]
        return unsafe { adc_group_avx512(s, noise, vs, out_size, norm2, pcm_sum, saturated, n0) };
    }
    for (k, (v, sat)) in vs.chunks_mut(out_size).zip(saturated).enumerate() {
        let pcm_k = pcm_sum.map(|p| &p[k * out_size..][..out_size]);
        *sat = adc(s, noise, v, norm2[k], pcm_k, n0 + k as u32, 0, None);
    }
}

/// [`adc_group`] compiled for AVX-512 (the only path that shares evaluations).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512vl,avx512bw,avx512dq,avx2,popcnt")]
#[allow(clippy::too_many_arguments)]
fn adc_group_avx512(
    s: &Settings<'_>,
    noise: &Noise,
    vs: &mut [f32],
    out_size: usize,
    norm2: &[f32],
    pcm_sum: Option<&[f32]>,
    saturated: &mut [bool],
    n0: u32,
) {
    let counters = out_size.div_ceil(8);
    // Lane l: counter l % counters of vector l / counters (idle lanes repeat the last one).
    let lane = |l: usize| (l / counters).min(saturated.len() - 1);
    let ctr = [
        std::array::from_fn(|l| (l % counters) as u32),
        [0; 8],
        std::array::from_fn(|l| n0 + lane(l) as u32),
        [noise.step; 8],
    ];
    let normals = noise.table.samples64(&noise.output.blocks_wide::<8>(ctr));
    for (k, (v, sat)) in vs.chunks_mut(out_size).zip(saturated).enumerate() {
        let pcm_k = pcm_sum.map(|p| &p[k * out_size..][..out_size]);
        let drawn = &normals[8 * counters * k..][..out_size];
        *sat = adc_on::<true>(s, noise, v, norm2[k], pcm_k, n0 + k as u32, 0, Some(drawn));
    }
}

/// Output noise σ·ξ (where σ > 0), rounding to the ADC step and the output bound of `v`, one
/// pass per output; `xi` holds at least `v.len()` normals. Returns whether an output saturated.
#[inline(always)]
fn read_out(s: &Settings<'_>, v: &mut [f32], sigma: f32, xi: &[f32]) -> bool {
    // One loop per combination of effects: with the tests inside the loop it stays scalar.
    match (sigma > 0.0, s.out_step > 0.0, s.out_bound.is_finite()) {
        (true, true, true) => read_out_as::<true, true, true>(s, v, sigma, xi),
        (true, true, false) => read_out_as::<true, true, false>(s, v, sigma, xi),
        (true, false, true) => read_out_as::<true, false, true>(s, v, sigma, xi),
        (true, false, false) => read_out_as::<true, false, false>(s, v, sigma, xi),
        (false, true, true) => read_out_as::<false, true, true>(s, v, sigma, xi),
        (false, true, false) => read_out_as::<false, true, false>(s, v, sigma, xi),
        (false, false, true) => read_out_as::<false, false, true>(s, v, sigma, xi),
        (false, false, false) => false,
    }
}

#[inline(always)]
fn read_out_as<const NOISE: bool, const ROUND: bool, const BOUND: bool>(
    s: &Settings<'_>,
    v: &mut [f32],
    sigma: f32,
    xi: &[f32],
) -> bool {
    let step = s.out_step;
    let inv_step = if ROUND { 1.0 / step } else { 0.0 };
    let bound = s.out_bound;
    let negative = s.io.bm_test_negative_bound;
    let mut saturated = false;
    for (vi, e) in v.iter_mut().zip(xi) {
        let mut y = *vi;
        if NOISE {
            y += sigma * e;
        }
        if ROUND {
            y = quantize(y, step, inv_step, 0.0, false);
        }
        if BOUND {
            // Non-short-circuit: no branch per output.
            saturated |= (y >= bound) | (negative & (y <= -bound));
            y = y.clamp(-bound, bound);
        }
        *vi = y;
    }
    saturated
}

/// The output normals 64·b .. 64·b + len of vector n: from `drawn` when the caller drew them.
#[inline(always)]
fn output_normals<const WIDE: bool>(
    noise: &Noise,
    drawn: Option<&[f32]>,
    b: usize,
    len: usize,
    pass: u32,
    n: u32,
) -> [f32; 64] {
    match drawn {
        Some(d) => {
            let mut xi = [0.0; 64];
            xi[..len].copy_from_slice(&d[64 * b..][..len]);
            xi
        }
        None => normals_of::<WIDE>(&noise.output, noise, b, len, pass, n),
    }
}

#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn adc_on<const WIDE: bool>(
    s: &Settings<'_>,
    noise: &Noise,
    v: &mut [f32],
    norm2: f32,
    pcm_sum: Option<&[f32]>,
    n: u32,
    pass: u32,
    drawn: Option<&[f32]>,
) -> bool {
    let io = s.io;
    // Output noise and output-referred weight noise are independent Gaussians: one draw with
    // the combined variance out_noise² + (weight-noise variance).
    let out_var = io.out_noise * io.out_noise;
    let pcm_read = pcm_sum.is_some() && io.w_noise_type == WeightNoiseType::PcmRead;
    if !pcm_read && !io.out_sto_round {
        // The common case in one pass per output (noise, rounding, bound): the same operations
        // in the same order as the passes below.
        let w_var = if io.w_noise_type == WeightNoiseType::AdditiveConstant {
            io.w_noise * io.w_noise * norm2
        } else {
            0.0
        };
        let sigma = (out_var + w_var).sqrt();
        if let Some(d) = drawn.filter(|_| sigma > 0.0) {
            return read_out(s, v, sigma, d);
        }
        let mut saturated = false;
        for (b, vc) in v.chunks_mut(64).enumerate() {
            let xi = if sigma > 0.0 {
                normals_of::<WIDE>(&noise.output, noise, b, vc.len(), pass, n)
            } else {
                [0.0; 64]
            };
            saturated |= read_out(s, vc, sigma, &xi);
        }
        return saturated;
    }
    match pcm_sum {
        Some(sums) if io.w_noise_type == WeightNoiseType::PcmRead => {
            for (b, (vc, sc)) in v.chunks_mut(64).zip(sums.chunks(64)).enumerate() {
                let xi = output_normals::<WIDE>(noise, drawn, b, vc.len(), pass, n);
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
                    let xi = output_normals::<WIDE>(noise, drawn, b, vc.len(), pass, n);
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
