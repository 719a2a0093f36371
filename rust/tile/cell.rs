//! What sits at each cross-point: one device, or a unit cell or compound of several device
//! arrays. A cell decides which arrays an update pulses, runs the transfers and refreshes, and
//! says how the arrays form the visible weight. It only uses the backend's array kernels, so
//! every backend runs every compound the same way.

use super::mixed_precision::MixedCell;
use super::one_sided::OneSidedCell;
use super::transfer::TransferCell;
use super::vector::VectorCell;
use crate::backend::{ArrayUpdate, TileBackend};
use crate::config::{DeviceConfig, TileConfig};
use crate::error::{Error, Result};
use crate::pulsed::{CapturePlan, Lr, Polarity};
use crate::rng::{uniform_from_u32, Purpose, Stream};

/// What a cell's update needs from the tile.
pub struct Context<'a> {
    pub backend: &'a mut dyn TileBackend,
    pub config: &'a TileConfig,
    pub rows: usize,
    pub cols: usize,
    pub seed: u64,
    /// The count of this call (update or set).
    pub step: u32,
}

impl Context<'_> {
    /// A uniform in [0, 1) for the cell's random choices, from the counter (a, b, c, step).
    pub fn uniform(&self, a: u32, b: u32, c: u32) -> f32 {
        uniform_from_u32(Stream::new(self.seed, Purpose::Compound).block(a, b, c, self.step)[0])
    }

    /// A plain update of `array` with the tile's update parameters (no reads).
    #[allow(clippy::too_many_arguments)]
    pub fn pulse(
        &mut self,
        array: usize,
        x: &[f32],
        d: &[f32],
        batch: usize,
        lr: Lr<'_>,
        granularity: f32,
        noise_seed: u64,
        polarity: Polarity,
    ) -> Result<()> {
        let none = CapturePlan::default();
        let u = ArrayUpdate {
            array,
            x,
            d,
            batch,
            lr,
            up: &self.config.update,
            granularity,
            seed: self.seed,
            noise_seed,
            step: self.step,
            polarity,
            captures: &none,
        };
        self.backend.update(&u)?;
        Ok(())
    }
}

/// The cell of a tile.
pub enum Cell {
    Single,
    Vector(VectorCell),
    OneSided(OneSidedCell),
    Transfer(Box<TransferCell>),
    MixedPrecision(MixedCell),
}

impl Cell {
    pub fn new(config: &TileConfig, rows: usize, cols: usize) -> Result<Self> {
        Ok(match &config.device {
            DeviceConfig::VectorUnitCell(p) => Cell::Vector(VectorCell::new(p, false)),
            DeviceConfig::ReferenceUnitCell(p) => Cell::Vector(VectorCell::new(p, true)),
            DeviceConfig::OneSidedUnitCell(p) => Cell::OneSided(OneSidedCell::new(p)),
            DeviceConfig::TransferCompound(_)
            | DeviceConfig::BufferedTransferCompound(_)
            | DeviceConfig::ChoppedTransferCompound(_)
            | DeviceConfig::DynamicTransferCompound(_) => {
                Cell::Transfer(Box::new(TransferCell::new(&config.device, rows, cols)?))
            }
            DeviceConfig::MixedPrecisionCompound(p) => {
                Cell::MixedPrecision(MixedCell::new(p, rows, cols)?)
            }
            _ => Cell::Single,
        })
    }

    /// Number of device arrays.
    pub fn arrays(&self) -> usize {
        self.gammas().len()
    }

    /// The weight γ_k of every array in the visible weight Σ_k γ_k W_k.
    pub fn gammas(&self) -> Vec<f32> {
        match self {
            Cell::Single | Cell::MixedPrecision(_) => vec![1.0],
            Cell::Vector(c) => c.gammas.clone(),
            Cell::OneSided(_) => OneSidedCell::gammas(),
            Cell::Transfer(c) => c.gammas.clone(),
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
        match self {
            Cell::Single => {
                let g = ctx.config.device.granularity();
                let seed = ctx.seed;
                ctx.pulse(0, x, d, batch, Lr::Same(lr), g, seed, Polarity::Both)
            }
            Cell::Vector(c) => c.update(ctx, x, d, batch, lr),
            Cell::OneSided(c) => c.update(ctx, x, d, batch, lr),
            Cell::Transfer(c) => c.update(ctx, x, d, batch, lr),
            Cell::MixedPrecision(c) => c.update(ctx, x, d, batch, lr),
        }
    }

    pub fn set_weights(&mut self, ctx: &mut Context<'_>, weights: &[f32]) -> Result<()> {
        match self {
            Cell::Single => ctx.backend.set_weights(0, weights, ctx.step),
            Cell::Vector(c) => c.set_weights(ctx, weights),
            Cell::OneSided(c) => c.set_weights(ctx, weights),
            Cell::Transfer(c) => c.set_weights(ctx, weights),
            Cell::MixedPrecision(c) => c.set_weights(ctx, weights),
        }
    }

    /// The cell's own arrays (buffers, running means, accumulators), named.
    pub fn hidden(&self) -> Vec<(String, Vec<f32>)> {
        match self {
            Cell::Transfer(c) => c.hidden(),
            Cell::MixedPrecision(c) => c.hidden(),
            _ => Vec::new(),
        }
    }

    /// The cell's bookkeeping (counters, pointers, choppers) as JSON.
    pub fn state_json(&self) -> String {
        let value = match self {
            Cell::Single => Ok(serde_json::Value::Null),
            Cell::Vector(c) => serde_json::to_value(&c.state),
            Cell::OneSided(c) => serde_json::to_value(&c.state),
            Cell::Transfer(c) => serde_json::to_value(&c.state),
            Cell::MixedPrecision(c) => serde_json::to_value(&c.state),
        };
        value.unwrap_or(serde_json::Value::Null).to_string()
    }

    pub fn load_state(
        &mut self,
        json: &str,
        arrays: &[(String, Vec<f32>)],
        size: usize,
    ) -> Result<()> {
        fn parse<T: serde::de::DeserializeOwned>(json: &str) -> Result<T> {
            crate::config::parse_json(json).map_err(|(path, e)| {
                if path.is_empty() {
                    Error::State(format!("cell_json: {e}"))
                } else {
                    Error::State(format!("cell_json.{path}: {e}"))
                }
            })
        }
        match self {
            Cell::Single => {}
            Cell::Vector(c) => c.state = parse(json)?,
            Cell::OneSided(c) => c.state = parse(json)?,
            Cell::Transfer(c) => {
                c.state = parse(json)?;
                c.load_hidden(arrays, size)?;
            }
            Cell::MixedPrecision(c) => {
                c.state = parse(json)?;
                c.load_hidden(arrays, size)?;
            }
        }
        Ok(())
    }
}

/// Loads named arrays of `size` values into `targets` (all must be present).
pub fn load_named(
    arrays: &[(String, Vec<f32>)],
    targets: &mut [(&str, &mut Vec<f32>)],
    size: usize,
) -> Result<()> {
    for (name, target) in targets.iter_mut() {
        let values = arrays
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v)
            .ok_or_else(|| Error::State(format!("compound state: missing array {name:?}")))?;
        if values.len() != size {
            return Err(Error::State(format!(
                "compound state: array {name:?} has {} values, expected {size}",
                values.len()
            )));
        }
        target.clear();
        target.extend_from_slice(values);
    }
    Ok(())
}
