// Bit-packed pulse trains of one group of vectors (rust/pulsed/trains.rs `fill_trains`): slot s
// of element e in vector n fires when the 16-bit code e % 8 of Philox(e / 8, s, n, step) is below
// the element's threshold (65536: always) and s < BL of the vector. One thread writes one 32-slot
// word of the 8 elements of an octet; layout bits[(v · words + w) · elements + e] so that
// neighbouring threads (octets) touch neighbouring words.

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
    let octets = (p.elements + 7u) / 8u;
    if t >= octets * p.vectors * p.words {
        return;
    }
    let o = t % octets;
    let rest = t / octets;
    let w = rest % p.words;
    let v = rest / p.words;
    let n = p.start + v;
    let e0 = 8u * o;
    let count = min(8u, p.elements - e0);
    var thresholds8: array<u32, 8>;
    var any = 0u;
    for (var h = 0u; h < count; h++) {
        thresholds8[h] = thresholds[p.threshold_offset + n * p.elements + e0 + h] & 0x1FFFFu;
        any = any | thresholds8[h];
    }
    var bl = lengths[n];
    if any == 0u {
        bl = 0u;
    }
    let key = vec2<u32>(p.key_lo, p.key_hi);
    var words8: array<u32, 8>;
    let first = 32u * w;
    let last = min(bl, first + 32u);
    for (var slot = first; slot < last; slot++) {
        let r = philox(vec4<u32>(o, slot, n, p.step), key);
        for (var h = 0u; h < count; h++) {
            let fire = block_half(r, h) < thresholds8[h];
            words8[h] = words8[h] | (select(0u, 1u, fire) << (slot - first));
        }
    }
    let base = p.bits_offset + (v * p.words + w) * p.elements + e0;
    for (var h = 0u; h < count; h++) {
        bits[base + h] = words8[h];
    }
}
