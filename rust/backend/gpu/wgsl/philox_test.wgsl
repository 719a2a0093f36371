// Known-answer kernel: out[t] = Philox4x32-10(counters[t], key) and the eight table normals of it,
// compared with rust/rng.rs by the tests.

struct Params {
    count: u32,
    key_lo: u32,
    key_hi: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> counters: array<vec4<u32>>;
@group(0) @binding(2) var<storage, read_write> blocks: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read_write> normals: array<f32>;

@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let t = gid.x;
    if t >= p.count {
        return;
    }
    let r = philox(counters[t], vec2<u32>(p.key_lo, p.key_hi));
    blocks[t] = r;
    for (var h = 0u; h < 8u; h++) {
        normals[8u * t + h] = normal_of_block(r, h);
    }
}
