// Coincidences and device response of one group of vectors (rust/pulsed.rs), one thread per
// device (i, j). Constant steps (rust/device/constant_step.rs): the up/down counts are the
// popcounts of the AND of row i's and column j's trains, summed over the group (the same integers
// as the CPU's plane sums), applied at once when no order of the pulses can reach a bound, else
// replayed in vector order. Weight-dependent steps (linear, exp, power, piecewise): always
// replayed, pulse by pulse. Also as on the CPU: the polarity of a one-sided pair, a reference the
// device's conductance is read against (g = w + ref), write noise (the pulses act on the
// persistent weight; the visible one becomes persistent + σξ once the device is pulsed), and the
// reads of columns (or rows) after given vectors (transfers), which force a replay.

struct Params {
    rows: u32,
    cols: u32,
    vectors: u32,
    words: u32,
    start: u32,
    group_index: u32,
    step: u32,
    noisy: u32,
    dw_min_std: f32,
    xi_max: f32,
    noise_key_lo: u32,
    noise_key_hi: u32,
    replay_key_lo: u32,
    replay_key_hi: u32,
    // Where d's thresholds and bits start (x's start at 0).
    d_threshold_offset: u32,
    d_bits_offset: u32,
    // This dispatch covers rows row0 .. row0 + band_rows; the arrays bound hold only those rows.
    row0: u32,
    band_rows: u32,
    // Bits 0-2: the model (0 constant, 1 linear, 2 exp, 3 power, 4 piecewise step). Linear step:
    // bit 3 = multiplicative noise, bit 4 = allow_increasing. Exp step: bit 5 = additive noise
    // with the std_add / std_slope terms.
    kind: u32,
    // Exp-step shape (rust/device/exp_step.rs).
    a_up: f32,
    a_down: f32,
    gamma_up: f32,
    gamma_down: f32,
    shape_a: f32,
    shape_b: f32,
    std_add: f32,
    std_slope: f32,
    // Piecewise step: nodes per curve (the `slopes` binding holds up nodes, then down nodes).
    nodes: u32,
    // Bits 0-1: polarity (0 both, 1 up only, 2 down as up); bit 2: write noise; bit 3: a
    // reference; bit 4: reads in this group; bit 5: reads of rows (else columns); bit 6:
    // deterministic counts from the factors in `thresholds` (no trains).
    options: u32,
    write_noise: f32,
    write_key_lo: u32,
    write_key_hi: u32,
    write_word: u32,
    // Reads: keys (rows or columns) of the table, where this group's part of the table starts,
    // and values per read.
    read_keys: u32,
    read_base: u32,
    read_width: u32,
}

@group(0) @binding(0) var<uniform> p: Params;
// The weights the pulses act on (the persistent ones with write noise).
@group(0) @binding(1) var<storage, read_write> weights: array<f32>;
@group(0) @binding(2) var<storage, read> bits: array<u32>;
@group(0) @binding(3) var<storage, read> thresholds: array<u32>;
// Per device of the band, four planes: Δ⁺, Δ⁻, b_max, b_min.
@group(0) @binding(4) var<storage, read> device: array<f32>;
// Per-device step shape of the band, up values then down: linear-step slopes s⁺, s⁻, or
// power-step exponents γ⁺, γ⁻; for the piecewise step the node curves (up, then down).
@group(0) @binding(5) var<storage, read> slopes: array<f32>;
// The visible weights (write noise only).
@group(0) @binding(6) var<storage, read_write> apparent: array<f32>;
// The reference per device (bit 3 only).
@group(0) @binding(7) var<storage, read> reference: array<f32>;
// Reads per group: offsets[keys + 1] into pairs (vector within the group, read number).
@group(0) @binding(8) var<storage, read> read_table: array<u32>;
@group(0) @binding(9) var<storage, read_write> read_values: array<f32>;

// Coincidences of device (i, j) in vector v of the group. Deterministic counts (bit 6; MEAN_COUNT,
// DETERMINISTIC_IMPLICIT, rust/pulsed/dense.rs): the thresholds hold each element's signed
// factor and the count is round_even(|f_x|·|f_d|), WGSL's round being half to even.
fn coincidences(i: u32, j: u32, v: u32) -> u32 {
    if (p.options & 64u) != 0u {
        let n = p.start + v;
        let fx = abs(bitcast<f32>(thresholds[n * p.cols + j]));
        let fd = abs(bitcast<f32>(thresholds[p.d_threshold_offset + n * p.rows + i]));
        return u32(round(fx * fd));
    }
    var count = 0u;
    for (var w = 0u; w < p.words; w++) {
        let slot_row = v * p.words + w;
        count += countOneBits(bits[slot_row * p.cols + j] & bits[p.d_bits_offset + slot_row * p.rows + i]);
    }
    return count;
}

// True when x_j and d_i of vector v have opposite signs: the pulses go up.
fn goes_up(i: u32, j: u32, v: u32) -> bool {
    let n = p.start + v;
    let x_negative = thresholds[n * p.cols + j] >> 31u;
    let d_negative = thresholds[p.d_threshold_offset + n * p.rows + i] >> 31u;
    return x_negative != d_negative;
}

struct Device {
    up: f32,
    down: f32,
    hi: f32,
    lo: f32,
    slope_up: f32,
    slope_down: f32,
}

fn model() -> u32 {
    return p.kind & 7u;
}

fn pulse(dev: Device, w: f32, up: bool, xi: f32) -> f32 {
    if model() == 0u {
        let noise = 1.0 + p.dw_min_std * xi;
        var next = w - dev.down * noise;
        if up {
            next = w + dev.up * noise;
        }
        return min(max(next, dev.lo), dev.hi);
    }
    if model() == 2u {
        return exp_pulse(dev, w, up, xi);
    }
    if model() == 3u {
        return pow_pulse(dev, w, up, xi);
    }
    if model() == 4u {
        return piecewise_pulse(dev, w, up, xi);
    }
    var step = dev.down;
    var slope = dev.slope_down;
    if up {
        step = dev.up;
        slope = dev.slope_up;
    }
    var dw = step + slope * w;
    if (p.kind & 16u) == 0u {
        dw = max(dw, 0.0);
    }
    if (p.kind & 8u) != 0u {
        dw = dw * (1.0 + p.dw_min_std * xi);
    } else {
        dw = dw + step * p.dw_min_std * xi;
    }
    var next = w - dw;
    if up {
        next = w + dw;
    }
    return min(max(next, dev.lo), dev.hi);
}

// The node curve starting at `first` in `slopes` (evenly spaced over [lo, hi]) at w.
fn interpolate(first: u32, w: f32, lo: f32, hi: f32) -> f32 {
    let n = p.nodes;
    if n == 1u || hi <= lo {
        return slopes[first];
    }
    let t = clamp((w - lo) / (hi - lo), 0.0, 1.0) * f32(n - 1u);
    let i = min(u32(t), n - 2u);
    let frac = t - f32(i);
    return slopes[first + i] + frac * (slopes[first + i + 1u] - slopes[first + i]);
}

// Piecewise step: Δ^± times the interpolated node curve, times (1 + σξ).
fn piecewise_pulse(dev: Device, w: f32, up: bool, xi: f32) -> f32 {
    let noise = 1.0 + p.dw_min_std * xi;
    var next = w - dev.down * interpolate(p.nodes, w, dev.lo, dev.hi) * noise;
    if up {
        next = w + dev.up * interpolate(0u, w, dev.lo, dev.hi) * noise;
    }
    return min(max(next, dev.lo), dev.hi);
}

// x^γ on [0, 1]: 1 for γ = 0, 0 at x = 0.
fn power(x: f32, gamma: f32) -> f32 {
    if gamma == 0.0 {
        return 1.0;
    }
    if x <= 0.0 {
        return 0.0;
    }
    return pow(x, gamma);
}

// Power step: ω = (b_max − w)/(b_max − b_min), up Δ⁺ω^γ⁺, down −Δ⁻(1 − ω)^γ⁻, times (1 + σξ);
// the exponents are carried in the slope fields.
fn pow_pulse(dev: Device, w: f32, up: bool, xi: f32) -> f32 {
    let range = dev.hi - dev.lo;
    var omega = 0.0;
    if range > 0.0 {
        omega = clamp((dev.hi - w) / range, 0.0, 1.0);
    }
    let noise = 1.0 + p.dw_min_std * xi;
    var next = w - dev.down * power(1.0 - omega, dev.slope_down) * noise;
    if up {
        next = w + dev.up * power(omega, dev.slope_up) * noise;
    }
    return min(max(next, dev.lo), dev.hi);
}

// Exp step: z = 2a·w/(b_max − b_min) + b, up Δ⁺·max(0, 1 − A_up e^(γ_up z)), down
// −Δ⁻·max(0, 1 − A_down e^(−γ_down z)), times (1 + σξ) or with the additive noise terms.
fn exp_pulse(dev: Device, w: f32, up: bool, xi: f32) -> f32 {
    let range = dev.hi - dev.lo;
    var z = p.shape_b;
    if range > 0.0 {
        z = 2.0 * p.shape_a * w / range + p.shape_b;
    }
    var dw = -dev.down * max(1.0 - p.a_down * exp(-p.gamma_down * z), 0.0);
    if up {
        dw = dev.up * max(1.0 - p.a_up * exp(p.gamma_up * z), 0.0);
    }
    var next = w + dw * (1.0 + p.dw_min_std * xi);
    if (p.kind & 32u) != 0u {
        next = w + dw + p.dw_min_std * (abs(dw) + p.std_add + p.std_slope * abs(w)) * xi;
    }
    return min(max(next, dev.lo), dev.hi);
}

// Sequential normals of the replay stream of device (i, j): counter (j, i, group·2²⁰ + n / 8, step).
var<private> replay_drawn: u32 = 0u;
var<private> replay_block: vec4<u32>;

fn replay_normal(i: u32, j: u32) -> f32 {
    if p.noisy == 0u {
        return 0.0;
    }
    let h = replay_drawn % 8u;
    if h == 0u {
        let block = (p.group_index << 20u) | (replay_drawn / 8u);
        replay_block = philox(vec4<u32>(j, i, block, p.step), vec2<u32>(p.replay_key_lo, p.replay_key_hi));
    }
    replay_drawn += 1u;
    return normal_of_block(replay_block, h);
}

fn polarity() -> u32 {
    return p.options & 3u;
}

fn has_reference() -> bool {
    return (p.options & 8u) != 0u;
}

// One pulse at visible weight w: the device sees the conductance w + ref.
fn pulse_at(dev: Device, w: f32, up: bool, xi: f32, r: f32) -> f32 {
    if has_reference() {
        return pulse(dev, w + r, up, xi) - r;
    }
    return pulse(dev, w, up, xi);
}

// This update's write-noise normal of device (i, j): normal j % 8 of (j / 8, i, word, step).
fn write_normal(i: u32, j: u32) -> f32 {
    let r = philox(vec4<u32>(j / 8u, i, p.write_word, p.step), vec2<u32>(p.write_key_lo, p.write_key_hi));
    return normal_of_block(r, j % 8u);
}

// The reads of device (i, j) in this group: [first, last) into the pairs of the table.
fn reads_of(i: u32, j: u32) -> vec2<u32> {
    if (p.options & 16u) == 0u {
        return vec2<u32>(0u, 0u);
    }
    var key = j;
    if (p.options & 32u) != 0u {
        key = i;
    }
    return vec2<u32>(read_table[p.read_base + key], read_table[p.read_base + key + 1u]);
}

fn put_read(pair: u32, i: u32, j: u32, value: f32) {
    let entry = p.read_base + p.read_keys + 1u + 2u * pair;
    let read = read_table[entry + 1u];
    var slot = i;
    if (p.options & 32u) != 0u {
        slot = j;
    }
    read_values[read * p.read_width + slot] = value;
}

fn read_vector(pair: u32) -> u32 {
    return read_table[p.read_base + p.read_keys + 1u + 2u * pair];
}

struct Replayed {
    w: f32,
    pulsed: bool,
}

fn replay(dev: Device, w_start: f32, i: u32, j: u32, k: u32, reads: vec2<u32>, r: f32, wn: f32, old: f32) -> Replayed {
    var w = w_start;
    var pulsed = false;
    var next_read = reads.x;
    let s = p.dw_min_std * p.xi_max;
    let against = max(s - 1.0, 0.0);
    let sigma = p.write_noise;
    for (var v = 0u; v < p.vectors; v++) {
        while next_read < reads.y && read_vector(next_read) < v {
            var seen = w;
            if sigma > 0.0 {
                seen = select(old, w + sigma * wn, pulsed);
            }
            put_read(next_read, i, j, seen);
            next_read++;
        }
        let count = coincidences(i, j, v);
        if count == 0u {
            continue;
        }
        var up = goes_up(i, j, v);
        if polarity() == 1u && !up {
            continue;
        }
        if polarity() == 2u {
            if up {
                continue;
            }
            up = true;
        }
        pulsed = true;
        if count > 1u && model() == 0u && !has_reference() {
            // A same-direction run as one group when it cannot reach a bound (`pulse_run`).
            let xi = replay_normal(i, j);
            let c = f32(count);
            var step = dev.down;
            var sign = -1.0;
            if up {
                step = dev.up;
                sign = 1.0;
            }
            let forward = w + sign * c * step * (1.0 + s);
            let backward = w - sign * c * step * against;
            var highest = backward;
            var lowest = forward;
            if up {
                highest = forward;
                lowest = backward;
            }
            if !(highest > dev.hi || lowest < dev.lo) {
                let next = w + sign * c * step + p.dw_min_std * step * sqrt(c) * xi;
                w = min(max(next, dev.lo), dev.hi);
                continue;
            }
        }
        for (var q = 0u; q < count; q++) {
            w = pulse_at(dev, w, up, replay_normal(i, j), r);
        }
    }
    while next_read < reads.y {
        var seen = w;
        if sigma > 0.0 {
            seen = select(old, w + sigma * wn, pulsed);
        }
        put_read(next_read, i, j, seen);
        next_read++;
    }
    return Replayed(w, pulsed);
}

@compute @workgroup_size(64, 4)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let j = gid.x;
    if j >= p.cols || gid.y >= p.band_rows {
        return;
    }
    let i = p.row0 + gid.y;
    let reads = reads_of(i, j);
    let has_reads = reads.y > reads.x;
    var n_up = 0u;
    var n_down = 0u;
    for (var v = 0u; v < p.vectors; v++) {
        let count = coincidences(i, j, v);
        if goes_up(i, j, v) {
            n_up += count;
        } else {
            n_down += count;
        }
    }
    if polarity() == 1u {
        n_down = 0u;
    } else if polarity() == 2u {
        n_up = n_down;
        n_down = 0u;
    }
    if n_up + n_down == 0u && !has_reads {
        return;
    }
    let k = gid.y * p.cols + j;
    let plane = p.band_rows * p.cols;
    var dev = Device(device[k], device[plane + k], device[2u * plane + k], device[3u * plane + k], 0.0, 0.0);
    if model() == 1u || model() == 3u {
        // Linear and power steps carry per-device shapes.
        dev.slope_up = slopes[k];
        dev.slope_down = slopes[plane + k];
    }
    var r = 0.0;
    if has_reference() {
        r = reference[k];
    }
    let sigma = p.write_noise;
    var wn = 0.0;
    var old = 0.0;
    if sigma > 0.0 {
        wn = write_normal(i, j);
        old = apparent[k];
    }
    let w = weights[k];
    var next = w;
    var pulsed = n_up + n_down > 0u;
    var done = false;
    if model() == 0u && !has_reads && !has_reference() {
        let s = p.dw_min_std * p.xi_max;
        let against = max(s - 1.0, 0.0);
        let nu = f32(n_up);
        let nd = f32(n_down);
        let highest = w + nu * dev.up * (1.0 + s) + nd * dev.down * against;
        let lowest = w - nd * dev.down * (1.0 + s) - nu * dev.up * against;
        if highest <= dev.hi && lowest >= dev.lo {
            var xi = 0.0;
            if p.noisy != 0u {
                let rb = philox(vec4<u32>(j / 8u, i, p.group_index, p.step), vec2<u32>(p.noise_key_lo, p.noise_key_hi));
                xi = normal_of_block(rb, j % 8u);
            }
            let mean = nu * dev.up - nd * dev.down;
            let spread = p.dw_min_std * sqrt(nu * dev.up * dev.up + nd * dev.down * dev.down);
            next = min(max(w + mean + spread * xi, dev.lo), dev.hi);
            done = true;
        }
    }
    if !done {
        let out = replay(dev, w, i, j, k, reads, r, wn, old);
        next = out.w;
        pulsed = out.pulsed;
    }
    weights[k] = next;
    if sigma > 0.0 && pulsed {
        apparent[k] = next + sigma * wn;
    }
}
