//! Unit cells and compounds (reference §6): several device arrays per tile, combined into the
//! visible weight W = Σ_k γ_k W_k, with their update policies and transfer schedules.

use super::{check_range, DeviceConfig, IoParameters, UpdateParameters};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

/// Which devices of a `VectorUnitCell` receive the pulses of an update.
#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum UpdatePolicy {
    /// Every device receives the same coincidences (each with its own cycle-to-cycle noise).
    #[default]
    All,
    /// Only device `first_update_idx`.
    SingleFixed,
    /// One device per update, in turn.
    SingleSequential,
    /// One random device per update.
    SingleRandom,
}

/// Checks that `devices` are all single pulsed devices, at least `min` of them.
fn check_pulsed(arg: &str, devices: &[DeviceConfig], min: usize, max: usize) -> Result<()> {
    if devices.len() < min || devices.len() > max {
        return Err(Error::config(
            format!("{arg}.unit_cell_devices"),
            if min == max {
                format!("needs exactly {min} devices, got {}", devices.len())
            } else {
                format!("needs {min} to {max} devices, got {}", devices.len())
            },
        ));
    }
    for (k, d) in devices.iter().enumerate() {
        let name = format!("{arg}.unit_cell_devices[{k}]");
        if d.pulsed().is_none() {
            return Err(Error::config(
                name,
                "must be a pulsed device model (not a unit cell, compound or floating-point device)",
            ));
        }
        d.validate(&name)?;
    }
    Ok(())
}

/// Most devices per cross-point.
pub const MAX_DEVICES: usize = 16;

/// Parameters of `VectorUnitCell` and `ReferenceUnitCell`.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct VectorCellParameters {
    pub unit_cell_devices: Vec<DeviceConfig>,
    pub update_policy: UpdatePolicy,
    pub first_update_idx: usize,
    /// Weights γ_k of the devices (empty: 1/n each; `ReferenceUnitCell`: [1, −1]).
    pub gamma_vec: Vec<f32>,
    pub construction_seed: u64,
}

impl Default for VectorCellParameters {
    fn default() -> Self {
        Self {
            unit_cell_devices: Vec::new(),
            update_policy: UpdatePolicy::All,
            first_update_idx: 0,
            gamma_vec: Vec::new(),
            construction_seed: 0,
        }
    }
}

impl VectorCellParameters {
    pub(crate) fn validate(&self, arg: &str, reference: bool) -> Result<()> {
        if reference {
            check_pulsed(arg, &self.unit_cell_devices, 2, 2)?;
        } else {
            check_pulsed(arg, &self.unit_cell_devices, 1, MAX_DEVICES)?;
        }
        let n = self.unit_cell_devices.len();
        check_gammas(arg, &self.gamma_vec, n)?;
        if self.first_update_idx >= n {
            return Err(Error::config(
                format!("{arg}.first_update_idx"),
                format!(
                    "must be below the number of devices ({n}), got {}",
                    self.first_update_idx
                ),
            ));
        }
        Ok(())
    }

    /// γ_k of every device: `gamma_vec`, else [1, −1] for a reference cell and 1/n otherwise.
    pub fn gammas(&self, reference: bool) -> Vec<f32> {
        let n = self.unit_cell_devices.len();
        if !self.gamma_vec.is_empty() {
            self.gamma_vec.clone()
        } else if reference {
            vec![1.0, -1.0]
        } else {
            vec![1.0 / n as f32; n]
        }
    }
}

fn check_gammas(arg: &str, gammas: &[f32], n: usize) -> Result<()> {
    if !gammas.is_empty() && gammas.len() != n {
        return Err(Error::config(
            format!("{arg}.gamma_vec"),
            format!("needs one value per device ({n}), got {}", gammas.len()),
        ));
    }
    for &g in gammas {
        check_range(arg, "gamma_vec", g, -f32::MAX, f32::MAX)?;
    }
    Ok(())
}

/// Parameters of `OneSidedUnitCell`: devices 0 (W⁻) and 1 (W⁺) only move up; W = W⁺ − W⁻.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OneSidedParameters {
    pub unit_cell_devices: Vec<DeviceConfig>,
    pub refresh_every: i64,
    pub units_in_mbatch: bool,
    pub refresh_upper_thres: f32,
    pub refresh_lower_thres: f32,
    pub refresh_forward: IoParameters,
    pub refresh_update: UpdateParameters,
    pub copy_inverted: bool,
    pub construction_seed: u64,
}

impl Default for OneSidedParameters {
    fn default() -> Self {
        Self {
            unit_cell_devices: Vec::new(),
            refresh_every: 0,
            units_in_mbatch: true,
            refresh_upper_thres: 0.75,
            refresh_lower_thres: 0.25,
            refresh_forward: IoParameters::default(),
            refresh_update: UpdateParameters::default(),
            copy_inverted: false,
            construction_seed: 0,
        }
    }
}

impl OneSidedParameters {
    pub(crate) fn validate(&self, arg: &str) -> Result<()> {
        check_pulsed(arg, &self.unit_cell_devices, 2, 2)?;
        check_range(
            arg,
            "refresh_upper_thres",
            self.refresh_upper_thres,
            0.0,
            f32::MAX,
        )?;
        check_range(
            arg,
            "refresh_lower_thres",
            self.refresh_lower_thres,
            0.0,
            f32::MAX,
        )?;
        if self.copy_inverted {
            // The inversion is defined for the step, bound and slope arrays of these models.
            for (k, d) in self.unit_cell_devices.iter().enumerate() {
                if !matches!(
                    d,
                    DeviceConfig::ConstantStepDevice(_) | DeviceConfig::LinearStepDevice(_)
                ) {
                    return Err(Error::unsupported(
                        format!("{arg}.unit_cell_devices[{k}]"),
                        "copy_inverted of this device model (constant and linear steps and soft \
                         bounds only)",
                    ));
                }
            }
        }
        if self.refresh_every < 0 {
            return Err(Error::config(
                format!("{arg}.refresh_every"),
                format!("must be >= 0, got {}", self.refresh_every),
            ));
        }
        for (k, d) in self.unit_cell_devices.iter().enumerate() {
            let p = d.pulsed().expect("checked above");
            if p.w_max <= 0.0 {
                return Err(Error::config(
                    format!("{arg}.unit_cell_devices[{k}].w_max"),
                    format!("a one-sided device needs w_max > 0, got {}", p.w_max),
                ));
            }
        }
        self.refresh_forward
            .validate(&format!("{arg}.refresh_forward"), false)?;
        self.refresh_forward
            .check_one_hot_read(&format!("{arg}.refresh_forward"))?;
        self.refresh_update
            .validate(&format!("{arg}.refresh_update"))?;
        Ok(())
    }
}

/// The members of the transfer family; they share one parameter set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransferKind {
    /// `TransferCompound` (Tiki-Taka v1).
    Plain,
    /// `BufferedTransferCompound` (TTv2 without choppers).
    Buffered,
    /// `ChoppedTransferCompound` (c-TTv2).
    Chopped,
    /// `DynamicTransferCompound` (AGAD).
    Dynamic,
}

/// Parameters of the transfer compounds (the union of the four reference classes' fields; each
/// class's own defaults come from the Python dataclasses).
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TransferParameters {
    /// The fast device, then the device of every further array (more entries than two: the
    /// second is used for all further arrays, as in the reference).
    pub unit_cell_devices: Vec<DeviceConfig>,
    pub gamma: f32,
    pub gamma_vec: Vec<f32>,
    pub transfer_every: f32,
    pub no_self_transfer: bool,
    pub transfer_every_vec: Vec<f32>,
    pub units_in_mbatch: bool,
    pub n_reads_per_transfer: usize,
    pub transfer_columns: bool,
    pub with_reset_prob: f32,
    pub random_selection: bool,
    pub fast_lr: f32,
    pub transfer_lr: f32,
    pub transfer_lr_vec: Vec<f32>,
    pub scale_transfer_lr: bool,
    pub transfer_forward: IoParameters,
    pub transfer_update: UpdateParameters,
    pub construction_seed: u64,
    // Buffered (TTv2).
    pub thres_scale: f32,
    pub step: f32,
    pub momentum: f32,
    pub forget_buffer: bool,
    // Chopped (c-TTv2).
    pub in_chop_prob: f32,
    pub in_chop_random: bool,
    pub out_chop_prob: f32,
    pub buffer_granularity: f32,
    pub auto_granularity: f32,
    pub no_buffer: bool,
    pub auto_scale: bool,
    pub auto_momentum: f32,
    pub correct_gradient_magnitudes: bool,
    // Dynamic (AGAD).
    pub experimental_correct_accumulation: bool,
    pub buffer_cap: f32,
    pub tail_weightening: f32,
}

impl Default for TransferParameters {
    /// `TransferCompound`'s defaults.
    fn default() -> Self {
        Self {
            unit_cell_devices: Vec::new(),
            gamma: 0.0,
            gamma_vec: Vec::new(),
            transfer_every: 1.0,
            no_self_transfer: true,
            transfer_every_vec: Vec::new(),
            units_in_mbatch: true,
            n_reads_per_transfer: 1,
            transfer_columns: true,
            with_reset_prob: 0.0,
            random_selection: false,
            fast_lr: 1.0,
            transfer_lr: 1.0,
            transfer_lr_vec: Vec::new(),
            scale_transfer_lr: true,
            transfer_forward: IoParameters::default(),
            transfer_update: UpdateParameters::default(),
            construction_seed: 0,
            thres_scale: 1.0,
            step: 1.0,
            momentum: 0.1,
            forget_buffer: true,
            in_chop_prob: 0.1,
            in_chop_random: true,
            out_chop_prob: 0.0,
            buffer_granularity: 1.0,
            auto_granularity: 0.0,
            no_buffer: false,
            auto_scale: false,
            auto_momentum: 0.99,
            correct_gradient_magnitudes: false,
            experimental_correct_accumulation: false,
            buffer_cap: 0.0,
            tail_weightening: 5.0,
        }
    }
}

impl TransferParameters {
    /// The defaults of `BufferedTransferCompound`.
    pub fn buffered() -> Self {
        Self {
            transfer_update: UpdateParameters {
                desired_bl: 1,
                update_bl_management: false,
                update_management: false,
                ..UpdateParameters::default()
            },
            ..Self::default()
        }
    }

    /// The defaults of `ChoppedTransferCompound`.
    pub fn chopped() -> Self {
        Self {
            momentum: 0.0,
            units_in_mbatch: false,
            ..Self::buffered()
        }
    }

    /// The defaults of `DynamicTransferCompound`.
    pub fn dynamic() -> Self {
        Self {
            in_chop_random: false,
            ..Self::chopped()
        }
    }

    /// Number of arrays.
    pub fn array_count(&self) -> usize {
        self.unit_cell_devices.len()
    }

    /// The device of each array: the first spec for the fast array, the second for all others
    /// (the reference builds every further array from the second spec).
    pub fn devices(&self) -> Vec<&DeviceConfig> {
        (0..self.array_count())
            .map(|k| &self.unit_cell_devices[k.min(1)])
            .collect()
    }

    pub(crate) fn validate(&self, arg: &str, kind: TransferKind) -> Result<()> {
        check_pulsed(arg, &self.unit_cell_devices, 2, MAX_DEVICES)?;
        let n = self.array_count();
        let big = f32::MAX;
        check_range(arg, "gamma", self.gamma, -big, big)?;
        check_gammas(arg, &self.gamma_vec, n)?;
        if self.gamma_vec.last() == Some(&0.0) {
            return Err(Error::config(
                format!("{arg}.gamma_vec"),
                "the last array must contribute to the weight (its gamma must not be 0)",
            ));
        }
        check_range(arg, "transfer_every", self.transfer_every, -big, big)?;
        if !self.transfer_every_vec.is_empty() && self.transfer_every_vec.len() != n {
            return Err(Error::config(
                format!("{arg}.transfer_every_vec"),
                format!(
                    "needs one period per array ({n}), got {}",
                    self.transfer_every_vec.len()
                ),
            ));
        }
        for &t in &self.transfer_every_vec {
            check_range(arg, "transfer_every_vec", t, 0.0, big)?;
        }
        if self.n_reads_per_transfer == 0 {
            return Err(Error::config(
                format!("{arg}.n_reads_per_transfer"),
                "must be at least 1",
            ));
        }
        check_range(arg, "with_reset_prob", self.with_reset_prob, 0.0, 1.0)?;
        if self.with_reset_prob > 0.0 && !self.transfer_columns {
            return Err(Error::config(
                format!("{arg}.with_reset_prob"),
                "resets are only defined for column transfers (transfer_columns = True)",
            ));
        }
        check_range(arg, "fast_lr", self.fast_lr, -big, big)?;
        check_range(arg, "transfer_lr", self.transfer_lr, -big, big)?;
        if !self.transfer_lr_vec.is_empty() && self.transfer_lr_vec.len() != n {
            return Err(Error::config(
                format!("{arg}.transfer_lr_vec"),
                format!(
                    "needs one rate per array ({n}), got {}",
                    self.transfer_lr_vec.len()
                ),
            ));
        }
        for &t in &self.transfer_lr_vec {
            check_range(arg, "transfer_lr_vec", t, -big, big)?;
        }
        let read = format!("{arg}.transfer_forward");
        self.transfer_forward.validate(&read, false)?;
        self.transfer_forward.check_one_hot_read(&read)?;
        if !self.transfer_forward.is_perfect && self.transfer_forward.inp_noise > 0.0 {
            return Err(Error::unsupported(
                format!("{read}.inp_noise"),
                "input noise on a one-hot transfer read",
            ));
        }
        self.transfer_update
            .validate(&format!("{arg}.transfer_update"))?;
        if kind == TransferKind::Plain {
            return Ok(());
        }
        check_range(arg, "thres_scale", self.thres_scale, f32::MIN_POSITIVE, big)?;
        check_range(arg, "step", self.step, 0.0, big)?;
        check_range(arg, "momentum", self.momentum, 0.0, 1.0)?;
        if kind == TransferKind::Buffered {
            return Ok(());
        }
        // Chopped and dynamic: two arrays, single sequential reads, the fast array hidden.
        if n != 2 {
            return Err(Error::config(
                format!("{arg}.unit_cell_devices"),
                format!("the chopped transfer needs exactly 2 arrays, got {n}"),
            ));
        }
        if self.n_reads_per_transfer != 1 || self.random_selection || self.with_reset_prob > 0.0 {
            return Err(Error::config(
                format!("{arg}.n_reads_per_transfer"),
                "the chopped transfer needs n_reads_per_transfer = 1, random_selection = False \
                 and with_reset_prob = 0",
            ));
        }
        let fully_hidden = self.gamma == 0.0
            && (self.gamma_vec.is_empty()
                || (self.gamma_vec[0] == 0.0 && self.gamma_vec[1] == 1.0));
        if !fully_hidden {
            return Err(Error::config(
                format!("{arg}.gamma"),
                "the chopped transfer needs a hidden fast array (gamma = 0)",
            ));
        }
        check_range(arg, "in_chop_prob", self.in_chop_prob, 0.0, 1.0)?;
        check_range(arg, "out_chop_prob", self.out_chop_prob, 0.0, 1.0)?;
        check_range(arg, "buffer_granularity", self.buffer_granularity, 0.0, big)?;
        super::check_divisor(arg, "buffer_granularity", self.buffer_granularity, true)?;
        check_range(arg, "auto_granularity", self.auto_granularity, 0.0, big)?;
        check_range(arg, "auto_momentum", self.auto_momentum, 0.0, 1.0)?;
        if self.transfer_every < 0.0 && self.units_in_mbatch {
            return Err(Error::config(
                format!("{arg}.transfer_every"),
                "an automatic period (transfer_every < 0) is counted in vectors: needs \
                 units_in_mbatch = False",
            ));
        }
        if kind == TransferKind::Dynamic {
            if self.in_chop_prob <= 0.0 {
                return Err(Error::config(
                    format!("{arg}.in_chop_prob"),
                    "the dynamic transfer needs in_chop_prob > 0",
                ));
            }
            if self.auto_momentum <= 0.0 || self.auto_momentum >= 1.0 {
                return Err(Error::config(
                    format!("{arg}.auto_momentum"),
                    format!("must be in (0, 1), got {}", self.auto_momentum),
                ));
            }
            check_range(arg, "buffer_cap", self.buffer_cap, 0.0, big)?;
            check_range(arg, "tail_weightening", self.tail_weightening, 0.0, big)?;
        }
        Ok(())
    }
}

/// Parameters of `MixedPrecisionCompound` (Nandakumar et al. 2020): the rank update accumulates
/// in a digital matrix χ; every `transfer_every` mini-batches, `n_rows_per_transfer` rows are
/// checked and whole multiples of the granularity ε are written to the device with pulses.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct MixedPrecisionParameters {
    pub device: Box<DeviceConfig>,
    pub transfer_every: u32,
    pub n_rows_per_transfer: i64,
    pub random_row: bool,
    pub granularity: f32,
    pub transfer_lr: f32,
    pub n_x_bins: u32,
    pub n_d_bins: u32,
    pub stoc_round_x: bool,
    pub stoc_round_d: bool,
    pub construction_seed: u64,
}

impl Default for MixedPrecisionParameters {
    fn default() -> Self {
        Self {
            device: Box::default(),
            transfer_every: 1,
            n_rows_per_transfer: -1,
            random_row: false,
            granularity: 0.0,
            transfer_lr: 1.0,
            n_x_bins: 0,
            n_d_bins: 0,
            stoc_round_x: true,
            stoc_round_d: true,
            construction_seed: 0,
        }
    }
}

impl MixedPrecisionParameters {
    pub(crate) fn validate(&self, arg: &str) -> Result<()> {
        check_pulsed(arg, std::slice::from_ref(self.device.as_ref()), 1, 1).map_err(
            |e| match e {
                Error::Config { msg, .. } => Error::config(format!("{arg}.device"), msg),
                other => other,
            },
        )?;
        check_range(arg, "granularity", self.granularity, 0.0, f32::MAX)?;
        super::check_divisor(arg, "granularity", self.granularity, true)?;
        check_range(arg, "transfer_lr", self.transfer_lr, -f32::MAX, f32::MAX)?;
        Ok(())
    }
}
