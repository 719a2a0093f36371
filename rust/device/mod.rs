//! Device models: per-cross-point parameters drawn once at construction (device-to-device
//! variation) and the response of one device to pulses (cycle-to-cycle variation, bounds).

mod constant_step;
mod decay_diffusion;
mod drift;
mod exp_step;
mod linear_step;
mod piecewise_step;
mod pow_step;
mod reference;

pub use constant_step::{ConstantStep, ConstantStepArray};
pub use decay_diffusion::DecayDiffusion;
pub use drift::{Drift, DriftContext};
pub use exp_step::{ExpShape, ExpStep, ExpStepArray};
pub use linear_step::{LinearStep, LinearStepArray};
pub use piecewise_step::{interpolate, PiecewiseStep, PiecewiseStepArray};
pub use pow_step::{PowStep, PowStepArray};

use crate::config::{ConstantStepParameters, DeviceConfig};
use crate::error::{Error, Result};
use crate::rng::{normal_table, Purpose, Stream};

/// The second set of eight device-to-device normals of device `k` (counter (k, k >> 32, 1, 0);
/// the constant-step and decay draws use the first set, c = 0): normals 0 and 1 are the linear
/// step's, 2 and 3 the power step's.
pub(crate) fn shape_normals(p: &ConstantStepParameters, tile_seed: u64, k: usize) -> [f32; 8] {
    let seed = if p.construction_seed != 0 {
        p.construction_seed
    } else {
        tile_seed
    };
    Stream::new(seed, Purpose::DeviceToDevice).normals8(
        k as u32,
        (k >> 32) as u32,
        1,
        0,
        normal_table(),
    )
}

/// One device's pulse response with its parameters loaded (the inner loop of the pulse-by-pulse
/// update runs on these; the arrays' `pulse` methods use them too, so each model has one
/// formula).
pub trait PulseStep: Copy {
    /// Whether a pulse is a few arithmetic operations without branches (constant and linear
    /// steps): dense pulses then advance LANES devices in lockstep.
    const LOCKSTEP: bool = false;
    /// LANES devices' parameters, one array per parameter (so the lane loops vectorize).
    type Lanes;

    /// The weight after one pulse (up or down) with cycle-to-cycle normal `xi`.
    fn pulse(&self, w: f32, up: bool, xi: f32) -> f32;

    fn lanes(devices: &[Self; LANES]) -> Self::Lanes;

    /// LANES devices after one pulse each: bit for bit what [`Self::pulse`] gives lane by lane.
    fn pulse_lanes(
        lanes: &Self::Lanes,
        up: &[bool; LANES],
        w: &[f32; LANES],
        xi: &[f32; LANES],
    ) -> [f32; LANES];

    /// Runs `train` on LANES devices: [`Self::pulse_lanes`] once per pulse index, lanes past
    /// their count keep their weight. Models override it with a vector form where the CPU has
    /// one; the results are the same.
    #[inline(always)]
    fn pulse_train_lanes(lanes: &Self::Lanes, w: &mut [f32; LANES], train: &LaneTrain<'_>) {
        pulse_train_portable::<Self>(lanes, w, train);
    }
}

/// The pulses of LANES devices with the vector boundaries dropped (no reads between them):
/// lane l takes its m-th pulse in iteration m < `counts[l]`, up when bit m of its direction
/// words (`directions[l * stride..]`) is set, with cycle-to-cycle normal `normals[m * LANES + l]`
/// (all zero when `normals` is None).
pub struct LaneTrain<'a> {
    /// The first iteration to run (a run that stops at reads resumes there).
    pub first: usize,
    /// Where to stop: the longest lane's count, or a read's position.
    pub pulses: usize,
    pub counts: [u32; LANES],
    pub directions: &'a [u64],
    /// Direction words per lane to run (pulses / 64 rounded up) and apart.
    pub words: usize,
    pub stride: usize,
    pub normals: Option<&'a [f32]>,
    /// Whether the caller runs with AVX-512 (has_wide_lanes): vector forms may be used.
    pub wide: bool,
}

impl LaneTrain<'_> {
    /// The first bit of direction word `word` to run.
    #[inline(always)]
    pub fn first_bit(&self, word: usize) -> usize {
        if word == self.first / 64 {
            self.first % 64
        } else {
            0
        }
    }

    /// Lane l's direction word `word`, for every lane.
    #[inline(always)]
    pub fn direction_words(&self, word: usize) -> [u64; LANES] {
        std::array::from_fn(|l| self.directions[l * self.stride + word])
    }
}

/// [`PulseStep::pulse_train_lanes`] with [`PulseStep::pulse_lanes`].
#[inline(always)]
pub fn pulse_train_portable<S: PulseStep>(
    lanes: &S::Lanes,
    w: &mut [f32; LANES],
    train: &LaneTrain<'_>,
) {
    let mut xi = [0.0f32; LANES];
    for word in train.first / 64..train.words {
        let bits = train.direction_words(word);
        for bit in train.first_bit(word)..64.min(train.pulses - word * 64) {
            let m = word * 64 + bit;
            if let Some(normals) = train.normals {
                xi = normals[m * LANES..(m + 1) * LANES]
                    .try_into()
                    .expect("LANES normals");
            }
            let up: [bool; LANES] = std::array::from_fn(|l| (bits[l] >> bit) & 1 == 1);
            let next = S::pulse_lanes(lanes, &up, w, &xi);
            let m = m as u32;
            // Lanes whose pulses are done keep their weight (a select, not a branch).
            for l in 0..LANES {
                w[l] = if m < train.counts[l] { next[l] } else { w[l] };
            }
        }
    }
}

/// Devices advanced together by the lockstep application of dense pulses.
pub const LANES: usize = 16;

/// The lanes of a model without a lockstep form: its devices one after the other.
macro_rules! scalar_lanes {
    () => {
        type Lanes = [Self; $crate::device::LANES];

        #[inline(always)]
        fn lanes(devices: &[Self; $crate::device::LANES]) -> Self::Lanes {
            *devices
        }

        #[inline(always)]
        fn pulse_lanes(
            lanes: &Self::Lanes,
            up: &[bool; $crate::device::LANES],
            w: &[f32; $crate::device::LANES],
            xi: &[f32; $crate::device::LANES],
        ) -> [f32; $crate::device::LANES] {
            std::array::from_fn(|l| lanes[l].pulse(w[l], up[l], xi[l]))
        }
    };
}
pub(crate) use scalar_lanes;

/// `w + dw` for an up pulse, exactly `w - dw` for a down one (IEEE subtraction is the addition
/// of the negation), without a branch on the direction.
#[inline(always)]
pub fn directed_add(w: f32, dw: f32, up: bool) -> f32 {
    w + f32::from_bits(dw.to_bits() ^ (u32::from(!up) << 31))
}

/// [`clip`] lane by lane.
#[inline(always)]
pub fn clip_lanes(v: &mut [f32; LANES], lo: &[f32; LANES], hi: &[f32; LANES]) {
    for l in 0..LANES {
        v[l] = clip(v[l], lo[l], hi[l]);
    }
}

/// A parameter of LANES devices as an array.
#[inline(always)]
pub fn lane_array<S, T>(devices: &[S; LANES], field: impl Fn(&S) -> T) -> [T; LANES] {
    std::array::from_fn(|l| field(&devices[l]))
}

/// `v` clipped into [lo, hi] by comparisons (minss/maxss; the values are never NaN).
#[inline(always)]
pub fn clip(v: f32, lo: f32, hi: f32) -> f32 {
    let v = if v < lo { lo } else { v };
    if v > hi {
        hi
    } else {
        v
    }
}

/// The pulse response of the devices of a tile.
#[derive(Clone, Debug, PartialEq)]
pub enum DeviceModel {
    /// Floating-point weights: exact updates, no bounds.
    FloatingPoint,
    ConstantStep(ConstantStepArray),
    LinearStep(LinearStepArray),
    ExpStep(ExpStepArray),
    PowStep(PowStepArray),
    PiecewiseStep(PiecewiseStepArray),
}

impl DeviceModel {
    /// The steps and bounds of a pulsed model.
    pub fn steps(&self) -> Option<&ConstantStepArray> {
        match self {
            DeviceModel::ConstantStep(a) => Some(a),
            DeviceModel::LinearStep(a) => Some(&a.base),
            DeviceModel::ExpStep(a) => Some(&a.base),
            DeviceModel::PowStep(a) => Some(&a.base),
            DeviceModel::PiecewiseStep(a) => Some(&a.base),
            DeviceModel::FloatingPoint => None,
        }
    }

    pub fn steps_mut(&mut self) -> Option<&mut ConstantStepArray> {
        match self {
            DeviceModel::ConstantStep(a) => Some(a),
            DeviceModel::LinearStep(a) => Some(&mut a.base),
            DeviceModel::ExpStep(a) => Some(&mut a.base),
            DeviceModel::PowStep(a) => Some(&mut a.base),
            DeviceModel::PiecewiseStep(a) => Some(&mut a.base),
            DeviceModel::FloatingPoint => None,
        }
    }
}

/// The per-device state of one array of a tile: pulse response, decay/diffusion, the reference
/// conductance the visible weight is read against, and the write noise.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceArray {
    pub model: DeviceModel,
    pub decay_diffusion: Option<DecayDiffusion>,
    /// Reference per device (visible weight w = conductance − reference); empty: none.
    pub reference: Vec<f32>,
    /// The part of the reference that is the device's symmetry point (empty: none).
    pub symmetry: Vec<f32>,
    /// Write noise σ on the visible weight (absolute); 0: none. With write noise the pulses act
    /// on a hidden persistent weight and the visible one is persistent + σξ, redrawn whenever
    /// the device is written.
    pub write_noise: f32,
    /// Whether `set_weights` draws write noise.
    pub write_noise_on_set: bool,
    /// Reset target b and its cycle-to-cycle spread (for resets of devices).
    pub reset: f32,
    pub reset_dtod: f32,
    pub reset_std: f32,
    /// The seed of the device-to-device draws.
    pub draw_seed: u64,
    /// Power-law drift and its state (None: off).
    pub drift: Option<Drift>,
}

impl DeviceArray {
    /// Draws the device-to-device parameters of a `rows × cols` array.
    pub fn build(config: &DeviceConfig, rows: usize, cols: usize, tile_seed: u64) -> Result<Self> {
        let (mut reference, mut symmetry) = (Vec::new(), Vec::new());
        let model = match config {
            DeviceConfig::ConstantStepDevice(p) => {
                DeviceModel::ConstantStep(ConstantStepArray::build(p, rows, cols, tile_seed)?)
            }
            DeviceConfig::LinearStepDevice(p) => {
                DeviceModel::LinearStep(LinearStepArray::build(p, rows, cols, tile_seed)?)
            }
            DeviceConfig::ExpStepDevice(p) => {
                DeviceModel::ExpStep(ExpStepArray::build(p, rows, cols, tile_seed)?)
            }
            DeviceConfig::PowStepDevice(p) => {
                DeviceModel::PowStep(PowStepArray::build(p, rows, cols, tile_seed)?)
            }
            DeviceConfig::PiecewiseStepDevice(p) => {
                DeviceModel::PiecewiseStep(PiecewiseStepArray::build(p, rows, cols, tile_seed)?)
            }
            DeviceConfig::SoftBoundsReferenceDevice(p) => {
                let (a, r, sp) = reference::soft_bounds_reference(p, rows, cols, tile_seed)?;
                (reference, symmetry) = (r, sp);
                DeviceModel::LinearStep(a)
            }
            DeviceConfig::PowStepReferenceDevice(p) => {
                let (a, r, sp) = reference::pow_step_reference(p, rows, cols, tile_seed)?;
                (reference, symmetry) = (r, sp);
                DeviceModel::PowStep(a)
            }
            // Floating-point devices, and (never built as one array) unit cells.
            _ => DeviceModel::FloatingPoint,
        };
        if reference.iter().all(|&r| r == 0.0) {
            reference.clear();
        }
        if symmetry.iter().all(|&r| r == 0.0) {
            symmetry.clear();
        }
        let (reset, reset_dtod, reset_std, seed) = match (config.pulsed(), config) {
            (Some(p), _) => (p.reset, p.reset_dtod, p.reset_std, p.construction_seed),
            (None, DeviceConfig::IdealDevice(p)) => (0.0, 0.0, p.reset_std, p.construction_seed),
            _ => (0.0, 0.0, 0.0, 0),
        };
        let mut array = Self {
            model,
            decay_diffusion: None,
            reference,
            symmetry,
            write_noise: config.write_noise(),
            write_noise_on_set: config.apply_write_noise_on_set(),
            reset,
            reset_dtod,
            reset_std,
            draw_seed: if seed != 0 { seed } else { tile_seed },
            drift: None,
        };
        array.drift = match config.drift() {
            Some(p) => Drift::build(p, rows * cols, array.draw_seed)?,
            None => None,
        };
        array.decay_diffusion =
            DecayDiffusion::build(config, rows, cols, tile_seed)?.map(|mut dd| {
                // Decay relaxes the conductance to the reset target: in visible units, b − ref.
                if !dd.reset_bias.is_empty() {
                    for (k, b) in dd.reset_bias.iter_mut().enumerate() {
                        *b = array.reset_target(k);
                    }
                }
                dd
            });
        Ok(array)
    }

    /// The reset target of device k in visible units: reset + reset_dtod·ξ, minus the device's
    /// reference with the symmetry point taken out (with `subtract_symmetry_point` the reset
    /// conductance is the symmetry point itself, as in the reference).
    pub fn reset_target(&self, k: usize) -> f32 {
        let xi = Stream::new(self.draw_seed, Purpose::DeviceToDevice).normals8(
            k as u32,
            (k >> 32) as u32,
            0,
            0,
            normal_table(),
        );
        let bias = self.reset + self.reset_dtod * xi[5];
        match self.reference.get(k) {
            Some(&r) => bias - (r - self.symmetry_offset(k)),
            None => bias,
        }
    }

    /// The part of device k's reference that is its symmetry point (0 unless subtracted).
    fn symmetry_offset(&self, k: usize) -> f32 {
        self.symmetry.get(k).copied().unwrap_or(0.0)
    }

    /// Whether this array keeps a hidden persistent weight (write noise).
    pub fn has_write_noise(&self) -> bool {
        self.write_noise > 0.0
    }

    /// Per-device (lower, upper) bounds, if the devices have any.
    pub fn bounds(&self) -> Option<(&[f32], &[f32])> {
        self.model
            .steps()
            .map(|a| (a.w_min.as_slice(), a.w_max.as_slice()))
    }

    /// Clips weights into each device's bounds (what a device does to any weight written to it);
    /// with a reference the bounds hold for the conductance w + ref.
    pub fn clip_weights(&self, weights: &mut [f32]) {
        if let Some(a) = self.model.steps() {
            if self.reference.is_empty() {
                a.clip_weights(weights);
            } else {
                for (k, w) in weights.iter_mut().enumerate() {
                    let r = self.reference[k];
                    *w = w.max(a.w_min[k] - r).min(a.w_max[k] - r);
                }
            }
        }
    }

    /// Clips the weight of device k into its bounds.
    pub fn clip_one(&self, k: usize, w: &mut f32) {
        if let Some(a) = self.model.steps() {
            let r = self.reference.get(k).copied().unwrap_or(0.0);
            *w = w.max(a.w_min[k] - r).min(a.w_max[k] - r);
        }
    }

    /// `copy_inverted` of a one-sided cell (as the reference): this device, which only moves
    /// up, takes the down behaviour of `first` mirrored. Its own up and down steps swap and its
    /// bounds mirror (b_max ← −b_min, b_min ← −b_max); linear-step slopes are copied from
    /// `first` with the directions swapped and the sign flipped (s⁺ ← −s⁻, s⁻ ← −s⁺).
    pub fn invert_from(&mut self, first: &DeviceArray) {
        if let Some(a) = self.model.steps_mut() {
            std::mem::swap(&mut a.step_up, &mut a.step_down);
            std::mem::swap(&mut a.w_max, &mut a.w_min);
            a.w_max.iter_mut().for_each(|b| *b = -*b);
            a.w_min.iter_mut().for_each(|b| *b = -*b);
        }
        if let (DeviceModel::LinearStep(me), DeviceModel::LinearStep(f)) =
            (&mut self.model, &first.model)
        {
            me.slope_up = f.slope_down.iter().map(|s| -s).collect();
            me.slope_down = f.slope_up.iter().map(|s| -s).collect();
        }
    }

    /// One drift call of `delta_t` on the weights the pulses act on (nothing without drift);
    /// false when the array does not drift.
    pub fn drift(&mut self, weights: &mut [f32], delta_t: f32, seed: u64) -> bool {
        let bounds = self
            .model
            .steps()
            .map(|a| (a.w_min.as_slice(), a.w_max.as_slice()));
        let Some(drift) = &mut self.drift else {
            return false;
        };
        let ctx = DriftContext {
            bounds,
            reference: &self.reference,
            seed,
        };
        drift.apply(weights, delta_t, &ctx);
        true
    }

    /// Decay and diffusion of one mini-batch (nothing when both are off).
    pub fn post_update(&self, weights: &mut [f32], cols: usize, seed: u64, step: u32) {
        if let Some(dd) = &self.decay_diffusion {
            dd.apply(weights, cols, self.bounds(), &self.reference, seed, step);
        }
    }

    /// Named copies of the per-device arrays (a backend's saved state).
    pub fn named_arrays(&self) -> Vec<(String, Vec<f32>)> {
        self.arrays()
            .into_iter()
            .map(|(n, a)| (n.to_string(), a.to_vec()))
            .collect()
    }

    /// Named per-device arrays, for saving state.
    pub fn arrays(&self) -> Vec<(&'static str, &[f32])> {
        let mut v = match &self.model {
            DeviceModel::FloatingPoint => Vec::new(),
            DeviceModel::ConstantStep(a) => a.arrays(),
            DeviceModel::LinearStep(a) => a.arrays(),
            DeviceModel::ExpStep(a) => a.base.arrays(),
            DeviceModel::PowStep(a) => a.arrays(),
            DeviceModel::PiecewiseStep(a) => a.base.arrays(),
        };
        if let Some(dd) = &self.decay_diffusion {
            v.extend(dd.arrays());
        }
        if !self.reference.is_empty() {
            v.push(("reference", &self.reference));
        }
        if !self.symmetry.is_empty() {
            v.push(("symmetry_point", &self.symmetry));
        }
        if let Some(d) = &self.drift {
            v.extend(d.arrays());
        }
        v
    }

    /// Restores named per-device arrays saved by [`DeviceArray::arrays`].
    pub fn load_arrays(&mut self, arrays: &[(String, Vec<f32>)]) -> Result<()> {
        let mut targets = match &mut self.model {
            DeviceModel::FloatingPoint => Vec::new(),
            DeviceModel::ConstantStep(a) => a.arrays_mut(),
            DeviceModel::LinearStep(a) => a.arrays_mut(),
            DeviceModel::ExpStep(a) => a.base.arrays_mut(),
            DeviceModel::PowStep(a) => a.arrays_mut(),
            DeviceModel::PiecewiseStep(a) => a.base.arrays_mut(),
        };
        if let Some(dd) = &mut self.decay_diffusion {
            targets.extend(dd.arrays_mut());
        }
        if !self.reference.is_empty() {
            targets.push(("reference", &mut self.reference));
        }
        if !self.symmetry.is_empty() {
            targets.push(("symmetry_point", &mut self.symmetry));
        }
        if let Some(d) = &mut self.drift {
            targets.extend(d.arrays_mut());
        }
        if arrays.len() != targets.len() {
            return Err(Error::State(format!(
                "expected {} device arrays, got {}",
                targets.len(),
                arrays.len()
            )));
        }
        for (name, values) in arrays {
            let target = targets
                .iter_mut()
                .find(|(n, _)| n == name)
                .ok_or_else(|| Error::State(format!("unknown device array {name:?}")))?;
            if target.1.len() != values.len() {
                return Err(Error::State(format!(
                    "device array {name:?}: expected {} values, got {}",
                    target.1.len(),
                    values.len()
                )));
            }
            target.1.copy_from_slice(values);
        }
        Ok(())
    }
}
