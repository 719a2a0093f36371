//! Device-model parameters (`IdealDevice`, `ConstantStepDevice`, `FloatingPointDevice`).

use super::{check_off, check_range};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which device model sits at each cross-point, with its parameters.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(tag = "type")]
pub enum DeviceConfig {
    /// Exact floating-point update, no bounds (the reference's `IdealDevice`).
    IdealDevice(IdealParameters),
    /// Same semantics, used by `FloatingPointRPUConfig`.
    FloatingPointDevice(IdealParameters),
    /// Pulsed device with a constant step size (the reference's default device).
    ConstantStepDevice(ConstantStepParameters),
}

impl Default for DeviceConfig {
    fn default() -> Self {
        DeviceConfig::ConstantStepDevice(ConstantStepParameters::default())
    }
}

impl DeviceConfig {
    pub(crate) fn validate(&self, arg: &str) -> Result<()> {
        match self {
            DeviceConfig::IdealDevice(p) | DeviceConfig::FloatingPointDevice(p) => p.validate(arg),
            DeviceConfig::ConstantStepDevice(p) => p.validate(arg),
        }
    }

    /// Step size of one pulse: the granularity the pulsed update is scaled with.
    pub fn granularity(&self) -> f32 {
        match self {
            DeviceConfig::ConstantStepDevice(p) => p.dw_min,
            _ => 0.0,
        }
    }

    /// Whether updates are exact floating-point operations regardless of the pulse type.
    pub fn is_floating_point(&self) -> bool {
        !matches!(self, DeviceConfig::ConstantStepDevice(_))
    }
}

/// Parameters of the floating-point devices.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IdealParameters {
    pub construction_seed: u64,
    pub diffusion: f32,
    pub lifetime: f32,
    pub reset_std: f32,
}

impl Default for IdealParameters {
    fn default() -> Self {
        Self {
            construction_seed: 0,
            diffusion: 0.0,
            lifetime: 0.0,
            reset_std: 0.01,
        }
    }
}

impl IdealParameters {
    fn validate(&self, arg: &str) -> Result<()> {
        check_range(arg, "reset_std", self.reset_std, 0.0, f32::MAX)?;
        check_range(arg, "diffusion", self.diffusion, 0.0, f32::MAX)?;
        check_range(arg, "lifetime", self.lifetime, 0.0, f32::MAX)?;
        Ok(())
    }
}

/// Parameters of `ConstantStepDevice` (all of `PulsedDevice`'s).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct ConstantStepParameters {
    pub construction_seed: u64,
    pub corrupt_devices_prob: f32,
    pub corrupt_devices_range: f32,
    pub diffusion: f32,
    pub diffusion_dtod: f32,
    pub dw_min: f32,
    pub dw_min_dtod: f32,
    pub dw_min_dtod_log_normal: bool,
    pub dw_min_std: f32,
    pub enforce_consistency: bool,
    pub lifetime: f32,
    pub lifetime_dtod: f32,
    pub perfect_bias: bool,
    pub reset: f32,
    pub reset_dtod: f32,
    pub reset_std: f32,
    pub up_down: f32,
    pub up_down_dtod: f32,
    pub w_max: f32,
    pub w_max_dtod: f32,
    pub w_min: f32,
    pub w_min_dtod: f32,
    pub count_pulses: bool,
}

impl Default for ConstantStepParameters {
    fn default() -> Self {
        Self {
            construction_seed: 0,
            corrupt_devices_prob: 0.0,
            corrupt_devices_range: 0.1,
            diffusion: 0.0,
            diffusion_dtod: 0.0,
            dw_min: 0.001,
            dw_min_dtod: 0.3,
            dw_min_dtod_log_normal: false,
            dw_min_std: 0.3,
            enforce_consistency: true,
            lifetime: 0.0,
            lifetime_dtod: 0.0,
            perfect_bias: false,
            reset: 0.0,
            reset_dtod: 0.0,
            reset_std: 0.01,
            up_down: 0.0,
            up_down_dtod: 0.01,
            w_max: 0.6,
            w_max_dtod: 0.3,
            w_min: -0.6,
            w_min_dtod: 0.3,
            count_pulses: false,
        }
    }
}

impl ConstantStepParameters {
    fn validate(&self, arg: &str) -> Result<()> {
        let big = f32::MAX;
        if !(self.dw_min.is_finite() && self.dw_min > 0.0) {
            return Err(Error::config(
                format!("{arg}.dw_min"),
                format!("must be a finite number > 0, got {}", self.dw_min),
            ));
        }
        check_range(arg, "dw_min_dtod", self.dw_min_dtod, 0.0, big)?;
        check_range(arg, "dw_min_std", self.dw_min_std, 0.0, big)?;
        check_range(arg, "up_down", self.up_down, -big, big)?;
        check_range(arg, "up_down_dtod", self.up_down_dtod, 0.0, big)?;
        check_range(arg, "w_max", self.w_max, -big, big)?;
        check_range(arg, "w_min", self.w_min, -big, big)?;
        check_range(arg, "w_max_dtod", self.w_max_dtod, 0.0, big)?;
        check_range(arg, "w_min_dtod", self.w_min_dtod, 0.0, big)?;
        check_range(arg, "reset_std", self.reset_std, 0.0, big)?;
        check_range(
            arg,
            "corrupt_devices_range",
            self.corrupt_devices_range,
            0.0,
            big,
        )?;
        if self.w_min > self.w_max {
            return Err(Error::config(
                format!("{arg}.w_min"),
                format!(
                    "w_min ({}) must not exceed w_max ({})",
                    self.w_min, self.w_max
                ),
            ));
        }
        check_range(arg, "diffusion", self.diffusion, 0.0, big)?;
        check_range(arg, "diffusion_dtod", self.diffusion_dtod, 0.0, big)?;
        check_range(arg, "lifetime", self.lifetime, 0.0, big)?;
        check_range(arg, "lifetime_dtod", self.lifetime_dtod, 0.0, big)?;
        check_range(arg, "reset", self.reset, -big, big)?;
        check_range(arg, "reset_dtod", self.reset_dtod, 0.0, big)?;
        check_off(arg, "corrupt_devices_prob", self.corrupt_devices_prob)?;
        if self.perfect_bias {
            return Err(Error::unsupported(
                format!("{arg}.perfect_bias"),
                "an analog bias column",
            ));
        }
        Ok(())
    }
}
