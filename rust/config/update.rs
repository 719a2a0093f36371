//! Pulsed-update parameters (`UpdateParameters` of the reference, same names and defaults).

use super::check_range;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PulseType {
    /// Exact floating-point update `W -= lr d xᵀ`; the device model is ignored.
    None,
    /// Floating-point update, then the device bounds are applied.
    NoneWithDevice,
    /// One stochastic train per x_j and per d_i; each coincidence is one pulse.
    #[default]
    StochasticCompressed,
    /// The trains of `StochasticCompressed` (aihwkit keeps the firing x_j of each slot in two
    /// lists by sign; every device still sees one Bernoulli(p·q) coincidence per slot, so the
    /// pulses and their statistics are the same).
    Stochastic,
    /// Deterministic counts: round(n_d·n_x/BL) of the rounded expected firings n = round(BL·p)
    /// (`crate::pulsed::dense_factors`).
    MeanCount,
    /// Deterministic counts round(BL·p_d·p_x) of p quantised to `d_res_implicit` /
    /// `x_res_implicit` (`crate::pulsed::dense_factors`).
    DeterministicImplicit,
}

/// How a gradient becomes stochastic pulse trains.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct UpdateParameters {
    pub desired_bl: u32,
    pub fixed_bl: bool,
    pub pulse_type: PulseType,
    pub res: f32,
    pub x_res_implicit: f32,
    pub d_res_implicit: f32,
    pub d_sparsity: bool,
    pub sto_round: bool,
    pub update_bl_management: bool,
    pub update_management: bool,
    pub um_grad_scale: f32,
}

impl Default for UpdateParameters {
    fn default() -> Self {
        Self {
            desired_bl: 31,
            fixed_bl: true,
            pulse_type: PulseType::StochasticCompressed,
            res: 0.0,
            x_res_implicit: 0.0,
            d_res_implicit: 0.0,
            d_sparsity: false,
            sto_round: false,
            update_bl_management: true,
            update_management: true,
            um_grad_scale: 1.0,
        }
    }
}

/// Longest pulse train supported (bits per element are kept in u64 words).
pub const MAX_BL: u32 = 1024;

impl UpdateParameters {
    pub(crate) fn validate(&self, arg: &str) -> Result<()> {
        if self.desired_bl < 1 || self.desired_bl > MAX_BL {
            return Err(Error::config(
                format!("{arg}.desired_bl"),
                format!("must be in [1, {MAX_BL}], got {}", self.desired_bl),
            ));
        }
        check_range(arg, "res", self.res, -1.0, f32::MAX)?;
        super::check_resolution(arg, "res", self.res)?;
        check_range(
            arg,
            "um_grad_scale",
            self.um_grad_scale,
            f32::MIN_POSITIVE,
            f32::MAX,
        )?;
        for (name, res) in [
            ("x_res_implicit", self.x_res_implicit),
            ("d_res_implicit", self.d_res_implicit),
        ] {
            // 0 (the default) means no quantisation; otherwise a step on the 0…1 scale.
            check_range(arg, name, res, 0.0, 1.0)?;
            super::check_resolution(arg, name, res)?;
        }
        Ok(())
    }

    /// Step of the probability quantisation (0 = off).
    pub fn probability_step(&self) -> f32 {
        if self.res <= 0.0 {
            0.0
        } else if self.res <= 1.0 {
            self.res
        } else {
            1.0 / self.res
        }
    }
}
