// The 16-bit table normal sampler of rust/rng.rs: 15 bits pick a half-normal quantile from the
// same table (uploaded once per device), the 16th bit is the sign. Bit-identical to the CPU.

@group(1) @binding(0) var<storage, read> normal_table: array<f32>;

fn normal_from_u16(bits: u32) -> f32 {
    let magnitude = bitcast<u32>(normal_table[bits & 0x7FFFu]);
    return bitcast<f32>(magnitude | ((bits & 0x8000u) << 16u));
}

// Normal `h` (0..8) of the Philox block `r` (the order of Stream::normals8).
fn normal_of_block(r: vec4<u32>, h: u32) -> f32 {
    return normal_from_u16(block_half(r, h));
}
