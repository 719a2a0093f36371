// DAC of the vectors of one MVM pass (rust/periphery.rs `dac`): one workgroup per vector.
// u = clip(quantize(x · inv_scale), ±inp_bound) + inp_noise · ξ, and ‖u‖² for the weight noise.

struct Params {
    in_size: u32,
    vectors: u32,
    pass_index: u32,
    step: u32,
    // bit 0: quantize, bit 1: stochastic rounding, bit 2: input noise
    flags: u32,
    inp_bound: f32,
    inp_step: f32,
    inv_inp_step: f32,
    inp_noise: f32,
    noise_key_lo: u32,
    noise_key_hi: u32,
    round_key_lo: u32,
    round_key_hi: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
// Vector n of the batch read in slot k, and 1 / (its noise-management scale), 0 for a zero vector.
@group(0) @binding(2) var<storage, read> pending: array<u32>;
@group(0) @binding(3) var<storage, read> inv_scales: array<f32>;
@group(0) @binding(4) var<storage, read_write> u: array<f32>;
@group(0) @binding(5) var<storage, read_write> norm2: array<f32>;

const WG: u32 = 256u;
var<workgroup> partial: array<f32, WG>;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let k = linear_workgroup(wid, nwg);
    let live = k < p.vectors;
    var sum = 0.0;
    if live {
        let n = pending[k];
        let inv = inv_scales[k];
        let quantize = (p.flags & 1u) != 0u;
        let stochastic = (p.flags & 2u) != 0u;
        let noisy = (p.flags & 4u) != 0u;
        let noise_key = vec2<u32>(p.noise_key_lo, p.noise_key_hi);
        let round_key = vec2<u32>(p.round_key_lo, p.round_key_hi);
        let chunks = (p.in_size + 7u) / 8u;
        for (var c = lid; c < chunks; c += WG) {
            // Elements 8c..8c+8: normals of block (c, pass, n, step), uniforms of blocks 2c, 2c+1.
            var rn = vec4<u32>(0u);
            if noisy {
                rn = philox(vec4<u32>(c, p.pass_index, n, p.step), noise_key);
            }
            var r0 = vec4<u32>(0u);
            var r1 = vec4<u32>(0u);
            if stochastic {
                r0 = philox(vec4<u32>(2u * c, p.pass_index, n, p.step), round_key);
                r1 = philox(vec4<u32>(2u * c + 1u, p.pass_index, n, p.step), round_key);
            }
            for (var h = 0u; h < 8u; h++) {
                let j = 8u * c + h;
                if j >= p.in_size {
                    break;
                }
                var v = 0.0;
                if inv > 0.0 {
                    v = x[n * p.in_size + j] * inv;
                    if quantize {
                        if stochastic {
                            var r = r0;
                            if h >= 4u {
                                r = r1;
                            }
                            let uni = uniform_from_u32(block_word(r, h & 3u));
                            v = floor(v * p.inv_inp_step + uni) * p.inp_step;
                        } else {
                            v = round(v * p.inv_inp_step) * p.inp_step;
                        }
                    }
                    v = clamp(v, -p.inp_bound, p.inp_bound);
                    if noisy {
                        v = v + p.inp_noise * normal_of_block(rn, h);
                    }
                }
                u[k * p.in_size + j] = v;
                sum = sum + v * v;
            }
        }
    }
    partial[lid] = sum;
    workgroupBarrier();
    for (var width = WG / 2u; width > 0u; width = width / 2u) {
        if lid < width {
            partial[lid] = partial[lid] + partial[lid + width];
        }
        workgroupBarrier();
    }
    if live && lid == 0u {
        norm2[k] = partial[0];
    }
}
