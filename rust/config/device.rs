//! Device-model parameters (`IdealDevice`, `ConstantStepDevice`, `LinearStepDevice` (which also
//! carries `SoftBoundsDevice` and `SoftBoundsPmaxDevice`), `SoftBoundsReferenceDevice`,
//! `ExpStepDevice`, `PowStepDevice`, `PowStepReferenceDevice`, `PiecewiseStepDevice`,
//! `FloatingPointDevice`) and the unit cells and compounds built from them (`compound.rs`).

use super::check_range;
use super::compound::{
    MixedPrecisionParameters, OneSidedParameters, TransferKind, TransferParameters,
    VectorCellParameters,
};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which device model sits at each cross-point, with its parameters.
///
/// Read from JSON objects tagged by `"type"`; the parameters are parsed by hand (not by serde's
/// internally tagged enums, which lose the path of a bad field), so an error names the field:
/// `device.unit_cell_devices[1].dw_min: invalid type: ...`.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(tag = "type")]
pub enum DeviceConfig {
    /// Exact floating-point update, no bounds (the reference's `IdealDevice`).
    IdealDevice(IdealParameters),
    /// Same semantics, used by `FloatingPointRPUConfig`.
    FloatingPointDevice(IdealParameters),
    /// Pulsed device with a constant step size (the reference's default device).
    ConstantStepDevice(ConstantStepParameters),
    /// Pulsed device whose step changes linearly with the weight (soft bounds at γ = 1).
    LinearStepDevice(LinearStepParameters),
    /// Pulsed device whose step shrinks exponentially toward the bounds (ReRAM, PCM fits).
    ExpStepDevice(ExpStepParameters),
    /// Pulsed device whose step is a power of the distance to the bound.
    PowStepDevice(PowStepParameters),
    /// Pulsed device whose step follows a piecewise-linear curve over the weight range.
    PiecewiseStepDevice(PiecewiseStepParameters),
    /// Soft bounds on the conductance, read against a per-device reference (ReRAM fits).
    SoftBoundsReferenceDevice(SoftBoundsReferenceParameters),
    /// Power step on the conductance, read against a per-device reference.
    PowStepReferenceDevice(PowStepReferenceParameters),
    /// Several devices per cross-point, W = Σ γ_k W_k (`VectorUnitCell`, `ReferenceUnitCell`).
    VectorUnitCell(VectorCellParameters),
    /// `ReferenceUnitCell`: two devices, W = W₀ − W₁, pulses on device 0.
    ReferenceUnitCell(VectorCellParameters),
    /// A pair of uni-directional devices, W = W⁺ − W⁻, with refresh.
    OneSidedUnitCell(OneSidedParameters),
    /// Tiki-Taka: a fast gradient array transferred column by column into slower arrays.
    TransferCompound(TransferParameters),
    /// TTv2: transfers through a digital buffer per device.
    BufferedTransferCompound(TransferParameters),
    /// c-TTv2: buffered transfer with sign choppers on the fast array.
    ChoppedTransferCompound(TransferParameters),
    /// AGAD: chopped transfer of the change of the fast array over a chopper period.
    DynamicTransferCompound(TransferParameters),
    /// Mixed precision: the rank update accumulates digitally, whole steps go to the device.
    MixedPrecisionCompound(MixedPrecisionParameters),
}

impl<'de> Deserialize<'de> for DeviceConfig {
    fn deserialize<D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = serde_json::Value::deserialize(deserializer)?;
        Self::from_value(value)
            .map_err(|(path, msg)| D::Error::custom(super::mark_path(&path, &msg)))
    }
}

impl DeviceConfig {
    /// The device of a JSON object `{"type": name, ...parameters}`; on failure the path of the
    /// bad field within the object (empty: the object itself) and the message.
    fn from_value(value: serde_json::Value) -> std::result::Result<Self, (String, String)> {
        fn params<T: serde::de::DeserializeOwned>(
            map: serde_json::Map<String, serde_json::Value>,
        ) -> std::result::Result<T, (String, String)> {
            serde_path_to_error::deserialize(serde_json::Value::Object(map))
                .map_err(|e| super::split_path(&e.path().to_string(), &e.inner().to_string()))
        }
        let serde_json::Value::Object(mut map) = value else {
            return Err((
                String::new(),
                format!("invalid type: {value}, expected a device object with a \"type\""),
            ));
        };
        let name = match map.remove("type") {
            Some(serde_json::Value::String(name)) => name,
            Some(other) => {
                return Err((
                    "type".into(),
                    format!("invalid type: {other}, expected a device name"),
                ))
            }
            None => return Err((String::new(), "missing field `type`".into())),
        };
        Ok(match name.as_str() {
            "IdealDevice" => DeviceConfig::IdealDevice(params(map)?),
            "FloatingPointDevice" => DeviceConfig::FloatingPointDevice(params(map)?),
            "ConstantStepDevice" => DeviceConfig::ConstantStepDevice(params(map)?),
            "LinearStepDevice" => DeviceConfig::LinearStepDevice(params(map)?),
            "ExpStepDevice" => DeviceConfig::ExpStepDevice(params(map)?),
            "PowStepDevice" => DeviceConfig::PowStepDevice(params(map)?),
            "PiecewiseStepDevice" => DeviceConfig::PiecewiseStepDevice(params(map)?),
            "SoftBoundsReferenceDevice" => DeviceConfig::SoftBoundsReferenceDevice(params(map)?),
            "PowStepReferenceDevice" => DeviceConfig::PowStepReferenceDevice(params(map)?),
            "VectorUnitCell" => DeviceConfig::VectorUnitCell(params(map)?),
            "ReferenceUnitCell" => DeviceConfig::ReferenceUnitCell(params(map)?),
            "OneSidedUnitCell" => DeviceConfig::OneSidedUnitCell(params(map)?),
            "TransferCompound" => DeviceConfig::TransferCompound(params(map)?),
            "BufferedTransferCompound" => DeviceConfig::BufferedTransferCompound(params(map)?),
            "ChoppedTransferCompound" => DeviceConfig::ChoppedTransferCompound(params(map)?),
            "DynamicTransferCompound" => DeviceConfig::DynamicTransferCompound(params(map)?),
            "MixedPrecisionCompound" => DeviceConfig::MixedPrecisionCompound(params(map)?),
            other => {
                return Err((
                    "type".into(),
                    format!("unknown device `{other}`, expected one of IdealDevice, FloatingPointDevice, ConstantStepDevice, LinearStepDevice, ExpStepDevice, PowStepDevice, PiecewiseStepDevice, SoftBoundsReferenceDevice, PowStepReferenceDevice, VectorUnitCell, ReferenceUnitCell, OneSidedUnitCell, TransferCompound, BufferedTransferCompound, ChoppedTransferCompound, DynamicTransferCompound, MixedPrecisionCompound"),
                ))
            }
        })
    }
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
            DeviceConfig::LinearStepDevice(p) => p.validate(arg),
            DeviceConfig::ExpStepDevice(p) => p.validate(arg),
            DeviceConfig::PowStepDevice(p) => p.validate(arg),
            DeviceConfig::PiecewiseStepDevice(p) => p.validate(arg),
            DeviceConfig::SoftBoundsReferenceDevice(p) => p.validate(arg),
            DeviceConfig::PowStepReferenceDevice(p) => p.validate(arg),
            DeviceConfig::VectorUnitCell(p) => p.validate(arg, false),
            DeviceConfig::ReferenceUnitCell(p) => p.validate(arg, true),
            DeviceConfig::OneSidedUnitCell(p) => p.validate(arg),
            DeviceConfig::TransferCompound(p) => p.validate(arg, TransferKind::Plain),
            DeviceConfig::BufferedTransferCompound(p) => p.validate(arg, TransferKind::Buffered),
            DeviceConfig::ChoppedTransferCompound(p) => p.validate(arg, TransferKind::Chopped),
            DeviceConfig::DynamicTransferCompound(p) => p.validate(arg, TransferKind::Dynamic),
            DeviceConfig::MixedPrecisionCompound(p) => p.validate(arg),
        }
    }

    /// The `construction_seed` of a unit cell or compound (0: none, or a single device).
    pub fn compound_seed(&self) -> u64 {
        match self {
            DeviceConfig::VectorUnitCell(p) | DeviceConfig::ReferenceUnitCell(p) => {
                p.construction_seed
            }
            DeviceConfig::OneSidedUnitCell(p) => p.construction_seed,
            DeviceConfig::TransferCompound(p)
            | DeviceConfig::BufferedTransferCompound(p)
            | DeviceConfig::ChoppedTransferCompound(p)
            | DeviceConfig::DynamicTransferCompound(p) => p.construction_seed,
            DeviceConfig::MixedPrecisionCompound(p) => p.construction_seed,
            _ => 0,
        }
    }

    /// Whether this is a single device model (not a unit cell or compound).
    pub fn is_single(&self) -> bool {
        self.pulsed().is_some()
            || matches!(
                self,
                DeviceConfig::IdealDevice(_) | DeviceConfig::FloatingPointDevice(_)
            )
    }

    /// The single-device models of the arrays of a tile, in order: the device itself, or the
    /// devices of a unit cell or compound.
    pub fn array_devices(&self) -> Vec<&DeviceConfig> {
        match self {
            DeviceConfig::VectorUnitCell(p) | DeviceConfig::ReferenceUnitCell(p) => {
                p.unit_cell_devices.iter().collect()
            }
            DeviceConfig::OneSidedUnitCell(p) => p.unit_cell_devices.iter().collect(),
            DeviceConfig::TransferCompound(p)
            | DeviceConfig::BufferedTransferCompound(p)
            | DeviceConfig::ChoppedTransferCompound(p)
            | DeviceConfig::DynamicTransferCompound(p) => p.devices(),
            DeviceConfig::MixedPrecisionCompound(p) => vec![p.device.as_ref()],
            single => vec![single],
        }
    }

    /// The common pulsed-device parameters, for pulsed models.
    pub fn pulsed(&self) -> Option<&ConstantStepParameters> {
        match self {
            DeviceConfig::ConstantStepDevice(p) => Some(p),
            DeviceConfig::LinearStepDevice(p) => Some(&p.pulsed),
            DeviceConfig::ExpStepDevice(p) => Some(&p.pulsed),
            DeviceConfig::PowStepDevice(p) => Some(&p.pulsed),
            DeviceConfig::PiecewiseStepDevice(p) => Some(&p.pulsed),
            DeviceConfig::SoftBoundsReferenceDevice(p) => Some(&p.pulsed),
            DeviceConfig::PowStepReferenceDevice(p) => Some(&p.pulsed),
            _ => None,
        }
    }

    /// The drift parameters of a single device (pulsed or floating point); None for cells.
    pub fn drift(&self) -> Option<&DriftParameters> {
        match self {
            DeviceConfig::IdealDevice(p) | DeviceConfig::FloatingPointDevice(p) => Some(&p.drift),
            _ => self.pulsed().map(|p| &p.drift),
        }
    }

    /// Write noise σ on the visible weight (absolute: `write_noise_std · dw_min`), 0 for none.
    pub fn write_noise(&self) -> f32 {
        let (std, p) = match self {
            DeviceConfig::LinearStepDevice(p) => (p.write_noise_std, &p.pulsed),
            DeviceConfig::ExpStepDevice(p) => (p.write_noise_std, &p.pulsed),
            DeviceConfig::PowStepDevice(p) => (p.write_noise_std, &p.pulsed),
            DeviceConfig::PiecewiseStepDevice(p) => (p.write_noise_std, &p.pulsed),
            DeviceConfig::SoftBoundsReferenceDevice(p) => (p.write_noise_std, &p.pulsed),
            _ => return 0.0,
        };
        std * p.dw_min
    }

    /// Whether weights written by `set_weights` get write noise (only with write noise).
    pub fn apply_write_noise_on_set(&self) -> bool {
        match self {
            DeviceConfig::LinearStepDevice(p) => p.apply_write_noise_on_set,
            DeviceConfig::ExpStepDevice(p) => p.apply_write_noise_on_set,
            DeviceConfig::PowStepDevice(p) => p.apply_write_noise_on_set,
            DeviceConfig::PiecewiseStepDevice(p) => p.apply_write_noise_on_set,
            DeviceConfig::SoftBoundsReferenceDevice(p) => p.apply_write_noise_on_set,
            _ => false,
        }
    }

    /// Number of states between the mean bounds, (w_max − w_min)/dw_min (0 without bounds).
    pub fn num_states(&self) -> f32 {
        self.pulsed()
            .map_or(0.0, |p| (p.w_max - p.w_min) / p.dw_min)
    }

    /// Step size of one pulse: the granularity the pulsed update is scaled with. A unit cell
    /// uses the mean of its devices', a transfer compound its fast device's, mixed precision its
    /// own `granularity` (or its device's).
    pub fn granularity(&self) -> f32 {
        match self {
            DeviceConfig::VectorUnitCell(p) | DeviceConfig::ReferenceUnitCell(p) => {
                mean_granularity(&p.unit_cell_devices)
            }
            DeviceConfig::OneSidedUnitCell(p) => mean_granularity(&p.unit_cell_devices),
            DeviceConfig::TransferCompound(p)
            | DeviceConfig::BufferedTransferCompound(p)
            | DeviceConfig::ChoppedTransferCompound(p)
            | DeviceConfig::DynamicTransferCompound(p) => p.devices()[0].granularity(),
            DeviceConfig::MixedPrecisionCompound(p) => {
                if p.granularity > 0.0 {
                    p.granularity
                } else {
                    p.device.granularity()
                }
            }
            single => single.pulsed().map_or(0.0, |p| p.dw_min),
        }
    }

    /// Whether updates are exact floating-point operations regardless of the pulse type.
    pub fn is_floating_point(&self) -> bool {
        matches!(
            self,
            DeviceConfig::IdealDevice(_) | DeviceConfig::FloatingPointDevice(_)
        )
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
    /// Power-law drift, applied by explicit `drift_weights` calls (ν = 0: off; no bounds).
    pub drift: DriftParameters,
}

impl Default for IdealParameters {
    fn default() -> Self {
        Self {
            construction_seed: 0,
            diffusion: 0.0,
            lifetime: 0.0,
            reset_std: 0.01,
            drift: DriftParameters::default(),
        }
    }
}

impl IdealParameters {
    fn validate(&self, arg: &str) -> Result<()> {
        check_range(arg, "reset_std", self.reset_std, 0.0, f32::MAX)?;
        check_range(arg, "diffusion", self.diffusion, 0.0, f32::MAX)?;
        check_range(arg, "lifetime", self.lifetime, 0.0, f32::MAX)?;
        self.drift.validate(arg)?;
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
    /// Power-law drift, applied by explicit `drift_weights` calls (ν = 0: off).
    pub drift: DriftParameters,
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
            drift: DriftParameters::default(),
        }
    }
}

/// Power-law drift of a pulsed device's weight (reference §4.3, `DriftParameter`; the simple
/// form `SimpleDriftParameter` is this with the extras at their defaults). With Δt the time
/// since the weight was last written (in units of `t_0`, at least 1):
/// w = w₀·Δt^(−ν) + a·(Δt^(−ν) − 1), a = g_offset·wg_ratio + w_offset,
/// ν = ν_ij + ν·nu_std·ξ − nu_k·ln((w − w_offset)/wg_ratio + g_offset) + nu_k·log_g0,
/// ν_ij = ν(1 + nu_dtod·ξ') drawn once; then w += w_noise_std·ξ'' and clipping to the bounds.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct DriftParameters {
    pub nu: f32,
    pub t_0: f32,
    pub reset_tol: f32,
    pub nu_dtod: f32,
    pub nu_std: f32,
    pub wg_ratio: f32,
    pub g_offset: f32,
    pub w_offset: f32,
    pub nu_k: f32,
    pub log_g0: f32,
    pub w_noise_std: f32,
}

impl Default for DriftParameters {
    fn default() -> Self {
        Self {
            nu: 0.0,
            t_0: 1.0,
            reset_tol: 1e-7,
            nu_dtod: 0.0,
            nu_std: 0.0,
            wg_ratio: 1.0,
            g_offset: 0.0,
            w_offset: 0.0,
            nu_k: 0.0,
            log_g0: 0.0,
            w_noise_std: 0.0,
        }
    }
}

impl DriftParameters {
    /// Whether the drift does anything (ν ≠ 0).
    pub fn is_on(&self) -> bool {
        self.nu != 0.0
    }

    fn validate(&self, arg: &str) -> Result<()> {
        let big = f32::MAX;
        let arg = format!("{arg}.drift");
        check_range(&arg, "nu", self.nu, -big, big)?;
        super::check_divisor(&arg, "t_0", self.t_0, false)?;
        super::check_divisor(&arg, "wg_ratio", self.wg_ratio, false)?;
        check_range(&arg, "reset_tol", self.reset_tol, 0.0, big)?;
        check_range(&arg, "nu_dtod", self.nu_dtod, 0.0, big)?;
        check_range(&arg, "nu_std", self.nu_std, 0.0, big)?;
        check_range(&arg, "w_noise_std", self.w_noise_std, 0.0, big)?;
        check_range(&arg, "g_offset", self.g_offset, -big, big)?;
        check_range(&arg, "w_offset", self.w_offset, -big, big)?;
        check_range(&arg, "nu_k", self.nu_k, -big, big)?;
        check_range(&arg, "log_g0", self.log_g0, -big, big)?;
        Ok(())
    }
}

impl ConstantStepParameters {
    fn validate(&self, arg: &str) -> Result<()> {
        let big = f32::MAX;
        self.drift.validate(arg)?;
        super::check_divisor(arg, "dw_min", self.dw_min, false)?;
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
        check_range(
            arg,
            "corrupt_devices_prob",
            self.corrupt_devices_prob,
            0.0,
            1.0,
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
        if self.perfect_bias {
            return Err(Error::unsupported(
                format!("{arg}.perfect_bias"),
                "an analog bias column",
            ));
        }
        Ok(())
    }
}

/// Parameters of `LinearStepDevice`: the pulsed-device parameters plus the slopes (reference
/// §4.2). `SoftBoundsDevice` is γ = 1 without γ variation and with per-device bound references.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LinearStepParameters {
    pub pulsed: ConstantStepParameters,
    pub gamma_up: f32,
    pub gamma_down: f32,
    pub gamma_up_dtod: f32,
    pub gamma_down_dtod: f32,
    pub allow_increasing: bool,
    pub mean_bound_reference: bool,
    pub mult_noise: bool,
    pub write_noise_std: f32,
    pub apply_write_noise_on_set: bool,
    pub reverse_up: bool,
    pub reverse_down: bool,
    pub reverse_offset: f32,
}

impl Default for LinearStepParameters {
    fn default() -> Self {
        Self {
            pulsed: ConstantStepParameters::default(),
            gamma_up: 0.0,
            gamma_down: 0.0,
            gamma_up_dtod: 0.05,
            gamma_down_dtod: 0.05,
            allow_increasing: false,
            mean_bound_reference: true,
            mult_noise: true,
            write_noise_std: 0.0,
            apply_write_noise_on_set: true,
            reverse_up: false,
            reverse_down: false,
            reverse_offset: 0.01,
        }
    }
}

impl LinearStepParameters {
    fn validate(&self, arg: &str) -> Result<()> {
        self.pulsed.validate(arg)?;
        let big = f32::MAX;
        check_range(arg, "gamma_up", self.gamma_up, -big, big)?;
        check_range(arg, "gamma_down", self.gamma_down, -big, big)?;
        check_range(arg, "gamma_up_dtod", self.gamma_up_dtod, 0.0, big)?;
        check_range(arg, "gamma_down_dtod", self.gamma_down_dtod, 0.0, big)?;
        check_range(arg, "reverse_offset", self.reverse_offset, -big, big)?;
        check_range(arg, "write_noise_std", self.write_noise_std, 0.0, big)?;
        if (self.reverse_up || self.reverse_down) && !self.mult_noise {
            // As the reference: the additive noise form is not defined for reversed slopes.
            return Err(Error::config(
                format!("{arg}.mult_noise"),
                "reverse_up / reverse_down need mult_noise = true".to_string(),
            ));
        }
        // The slopes divide by the bounds (the reversed ones by the opposite bound ± offset).
        let sloped_up = !self.reverse_up && (self.gamma_up != 0.0 || self.gamma_up_dtod != 0.0);
        let sloped_down =
            !self.reverse_down && (self.gamma_down != 0.0 || self.gamma_down_dtod != 0.0);
        if (sloped_up && self.pulsed.w_max <= 0.0) || (sloped_down && self.pulsed.w_min >= 0.0) {
            return Err(Error::config(
                format!("{arg}.w_max"),
                format!(
                    "a sloped step needs w_max > 0 > w_min, got w_max {} and w_min {}",
                    self.pulsed.w_max, self.pulsed.w_min
                ),
            ));
        }
        Ok(())
    }
}

/// Parameters of `ExpStepDevice` (reference §4.2): with z = 2a·w/(b_max − b_min) + b, the up step
/// is Δ⁺·max(0, 1 − A_up·e^(γ_up z)) and the down step Δ⁻·max(0, 1 − A_down·e^(−γ_down z)).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
#[allow(non_snake_case)] // the reference's names
pub struct ExpStepParameters {
    pub pulsed: ConstantStepParameters,
    pub A_up: f32,
    pub A_down: f32,
    pub gamma_up: f32,
    pub gamma_down: f32,
    pub a: f32,
    pub b: f32,
    pub dw_min_std_add: f32,
    pub dw_min_std_slope: f32,
    pub write_noise_std: f32,
    pub apply_write_noise_on_set: bool,
}

impl Default for ExpStepParameters {
    fn default() -> Self {
        Self {
            pulsed: ConstantStepParameters::default(),
            A_up: 0.00081,
            A_down: 0.36833,
            gamma_up: 12.44625,
            gamma_down: 12.78785,
            a: 0.244,
            b: 0.2425,
            dw_min_std_add: 0.0,
            dw_min_std_slope: 0.0,
            write_noise_std: 0.0,
            apply_write_noise_on_set: true,
        }
    }
}

impl ExpStepParameters {
    fn validate(&self, arg: &str) -> Result<()> {
        self.pulsed.validate(arg)?;
        let big = f32::MAX;
        for (name, value) in [
            ("A_up", self.A_up),
            ("A_down", self.A_down),
            ("gamma_up", self.gamma_up),
            ("gamma_down", self.gamma_down),
            ("a", self.a),
            ("b", self.b),
        ] {
            check_range(arg, name, value, -big, big)?;
        }
        check_range(arg, "dw_min_std_add", self.dw_min_std_add, 0.0, big)?;
        check_range(arg, "dw_min_std_slope", self.dw_min_std_slope, 0.0, big)?;
        check_range(arg, "write_noise_std", self.write_noise_std, 0.0, big)?;
        if self.pulsed.w_max <= self.pulsed.w_min {
            return Err(Error::config(
                format!("{arg}.w_max"),
                "the exponential step needs w_max > w_min (it scales by their distance)",
            ));
        }
        Ok(())
    }
}

/// Parameters of `PowStepDevice` (reference §4.2): with ω = (b_max − w)/(b_max − b_min), up
/// w += Δ⁺·ω^γ⁺, down w −= Δ⁻·(1 − ω)^γ⁻, γ^± = γ(1 ± β + γ_dtod ξ), β = pow_up_down +
/// pow_up_down_dtod ξ'.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PowStepParameters {
    pub pulsed: ConstantStepParameters,
    pub pow_gamma: f32,
    pub pow_gamma_dtod: f32,
    pub pow_up_down: f32,
    pub pow_up_down_dtod: f32,
    pub write_noise_std: f32,
    pub apply_write_noise_on_set: bool,
}

impl Default for PowStepParameters {
    fn default() -> Self {
        Self {
            pulsed: ConstantStepParameters::default(),
            pow_gamma: 1.0,
            pow_gamma_dtod: 0.1,
            pow_up_down: 0.0,
            pow_up_down_dtod: 0.0,
            write_noise_std: 0.0,
            apply_write_noise_on_set: true,
        }
    }
}

impl PowStepParameters {
    fn validate(&self, arg: &str) -> Result<()> {
        self.pulsed.validate(arg)?;
        let big = f32::MAX;
        check_range(arg, "pow_gamma", self.pow_gamma, 0.0, big)?;
        check_range(arg, "pow_gamma_dtod", self.pow_gamma_dtod, 0.0, big)?;
        check_range(arg, "pow_up_down", self.pow_up_down, -big, big)?;
        check_range(arg, "pow_up_down_dtod", self.pow_up_down_dtod, 0.0, big)?;
        check_range(arg, "write_noise_std", self.write_noise_std, 0.0, big)?;
        if self.pulsed.w_max <= self.pulsed.w_min {
            return Err(Error::config(
                format!("{arg}.w_max"),
                "the power step needs w_max > w_min (it scales by their distance)",
            ));
        }
        Ok(())
    }
}

/// Most nodes of a piecewise step curve (the reference's GPU limit).
pub const MAX_PIECEWISE_NODES: usize = 63;

/// Parameters of `PiecewiseStepDevice` (reference §4.2): the step is Δ^± times a value linearly
/// interpolated from `piecewise_up` / `piecewise_down`, whose nodes are spread evenly over each
/// device's [b_min, b_max].
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PiecewiseStepParameters {
    pub pulsed: ConstantStepParameters,
    pub piecewise_up: Vec<f32>,
    pub piecewise_down: Vec<f32>,
    pub write_noise_std: f32,
    pub apply_write_noise_on_set: bool,
}

impl Default for PiecewiseStepParameters {
    fn default() -> Self {
        Self {
            pulsed: ConstantStepParameters::default(),
            piecewise_up: vec![1.0],
            piecewise_down: vec![1.0],
            write_noise_std: 0.0,
            apply_write_noise_on_set: true,
        }
    }
}

impl PiecewiseStepParameters {
    fn validate(&self, arg: &str) -> Result<()> {
        self.pulsed.validate(arg)?;
        check_range(arg, "write_noise_std", self.write_noise_std, 0.0, f32::MAX)?;
        let (up, down) = (&self.piecewise_up, &self.piecewise_down);
        if up.is_empty() || up.len() != down.len() || up.len() > MAX_PIECEWISE_NODES {
            return Err(Error::config(
                format!("{arg}.piecewise_up"),
                format!(
                    "piecewise_up and piecewise_down need the same number of nodes, 1 to \
                     {MAX_PIECEWISE_NODES}; got {} and {}",
                    up.len(),
                    down.len()
                ),
            ));
        }
        for (name, nodes) in [("piecewise_up", up), ("piecewise_down", down)] {
            if let Some(v) = nodes.iter().find(|v| !v.is_finite() || **v < 0.0) {
                return Err(Error::config(
                    format!("{arg}.{name}"),
                    format!("nodes must be finite and >= 0, got {v}"),
                ));
            }
        }
        if self.pulsed.w_max <= self.pulsed.w_min {
            return Err(Error::config(
                format!("{arg}.w_max"),
                "the piecewise step needs w_max > w_min (its nodes span the range)",
            ));
        }
        Ok(())
    }
}

/// Mean granularity (dw_min) of a unit cell's devices (the reference's vector-device granularity).
fn mean_granularity(devices: &[DeviceConfig]) -> f32 {
    if devices.is_empty() {
        return 0.0;
    }
    devices.iter().map(DeviceConfig::granularity).sum::<f32>() / devices.len() as f32
}

/// Parameters of `SoftBoundsReferenceDevice` (reference §4.2): soft bounds acting on the
/// conductance g; the visible weight is g − ref_ij with ref_ij = reference_mean + reference_std·ξ
/// (+ the device's symmetry point with `subtract_symmetry_point`). The slope variation moves each
/// device's soft bound: b_max/|1 + slope_up_dtod·ξ|, b_min/|1 + slope_down_dtod·ξ'|.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct SoftBoundsReferenceParameters {
    pub pulsed: ConstantStepParameters,
    pub mult_noise: bool,
    pub write_noise_std: f32,
    pub apply_write_noise_on_set: bool,
    pub slope_up_dtod: f32,
    pub slope_down_dtod: f32,
    pub reference_mean: f32,
    pub reference_std: f32,
    pub subtract_symmetry_point: bool,
}

impl Default for SoftBoundsReferenceParameters {
    fn default() -> Self {
        Self {
            pulsed: ConstantStepParameters::default(),
            mult_noise: false,
            write_noise_std: 0.0,
            apply_write_noise_on_set: true,
            slope_up_dtod: 0.0,
            slope_down_dtod: 0.0,
            reference_mean: 0.0,
            reference_std: 0.0,
            subtract_symmetry_point: false,
        }
    }
}

impl SoftBoundsReferenceParameters {
    fn validate(&self, arg: &str) -> Result<()> {
        self.pulsed.validate(arg)?;
        let big = f32::MAX;
        check_range(arg, "write_noise_std", self.write_noise_std, 0.0, big)?;
        check_range(arg, "slope_up_dtod", self.slope_up_dtod, 0.0, big)?;
        check_range(arg, "slope_down_dtod", self.slope_down_dtod, 0.0, big)?;
        check_range(arg, "reference_mean", self.reference_mean, -big, big)?;
        check_range(arg, "reference_std", self.reference_std, 0.0, big)?;
        if self.pulsed.w_max <= 0.0 || self.pulsed.w_min >= 0.0 {
            return Err(Error::config(
                format!("{arg}.w_max"),
                format!(
                    "soft bounds need w_max > 0 > w_min, got w_max {} and w_min {}",
                    self.pulsed.w_max, self.pulsed.w_min
                ),
            ));
        }
        Ok(())
    }
}

/// Parameters of `PowStepReferenceDevice` (reference §4.2): the power step on the conductance g
/// = w + ref_ij. Per device γ⁺ = γ·(g + r + min(β, 0)), γ⁻ = γ·(g − r − max(β, 0)) with the gain
/// g = 1 + pow_gamma_dtod·ξ and r = pow_up_down_dtod·ξ' (as the steps are drawn). With
/// `subtract_symmetry_point` the reference includes the symmetry point, found by iterating one
/// up and one down step `n_estimation_steps` times (≤ 0: 10 × states, at most 10 000).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct PowStepReferenceParameters {
    pub pulsed: ConstantStepParameters,
    pub pow_gamma: f32,
    pub pow_gamma_dtod: f32,
    pub pow_up_down: f32,
    pub pow_up_down_dtod: f32,
    pub subtract_symmetry_point: bool,
    pub n_estimation_steps: i64,
    pub reference_mean: f32,
    pub reference_std: f32,
}

impl Default for PowStepReferenceParameters {
    fn default() -> Self {
        Self {
            pulsed: ConstantStepParameters::default(),
            pow_gamma: 1.0,
            pow_gamma_dtod: 0.1,
            pow_up_down: 0.0,
            pow_up_down_dtod: 0.0,
            subtract_symmetry_point: false,
            n_estimation_steps: -1,
            reference_mean: 0.0,
            reference_std: 0.0,
        }
    }
}

impl PowStepReferenceParameters {
    fn validate(&self, arg: &str) -> Result<()> {
        self.pulsed.validate(arg)?;
        let big = f32::MAX;
        check_range(arg, "pow_gamma", self.pow_gamma, 0.0, big)?;
        check_range(arg, "pow_gamma_dtod", self.pow_gamma_dtod, 0.0, big)?;
        check_range(arg, "pow_up_down", self.pow_up_down, -big, big)?;
        check_range(arg, "pow_up_down_dtod", self.pow_up_down_dtod, 0.0, big)?;
        check_range(arg, "reference_mean", self.reference_mean, -big, big)?;
        check_range(arg, "reference_std", self.reference_std, 0.0, big)?;
        if self.n_estimation_steps > 1_000_000 {
            return Err(Error::config(
                format!("{arg}.n_estimation_steps"),
                format!("at most 1000000 steps, got {}", self.n_estimation_steps),
            ));
        }
        if self.pulsed.w_max <= self.pulsed.w_min {
            return Err(Error::config(
                format!("{arg}.w_max"),
                "the power step needs w_max > w_min (it scales by their distance)",
            ));
        }
        Ok(())
    }
}
