// C = alpha · A · B (+ C when accumulate) for few rows of A (m ≤ 8, a batch of 1-8 vectors), with
// the strides of gemm.wgsl: one thread per column of C keeps the m sums in registers and streams
// its column of B once. The 64 × 64 tiles of gemm.wgsl would compute 64 rows for each real one.

struct Params {
    m: u32,
    n: u32,
    k: u32,
    a_rs: u32,
    a_cs: u32,
    b_rs: u32,
    b_cs: u32,
    ldc: u32,
    alpha: f32,
    accumulate: u32,
    // Offsets of A's first element and of C's first column (row bands of a split tile).
    a_off: u32,
    c_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const WG: u32 = 64u;
const MAX_ROWS: u32 = 8u;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let col = linear_workgroup(wid, nwg) * WG + lid;
    if col >= p.n {
        return;
    }
    var acc: array<f32, MAX_ROWS>;
    for (var r = 0u; r < MAX_ROWS; r++) {
        acc[r] = 0.0;
    }
    let rows = min(p.m, MAX_ROWS);
    for (var q = 0u; q < p.k; q++) {
        let bv = b[q * p.b_rs + col * p.b_cs];
        for (var r = 0u; r < rows; r++) {
            acc[r] = acc[r] + a[p.a_off + r * p.a_rs + q * p.a_cs] * bv;
        }
    }
    for (var r = 0u; r < rows; r++) {
        let at = r * p.ldc + p.c_off + col;
        var v = p.alpha * acc[r];
        if p.accumulate != 0u {
            v = c[at] + v;
        }
        c[at] = v;
    }
}
