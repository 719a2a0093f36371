//! Forward/backward periphery parameters (`IOParameters` of the reference, same names and defaults).

use super::{check_off, check_range};
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NoiseManagement {
    None,
    #[default]
    AbsMax,
    Max,
    Constant,
    AbsMaxNpSum,
    AverageAbsMax,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum BoundManagement {
    None,
    #[default]
    Iterative,
    IterativeWorstCase,
    Shift,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WeightNoiseType {
    #[default]
    None,
    AdditiveConstant,
    PcmRead,
}

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MvType {
    #[default]
    OnePass,
    Ideal,
    PosNegSeparate,
    PosNegSeparateDigitalSum,
    SplitMode,
    BitWise,
}

/// Periphery of one direction (forward or backward) of an analog MVM.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct IoParameters {
    pub is_perfect: bool,
    pub mv_type: MvType,
    pub inp_bound: f32,
    pub inp_res: f32,
    pub inp_sto_round: bool,
    pub inp_noise: f32,
    pub inp_asymmetry: f32,
    pub out_bound: f32,
    pub out_res: f32,
    pub out_sto_round: bool,
    pub out_noise: f32,
    pub out_noise_std: f32,
    pub out_scale: f32,
    pub out_asymmetry: f32,
    pub noise_management: NoiseManagement,
    pub bound_management: BoundManagement,
    pub w_noise: f32,
    pub w_noise_type: WeightNoiseType,
    pub ir_drop: f32,
    pub ir_drop_g_ratio: f32,
    pub out_nonlinearity: f32,
    pub out_nonlinearity_std: f32,
    pub slope_calibration: f32,
    pub v_offset_std: f32,
    pub v_offset_w_min: f32,
    pub r_series: f32,
    pub w_read_asymmetry_dtod: f32,
    pub max_bm_factor: f32,
    pub max_bm_res: f32,
    pub bm_test_negative_bound: bool,
    pub nm_thres: f32,
}

impl Default for IoParameters {
    fn default() -> Self {
        Self {
            is_perfect: false,
            mv_type: MvType::OnePass,
            inp_bound: 1.0,
            inp_res: 1.0 / 126.0,
            inp_sto_round: false,
            inp_noise: 0.0,
            inp_asymmetry: 0.0,
            out_bound: 12.0,
            out_res: 1.0 / 510.0,
            out_sto_round: false,
            out_noise: 0.06,
            out_noise_std: 0.0,
            out_scale: 1.0,
            out_asymmetry: 0.0,
            noise_management: NoiseManagement::AbsMax,
            bound_management: BoundManagement::Iterative,
            w_noise: 0.0,
            w_noise_type: WeightNoiseType::None,
            ir_drop: 0.0,
            ir_drop_g_ratio: 1.0 / 0.35 / 5e-6,
            out_nonlinearity: 0.0,
            out_nonlinearity_std: 0.0,
            slope_calibration: 0.0,
            v_offset_std: 0.0,
            v_offset_w_min: -1.0,
            r_series: 0.0,
            w_read_asymmetry_dtod: 0.0,
            max_bm_factor: 1000.0,
            max_bm_res: 0.25,
            bm_test_negative_bound: true,
            nm_thres: 0.0,
        }
    }
}

/// Absolute quantisation step for a resolution setting: ≤ 0 → none, ≤ 1 → fraction of the full
/// range 2·bound, > 1 → number of steps over the full range. With an infinite bound the
/// resolution is taken as an absolute step.
pub fn quantization_step(res: f32, bound: f32) -> f32 {
    let fraction = if res <= 0.0 {
        return 0.0;
    } else if res <= 1.0 {
        res
    } else {
        1.0 / res
    };
    if bound > 0.0 {
        fraction * 2.0 * bound
    } else {
        fraction
    }
}

impl IoParameters {
    /// Exact floating-point MVM (all non-idealities off).
    pub fn perfect() -> Self {
        Self {
            is_perfect: true,
            ..Self::default()
        }
    }

    pub(crate) fn validate(&self, arg: &str, forward: bool) -> Result<()> {
        let big = f32::MAX;
        check_range(arg, "inp_bound", self.inp_bound, f32::MIN_POSITIVE, big)?;
        check_range(arg, "inp_res", self.inp_res, -big, big)?;
        super::check_resolution(arg, "inp_res", self.inp_res)?;
        check_range(arg, "inp_noise", self.inp_noise, 0.0, big)?;
        check_range(arg, "out_bound", self.out_bound, -big, big)?;
        check_range(arg, "out_res", self.out_res, -big, big)?;
        super::check_resolution(arg, "out_res", self.out_res)?;
        check_range(arg, "out_noise", self.out_noise, 0.0, big)?;
        check_range(arg, "out_scale", self.out_scale, -big, big)?;
        check_range(arg, "w_noise", self.w_noise, 0.0, big)?;
        check_range(arg, "max_bm_factor", self.max_bm_factor, 1.0, big)?;
        check_range(arg, "max_bm_res", self.max_bm_res, 0.0, big)?;
        check_range(arg, "nm_thres", self.nm_thres, 0.0, big)?;
        check_range(arg, "ir_drop", self.ir_drop, 0.0, big)?;
        check_range(
            arg,
            "ir_drop_g_ratio",
            self.ir_drop_g_ratio,
            f32::MIN_POSITIVE,
            big,
        )?;
        if self.is_perfect {
            return Ok(());
        }
        if !matches!(self.mv_type, MvType::OnePass | MvType::Ideal) {
            return Err(Error::unsupported(
                format!("{arg}.mv_type"),
                format!("{:?}", self.mv_type),
            ));
        }
        if !matches!(
            self.noise_management,
            NoiseManagement::None
                | NoiseManagement::AbsMax
                | NoiseManagement::Max
                | NoiseManagement::Constant
        ) {
            return Err(Error::unsupported(
                format!("{arg}.noise_management"),
                format!("{:?}", self.noise_management),
            ));
        }
        if self.noise_management != NoiseManagement::None && self.inp_bound != 1.0 {
            return Err(Error::config(
                format!("{arg}.inp_bound"),
                format!(
                    "must be 1.0 when noise management is on, got {}",
                    self.inp_bound
                ),
            ));
        }
        if forward
            && !matches!(
                self.bound_management,
                BoundManagement::None | BoundManagement::Iterative
            )
        {
            return Err(Error::unsupported(
                format!("{arg}.bound_management"),
                format!("{:?}", self.bound_management),
            ));
        }
        check_off(arg, "inp_asymmetry", self.inp_asymmetry)?;
        check_off(arg, "out_asymmetry", self.out_asymmetry)?;
        check_off(arg, "out_noise_std", self.out_noise_std)?;
        check_off(arg, "out_nonlinearity", self.out_nonlinearity)?;
        check_off(arg, "out_nonlinearity_std", self.out_nonlinearity_std)?;
        check_off(arg, "slope_calibration", self.slope_calibration)?;
        check_off(arg, "v_offset_std", self.v_offset_std)?;
        check_off(arg, "r_series", self.r_series)?;
        check_off(arg, "w_read_asymmetry_dtod", self.w_read_asymmetry_dtod)?;
        Ok(())
    }

    /// Refuses what a one-hot read (transfer or refresh read, `periphery::read_one_hot`) does not
    /// model: IR drop and PCM read noise, which need the whole input vector.
    pub(crate) fn check_one_hot_read(&self, arg: &str) -> Result<()> {
        if self.exact() {
            return Ok(());
        }
        check_off(arg, "ir_drop", self.ir_drop)?;
        if self.w_noise_type == WeightNoiseType::PcmRead && self.w_noise > 0.0 {
            return Err(Error::unsupported(
                format!("{arg}.w_noise_type"),
                "PCM_READ weight noise in a transfer or refresh read",
            ));
        }
        Ok(())
    }

    /// Whether the MVM of this direction is exact.
    pub fn exact(&self) -> bool {
        self.is_perfect || self.mv_type == MvType::Ideal
    }
}
