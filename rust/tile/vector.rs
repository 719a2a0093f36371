//! `VectorUnitCell` and `ReferenceUnitCell` (reference §6): W = Σ_k γ_k W_k; each update pulses
//! every device (the same coincidences, each device with its own cycle-to-cycle noise) or one
//! device chosen by the update policy, once per mini-batch.

use super::cell::Context;
use crate::backend::array_seed;
use crate::config::{UpdatePolicy, VectorCellParameters};
use crate::error::Result;
use crate::pulsed::{Lr, Polarity};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, Deserialize, Serialize)]
pub struct VectorState {
    /// The device the last single-device update went to.
    pub current: usize,
}

pub struct VectorCell {
    policy: UpdatePolicy,
    first: usize,
    n: usize,
    pub gammas: Vec<f32>,
    pub state: VectorState,
}

impl VectorCell {
    pub fn new(p: &VectorCellParameters, reference: bool) -> Self {
        Self {
            policy: p.update_policy,
            first: p.first_update_idx,
            n: p.unit_cell_devices.len(),
            gammas: p.gammas(reference),
            state: VectorState {
                current: p.first_update_idx,
            },
        }
    }

    pub fn update(
        &mut self,
        ctx: &mut Context<'_>,
        x: &[f32],
        d: &[f32],
        batch: usize,
        lr: f32,
    ) -> Result<()> {
        let g = ctx.config.device.granularity();
        let targets: Vec<usize> = match self.policy {
            UpdatePolicy::All => (0..self.n).collect(),
            UpdatePolicy::SingleFixed => vec![self.first],
            UpdatePolicy::SingleSequential => {
                self.state.current = (self.state.current + 1) % self.n;
                vec![self.state.current]
            }
            UpdatePolicy::SingleRandom => {
                let u = ctx.uniform(0, 0, 0);
                self.state.current = ((u * self.n as f32) as usize).min(self.n - 1);
                vec![self.state.current]
            }
        };
        for k in targets {
            let noise = array_seed(ctx.seed, k);
            ctx.pulse(k, x, d, batch, Lr::Same(lr), g, noise, Polarity::Both)?;
        }
        Ok(())
    }

    /// Every device gets the weights (with a fixed policy only the updated one; the others keep
    /// theirs), as the reference does.
    pub fn set_weights(&mut self, ctx: &mut Context<'_>, weights: &[f32]) -> Result<()> {
        self.state.current = self.first;
        for k in 0..self.n {
            if self.policy != UpdatePolicy::SingleFixed || k == self.first {
                ctx.backend.set_weights(k, weights, ctx.step)?;
            }
        }
        Ok(())
    }
}
