//! The process-wide GPU context: instance, adapter, device, queue, the compiled kernels and the
//! normal table, created once on first use. No adapter is an error value, never a crash.

use super::kernels::{Kernel, KERNELS};
use crate::error::{Error, Result};
use crate::rng::normal_table;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use wgpu::util::DeviceExt;

/// Environment variable that picks an adapter by a case-insensitive substring of its name.
pub const ADAPTER_ENV: &str = "RPUSIM_GPU_ADAPTER";

/// One compiled kernel and the bind group of the normal table for it (group 1), if it uses one.
pub struct Pipeline {
    pub pipeline: wgpu::ComputePipeline,
    pub normals: Option<wgpu::BindGroup>,
}

pub struct GpuContext {
    pub device: wgpu::Device,
    pub queue: wgpu::Queue,
    pub info: wgpu::AdapterInfo,
    pub limits: wgpu::Limits,
    normal_table: wgpu::Buffer,
    pipelines: Mutex<HashMap<Kernel, Arc<Pipeline>>>,
    /// The first error the device reported outside an operation (validation, out of memory).
    errors: Arc<Mutex<Option<String>>>,
}

static CONTEXT: OnceLock<std::result::Result<Arc<GpuContext>, String>> = OnceLock::new();

/// The shared context, created on the first call.
pub fn context() -> Result<Arc<GpuContext>> {
    CONTEXT
        .get_or_init(|| GpuContext::create().map(Arc::new))
        .clone()
        .map_err(Error::Backend)
}

/// "backend / adapter name (driver info)" of the adapter in use, or why there is none.
pub fn describe() -> Result<String> {
    let ctx = context()?;
    let i = &ctx.info;
    let driver = if i.driver_info.is_empty() {
        i.driver.clone()
    } else {
        format!("{} {}", i.driver, i.driver_info)
    };
    Ok(format!(
        "{:?} / {} ({:?}, {})",
        i.backend,
        i.name,
        i.device_type,
        driver.trim()
    ))
}

/// Window-system surface extensions that wgpu enables whenever the Vulkan loader offers them. We
/// only compute, and with them enabled Mesa's `VK_LAYER_MESA_device_select` (an implicit layer)
/// connects to the Wayland or X display to pick a default GPU: with `WAYLAND_DISPLAY` set and
/// `XDG_RUNTIME_DIR` unset, libwayland prints "error: XDG_RUNTIME_DIR is invalid or not set in the
/// environment." once per adapter enumeration.
#[cfg(all(unix, not(target_vendor = "apple"), not(target_os = "android")))]
const WINDOW_SURFACES: [&str; 3] = [
    "VK_KHR_xlib_surface",
    "VK_KHR_xcb_surface",
    "VK_KHR_wayland_surface",
];

/// A Vulkan-only instance without the window-system surface extensions (Linux and the BSDs, where
/// Vulkan is the only backend we use); None where Vulkan cannot be loaded (the caller then makes
/// the ordinary instance, which reports the missing adapter).
#[cfg(all(unix, not(target_vendor = "apple"), not(target_os = "android")))]
#[allow(unsafe_code)]
fn compute_instance() -> Option<wgpu::Instance> {
    use wgpu::hal;
    let desc = hal::InstanceDescriptor {
        name: "rpusim",
        flags: wgpu::InstanceFlags::default(),
        memory_budget_thresholds: wgpu::MemoryBudgetThresholds::default(),
        backend_options: wgpu::BackendOptions::default(),
        telemetry: None,
        display: None,
    };
    let drop_surfaces: Box<hal::vulkan::CreateInstanceCallback<'_>> = Box::new(|args| {
        args.extensions
            .retain(|e| !WINDOW_SURFACES.iter().any(|w| e.to_bytes() == w.as_bytes()));
    });
    // SAFETY: the callback only removes platform surface extensions, which wgpu-hal uses in
    // nothing but `create_surface_from_{xlib,xcb,wayland}`; those check the instance's final
    // extension list and refuse, and we never create a surface. VK_KHR_surface (which the
    // device's VK_KHR_swapchain depends on) stays. `from_hal` takes ownership of the instance.
    let raw = unsafe { hal::vulkan::Instance::init_with_callback(&desc, Some(drop_surfaces)) };
    raw.ok()
        .map(|raw| unsafe { wgpu::Instance::from_hal::<hal::api::Vulkan>(raw) })
}

#[cfg(not(all(unix, not(target_vendor = "apple"), not(target_os = "android"))))]
fn compute_instance() -> Option<wgpu::Instance> {
    None
}

fn rank(t: wgpu::DeviceType) -> u32 {
    match t {
        wgpu::DeviceType::DiscreteGpu => 0,
        wgpu::DeviceType::IntegratedGpu => 1,
        wgpu::DeviceType::VirtualGpu => 2,
        wgpu::DeviceType::Cpu => 3,
        wgpu::DeviceType::Other => 4,
    }
}

impl GpuContext {
    fn create() -> std::result::Result<Self, String> {
        // Only the native compute APIs: without GL, wgpu cannot silently fall back to it.
        let backends = wgpu::Backends::VULKAN | wgpu::Backends::METAL | wgpu::Backends::DX12;
        let instance = compute_instance().unwrap_or_else(|| {
            let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
            desc.backends = backends;
            wgpu::Instance::new(desc)
        });
        let mut adapters = pollster::block_on(instance.enumerate_adapters(backends));
        let wanted = std::env::var(ADAPTER_ENV).ok().map(|s| s.to_lowercase());
        if let Some(w) = &wanted {
            adapters.retain(|a| a.get_info().name.to_lowercase().contains(w));
        }
        adapters.sort_by_key(|a| rank(a.get_info().device_type));
        let adapter = adapters.into_iter().next().ok_or_else(|| {
            let filter = wanted
                .map(|w| format!(" matching {ADAPTER_ENV}={w:?}"))
                .unwrap_or_default();
            format!(
                "no GPU adapter found{filter} (tried Vulkan, Metal, DX12; on Linux without a GPU, \
                 install Mesa's software Vulkan driver: apt install mesa-vulkan-drivers libvulkan1)"
            )
        })?;
        let info = adapter.get_info();
        // Ask for the adapter's real limits: storage bindings, workgroup counts, buffer sizes.
        let limits = adapter.limits();
        let (device, queue) = pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor {
            label: Some("rpusim"),
            required_features: wgpu::Features::empty(),
            required_limits: limits.clone(),
            experimental_features: wgpu::ExperimentalFeatures::disabled(),
            memory_hints: wgpu::MemoryHints::Performance,
            trace: wgpu::Trace::Off,
        }))
        .map_err(|e| format!("GPU adapter {:?} refused a device: {e}", info.name))?;
        let errors: Arc<Mutex<Option<String>>> = Arc::default();
        let sink = errors.clone();
        device.on_uncaptured_error(Arc::new(move |e: wgpu::Error| {
            let mut slot = sink.lock().unwrap_or_else(|p| p.into_inner());
            slot.get_or_insert_with(|| e.to_string());
        }));
        let normal_table = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("normal table"),
            contents: bytemuck::cast_slice(normal_table().values()),
            usage: wgpu::BufferUsages::STORAGE,
        });
        Ok(Self {
            device,
            queue,
            info,
            limits,
            normal_table,
            pipelines: Mutex::default(),
            errors,
        })
    }

    /// The compiled pipeline of a kernel (compiled on first use, then cached).
    pub fn pipeline(&self, kernel: Kernel) -> Arc<Pipeline> {
        let mut cache = self.pipelines.lock().unwrap_or_else(|p| p.into_inner());
        cache
            .entry(kernel)
            .or_insert_with(|| {
                let spec = &KERNELS[kernel as usize];
                let module = self
                    .device
                    .create_shader_module(wgpu::ShaderModuleDescriptor {
                        label: Some(spec.name),
                        source: wgpu::ShaderSource::Wgsl(spec.source().into()),
                    });
                let pipeline =
                    self.device
                        .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                            label: Some(spec.name),
                            layout: None,
                            module: &module,
                            entry_point: Some("main"),
                            compilation_options: Default::default(),
                            cache: None,
                        });
                let normals = spec.uses_normals.then(|| {
                    self.device.create_bind_group(&wgpu::BindGroupDescriptor {
                        label: Some("normal table"),
                        layout: &pipeline.get_bind_group_layout(1),
                        entries: &[wgpu::BindGroupEntry {
                            binding: 0,
                            resource: self.normal_table.as_entire_binding(),
                        }],
                    })
                });
                Arc::new(Pipeline { pipeline, normals })
            })
            .clone()
    }

    /// Waits for the queue and turns any error the device reported into a backend error.
    pub fn finish(&self) -> Result<()> {
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::Backend(format!("GPU device: {e}")))?;
        self.take_error()
    }

    pub fn take_error(&self) -> Result<()> {
        let mut slot = self.errors.lock().unwrap_or_else(|p| p.into_inner());
        match slot.take() {
            Some(msg) => Err(Error::Backend(format!("GPU error: {msg}"))),
            None => Ok(()),
        }
    }
}
