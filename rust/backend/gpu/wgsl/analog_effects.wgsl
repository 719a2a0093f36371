// The element-wise steps of IR drop and PCM read noise (rust/periphery.rs `AnalogEffects`), one
// element per thread over `len` elements:
//   kind 0: dst = |src|                      (|W| of a band, |u| for the line currents)
//   kind 1: dst = src · (1 − (1 − j/n)²)     (u weighted by its position j = t mod n on the line)
//   kind 2: dst = src²                       (u² for the PCM read-noise sums)
//   kind 3: dst −= c(src) · other, c(a) = a·(a·(0.05·a − 0.2) + 0.5)   (the IR drop itself)

struct Params {
    len: u32,
    kind: u32,
    in_size: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> other: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

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
    let v = src[t];
    switch p.kind {
        case 0u: {
            dst[t] = abs(v);
        }
        case 1u: {
            let q = 1.0 - f32(t % p.in_size) / f32(p.in_size);
            dst[t] = v * (1.0 - q * q);
        }
        case 2u: {
            dst[t] = v * v;
        }
        default: {
            let c = v * (v * (0.05 * v - 0.2) + 0.5);
            dst[t] = dst[t] - c * other[t];
        }
    }
}
