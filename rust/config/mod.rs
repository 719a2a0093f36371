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
        let config: TileConfig = parse_json(text).map_err(|(path, e)| {
            if path.is_empty() {
                Error::config("rpu_config", format!("invalid configuration: {e}"))
            } else {
                Error::config(path, e)
            }
        })?;
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

/// The smallest value a parameter that divides may take: the smallest normal float32
/// (1.1754944e-38). Below it the value has lost precision (a subnormal) and the quotient of any
/// value ≥ 1 by it leaves the float32 range (Inf).
pub(crate) const MIN_DIVISOR: f32 = f32::MIN_POSITIVE;

/// Fails with a named error unless `value` (a divisor) is finite and ≥ [`MIN_DIVISOR`]; with
/// `zero_off`, 0 (meaning "off" or "use the default") passes too.
pub(crate) fn check_divisor(arg: &str, name: &str, value: f32, zero_off: bool) -> Result<()> {
    if (zero_off && value == 0.0) || (value.is_finite() && value >= MIN_DIVISOR) {
        return Ok(());
    }
    let zero = if zero_off { "0 or " } else { "" };
    Err(Error::config(
        format!("{arg}.{name}"),
        format!(
            "must be {zero}a finite number >= {MIN_DIVISOR:e} (the smallest normal float32; it \
             is a divisor, and a smaller one makes the quotient overflow float32), got {value:e}"
        ),
    ))
}

/// Fails unless a resolution setting (≤ 0: off, ≤ 1: the step, > 1: steps, step 1/res) gives a
/// step ≥ [`MIN_DIVISOR`] (values are divided by it).
pub(crate) fn check_resolution(arg: &str, name: &str, res: f32) -> Result<()> {
    let step = if res <= 1.0 { res } else { 1.0 / res };
    if res > 0.0 && step < MIN_DIVISOR {
        return Err(Error::config(
            format!("{arg}.{name}"),
            format!(
                "{res:e} gives a quantisation step of {step:e}, below {MIN_DIVISOR:e} (the \
                 smallest normal float32; values are divided by the step): use <= 0 for no \
                 quantisation"
            ),
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

/// Parses JSON into `T`; on failure, the path of the offending field (`update.desired_bl`,
/// `device.unit_cell_devices[1].dw_min`; empty at the top level) and serde's message without its
/// position, which means little to a user who never wrote the JSON.
pub fn parse_json<T: serde::de::DeserializeOwned>(
    text: &str,
) -> std::result::Result<T, (String, String)> {
    // serde's message without its position: the JSON was written by the Python wrapper, so a
    // column number means nothing to the user; the field path does.
    fn message(e: &serde_json::Error) -> String {
        let msg = e.to_string();
        let at = format!(" at line {} column {}", e.line(), e.column());
        msg.strip_suffix(&at).map(str::to_string).unwrap_or(msg)
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut de)
        .map_err(|e| split_path(&e.path().to_string(), &message(e.inner())))?;
    de.end().map_err(|e| (String::new(), message(&e)))?;
    Ok(value)
}

/// Marks the field path of an error raised inside a value that is parsed by hand (the devices):
/// the outer parser's path and this one are joined by [`split_path`].
const PATH_MARK: char = '\u{1e}';

pub(crate) fn mark_path(path: &str, msg: &str) -> String {
    if path.is_empty() {
        msg.to_string()
    } else {
        format!("{PATH_MARK}{path}{PATH_MARK}{msg}")
    }
}

/// The full path (`outer.inner`, empty at the top level) and the plain message of an error
/// whose message may carry an inner path from [`mark_path`].
pub(crate) fn split_path(outer: &str, msg: &str) -> (String, String) {
    let outer = if outer == "." { "" } else { outer };
    let (inner, msg) = match msg
        .strip_prefix(PATH_MARK)
        .and_then(|m| m.split_once(PATH_MARK))
    {
        Some((inner, rest)) => (inner, rest),
        None => ("", msg),
    };
    let path = match (outer.is_empty(), inner.is_empty()) {
        (_, true) => outer.to_string(),
        (true, false) => inner.to_string(),
        (false, false) => format!("{outer}.{inner}"),
    };
    (path, msg.to_string())
}
