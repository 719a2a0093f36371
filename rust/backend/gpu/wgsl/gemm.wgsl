// C = alpha · A · B (+ C when accumulate), C[r, s] = c[r · ldc + c_off + s]; A and B are read
// through strides (A[r, q] = a[a_off + r · a_rs + q · a_cs], B[q, s] = b[q · b_rs + s · b_cs]),
// so one kernel serves W x, Wᵀ d and the rank update, on a whole tile or a band of its rows. 64 × 64 tiles of C per workgroup, 4 × 4 per
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
    // Offsets of A's first element and of C's first column (row bands of a split tile).
    a_off: u32,
    c_off: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> c: array<f32>;

const TILE: u32 = 64u;
const DEPTH: u32 = 16u;
// [DEPTH][TILE] with rows padded to 65 floats: writes along the depth hit distinct banks.
const STRIDE: u32 = 65u;
var<workgroup> a_tile: array<f32, 1040>;
var<workgroup> b_tile: array<f32, 1040>;

// Position (depth, row-or-column) in a tile of load number `idx`: neighbouring threads read
// neighbouring addresses (coalesced), along the depth when it is the contiguous index.
fn tile_position(idx: u32, depth_contiguous: bool) -> vec2<u32> {
    if depth_contiguous {
        return vec2<u32>(idx % DEPTH, idx / DEPTH);
    }
    return vec2<u32>(idx / TILE, idx % TILE);
}

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
            let pa = tile_position(idx, p.a_cs == 1u);
            var av = 0.0;
            if row0 + pa.y < p.m && k0 + pa.x < p.k {
                av = a[p.a_off + (row0 + pa.y) * p.a_rs + (k0 + pa.x) * p.a_cs];
            }
            a_tile[pa.x * STRIDE + pa.y] = av;
            let pb = tile_position(idx, p.b_rs == 1u);
            var bv = 0.0;
            if col0 + pb.y < p.n && k0 + pb.x < p.k {
                bv = b[(k0 + pb.x) * p.b_rs + (col0 + pb.y) * p.b_cs];
            }
            b_tile[pb.x * STRIDE + pb.y] = bv;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < DEPTH; kk++) {
            var av: array<f32, 4>;
            var bv: array<f32, 4>;
            for (var q = 0u; q < 4u; q++) {
                av[q] = a_tile[kk * STRIDE + lid.y + 16u * q];
                bv[q] = b_tile[kk * STRIDE + lid.x + 16u * q];
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
            let at = row * p.ldc + p.c_off + col;
            var v = p.alpha * acc[r * 4u + s];
            if p.accumulate != 0u {
                v = c[at] + v;
            }
            c[at] = v;
        }
    }
}
