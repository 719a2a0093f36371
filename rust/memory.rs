//! Fallible allocation of the large arrays of a tile, and the machine's physical memory.
//!
//! A tile's arrays are sized by the user (`out_size × in_size` devices per array), so their
//! allocation must fail with an error, never abort the process. Linux overcommits: an allocation
//! larger than the free memory usually "succeeds" and the process is killed later while touching
//! it, so a tile whose estimated state exceeds the physical memory is refused before anything is
//! allocated ([`check_physical`]).

use crate::error::{Error, Result};

/// Bytes of `n` values of `T`, or a `Memory` error naming `what` when that overflows.
pub fn bytes_of<T>(what: &str, n: usize) -> Result<usize> {
    n.checked_mul(std::mem::size_of::<T>())
        .filter(|&b| b <= isize::MAX as usize)
        .ok_or_else(|| Error::Memory {
            what: what.to_string(),
            bytes: n as u128 * std::mem::size_of::<T>() as u128,
            physical: physical_memory(),
        })
}

/// An empty vector with room for exactly `n` values, or a `Memory` error naming `what`.
pub fn with_capacity<T>(what: &str, n: usize) -> Result<Vec<T>> {
    let mut v = Vec::new();
    let bytes = bytes_of::<T>(what, n)?;
    v.try_reserve_exact(n).map_err(|_| Error::Memory {
        what: what.to_string(),
        bytes: bytes as u128,
        physical: physical_memory(),
    })?;
    Ok(v)
}

/// `n` copies of `value`, allocated fallibly.
pub fn filled<T: Clone>(what: &str, n: usize, value: T) -> Result<Vec<T>> {
    let mut v = with_capacity(what, n)?;
    v.resize(n, value);
    Ok(v)
}

/// `n` zeros, allocated fallibly.
pub fn zeros(what: &str, n: usize) -> Result<Vec<f32>> {
    filled(what, n, 0.0)
}

/// The machine's physical memory in bytes (`MemTotal` of `/proc/meminfo`); None where that
/// cannot be read (other systems).
pub fn physical_memory() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    parse_mem_total(&text)
}

/// `MemTotal` of a `/proc/meminfo` text, in bytes.
pub fn parse_mem_total(text: &str) -> Option<u64> {
    let line = text.lines().find(|l| l.starts_with("MemTotal:"))?;
    let mut parts = line["MemTotal:".len()..].split_whitespace();
    let value: u64 = parts.next()?.parse().ok()?;
    let scale = match parts.next() {
        Some("kB") | None => 1024,
        Some("mB") | Some("MB") => 1 << 20,
        Some("gB") | Some("GB") => 1 << 30,
        Some(_) => return None,
    };
    value.checked_mul(scale)
}

/// Refuses `bytes` for `what` when they exceed the physical memory (no check where it is
/// unknown).
pub fn check_physical(what: &str, bytes: u128) -> Result<()> {
    match physical_memory() {
        Some(p) if bytes > u128::from(p) => Err(Error::Memory {
            what: what.to_string(),
            bytes,
            physical: Some(p),
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_total_is_read_in_bytes() {
        let text = "MemTotal:       24576000 kB\nMemFree:         1000 kB\n";
        assert_eq!(parse_mem_total(text), Some(24_576_000 * 1024));
        assert_eq!(parse_mem_total("MemFree: 1 kB\n"), None);
    }

    #[test]
    fn impossible_allocations_are_errors() {
        let err = zeros("weights", usize::MAX / 2).unwrap_err();
        assert!(matches!(err, Error::Memory { .. }), "{err}");
        assert!(
            err.to_string().starts_with("weights: cannot allocate"),
            "{err}"
        );
    }
}
