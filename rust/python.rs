//! The only file that knows PyO3: the `rpusim._core` extension module. It converts and checks
//! arguments, releases the GIL while Rust computes, turns every error (and any panic) into the
//! Python exception classes of `rpusim.exceptions`.

use crate::backend::{self, BackendKind};
use crate::config::TileConfig;
use crate::error::Error;
use crate::rng::philox4x32_10;
use crate::tile::{Counters, Tile, TileState};
use numpy::{
    IntoPyArray, PyArray2, PyArrayMethods, PyReadonlyArray2, PyReadwriteArray2,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use std::panic::{catch_unwind, AssertUnwindSafe};

pyo3::import_exception!(rpusim.exceptions, RpusimError);
pyo3::import_exception!(rpusim.exceptions, ConfigError);
pyo3::import_exception!(rpusim.exceptions, ShapeError);
pyo3::import_exception!(rpusim.exceptions, InputError);
pyo3::import_exception!(rpusim.exceptions, StateError);
pyo3::import_exception!(rpusim.exceptions, BackendError);

fn to_py(err: Error) -> PyErr {
    let msg = err.to_string();
    match err {
        Error::Config { .. } | Error::Unsupported { .. } => ConfigError::new_err(msg),
        Error::Shape { .. } => ShapeError::new_err(msg),
        Error::NonFinite { .. } | Error::Value { .. } => InputError::new_err(msg),
        Error::State(_) => StateError::new_err(msg),
        Error::Backend(_) => BackendError::new_err(msg),
    }
}

/// Runs `f` without the GIL; errors and panics come back as Python exceptions.
fn compute<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> crate::Result<T> + Send,
    T: Send,
{
    match py.detach(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(result) => result.map_err(to_py),
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            Err(RpusimError::new_err(format!(
                "internal error in the rpusim core: {what}"
            )))
        }
    }
}

fn contiguous<'a>(arg: &str, a: &'a PyReadonlyArray2<'_, f32>) -> PyResult<&'a [f32]> {
    a.as_slice()
        .map_err(|_| PyTypeError::new_err(format!("{arg}: expected a C-contiguous float32 array")))
}

fn check_width(arg: &'static str, shape: &[usize], width: usize) -> PyResult<()> {
    if shape[1] != width {
        return Err(to_py(Error::Shape {
            arg,
            expected: vec![shape[0], width],
            got: shape.to_vec(),
        }));
    }
    Ok(())
}

/// One analog crossbar tile (`out_size` rows × `in_size` columns).
#[pyclass(module = "rpusim._core", name = "Tile")]
struct PyTile {
    inner: Tile,
}

#[pymethods]
impl PyTile {
    #[new]
    #[pyo3(signature = (out_size, in_size, config_json, seed, backend = "cpu"))]
    fn new(
        py: Python<'_>,
        out_size: usize,
        in_size: usize,
        config_json: &str,
        seed: u64,
        backend: &str,
    ) -> PyResult<Self> {
        let config = TileConfig::from_json(config_json).map_err(to_py)?;
        let kind = BackendKind::parse(backend).map_err(to_py)?;
        let inner = compute(py, || Tile::new(config, out_size, in_size, seed, kind))?;
        Ok(Self { inner })
    }

    #[getter]
    fn out_size(&self) -> usize {
        self.inner.rows()
    }

    #[getter]
    fn in_size(&self) -> usize {
        self.inner.cols()
    }

    #[getter]
    fn seed(&self) -> u64 {
        self.inner.seed()
    }

    #[getter]
    fn backend(&self) -> &'static str {
        self.inner.backend().name()
    }

    #[getter]
    fn config_json(&self) -> String {
        self.inner.config().to_json()
    }

    /// (forward, backward, update, post_update) calls made so far.
    #[getter]
    fn counters(&self) -> (u64, u64, u64, u64) {
        let c = self.inner.counters();
        (c.forward, c.backward, c.update, c.post_update)
    }

    /// Writes `forward(x)` into `out`; `x` `[batch, in_size]`, `out` `[batch, out_size]`, float32.
    fn forward(
        &mut self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f32>,
        mut out: PyReadwriteArray2<'_, f32>,
    ) -> PyResult<()> {
        check_width("x", x.shape(), self.inner.cols())?;
        let xs = contiguous("x", &x)?;
        let os = out
            .as_slice_mut()
            .map_err(|_| PyTypeError::new_err("out: expected a C-contiguous float32 array"))?;
        let tile = &mut self.inner;
        compute(py, || tile.forward(xs, os))
    }

    /// Writes `backward(d)` into `out`; `d` `[batch, out_size]`, `out` `[batch, in_size]`.
    fn backward(
        &mut self,
        py: Python<'_>,
        d: PyReadonlyArray2<'_, f32>,
        mut out: PyReadwriteArray2<'_, f32>,
    ) -> PyResult<()> {
        check_width("d", d.shape(), self.inner.rows())?;
        let ds = contiguous("d", &d)?;
        let os = out
            .as_slice_mut()
            .map_err(|_| PyTypeError::new_err("out: expected a C-contiguous float32 array"))?;
        let tile = &mut self.inner;
        compute(py, || tile.backward(ds, os))
    }

    /// `W -= lr Σ d xᵀ` through the configured (pulsed) update.
    fn update(
        &mut self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f32>,
        d: PyReadonlyArray2<'_, f32>,
        lr: f32,
    ) -> PyResult<()> {
        check_width("x", x.shape(), self.inner.cols())?;
        check_width("d", d.shape(), self.inner.rows())?;
        let xs = contiguous("x", &x)?;
        let ds = contiguous("d", &d)?;
        let tile = &mut self.inner;
        compute(py, || tile.update(xs, ds, lr))
    }

    /// Decay and diffusion of one mini-batch; the optimizer calls it once per step.
    fn post_update_step(&mut self, py: Python<'_>) -> PyResult<()> {
        let tile = &mut self.inner;
        compute(py, || tile.post_update_step())
    }

    /// One drift call: devices with drift parameters drift by `delta_t` (units of t₀).
    fn drift_weights(&mut self, py: Python<'_>, delta_t: f32) -> PyResult<()> {
        let tile = &mut self.inner;
        compute(py, || tile.drift_weights(delta_t))
    }

    /// Waits until the backend has finished all queued work (GPU updates are asynchronous).
    fn synchronize(&self, py: Python<'_>) -> PyResult<()> {
        let tile = &self.inner;
        compute(py, || tile.synchronize())
    }

    /// The weights `[out_size, in_size]` (a copy).
    fn get_weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let tile = &self.inner;
        let w = compute(py, || tile.weights())?;
        w.into_pyarray(py)
            .reshape([self.inner.rows(), self.inner.cols()])
    }

    /// Writes weights `[out_size, in_size]`; each device clips them into its bounds.
    fn set_weights(&mut self, py: Python<'_>, weights: PyReadonlyArray2<'_, f32>) -> PyResult<()> {
        let shape = weights.shape();
        if shape != [self.inner.rows(), self.inner.cols()] {
            return Err(to_py(Error::Shape {
                arg: "weights",
                expected: vec![self.inner.rows(), self.inner.cols()],
                got: shape.to_vec(),
            }));
        }
        let ws = contiguous("weights", &weights)?;
        let tile = &mut self.inner;
        compute(py, || tile.set_weights(ws))
    }

    /// The complete state as a dict of plain values and arrays.
    fn get_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let tile = &self.inner;
        let s = compute(py, || tile.state())?;
        let d = PyDict::new(py);
        d.set_item("config_json", s.config.to_json())?;
        d.set_item("out_size", s.rows)?;
        d.set_item("in_size", s.cols)?;
        d.set_item("seed", s.seed)?;
        d.set_item(
            "counters",
            (
                s.counters.forward,
                s.counters.backward,
                s.counters.update,
                s.counters.post_update,
                s.counters.set,
            ),
        )?;
        let shape = [s.rows, s.cols];
        d.set_item("weights", s.weights.into_pyarray(py).reshape(shape)?)?;
        // Per-device arrays as the weights; the few per-array values (the drift clock) as a row.
        let shape_of = |n: usize| if n == s.rows * s.cols { shape } else { [1, n] };
        let dev = PyDict::new(py);
        for (name, values) in s.device {
            let shape = shape_of(values.len());
            dev.set_item(name, values.into_pyarray(py).reshape(shape)?)?;
        }
        d.set_item("device", dev)?;
        let arrays = PyList::empty(py);
        for (visible, persistent) in s.arrays {
            let visible = visible.into_pyarray(py).reshape(shape)?;
            let persistent = match persistent {
                Some(p) => Some(p.into_pyarray(py).reshape(shape)?),
                None => None,
            };
            arrays.append((visible, persistent))?;
        }
        d.set_item("arrays", arrays)?;
        d.set_item("cell_json", s.cell_json)?;
        let cell = PyDict::new(py);
        for (name, values) in s.cell_arrays {
            cell.set_item(name, values.into_pyarray(py).reshape(shape)?)?;
        }
        d.set_item("cell", cell)?;
        Ok(d)
    }

    /// The hidden state: every array's visible weights (`array_k`), the persistent weights of
    /// arrays with write noise (`persistent_k`) and the compound's buffers, each
    /// `[out_size, in_size]`.
    fn hidden_weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let tile = &self.inner;
        let hidden = compute(py, || tile.hidden_weights())?;
        let d = PyDict::new(py);
        let shape = [self.inner.rows(), self.inner.cols()];
        for (name, values) in hidden {
            d.set_item(name, values.into_pyarray(py).reshape(shape)?)?;
        }
        Ok(d)
    }

    /// Number of device arrays (1 for a single device).
    #[getter]
    fn arrays(&self) -> usize {
        self.inner.arrays()
    }

    /// Rebuilds a tile from `get_state()` on the given backend.
    #[staticmethod]
    #[pyo3(signature = (state, backend = "cpu"))]
    fn from_state(py: Python<'_>, state: &Bound<'_, PyDict>, backend: &str) -> PyResult<Self> {
        let item = |key: &str| -> PyResult<Bound<'_, PyAny>> {
            state
                .get_item(key)?
                .ok_or_else(|| StateError::new_err(format!("state: missing key {key:?}")))
        };
        let config =
            TileConfig::from_json(&item("config_json")?.extract::<String>()?).map_err(to_py)?;
        let rows: usize = item("out_size")?.extract()?;
        let cols: usize = item("in_size")?.extract()?;
        let seed: u64 = item("seed")?.extract()?;
        let counters = item("counters")?;
        let (forward, backward, update, post_update, set) =
            match counters.extract::<(u64, u64, u64, u64, u64)>() {
                Ok(c) => c,
                Err(_) => {
                    let (f, b, u, p): (u64, u64, u64, u64) = counters.extract()?;
                    (f, b, u, p, 0)
                }
            };
        let read = |obj: Bound<'_, PyAny>, name: &str| -> PyResult<Vec<f32>> {
            let a: PyReadonlyArray2<'_, f32> = obj.extract().map_err(|_| {
                StateError::new_err(format!("state: {name} must be a float32 2-D array"))
            })?;
            Ok(a.as_array().iter().copied().collect())
        };
        let weights = read(item("weights")?, "weights")?;
        let mut device = Vec::new();
        let dev = item("device")?;
        let dev = dev
            .cast::<PyDict>()
            .map_err(|_| StateError::new_err("state: device must be a dict"))?;
        for (k, v) in dev.iter() {
            let name: String = k.extract()?;
            let values = read(v, &name)?;
            device.push((name, values));
        }
        let mut arrays = Vec::new();
        if let Some(list) = state.get_item("arrays")? {
            let list = list
                .cast::<PyList>()
                .map_err(|_| StateError::new_err("state: arrays must be a list"))?;
            for entry in list.iter() {
                let (visible, persistent): (Bound<'_, PyAny>, Option<Bound<'_, PyAny>>) =
                    entry.extract().map_err(|_| {
                        StateError::new_err("state: arrays holds (weights, persistent) pairs")
                    })?;
                let persistent = match persistent {
                    Some(p) => Some(read(p, "persistent weights")?),
                    None => None,
                };
                arrays.push((read(visible, "array weights")?, persistent));
            }
        }
        let cell_json = match state.get_item("cell_json")? {
            Some(j) => j.extract::<String>()?,
            None => "null".to_string(),
        };
        let mut cell_arrays = Vec::new();
        if let Some(cell) = state.get_item("cell")? {
            let cell = cell
                .cast::<PyDict>()
                .map_err(|_| StateError::new_err("state: cell must be a dict"))?;
            for (k, v) in cell.iter() {
                let name: String = k.extract()?;
                let values = read(v, &name)?;
                cell_arrays.push((name, values));
            }
        }
        let state = TileState {
            config,
            rows,
            cols,
            seed,
            counters: Counters {
                forward,
                backward,
                update,
                post_update,
                set,
            },
            weights,
            device,
            arrays,
            cell_json,
            cell_arrays,
        };
        let kind = BackendKind::parse(backend).map_err(to_py)?;
        Ok(Self {
            inner: compute(py, || Tile::from_state(&state, kind))?,
        })
    }

    /// Moves the tile with its full state to another backend.
    #[allow(clippy::wrong_self_convention)] // Python name, mirrors `model.to_backend(...)`
    fn to_backend(&mut self, py: Python<'_>, backend: &str) -> PyResult<()> {
        let kind = BackendKind::parse(backend).map_err(to_py)?;
        let tile = &mut self.inner;
        compute(py, || tile.to_backend(kind))
    }

    fn __repr__(&self) -> String {
        format!(
            "Tile(out_size={}, in_size={}, backend={:?})",
            self.inner.rows(),
            self.inner.cols(),
            self.inner.backend().name()
        )
    }
}

/// Philox4x32-10 of one counter and key (for known-answer checks from Python).
#[pyfunction]
fn philox4x32_10_block(ctr: [u32; 4], key: [u32; 2]) -> [u32; 4] {
    philox4x32_10(ctr, key)
}

/// Parses and validates a configuration; raises ConfigError naming the offending field.
#[pyfunction]
fn validate_config(config_json: &str) -> PyResult<()> {
    TileConfig::from_json(config_json)
        .map(|_| ())
        .map_err(to_py)
}

/// Why the gpu backend is unavailable (no adapter, or a build without it); None when it works.
#[pyfunction]
fn gpu_unavailable_reason(py: Python<'_>) -> Option<String> {
    py.detach(backend::gpu_unavailable_reason)
}

/// The available backends: name → description (for the gpu: API / adapter (type, driver)).
#[pyfunction]
fn backends<'py>(py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    for (name, info) in py.detach(backend::available) {
        d.set_item(name, info)?;
    }
    Ok(d)
}

/// Threads used by the CPU backend.
#[pyfunction]
fn num_threads() -> usize {
    rayon::current_num_threads()
}

#[pymodule]
fn _core(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyTile>()?;
    m.add_function(wrap_pyfunction!(philox4x32_10_block, m)?)?;
    m.add_function(wrap_pyfunction!(backends, m)?)?;
    m.add_function(wrap_pyfunction!(gpu_unavailable_reason, m)?)?;
    m.add_function(wrap_pyfunction!(validate_config, m)?)?;
    m.add_function(wrap_pyfunction!(num_threads, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
