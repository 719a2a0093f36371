//! The only file that knows PyO3: the `rpusim._core` extension module. It converts and checks
//! arguments, releases the GIL while Rust computes, turns every error (and any panic) into the
//! Python exception classes of `rpusim.exceptions`.

use crate::backend::{self, BackendKind};
use crate::config::TileConfig;
use crate::error::Error;
use crate::patches::{col2im, im2col, PatchGeometry};
use crate::rng::philox4x32_10;
use crate::tile::{Counters, Tile, TileState};
use numpy::{
    IntoPyArray, PyArray2, PyArrayMethods, PyReadonlyArray2, PyReadwriteArray2,
    PyUntypedArrayMethods,
};
use pyo3::exceptions::{PyMemoryError, PyTypeError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use rayon::prelude::*;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Mutex;

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
        Error::Memory { .. } => PyMemoryError::new_err(msg),
    }
}

/// The text of a caught panic.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Runs `f` without the GIL; errors and panics come back as Python exceptions.
fn compute<T, F>(py: Python<'_>, f: F) -> PyResult<T>
where
    F: FnOnce() -> crate::Result<T> + Send,
    T: Send,
{
    match py.detach(|| catch_unwind(AssertUnwindSafe(f))) {
        Ok(result) => result.map_err(to_py),
        Err(panic) => Err(RpusimError::new_err(format!(
            "internal error in the rpusim core: {}",
            panic_text(panic.as_ref())
        ))),
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

/// A StateError naming the key of a saved state.
fn state_error(key: &str, msg: impl std::fmt::Display) -> PyErr {
    StateError::new_err(format!("state: {key}: {msg}"))
}

/// The Python type name of `obj` (for messages).
fn type_name(obj: &Bound<'_, PyAny>) -> String {
    obj.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "?".into())
}

/// One analog crossbar tile (`out_size` rows × `in_size` columns).
///
/// Safe to share between Python threads: every call takes the tile's lock after releasing the
/// GIL (a thread waiting for the lock never holds the GIL), so concurrent calls run one after
/// the other.
#[pyclass(module = "rpusim._core", name = "Tile", frozen)]
struct PyTile {
    inner: Mutex<Tile>,
    rows: usize,
    cols: usize,
    seed: u64,
}

impl PyTile {
    fn wrap(tile: Tile) -> Self {
        Self {
            rows: tile.rows(),
            cols: tile.cols(),
            seed: tile.seed(),
            inner: Mutex::new(tile),
        }
    }

    /// Runs `f` on the tile without the GIL, under the tile's lock.
    fn with<T, F>(&self, py: Python<'_>, f: F) -> PyResult<T>
    where
        F: FnOnce(&mut Tile) -> crate::Result<T> + Send,
        T: Send,
    {
        let lock = &self.inner;
        // Ok(Err(())): the lock is poisoned (a panic was caught while it was held).
        let result = compute(py, || match lock.lock() {
            Ok(mut tile) => f(&mut tile).map(Ok),
            Err(_) => Ok(Err(())),
        })?;
        result.map_err(|()| poisoned())
    }
}

/// The error of a call on a tile whose lock a caught panic poisoned.
fn poisoned() -> PyErr {
    RpusimError::new_err(
        "tile: an earlier call on this tile failed with an internal error (a panic in the \
         rpusim core) and its state may be inconsistent; rebuild the tile, e.g. from a saved \
         state",
    )
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
        let tile = compute(py, || Tile::new(config, out_size, in_size, seed, kind))?;
        Ok(Self::wrap(tile))
    }

    #[getter]
    fn out_size(&self) -> usize {
        self.rows
    }

    #[getter]
    fn in_size(&self) -> usize {
        self.cols
    }

    #[getter]
    fn seed(&self) -> u64 {
        self.seed
    }

    #[getter]
    fn backend(&self, py: Python<'_>) -> PyResult<&'static str> {
        self.with(py, |t| Ok(t.backend().name()))
    }

    #[getter]
    fn config_json(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |t| Ok(t.config().to_json()))
    }

    /// (forward, backward, update, post_update) calls made so far.
    #[getter]
    fn counters(&self, py: Python<'_>) -> PyResult<(u64, u64, u64, u64)> {
        let c = self.with(py, |t| Ok(t.counters()))?;
        Ok((c.forward, c.backward, c.update, c.post_update))
    }

    /// Writes `forward(x)` into `out`; `x` `[batch, in_size]`, `out` `[batch, out_size]`, float32.
    /// With `saturation_bound`, returns how many outputs reached it (|y| ≥ bound), else 0.
    #[pyo3(signature = (x, out, saturation_bound=None))]
    fn forward(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f32>,
        mut out: PyReadwriteArray2<'_, f32>,
        saturation_bound: Option<f32>,
    ) -> PyResult<usize> {
        check_width("x", x.shape(), self.cols)?;
        let xs = contiguous("x", &x)?;
        let os = writable("out", &mut out)?;
        self.with(py, |t| {
            t.forward(xs, &mut *os)?;
            Ok(saturation_bound.map_or(0, |b| os.iter().filter(|y| y.abs() >= b).count()))
        })
    }

    /// Writes `backward(d)` into `out`; `d` `[batch, out_size]`, `out` `[batch, in_size]`.
    fn backward(
        &self,
        py: Python<'_>,
        d: PyReadonlyArray2<'_, f32>,
        mut out: PyReadwriteArray2<'_, f32>,
    ) -> PyResult<()> {
        check_width("d", d.shape(), self.rows)?;
        let ds = contiguous("d", &d)?;
        let os = writable("out", &mut out)?;
        self.with(py, |t| t.backward(ds, os))
    }

    /// `W -= lr Σ d xᵀ` through the configured (pulsed) update.
    fn update(
        &self,
        py: Python<'_>,
        x: PyReadonlyArray2<'_, f32>,
        d: PyReadonlyArray2<'_, f32>,
        lr: f32,
    ) -> PyResult<()> {
        check_width("x", x.shape(), self.cols)?;
        check_width("d", d.shape(), self.rows)?;
        let xs = contiguous("x", &x)?;
        let ds = contiguous("d", &d)?;
        self.with(py, |t| t.update(xs, ds, lr))
    }

    /// Decay and diffusion of one mini-batch; the optimizer calls it once per step.
    fn post_update_step(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |t| t.post_update_step())
    }

    /// One drift call: devices with drift parameters drift by `delta_t` (units of t₀).
    fn drift_weights(&self, py: Python<'_>, delta_t: f32) -> PyResult<()> {
        self.with(py, |t| t.drift_weights(delta_t))
    }

    /// Waits until the backend has finished all queued work (GPU updates are asynchronous).
    fn synchronize(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |t| t.synchronize())
    }

    /// Raises StateError naming the first array (weights, per-device parameters, hidden
    /// weights, buffers) that holds NaN or Inf, and the index of its first such value.
    fn check_finite(&self, py: Python<'_>) -> PyResult<()> {
        self.with(py, |t| t.check_finite())
    }

    /// The weights `[out_size, in_size]` (a copy).
    fn get_weights<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyArray2<f32>>> {
        let w = self.with(py, |t| t.weights())?;
        w.into_pyarray(py).reshape([self.rows, self.cols])
    }

    /// Writes weights `[out_size, in_size]`; each device clips them into its bounds.
    fn set_weights(&self, py: Python<'_>, weights: PyReadonlyArray2<'_, f32>) -> PyResult<()> {
        let shape = weights.shape();
        if shape != [self.rows, self.cols] {
            return Err(to_py(Error::Shape {
                arg: "weights",
                expected: vec![self.rows, self.cols],
                got: shape.to_vec(),
            }));
        }
        let ws = contiguous("weights", &weights)?;
        self.with(py, |t| t.set_weights(ws))
    }

    /// The complete state as a dict of plain values and arrays.
    fn get_state<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.with(py, |t| t.state())?;
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
        let hidden = self.with(py, |t| t.hidden_weights())?;
        let d = PyDict::new(py);
        let shape = [self.rows, self.cols];
        for (name, values) in hidden {
            d.set_item(name, values.into_pyarray(py).reshape(shape)?)?;
        }
        Ok(d)
    }

    /// Number of device arrays (1 for a single device).
    #[getter]
    fn arrays(&self, py: Python<'_>) -> PyResult<usize> {
        self.with(py, |t| Ok(t.arrays()))
    }

    /// Rebuilds a tile from `get_state()` on the given backend. Raises StateError naming the key
    /// of a missing or mistyped entry, of an array whose shape is not `[out_size, in_size]`
    /// (per-array values: a row `[1, n]`), or of NaN/Inf values.
    #[staticmethod]
    #[pyo3(signature = (state, backend = "cpu"))]
    fn from_state(py: Python<'_>, state: &Bound<'_, PyAny>, backend: &str) -> PyResult<Self> {
        let state = state.cast::<PyDict>().map_err(|_| {
            StateError::new_err(format!("state: expected a dict, got {}", type_name(state)))
        })?;
        let item = |key: &str| -> PyResult<Bound<'_, PyAny>> {
            state
                .get_item(key)?
                .ok_or_else(|| StateError::new_err(format!("state: missing key {key:?}")))
        };
        fn typed<'py, T: FromPyObjectOwned<'py>>(
            key: &str,
            obj: &Bound<'py, PyAny>,
            what: &str,
        ) -> PyResult<T> {
            obj.extract::<T>()
                .map_err(|_| state_error(key, format!("expected {what}, got {}", type_name(obj))))
        }
        let config_json: String = typed("config_json", &item("config_json")?, "a str")?;
        let config = TileConfig::from_json(&config_json).map_err(to_py)?;
        let rows: usize = typed("out_size", &item("out_size")?, "an int >= 0")?;
        let cols: usize = typed("in_size", &item("in_size")?, "an int >= 0")?;
        let seed: u64 = typed("seed", &item("seed")?, "an int in [0, 2**64)")?;
        let counters = item("counters")?;
        let (forward, backward, update, post_update, set) =
            match counters.extract::<(u64, u64, u64, u64, u64)>() {
                Ok(c) => c,
                Err(_) => {
                    let (f, b, u, p): (u64, u64, u64, u64) =
                        typed("counters", &counters, "a tuple of 4 or 5 ints >= 0")?;
                    (f, b, u, p, 0)
                }
            };
        let full = [rows, cols];
        // A float32 2-D array of shape [out_size, in_size] (or a row [1, n] where `row` allows
        // it: per-array values), flattened.
        let read = |obj: &Bound<'_, PyAny>, key: &str, row: bool| -> PyResult<Vec<f32>> {
            let a: PyReadonlyArray2<'_, f32> = obj.extract().map_err(|_| {
                state_error(
                    key,
                    format!("expected a float32 2-D array, got {}", describe(obj)),
                )
            })?;
            let shape = a.shape();
            if shape != full && !(row && shape[0] == 1) {
                return Err(state_error(
                    key,
                    format!(
                        "expected shape [out_size, in_size] = {full:?}{}, got {shape:?}",
                        if row { " (or a row [1, n])" } else { "" }
                    ),
                ));
            }
            Ok(a.as_array().iter().copied().collect())
        };
        let weights = read(&item("weights")?, "weights", false)?;
        let mut device = Vec::new();
        let dev = item("device")?;
        let dev = dev.cast::<PyDict>().map_err(|_| {
            state_error(
                "device",
                format!("expected a dict, got {}", type_name(&dev)),
            )
        })?;
        for (k, v) in dev.iter() {
            let name: String = typed("device", &k, "str keys")?;
            let values = read(&v, &format!("device[{name:?}]"), true)?;
            device.push((name, values));
        }
        let mut arrays = Vec::new();
        if let Some(list) = state.get_item("arrays")? {
            let list = list.cast::<PyList>().map_err(|_| {
                state_error(
                    "arrays",
                    format!("expected a list, got {}", type_name(&list)),
                )
            })?;
            for (k, entry) in list.iter().enumerate() {
                let key = format!("arrays[{k}]");
                let (visible, persistent): (Bound<'_, PyAny>, Bound<'_, PyAny>) =
                    typed(&key, &entry, "a (weights, persistent weights or None) pair")?;
                let persistent = if persistent.is_none() {
                    None
                } else {
                    Some(read(&persistent, &format!("{key}[1]"), false)?)
                };
                arrays.push((read(&visible, &format!("{key}[0]"), false)?, persistent));
            }
        }
        let cell_json = match state.get_item("cell_json")? {
            Some(j) => typed("cell_json", &j, "a str")?,
            None => "null".to_string(),
        };
        let mut cell_arrays = Vec::new();
        if let Some(cell) = state.get_item("cell")? {
            let cell = cell.cast::<PyDict>().map_err(|_| {
                state_error("cell", format!("expected a dict, got {}", type_name(&cell)))
            })?;
            for (k, v) in cell.iter() {
                let name: String = typed("cell", &k, "str keys")?;
                let values = read(&v, &format!("cell[{name:?}]"), false)?;
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
        let tile = compute(py, || Tile::from_state(&state, kind))?;
        Ok(Self::wrap(tile))
    }

    /// Moves the tile with its full state to another backend.
    #[allow(clippy::wrong_self_convention)] // Python name, mirrors `model.to_backend(...)`
    fn to_backend(&self, py: Python<'_>, backend: &str) -> PyResult<()> {
        let kind = BackendKind::parse(backend).map_err(to_py)?;
        self.with(py, |t| t.to_backend(kind))
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let backend = self.with(py, |t| Ok(t.backend().name()))?;
        Ok(format!(
            "Tile(out_size={}, in_size={}, backend={backend:?})",
            self.rows, self.cols
        ))
    }
}

/// What an object that should be a float32 array is (for messages).
fn describe(obj: &Bound<'_, PyAny>) -> String {
    let ndim = obj
        .getattr("ndim")
        .ok()
        .and_then(|n| n.extract::<usize>().ok());
    let dtype = obj.getattr("dtype").ok().map(|d| d.to_string());
    match (ndim, dtype) {
        (Some(n), Some(t)) => format!("a {n}-D {t} array"),
        _ => type_name(obj),
    }
}

/// The pulsed updates of several tiles at once (`AnalogSGD.step`): `jobs` holds (tile, x, d, lr)
/// as for `Tile.update`. CPU tiles update side by side on the pool, so the threads are not left
/// idle by small tiles; each tile's result is that of its own `update` call (its random numbers
/// depend on its seed and counters only). With a tile named twice, or one on the gpu backend
/// (whose updates are queued anyway), the updates run one after another in order. The first
/// error is raised; the other tiles' updates have been applied then.
#[pyfunction]
#[allow(clippy::type_complexity)]
fn update_tiles(
    py: Python<'_>,
    jobs: Vec<(
        Bound<'_, PyTile>,
        PyReadonlyArray2<'_, f32>,
        PyReadonlyArray2<'_, f32>,
        f32,
    )>,
) -> PyResult<()> {
    let mut arrays = Vec::with_capacity(jobs.len());
    for (tile, x, d, lr) in &jobs {
        let t = tile.get();
        check_width("x", x.shape(), t.cols)?;
        check_width("d", d.shape(), t.rows)?;
        arrays.push((contiguous("x", x)?, contiguous("d", d)?, *lr));
    }
    let tiles: Vec<&PyTile> = jobs.iter().map(|(tile, ..)| tile.get()).collect();
    let distinct = tiles
        .iter()
        .enumerate()
        .all(|(k, a)| tiles[..k].iter().all(|b| !std::ptr::eq(*a, *b)));
    let on_cpu = |t: &PyTile| {
        t.inner
            .lock()
            .is_ok_and(|tile| tile.backend() == BackendKind::Cpu)
    };
    if tiles.len() < 2 || !distinct || !tiles.iter().all(|t| on_cpu(t)) {
        for (t, (x, d, lr)) in tiles.iter().zip(arrays) {
            t.with(py, |tile| tile.update(x, d, lr))?;
        }
        return Ok(());
    }
    // Each lock is taken on the thread that updates the tile, so a panic there poisons it (as
    // in `PyTile::with`). Ok(Err(())): a tile's lock was poisoned already.
    let result = compute(py, || {
        tiles
            .par_iter()
            .zip(arrays.par_iter())
            .map(|(t, &(x, d, lr))| match t.inner.lock() {
                Ok(mut tile) => tile.update(x, d, lr).map(Ok),
                Err(_) => Ok(Err(())),
            })
            .collect::<crate::Result<Vec<std::result::Result<(), ()>>>>()
    })?;
    result
        .into_iter()
        .collect::<std::result::Result<Vec<()>, ()>>()
        .map(|_| ())
        .map_err(|()| poisoned())
}

/// (n, c, h, w, kernel h, kernel w, stride h, stride w, dilation h, dilation w).
type Conv2dGeometry = (
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
    usize,
);

fn patch_geometry(geometry: Conv2dGeometry) -> PyResult<PatchGeometry> {
    let (n, c, h, w, kh, kw, sh, sw, dh, dw) = geometry;
    PatchGeometry {
        n,
        c,
        h,
        w,
        kh,
        kw,
        stride: (sh, sw),
        dilation: (dh, dw),
    }
    .checked()
    .map_err(to_py)
}

fn check_shape(arg: &'static str, shape: &[usize], expected: [usize; 2]) -> PyResult<()> {
    if shape != expected {
        return Err(to_py(Error::Shape {
            arg,
            expected: expected.to_vec(),
            got: shape.to_vec(),
        }));
    }
    Ok(())
}

fn writable<'a>(arg: &str, a: &'a mut PyReadwriteArray2<'_, f32>) -> PyResult<&'a mut [f32]> {
    a.as_slice_mut()
        .map_err(|_| PyTypeError::new_err(format!("{arg}: expected a C-contiguous float32 array")))
}

/// Checks `src` and `out` against the shapes of `g`'s image (`[n·c, h·w]`) or patches
/// (`[n·oh·ow, c·kh·kw]`) and runs `f(g, src, out)` without the GIL.
fn map_patches(
    py: Python<'_>,
    g: &PatchGeometry,
    (arg, src, src_shape): (&'static str, &PyReadonlyArray2<'_, f32>, [usize; 2]),
    (out, out_shape): (&mut PyReadwriteArray2<'_, f32>, [usize; 2]),
    f: fn(&PatchGeometry, &[f32], &mut [f32]),
) -> PyResult<()> {
    check_shape(arg, src.shape(), src_shape)?;
    check_shape("out", out.shape(), out_shape)?;
    let source = contiguous(arg, src)?;
    let target = writable("out", out)?;
    compute(py, || {
        f(g, source, target);
        Ok(())
    })
}

/// Writes the patches of a 2-D convolution of `x` (`[n·c, h·w]`, the padded input) into `out`
/// (`[n·oh·ow, c·kh·kw]`); see `patches.rs`.
#[pyfunction]
fn conv2d_patches(
    py: Python<'_>,
    x: PyReadonlyArray2<'_, f32>,
    mut out: PyReadwriteArray2<'_, f32>,
    geometry: Conv2dGeometry,
) -> PyResult<()> {
    let g = patch_geometry(geometry)?;
    let (image, patches) = ([g.n * g.c, g.h * g.w], [g.patches(), g.patch_len()]);
    map_patches(py, &g, ("x", &x, image), (&mut out, patches), im2col)
}

/// Writes the input gradient of [`conv2d_patches`] into `out` (`[n·c, h·w]`) from the patches'
/// gradient `grad` (`[n·oh·ow, c·kh·kw]`), summed in a fixed order.
#[pyfunction]
fn conv2d_patches_backward(
    py: Python<'_>,
    grad: PyReadonlyArray2<'_, f32>,
    mut out: PyReadwriteArray2<'_, f32>,
    geometry: Conv2dGeometry,
) -> PyResult<()> {
    let g = patch_geometry(geometry)?;
    let (image, patches) = ([g.n * g.c, g.h * g.w], [g.patches(), g.patch_len()]);
    map_patches(py, &g, ("grad", &grad, patches), (&mut out, image), col2im)
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

/// Makes the calling thread worker 0 of the CPU backend's pool (see `threads.rs`); whether it
/// did.
#[pyfunction]
fn adopt_calling_thread() -> bool {
    crate::threads::adopt_calling_thread()
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
    m.add_function(wrap_pyfunction!(adopt_calling_thread, m)?)?;
    m.add_function(wrap_pyfunction!(update_tiles, m)?)?;
    m.add_function(wrap_pyfunction!(conv2d_patches, m)?)?;
    m.add_function(wrap_pyfunction!(conv2d_patches_backward, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
