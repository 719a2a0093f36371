// Philox4x32-10 (Salmon et al., SC'11), the same function as rust/rng.rs, and the samplers on it.
// WGSL has neither u64 nor a high-word multiply: the 32×32 → 64-bit products are built from
// 16-bit partial products.

const PHILOX_M0: u32 = 0xD2511F53u;
const PHILOX_M1: u32 = 0xCD9E8D57u;
const PHILOX_W0: u32 = 0x9E3779B9u;
const PHILOX_W1: u32 = 0xBB67AE85u;

// (high word, low word) of a · b.
fn mul_wide(a: u32, b: u32) -> vec2<u32> {
    let a_lo = a & 0xFFFFu;
    let a_hi = a >> 16u;
    let b_lo = b & 0xFFFFu;
    let b_hi = b >> 16u;
    let ll = a_lo * b_lo;
    let lh = a_lo * b_hi;
    let hl = a_hi * b_lo;
    let hh = a_hi * b_hi;
    // Bits 16..48 of the product before the carry: below 3 · 2^16 · 2^16 / 2^16, no overflow.
    let mid = (ll >> 16u) + (lh & 0xFFFFu) + (hl & 0xFFFFu);
    let lo = (mid << 16u) | (ll & 0xFFFFu);
    let hi = hh + (lh >> 16u) + (hl >> 16u) + (mid >> 16u);
    return vec2<u32>(hi, lo);
}

fn philox(counter: vec4<u32>, key_in: vec2<u32>) -> vec4<u32> {
    var c = counter;
    var k = key_in;
    for (var round = 0u; round < 10u; round++) {
        if round > 0u {
            k = k + vec2<u32>(PHILOX_W0, PHILOX_W1);
        }
        let p0 = mul_wide(PHILOX_M0, c.x);
        let p1 = mul_wide(PHILOX_M1, c.z);
        c = vec4<u32>(p1.x ^ c.y ^ k.x, p1.y, p0.x ^ c.w ^ k.y, p0.y);
    }
    return c;
}

// Uniform in [0, 1) from the top 24 bits of a word (exact in f32, as on the CPU).
fn uniform_from_u32(word: u32) -> f32 {
    return f32(word >> 8u) * (1.0 / 16777216.0);
}

// Word `i` (0..4) of a Philox block.
fn block_word(r: vec4<u32>, i: u32) -> u32 {
    switch i {
        case 0u: { return r.x; }
        case 1u: { return r.y; }
        case 2u: { return r.z; }
        default: { return r.w; }
    }
}

// 16-bit code `h` (0..8) of a block: the low half of word h / 2 for even h, the high half for odd.
fn block_half(r: vec4<u32>, h: u32) -> u32 {
    return (block_word(r, h >> 1u) >> (16u * (h & 1u))) & 0xFFFFu;
}
