// Bit-packed pulse trains of one group of vectors (rust/pulsed.rs `fill_trains`): slot s of
// element e in vector n fires when the 16-bit code s % 8 of Philox(e, s / 8, n, step) is below
// the element's threshold (65536: always) and s < BL of the vector. One thread writes one 32-slot
// word; layout bits[(v · words + w) · elements + e] so that neighbouring threads (elements) touch
// neighbouring words.

struct Params {
    elements: u32,
    vectors: u32,
    words: u32,
    start: u32,
    step: u32,
    key_lo: u32,
    key_hi: u32,
    // Offset of this side's thresholds (x or d) in the threshold buffer, and of its bits.
    threshold_offset: u32,
    bits_offset: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// Per vector and element: bit 31 = negative value, low 17 bits = firing threshold.
@group(0) @binding(1) var<storage, read> thresholds: array<u32>;
@group(0) @binding(2) var<storage, read> lengths: array<u32>;
@group(0) @binding(3) var<storage, read_write> bits: array<u32>;

const WG: u32 = 64u;

@compute @workgroup_size(WG)
fn main(
    @builtin(workgroup_id) wid: vec3<u32>,
    @builtin(num_workgroups) nwg: vec3<u32>,
    @builtin(local_invocation_index) lid: u32,
) {
    let t = linear_workgroup(wid, nwg) * WG + lid;
    if t >= p.elements * p.vectors * p.words {
        return;
    }
    let e = t % p.elements;
    let rest = t / p.elements;
    let w = rest % p.words;
    let v = rest / p.words;
    let n = p.start + v;
    let threshold = thresholds[p.threshold_offset + n * p.elements + e] & 0x1FFFFu;
    var bl = lengths[n];
    if threshold == 0u {
        bl = 0u;
    }
    let key = vec2<u32>(p.key_lo, p.key_hi);
    var word = 0u;
    for (var q = 0u; q < 4u; q++) {
        let block = 4u * w + q;
        if 8u * block >= bl {
            break;
        }
        let r = philox(vec4<u32>(e, block, n, p.step), key);
        for (var h = 0u; h < 8u; h++) {
            let slot = 8u * block + h;
            let fire = block_half(r, h) < threshold && slot < bl;
            word = word | (select(0u, 1u, fire) << (slot - 32u * w));
        }
    }
    bits[p.bits_offset + t] = word;
}
