//! The one error type of the crate: one variant per kind of failure a user can cause.

/// Errors of rpusim. Every message names the argument or parameter at fault.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A configuration value is out of range or inconsistent.
    #[error("{arg}: {msg}")]
    Config { arg: String, msg: String },
    /// A configuration value asks for a feature this version does not implement.
    #[error("{arg}: {msg} is not supported by this version of rpusim")]
    Unsupported { arg: String, msg: String },
    /// An array has the wrong shape.
    #[error("{arg}: expected shape {expected:?}, got {got:?}")]
    Shape {
        arg: &'static str,
        expected: Vec<usize>,
        got: Vec<usize>,
    },
    /// An array holds NaN or ±Inf.
    #[error("{arg}: contains NaN or Inf (first at flat index {index})")]
    NonFinite { arg: &'static str, index: usize },
    /// A scalar argument is out of range (for example a negative learning rate).
    #[error("{arg}: {msg}")]
    Value { arg: &'static str, msg: String },
    /// A saved state does not fit the tile it is loaded into.
    #[error("state: {0}")]
    State(String),
    /// A compute backend is unavailable or failed.
    #[error("backend: {0}")]
    Backend(String),
    /// Memory for `what` (`bytes` bytes) cannot be had: the allocation failed, or it exceeds the
    /// machine's physical memory (`physical` bytes, when known).
    #[error("{}", memory_message(what, *bytes, *physical))]
    Memory {
        what: String,
        bytes: u128,
        physical: Option<u64>,
    },
}

fn memory_message(what: &str, bytes: u128, physical: Option<u64>) -> String {
    let gib = |b: f64| b / f64::from(1u32 << 30);
    let mut msg = format!(
        "{what}: cannot allocate {bytes} bytes ({:.3} GiB)",
        gib(bytes as f64)
    );
    if let Some(p) = physical {
        msg.push_str(&format!(
            "; this machine has {p} bytes ({:.3} GiB) of physical memory",
            gib(p as f64)
        ));
    }
    msg
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn config(arg: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Config {
            arg: arg.into(),
            msg: msg.into(),
        }
    }

    pub fn unsupported(arg: impl Into<String>, msg: impl Into<String>) -> Self {
        Error::Unsupported {
            arg: arg.into(),
            msg: msg.into(),
        }
    }
}

/// Checks that every value is finite; names `arg` otherwise.
pub fn check_finite(arg: &'static str, values: &[f32]) -> Result<()> {
    if crate::numeric::all_finite(values) {
        return Ok(());
    }
    let index = values.iter().position(|v| !v.is_finite()).unwrap_or(0);
    Err(Error::NonFinite { arg, index })
}
