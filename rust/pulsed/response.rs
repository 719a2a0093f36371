//! The pulsed view of a device array: its pulse response, the reference its visible weight is
//! read against, and its write noise.

use crate::device::{
    ConstantStepArray, DeviceArray, DeviceModel, ExpStepArray, LinearStepArray, PiecewiseStepArray,
    PowStepArray, PulseStep, LANES,
};

/// The pulse response of a device array as the update sees it.
#[derive(Clone, Copy)]
pub enum Response<'a> {
    /// Linear in the pulse counts: a group of pulses can be applied at once.
    Constant(&'a ConstantStepArray),
    /// The step depends on the weight: pulses are applied one by one in vector order.
    Linear(&'a LinearStepArray),
    /// Likewise.
    Exp(&'a ExpStepArray),
    /// Likewise.
    Pow(&'a PowStepArray),
    /// Likewise.
    Piecewise(&'a PiecewiseStepArray),
}

/// A pulsed device array: its response, the reference its visible weight is read against and
/// its write noise.
#[derive(Clone, Copy)]
pub struct Pulsed<'a> {
    pub response: Response<'a>,
    /// Per device; empty: none (the visible weight is the conductance).
    pub reference: &'a [f32],
    /// Write noise σ (0: none).
    pub write_noise: f32,
}

impl<'a> Pulsed<'a> {
    /// The pulsed view of a device array (None for floating-point devices).
    pub fn of(device: &'a DeviceArray) -> Option<Self> {
        let response = match &device.model {
            DeviceModel::ConstantStep(a) => Response::Constant(a),
            DeviceModel::LinearStep(a) => Response::Linear(a),
            DeviceModel::ExpStep(a) => Response::Exp(a),
            DeviceModel::PowStep(a) => Response::Pow(a),
            DeviceModel::PiecewiseStep(a) => Response::Piecewise(a),
            DeviceModel::FloatingPoint => return None,
        };
        Some(Self {
            response,
            reference: &device.reference,
            write_noise: device.write_noise,
        })
    }

    /// Steps, bounds and noise level.
    pub fn steps(&self) -> &ConstantStepArray {
        match self.response {
            Response::Constant(a) => a,
            Response::Linear(a) => &a.base,
            Response::Exp(a) => &a.base,
            Response::Pow(a) => &a.base,
            Response::Piecewise(a) => &a.base,
        }
    }

    /// Whether pulse-by-pulse application may run devices in lockstep lanes
    /// ([`PulseStep::LOCKSTEP`]).
    pub fn lockstep(&self) -> bool {
        matches!(self.response, Response::Constant(_) | Response::Linear(_))
    }

    /// Whether pulses may be applied in groups (see [`ConstantStepArray::pulse_groups`]).
    pub fn grouped(&self) -> bool {
        matches!(self.response, Response::Constant(_)) && self.reference.is_empty()
    }

    /// How many vectors' pulses a group may carry (see [`super::plan_groups`]): pulse-by-pulse
    /// models never need a group to stay clear of the bounds.
    pub fn group_budget(&self) -> f32 {
        if self.grouped() {
            self.steps().group_budget
        } else {
            f32::INFINITY
        }
    }
}

/// A device read against a reference: its pulses act on the conductance g = w + r.
#[derive(Clone, Copy)]
pub(super) struct Referenced<S> {
    pub(super) inner: S,
    pub(super) r: f32,
}

impl<S: PulseStep> PulseStep for Referenced<S> {
    const LOCKSTEP: bool = S::LOCKSTEP;
    type Lanes = (S::Lanes, [f32; LANES]);

    #[inline(always)]
    fn pulse(&self, w: f32, up: bool, xi: f32) -> f32 {
        self.inner.pulse(w + self.r, up, xi) - self.r
    }

    #[inline(always)]
    fn lanes(d: &[Self; LANES]) -> Self::Lanes {
        (
            S::lanes(&std::array::from_fn(|l| d[l].inner)),
            std::array::from_fn(|l| d[l].r),
        )
    }

    #[inline(always)]
    fn pulse_lanes(
        (inner, r): &Self::Lanes,
        up: &[bool; LANES],
        w: &[f32; LANES],
        xi: &[f32; LANES],
    ) -> [f32; LANES] {
        let g: [f32; LANES] = std::array::from_fn(|l| w[l] + r[l]);
        let next = S::pulse_lanes(inner, up, &g, xi);
        std::array::from_fn(|l| next[l] - r[l])
    }
}
