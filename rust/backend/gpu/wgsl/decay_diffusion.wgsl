// Once per mini-batch (rust/device/decay_diffusion.rs): decay toward the reset bias,
// w ← b + (w − b)(1 − δ), diffusion w ← w + ρ ξ with ξ normal j % 8 of (j / 8, i, 0, step), then
// clipping into the device bounds. Each part is switched by a flag, so the kernel also clips.

struct Params {
    rows: u32,
    cols: u32,
    step: u32,
    // bit 0: decay, bit 1: diffusion, bit 2: clip to bounds, bit 3: bounds of the conductance
    // w + reference
    flags: u32,
    key_lo: u32,
    key_hi: u32,
    // First row of this band (rows = the band's rows; the arrays bound hold only those).
    row0: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> weights: array<f32>;
@group(0) @binding(2) var<storage, read> decay_rate: array<f32>;
@group(0) @binding(3) var<storage, read> reset_bias: array<f32>;
@group(0) @binding(4) var<storage, read> diffusion_rate: array<f32>;
// Per device of the band, four planes: Δ⁺, Δ⁻, b_max, b_min.
@group(0) @binding(5) var<storage, read> device: array<f32>;
@group(0) @binding(6) var<storage, read> reference: array<f32>;

@compute @workgroup_size(64, 4)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    let i = gid.y;
    if j >= p.cols || i >= p.rows {
        return;
    }
    let k = i * p.cols + j;
    let row = p.row0 + i;
    var w = weights[k];
    if (p.flags & 1u) != 0u {
        let b = reset_bias[k];
        w = b + (w - b) * (1.0 - decay_rate[k]);
    }
    if (p.flags & 2u) != 0u {
        let r = philox(vec4<u32>(j / 8u, row, 0u, p.step), vec2<u32>(p.key_lo, p.key_hi));
        w = w + diffusion_rate[k] * normal_of_block(r, j % 8u);
    }
    if (p.flags & 4u) != 0u {
        let plane = p.rows * p.cols;
        var r = 0.0;
        if (p.flags & 8u) != 0u {
            r = reference[k];
        }
        w = min(max(w, device[3u * plane + k] - r), device[2u * plane + k] - r);
    }
    weights[k] = w;
}
