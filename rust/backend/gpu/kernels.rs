//! The WGSL kernels (one per file in `wgsl/`) and how they are launched. Each kernel is compiled
//! with the shared Philox and index helpers, and with the normal table when it draws normals.

use super::context::{GpuContext, Pipeline};
use crate::error::{Error, Result};
use std::sync::Arc;
use wgpu::util::DeviceExt;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Kernel {
    Dac,
    Adc,
    ScaleRows,
    Gemm,
    Gemv,
    PulseTrains,
    PulseApply,
    DecayDiffusion,
    PhiloxTest,
    Axpy,
    AnalogEffects,
}

pub const ALL: [Kernel; 11] = [
    Kernel::Dac,
    Kernel::Adc,
    Kernel::ScaleRows,
    Kernel::Gemm,
    Kernel::Gemv,
    Kernel::PulseTrains,
    Kernel::PulseApply,
    Kernel::DecayDiffusion,
    Kernel::PhiloxTest,
    Kernel::Axpy,
    Kernel::AnalogEffects,
];

pub struct KernelSpec {
    pub name: &'static str,
    pub body: &'static str,
    pub uses_normals: bool,
}

const PHILOX: &str = include_str!("wgsl/philox.wgsl");
const INDEX: &str = include_str!("wgsl/index.wgsl");
const NORMAL: &str = include_str!("wgsl/normal.wgsl");

/// Indexed by `Kernel as usize`.
pub static KERNELS: [KernelSpec; 11] = [
    KernelSpec {
        name: "dac",
        body: include_str!("wgsl/dac.wgsl"),
        uses_normals: true,
    },
    KernelSpec {
        name: "adc",
        body: include_str!("wgsl/adc.wgsl"),
        uses_normals: true,
    },
    KernelSpec {
        name: "scale_rows",
        body: include_str!("wgsl/scale_rows.wgsl"),
        uses_normals: false,
    },
    KernelSpec {
        name: "gemm",
        body: include_str!("wgsl/gemm.wgsl"),
        uses_normals: false,
    },
    KernelSpec {
        name: "gemv",
        body: include_str!("wgsl/gemv.wgsl"),
        uses_normals: false,
    },
    KernelSpec {
        name: "pulse_trains",
        body: include_str!("wgsl/pulse_trains.wgsl"),
        uses_normals: false,
    },
    KernelSpec {
        name: "pulse_apply",
        body: include_str!("wgsl/pulse_apply.wgsl"),
        uses_normals: true,
    },
    KernelSpec {
        name: "decay_diffusion",
        body: include_str!("wgsl/decay_diffusion.wgsl"),
        uses_normals: true,
    },
    KernelSpec {
        name: "philox_test",
        body: include_str!("wgsl/philox_test.wgsl"),
        uses_normals: true,
    },
    KernelSpec {
        name: "axpy",
        body: include_str!("wgsl/axpy.wgsl"),
        uses_normals: false,
    },
    KernelSpec {
        name: "analog_effects",
        body: include_str!("wgsl/analog_effects.wgsl"),
        uses_normals: false,
    },
];

impl KernelSpec {
    pub fn source(&self) -> String {
        let mut s =
            String::with_capacity(PHILOX.len() + INDEX.len() + NORMAL.len() + self.body.len());
        s.push_str(PHILOX);
        s.push_str(INDEX);
        if self.uses_normals {
            s.push_str(NORMAL);
        }
        s.push_str(self.body);
        s
    }
}

/// Uniform parameters as 32-bit words (floats by their bits), padded to 16 bytes.
#[derive(Default)]
pub struct Params(Vec<u32>);

impl Params {
    pub fn u(mut self, v: u32) -> Self {
        self.0.push(v);
        self
    }

    pub fn f(mut self, v: f32) -> Self {
        self.0.push(v.to_bits());
        self
    }

    /// A Philox key as two words.
    pub fn key(self, key: [u32; 2]) -> Self {
        self.u(key[0]).u(key[1])
    }

    fn bytes(&self) -> Vec<u8> {
        let mut words = self.0.clone();
        words.resize(words.len().div_ceil(4).max(1) * 4, 0);
        bytemuck::cast_slice(&words).to_vec()
    }
}

/// Largest workgroup count along one dimension of a dispatch.
const MAX_GROUPS: u32 = 65535;

/// A 1-D launch of `groups` workgroups as a 2-D grid (see `index.wgsl`).
pub fn grid(groups: u32) -> (u32, u32) {
    if groups <= MAX_GROUPS {
        (groups.max(1), 1)
    } else {
        (MAX_GROUPS, groups.div_ceil(MAX_GROUPS))
    }
}

/// Records one dispatch of `kernel` with `params` and the storage buffers bound in order
/// (bindings 1, 2, ...).
///
/// # Errors
/// `Error::Backend` when `groups` exceeds the adapter's workgroup count per dimension.
pub fn dispatch(
    ctx: &GpuContext,
    encoder: &mut wgpu::CommandEncoder,
    kernel: Kernel,
    params: Params,
    buffers: &[&wgpu::Buffer],
    groups: (u32, u32),
) -> Result<()> {
    check_groups(ctx, kernel, groups)?;
    let pipe: Arc<Pipeline> = ctx.pipeline(kernel);
    let uniform = ctx
        .device
        .create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: &params.bytes(),
            usage: wgpu::BufferUsages::UNIFORM,
        });
    let mut entries = vec![wgpu::BindGroupEntry {
        binding: 0,
        resource: uniform.as_entire_binding(),
    }];
    for (b, buf) in buffers.iter().enumerate() {
        entries.push(wgpu::BindGroupEntry {
            binding: b as u32 + 1,
            resource: buf.as_entire_binding(),
        });
    }
    let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
        label: Some(KERNELS[kernel as usize].name),
        layout: &pipe.pipeline.get_bind_group_layout(0),
        entries: &entries,
    });
    let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
        label: Some(KERNELS[kernel as usize].name),
        timestamp_writes: None,
    });
    pass.set_pipeline(&pipe.pipeline);
    pass.set_bind_group(0, &bind, &[]);
    if let Some(normals) = &pipe.normals {
        pass.set_bind_group(1, normals, &[]);
    }
    pass.dispatch_workgroups(groups.0, groups.1, 1);
    Ok(())
}

/// Checks a dispatch's workgroup counts against the adapter's limit per dimension.
fn check_groups(ctx: &GpuContext, kernel: Kernel, groups: (u32, u32)) -> Result<()> {
    let limit = ctx.limits.max_compute_workgroups_per_dimension;
    if groups.0 > limit || groups.1 > limit {
        return Err(Error::Backend(format!(
            "kernel {} needs {} x {} workgroups, but the adapter {:?} allows {limit} per \
             dimension; use a smaller batch or smaller tiles, or the cpu backend",
            KERNELS[kernel as usize].name, groups.0, groups.1, ctx.info.name,
        )));
    }
    Ok(())
}

/// The workgroup count `ceil(n / size)` as u32, or an error when it does not fit.
pub fn groups_of(what: &str, n: usize, size: usize) -> Result<u32> {
    u32::try_from(n.div_ceil(size)).map_err(|_| {
        Error::Backend(format!(
            "{what}: {n} threads need more than {} workgroups of {size}",
            u32::MAX
        ))
    })
}
