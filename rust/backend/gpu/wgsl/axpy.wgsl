// The visible weight of a unit cell, one array at a time: y = α·x (first array) or y = α·x + y
// (the others), so y ends as Σ_k γ_k W_k (rust/backend/cpu.rs `combine`).

struct Params {
    len: u32,
    alpha: f32,
    accumulate: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let t = linear_workgroup(wid, nwg) * WG + lid;
    if t >= p.len {
        return;
    }
    if p.accumulate != 0u {
        y[t] = y[t] + p.alpha * x[t];
    } else {
        y[t] = p.alpha * x[t];
    }
}
