//! Device models: per-cross-point parameters drawn once at construction (device-to-device
//! variation) and the response of one device to pulses (cycle-to-cycle variation, bounds).

mod constant_step;

pub use constant_step::ConstantStepArray;

use crate::config::DeviceConfig;
use crate::error::{Error, Result};

/// The per-device state of a whole tile.
#[derive(Clone, Debug, PartialEq)]
pub enum DeviceArray {
    /// Floating-point weights: exact updates, no bounds.
    FloatingPoint,
    ConstantStep(ConstantStepArray),
}

impl DeviceArray {
    /// Draws the device-to-device parameters of a `rows × cols` array.
    pub fn build(config: &DeviceConfig, rows: usize, cols: usize, tile_seed: u64) -> Self {
        match config {
            DeviceConfig::IdealDevice(_) | DeviceConfig::FloatingPointDevice(_) => {
                DeviceArray::FloatingPoint
            }
            DeviceConfig::ConstantStepDevice(p) => {
                DeviceArray::ConstantStep(ConstantStepArray::build(p, rows, cols, tile_seed))
            }
        }
    }

    /// Clips weights into each device's bounds (what a device does to any weight written to it).
    pub fn clip_weights(&self, weights: &mut [f32]) {
        if let DeviceArray::ConstantStep(a) = self {
            a.clip_weights(weights);
        }
    }

    /// Named per-device arrays, for saving state.
    pub fn arrays(&self) -> Vec<(&'static str, &[f32])> {
        match self {
            DeviceArray::FloatingPoint => Vec::new(),
            DeviceArray::ConstantStep(a) => a.arrays(),
        }
    }

    /// Restores named per-device arrays saved by [`DeviceArray::arrays`].
    pub fn load_arrays(&mut self, arrays: &[(String, Vec<f32>)]) -> Result<()> {
        let mut targets = match self {
            DeviceArray::FloatingPoint => Vec::new(),
            DeviceArray::ConstantStep(a) => a.arrays_mut(),
        };
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
