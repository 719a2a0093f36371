//! Tile configuration: plain structs with the reference simulator's names, parsed from JSON
//! (the Python dataclasses serialize to it) and validated before a tile is built.

mod compound;
mod device;
mod io;
mod update;

pub use compound::{
    MixedPrecisionParameters, OneSidedParameters, TransferKind, TransferParameters, UpdatePolicy,
    VectorCellParameters, MAX_DEVICES,
};
pub use device::{
    ConstantStepParameters, DeviceConfig, DriftParameters, ExpStepParameters, IdealParameters,
    LinearStepParameters, PiecewiseStepParameters, PowStepParameters, PowStepReferenceParameters,
    SoftBoundsReferenceParameters, MAX_PIECEWISE_NODES,
};
pub use io::{
    quantization_step, BoundManagement, IoParameters, MvType, NoiseManagement, WeightNoiseType,
};
pub use update::{PulseType, UpdateParameters, MAX_BL};

use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Everything a single-device tile needs: the device model and the three periphery settings.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TileConfig {
    pub device: DeviceConfig,
    pub forward: IoParameters,
    pub backward: IoParameters,
    pub update: UpdateParameters,
}

impl TileConfig {
    /// Parses and validates a JSON configuration; unknown fields are errors.
    pub fn from_json(text: &str) -> Result<Self> {
        let config: TileConfig = serde_json::from_str(text)
            .map_err(|e| Error::config("rpu_config", format!("invalid configuration: {e}")))?;
        config.validate()?;
        Ok(config)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("tile configs always serialize")
    }

    /// A floating-point tile: exact forward/backward, exact update.
    pub fn floating_point() -> Self {
        Self {
            device: DeviceConfig::FloatingPointDevice(IdealParameters::default()),
            forward: IoParameters::perfect(),
            backward: IoParameters::perfect(),
            update: UpdateParameters {
                pulse_type: PulseType::None,
                ..UpdateParameters::default()
            },
        }
    }

    pub fn validate(&self) -> Result<()> {
        self.device.validate("device")?;
        self.forward.validate("forward", true)?;
        self.backward.validate("backward", false)?;
        self.update.validate("update")?;
        Ok(())
    }
}

/// Fails with a named error unless `value` is finite and within `[lo, hi]`.
pub(crate) fn check_range(arg: &str, name: &str, value: f32, lo: f32, hi: f32) -> Result<()> {
    if !value.is_finite() || value < lo || value > hi {
        return Err(Error::config(
            format!("{arg}.{name}"),
            format!("must be a finite number in [{lo}, {hi}], got {value}"),
        ));
    }
    Ok(())
}

/// Fails with an "unsupported" error if a not-yet-implemented feature is switched on.
pub(crate) fn check_off(arg: &str, name: &str, value: f32) -> Result<()> {
    if value != 0.0 {
        return Err(Error::unsupported(
            format!("{arg}.{name}"),
            format!("a non-zero value ({value})"),
        ));
    }
    Ok(())
}
