//! GPU buffers of a tile: persistent arrays and grow-only scratch, uploads and read-back.

use super::context::GpuContext;
use crate::error::{Error, Result};
use std::collections::HashMap;

pub const STORAGE: wgpu::BufferUsages = wgpu::BufferUsages::STORAGE
    .union(wgpu::BufferUsages::COPY_DST)
    .union(wgpu::BufferUsages::COPY_SRC);

/// Environment variable that lowers the storage binding limit below the adapter's (in bytes), to
/// exercise the splitting of large tiles into row bands on small ones.
pub const BINDING_LIMIT_ENV: &str = "RPUSIM_GPU_BINDING_LIMIT";

/// The largest storage binding: the adapter's limit (128 MiB on some drivers), or less when
/// `RPUSIM_GPU_BINDING_LIMIT` says so.
pub fn binding_limit(ctx: &GpuContext) -> u64 {
    let adapter = ctx
        .limits
        .max_storage_buffer_binding_size
        .min(ctx.limits.max_buffer_size);
    let wanted = std::env::var(BINDING_LIMIT_ENV)
        .ok()
        .and_then(|v| v.parse::<u64>().ok());
    wanted.map_or(adapter, |w| w.clamp(256, adapter))
}

/// Checks a binding against the storage binding limit.
pub fn check_binding(ctx: &GpuContext, what: &str, bytes: u64, limit: u64) -> Result<()> {
    if bytes > limit {
        return Err(Error::Backend(format!(
            "{what} needs {bytes} bytes in one GPU storage binding, but the adapter {:?} allows \
             {limit}; use a smaller batch or smaller tiles, or the cpu backend",
            ctx.info.name,
        )));
    }
    Ok(())
}

/// A storage buffer holding `data` (at least 4 bytes: empty bindings are not allowed).
pub fn storage_init(
    ctx: &GpuContext,
    label: &str,
    data: &[u8],
    limit: u64,
) -> Result<wgpu::Buffer> {
    check_binding(ctx, label, data.len() as u64, limit)?;
    let size = (data.len() as u64).max(4).next_multiple_of(4);
    let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some(label),
        size,
        usage: STORAGE,
        mapped_at_creation: false,
    });
    if !data.is_empty() {
        ctx.queue.write_buffer(&buffer, 0, data);
    }
    Ok(buffer)
}

/// Named scratch buffers that only grow, each within the binding limit.
pub struct Scratch {
    buffers: HashMap<&'static str, wgpu::Buffer>,
    limit: u64,
}

impl Scratch {
    pub fn new(limit: u64) -> Self {
        Self {
            buffers: HashMap::new(),
            limit,
        }
    }

    /// A storage buffer of at least `bytes` bytes.
    pub fn get(
        &mut self,
        ctx: &GpuContext,
        name: &'static str,
        bytes: u64,
    ) -> Result<wgpu::Buffer> {
        let bytes = bytes.max(4).next_multiple_of(4);
        check_binding(ctx, name, bytes, self.limit)?;
        if let Some(b) = self.buffers.get(name) {
            if b.size() >= bytes {
                return Ok(b.clone());
            }
        }
        // Grow with headroom so that slowly growing batches do not reallocate every call.
        let limit = ctx
            .limits
            .max_storage_buffer_binding_size
            .min(ctx.limits.max_buffer_size);
        let size = (bytes + bytes / 4)
            .next_multiple_of(256)
            .min(limit.max(bytes));
        let buffer = ctx.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(name),
            size,
            usage: STORAGE,
            mapped_at_creation: false,
        });
        self.buffers.insert(name, buffer.clone());
        Ok(buffer)
    }

    /// A scratch buffer holding `data` (written before the next submission).
    pub fn upload(
        &mut self,
        ctx: &GpuContext,
        name: &'static str,
        data: &[u8],
    ) -> Result<wgpu::Buffer> {
        let buffer = self.get(ctx, name, data.len() as u64)?;
        if !data.is_empty() {
            ctx.queue.write_buffer(&buffer, 0, data);
        }
        Ok(buffer)
    }
}

fn staging_buffer(ctx: &GpuContext, size: u64) -> wgpu::Buffer {
    ctx.device.create_buffer(&wgpu::BufferDescriptor {
        label: Some("read back"),
        size,
        usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        mapped_at_creation: false,
    })
}

impl Scratch {
    /// A mappable read-back buffer of at least `bytes` bytes, kept for the next call.
    pub fn staging(&mut self, ctx: &GpuContext, bytes: u64) -> wgpu::Buffer {
        let bytes = bytes.max(4).next_multiple_of(4);
        match self.buffers.get("staging") {
            Some(b) if b.size() >= bytes => b.clone(),
            _ => {
                // With headroom, but never beyond the adapter's largest buffer.
                let size = (bytes + bytes / 4).min(ctx.limits.max_buffer_size.max(bytes));
                let b = staging_buffer(ctx, size.next_multiple_of(4));
                self.buffers.insert("staging", b.clone());
                b
            }
        }
    }
}

/// The size in bytes of `dims` elements of `elem` bytes, or an error naming `what` when the
/// product does not fit in 64 bits.
pub fn byte_size(what: &str, dims: &[usize], elem: usize) -> Result<u64> {
    dims.iter()
        .try_fold(elem as u64, |acc, &d| acc.checked_mul(d as u64))
        .ok_or_else(|| {
            Error::Backend(format!(
                "{what}: {dims:?} elements of {elem} bytes overflow a 64-bit size"
            ))
        })
}

/// Submits `encoder` after a copy of the first `len` elements of `source` into a mappable buffer
/// (the given one, else a new one), waits and returns them.
pub fn read_back<T: bytemuck::Pod>(
    ctx: &GpuContext,
    mut encoder: wgpu::CommandEncoder,
    source: &wgpu::Buffer,
    len: usize,
    staging: Option<wgpu::Buffer>,
) -> Result<Vec<T>> {
    let bytes = byte_size("read-back", &[len], std::mem::size_of::<T>())?;
    if bytes == 0 {
        // Nothing to copy: submit what was recorded (it may write other buffers) and wait.
        ctx.queue.submit([encoder.finish()]);
        ctx.finish()?;
        return Ok(Vec::new());
    }
    let size = bytes.next_multiple_of(4);
    let staging = staging.unwrap_or_else(|| staging_buffer(ctx, size));
    encoder.copy_buffer_to_buffer(source, 0, &staging, 0, size);
    ctx.queue.submit([encoder.finish()]);
    let (sender, receiver) = std::sync::mpsc::channel();
    staging.map_async(wgpu::MapMode::Read, ..size, move |r| {
        let _ = sender.send(r);
    });
    ctx.finish()?;
    receiver
        .recv()
        .map_err(|_| Error::Backend("GPU read-back was dropped".into()))?
        .map_err(|e| Error::Backend(format!("GPU read-back failed: {e}")))?;
    // Cast from the mapped range (aligned to at least 8 bytes), not from a byte vector, which
    // may be unaligned (an empty one is). Unmapped in every case, so the buffer can be reused.
    let data = match staging.get_mapped_range(..size) {
        Ok(mapped) => bytemuck::try_cast_slice::<u8, T>(&mapped[..bytes as usize])
            .map(<[T]>::to_vec)
            .map_err(|e| Error::Backend(format!("GPU read-back: {e}"))),
        Err(e) => Err(Error::Backend(format!("GPU read-back failed: {e}"))),
    };
    staging.unmap();
    data
}

pub fn encoder(ctx: &GpuContext) -> wgpu::CommandEncoder {
    ctx.device
        .create_command_encoder(&wgpu::CommandEncoderDescriptor {
            label: Some("rpusim"),
        })
}
