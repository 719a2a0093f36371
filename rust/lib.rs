//! rpusim: analog in-memory computing crossbar tiles.
//!
//! A [`Tile`] holds the weights of one crossbar array in simulated resistive devices and computes
//! the forward and backward matrix-vector products with the non-idealities of the periphery
//! (DAC/ADC, noise, saturation) and the pulsed stochastic update of the devices. Configuration
//! follows the reference simulator's names (see [`config`]).

pub mod backend;
pub mod config;
pub mod device;
pub mod error;
pub mod gemm;
pub mod memory;
pub mod numeric;
pub mod patches;
pub mod periphery;
pub mod pulsed;
pub mod rng;
pub mod threads;
pub mod tile;

#[cfg(feature = "python")]
mod python;

pub use backend::BackendKind;
pub use config::TileConfig;
pub use error::{Error, Result};
pub use tile::{Counters, Tile, TileState};
