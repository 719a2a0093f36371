// C = alpha · A · B (+ C when accumulate), C row-major [m, n] with row stride ldc; A and B are
// read through strides (A[r, q] = a[r · a_rs + q · a_cs], B[q, s] = b[q · b_rs + s · b_cs]), so
// one kernel serves W x, Wᵀ d and the rank update. 64 × 64 tiles of C per workgroup, 4 × 4 per
// thread, K in steps of 16 through workgroup memory.

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
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const TILE: u32 = 64u;
const DEPTH: u32 = 16u;
var<workgroup> a_tile: array<f32, 1024>; // [DEPTH][TILE]
var<workgroup> b_tile: array<f32, 1024>; // [DEPTH][TILE]

@compute @workgroup_size(16, 16)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(local_invocation_id) lid: vec3<u32>,
    @builtin(local_invocation_index) li: u32,
) {
    let row0 = wid.y * TILE;
    let col0 = wid.x * TILE;
    var acc: array<f32, 16>;
    for (var q = 0u; q < 16u; q++) {
        acc[q] = 0.0;
    }
    for (var k0 = 0u; k0 < p.k; k0 += DEPTH) {
        // 1024 values of each tile, 4 per thread.
        for (var e = 0u; e < 4u; e++) {
            let idx = li + 256u * e;
            let kk = idx / TILE;
            let rr = idx % TILE;
            var av = 0.0;
            if row0 + rr < p.m && k0 + kk < p.k {
                av = a[(row0 + rr) * p.a_rs + (k0 + kk) * p.a_cs];
            }
            a_tile[kk * TILE + rr] = av;
            var bv = 0.0;
            if col0 + rr < p.n && k0 + kk < p.k {
                bv = b[(k0 + kk) * p.b_rs + (col0 + rr) * p.b_cs];
            }
            b_tile[kk * TILE + rr] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < DEPTH; kk++) {
            var av: array<f32, 4>;
            var bv: array<f32, 4>;
            for (var q = 0u; q < 4u; q++) {
                av[q] = a_tile[kk * TILE + lid.y + 16u * q];
                bv[q] = b_tile[kk * TILE + lid.x + 16u * q];
            }
            for (var r = 0u; r < 4u; r++) {
                for (var s = 0u; s < 4u; s++) {
                    acc[r * 4u + s] = acc[r * 4u + s] + av[r] * bv[s];
                }
            }
        }
        workgroupBarrier();
    }
    for (var r = 0u; r < 4u; r++) {
        let row = row0 + lid.y + 16u * r;
        if row >= p.m {
            continue;
        }
        for (var s = 0u; s < 4u; s++) {
            let col = col0 + lid.x + 16u * s;
            if col >= p.n {
                continue;
            }
            let at = row * p.ldc + col;
            var v = p.alpha * acc[r * 4u + s];
            if p.accumulate != 0u {
                v = c[at] + v;
            }
            c[at] = v;
        }
    }
}
