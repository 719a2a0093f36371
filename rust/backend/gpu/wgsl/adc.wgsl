// Output noise, ADC and saturation test of one MVM pass (rust/periphery.rs `adc`), eight outputs
// per thread (one Philox block of normals). Writes out[n, :] of vector n = pending[k].

struct Params {
    out_size: u32,
    vectors: u32,
    pass_index: u32,
    step: u32,
    // bit 0: quantize, bit 1: stochastic rounding, bit 2: finite bound, bit 3: test -bound too,
    // bit 4: PCM read noise (per-output sums in pcm_sum) instead of the additive weight noise
    flags: u32,
    out_noise: f32,
    w_noise: f32,
    out_step: f32,
    inv_out_step: f32,
    out_bound: f32,
    noise_key_lo: u32,
    noise_key_hi: u32,
    round_key_lo: u32,
    round_key_hi: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> analog: array<f32>;
@group(0) @binding(2) var<storage, read> pending: array<u32>;
@group(0) @binding(3) var<storage, read> norm2: array<f32>;
@group(0) @binding(4) var<storage, read_write> saturated: array<atomic<u32>>;
@group(0) @binding(5) var<storage, read_write> out: array<f32>;
// Σ_j |w_ij| u_j² per output of slot k (PCM read noise only, else a placeholder).
@group(0) @binding(6) var<storage, read> pcm_sum: array<f32>;

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let chunks = (p.out_size + 7u) / 8u;
    let t = linear_workgroup(wid, nwg) * WG + lid;
    let k = t / chunks;
    let c = t % chunks;
    if k >= p.vectors {
        return;
    }
    let n = pending[k];
    let pcm = (p.flags & 16u) != 0u;
    var sigma = 0.0;
    if !pcm {
        sigma = sqrt(p.out_noise * p.out_noise + p.w_noise * p.w_noise * norm2[k]);
    }
    let noisy = sigma > 0.0 || pcm;
    var rn = vec4<u32>(0u);
    if noisy {
        rn = philox(vec4<u32>(c, p.pass_index, n, p.step), vec2<u32>(p.noise_key_lo, p.noise_key_hi));
    }
    let quantize = (p.flags & 1u) != 0u;
    let stochastic = (p.flags & 2u) != 0u;
    let bounded = (p.flags & 4u) != 0u;
    let test_negative = (p.flags & 8u) != 0u;
    var r0 = vec4<u32>(0u);
    var r1 = vec4<u32>(0u);
    if quantize && stochastic {
        let key = vec2<u32>(p.round_key_lo, p.round_key_hi);
        r0 = philox(vec4<u32>(2u * c, p.pass_index, n, p.step), key);
        r1 = philox(vec4<u32>(2u * c + 1u, p.pass_index, n, p.step), key);
    }
    var hit = false;
    for (var h = 0u; h < 8u; h++) {
        let i = 8u * c + h;
        if i >= p.out_size {
            break;
        }
        var v = analog[k * p.out_size + i];
        if pcm {
            let s = sqrt(p.out_noise * p.out_noise + p.w_noise * p.w_noise * pcm_sum[k * p.out_size + i]);
            v = v + s * normal_of_block(rn, h);
        } else if sigma > 0.0 {
            v = v + sigma * normal_of_block(rn, h);
        }
        if quantize {
            if stochastic {
                var r = r0;
                if h >= 4u {
                    r = r1;
                }
                let uni = uniform_from_u32(block_word(r, h & 3u));
                v = floor(v * p.inv_out_step + uni) * p.out_step;
            } else {
                v = round(v * p.inv_out_step) * p.out_step;
            }
        }
        if bounded {
            hit = hit || v >= p.out_bound || (test_negative && v <= -p.out_bound);
            v = clamp(v, -p.out_bound, p.out_bound);
        }
        out[n * p.out_size + i] = v;
    }
    if hit {
        atomicOr(&saturated[k], 1u);
    }
}
