// Rescaling to the digital domain: out[n, :] *= factor[n] (out_scale · α · bound-management
// reduction, computed on the host exactly as the CPU backend does).

struct Params {
    width: u32,
    rows: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> factor: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

const WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let t = linear_workgroup(wid, nwg) * WG + lid;
    if t >= p.width * p.rows {
        return;
    }
    out[t] = out[t] * factor[t / p.width];
}
