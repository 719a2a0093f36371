//! The CPU backend: periphery and pulsed update on rayon, GEMMs by `matrixmultiply`.

use super::{BackendKind, TileBackend};
use crate::config::{PulseType, TileConfig};
use crate::device::{DeviceArray, DeviceModel};
use crate::error::Result;
use crate::gemm::MatRef;
use crate::periphery::{analog_mvm, MvmScratch};
use crate::pulsed::{float_update, pulsed_update, PulseBatch, PulseScratch, Pulsed};

/// A tile's state on the CPU.
pub struct CpuTile {
    config: TileConfig,
    rows: usize,
    cols: usize,
    seed: u64,
    weights: Vec<f32>,
    device: DeviceArray,
    forward_scratch: MvmScratch,
    backward_scratch: MvmScratch,
    pulse_scratch: PulseScratch,
}

impl CpuTile {
    pub fn new(config: TileConfig, rows: usize, cols: usize, seed: u64) -> Self {
        let device = DeviceArray::build(&config.device, rows, cols, seed);
        Self {
            config,
            rows,
            cols,
            seed,
            weights: vec![0.0; rows * cols],
            device,
            forward_scratch: MvmScratch::default(),
            backward_scratch: MvmScratch::default(),
            pulse_scratch: PulseScratch::default(),
        }
    }
}

impl TileBackend for CpuTile {
    fn kind(&self) -> BackendKind {
        BackendKind::Cpu
    }

    fn forward(&mut self, x: &[f32], batch: usize, out: &mut [f32], step: u32) -> Result<()> {
        // y = W x: the weights seen as Wᵀ (cols × rows).
        let w = MatRef::transposed(&self.weights, self.cols, self.rows);
        analog_mvm(
            &self.config.forward,
            w,
            x,
            batch,
            out,
            self.seed,
            step,
            true,
            &mut self.forward_scratch,
        );
        Ok(())
    }

    fn backward(&mut self, d: &[f32], batch: usize, out: &mut [f32], step: u32) -> Result<()> {
        // z = Wᵀ d: the weights as stored (rows × cols). The backward pass has its own streams.
        let w = MatRef::row_major(&self.weights, self.rows, self.cols);
        let seed = self.seed ^ super::BACKWARD_SEED;
        analog_mvm(
            &self.config.backward,
            w,
            d,
            batch,
            out,
            seed,
            step,
            false,
            &mut self.backward_scratch,
        );
        Ok(())
    }

    fn update(&mut self, x: &[f32], d: &[f32], batch: usize, lr: f32, step: u32) -> Result<()> {
        let pulse_type = self.config.update.pulse_type;
        let pulsed = match &self.device.model {
            DeviceModel::ConstantStep(a) => Some(Pulsed::Constant(a)),
            DeviceModel::LinearStep(a) => Some(Pulsed::Linear(a)),
            DeviceModel::ExpStep(a) => Some(Pulsed::Exp(a)),
            DeviceModel::PowStep(a) => Some(Pulsed::Pow(a)),
            DeviceModel::PiecewiseStep(a) => Some(Pulsed::Piecewise(a)),
            DeviceModel::FloatingPoint => None,
        };
        match pulsed {
            Some(array) if pulse_type == PulseType::StochasticCompressed => {
                let input = PulseBatch {
                    x,
                    d,
                    batch,
                    rows: self.rows,
                    cols: self.cols,
                    lr,
                    seed: self.seed,
                    step,
                };
                pulsed_update(
                    &self.config.update,
                    array,
                    &mut self.weights,
                    &input,
                    &mut self.pulse_scratch,
                );
            }
            _ => {
                float_update(&mut self.weights, self.rows, self.cols, x, d, batch, lr);
                if pulse_type == PulseType::NoneWithDevice {
                    self.device.clip_weights(&mut self.weights);
                }
            }
        }
        Ok(())
    }

    fn post_update(&mut self, step: u32) -> Result<()> {
        self.device
            .post_update(&mut self.weights, self.cols, self.seed, step);
        Ok(())
    }

    fn weights(&self) -> Result<Vec<f32>> {
        Ok(self.weights.clone())
    }

    fn set_weights(&mut self, weights: &[f32]) -> Result<()> {
        self.weights.copy_from_slice(weights);
        self.device.clip_weights(&mut self.weights);
        Ok(())
    }

    fn device_arrays(&self) -> Vec<(String, Vec<f32>)> {
        self.device.named_arrays()
    }

    fn load_device_arrays(&mut self, arrays: &[(String, Vec<f32>)]) -> Result<()> {
        self.device.load_arrays(arrays)
    }
}
