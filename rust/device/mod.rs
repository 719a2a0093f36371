//! Device models: per-cross-point parameters drawn once at construction (device-to-device
//! variation) and the response of one device to pulses (cycle-to-cycle variation, bounds).

mod constant_step;
mod decay_diffusion;
mod exp_step;
mod linear_step;
mod piecewise_step;
mod pow_step;

pub use constant_step::ConstantStepArray;
pub use decay_diffusion::DecayDiffusion;
pub use exp_step::{ExpShape, ExpStepArray};
pub use linear_step::LinearStepArray;
pub use piecewise_step::{interpolate, PiecewiseStepArray};
pub use pow_step::PowStepArray;

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
}

/// The per-device state of a whole tile: pulse response plus decay/diffusion.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceArray {
    pub model: DeviceModel,
    pub decay_diffusion: Option<DecayDiffusion>,
}

impl DeviceArray {
    /// Draws the device-to-device parameters of a `rows × cols` array.
    pub fn build(config: &DeviceConfig, rows: usize, cols: usize, tile_seed: u64) -> Self {
        let model = match config {
            DeviceConfig::IdealDevice(_) | DeviceConfig::FloatingPointDevice(_) => {
                DeviceModel::FloatingPoint
            }
            DeviceConfig::ConstantStepDevice(p) => {
                DeviceModel::ConstantStep(ConstantStepArray::build(p, rows, cols, tile_seed))
            }
            DeviceConfig::LinearStepDevice(p) => {
                DeviceModel::LinearStep(LinearStepArray::build(p, rows, cols, tile_seed))
            }
            DeviceConfig::ExpStepDevice(p) => {
                DeviceModel::ExpStep(ExpStepArray::build(p, rows, cols, tile_seed))
            }
            DeviceConfig::PowStepDevice(p) => {
                DeviceModel::PowStep(PowStepArray::build(p, rows, cols, tile_seed))
            }
            DeviceConfig::PiecewiseStepDevice(p) => {
                DeviceModel::PiecewiseStep(PiecewiseStepArray::build(p, rows, cols, tile_seed))
            }
        };
        let decay_diffusion = DecayDiffusion::build(config, rows, cols, tile_seed);
        Self {
            model,
            decay_diffusion,
        }
    }

    /// Per-device (lower, upper) bounds, if the devices have any.
    pub fn bounds(&self) -> Option<(&[f32], &[f32])> {
        self.model
            .steps()
            .map(|a| (a.w_min.as_slice(), a.w_max.as_slice()))
    }

    /// Clips weights into each device's bounds (what a device does to any weight written to it).
    pub fn clip_weights(&self, weights: &mut [f32]) {
        if let Some(a) = self.model.steps() {
            a.clip_weights(weights);
        }
    }

    /// Decay and diffusion of one mini-batch (nothing when both are off).
    pub fn post_update(&self, weights: &mut [f32], cols: usize, seed: u64, step: u32) {
        if let Some(dd) = &self.decay_diffusion {
            dd.apply(weights, cols, self.bounds(), seed, step);
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
