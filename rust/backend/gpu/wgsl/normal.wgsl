// The 16-bit table normal sampler of rust/rng.rs: 15 bits pick a half-normal level, its bin
// (normal_bin: 16 levels per bin below level 30720, one from there on) a value of the same table
// (uploaded once per device); the 16th bit is the sign. Bit-identical to the CPU.

@group(1) @binding(0) var<storage, read> normal_table: array<f32>;

fn normal_from_u16(bits: u32) -> f32 {
    let level = bits & 0x7FFFu;
    // The larger of the coarse bin (level / 16) and the fine one (level − 28800, saturating).
    let bin = max(level >> 4u, max(level, 28800u) - 28800u);
    let magnitude = bitcast<u32>(normal_table[bin]);
    return bitcast<f32>(magnitude | ((bits & 0x8000u) << 16u));
}

// Normal `h` (0..8) of the Philox block `r` (the order of Stream::normals8).
fn normal_of_block(r: vec4<u32>, h: u32) -> f32 {
    return normal_from_u16(block_half(r, h));
}
