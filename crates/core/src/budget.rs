//! The memory budget for allocations whose size comes from input.
//!
//! Every loader and planner that allocates in proportion to a number read from
//! input (a tensor's dims, a header's length field, a batch, a chip count, the
//! points of a sweep) asks [`check`] first, so hostile input is refused with a
//! message instead of aborting or waking the kernel's OOM killer. The budget is
//! one process-wide setting (the CLI's `--max-memory`, the facade's
//! `set_max_memory`), read with relaxed atomics: it is a limit, not shared state
//! that results depend on.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

/// The default budget: 4 GiB, enough for every zoo network, preset and test by
/// two orders of magnitude, and below the memory of a typical laptop.
pub const DEFAULT_MAX_MEMORY: u64 = 4 << 30;

static MAX_MEMORY: AtomicU64 = AtomicU64::new(DEFAULT_MAX_MEMORY);

/// Sets the budget in bytes for the rest of the process.
pub fn set_max_memory(bytes: u64) {
    MAX_MEMORY.store(bytes, Ordering::Relaxed);
}

/// The budget in bytes.
pub fn max_memory() -> u64 {
    MAX_MEMORY.load(Ordering::Relaxed)
}

/// An allocation driven by input that the budget refuses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OverBudget {
    /// What would be allocated (names the file, tensor, option, ...).
    pub what: String,
    /// Bytes it needs; `None` when the size itself overflows 128 bits.
    pub bytes: Option<u128>,
    pub budget: u64,
}

impl fmt::Display for OverBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.bytes {
            Some(b) => write!(f, "{} needs {} of memory", self.what, human(b))?,
            None => write!(f, "{} needs more memory than can be counted", self.what)?,
        }
        write!(f, ", more than the budget of {} (raise it with --max-memory)", human(u128::from(self.budget)))
    }
}

impl std::error::Error for OverBudget {}

/// `count × elem_bytes` bytes for `what`, if within the budget.
pub fn check(what: impl fmt::Display, count: u128, elem_bytes: u128) -> Result<(), OverBudget> {
    let bytes = count.checked_mul(elem_bytes);
    let budget = max_memory();
    match bytes {
        Some(b) if b <= u128::from(budget) => Ok(()),
        _ => Err(OverBudget { what: what.to_string(), bytes, budget }),
    }
}

/// Parses a byte size: a whole number with an optional `K`, `M`, `G` or `T`
/// suffix (powers of 1024; a trailing `B`/`iB` is allowed), e.g. `512M`, `8GiB`.
pub fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t.strip_suffix("iB").or_else(|| t.strip_suffix('B')).unwrap_or(t);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, c @ ('K' | 'k' | 'M' | 'm' | 'G' | 'g' | 'T' | 't'))) => {
            let shift = match c.to_ascii_uppercase() {
                'K' => 10,
                'M' => 20,
                'G' => 30,
                _ => 40,
            };
            (&t[..i], shift)
        }
        _ => (t, 0),
    };
    let n: u64 = digits
        .parse()
        .map_err(|_| format!("`{text}` is not a byte size (a whole number with an optional K, M, G or T suffix)"))?;
    n.checked_mul(1u64 << shift).ok_or_else(|| format!("`{text}` is more than 2^64 bytes"))
}

fn human(bytes: u128) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut v = bytes as f64;
    let mut i = 0;
    while v >= 1024.0 && i + 1 < UNITS.len() {
        v /= 1024.0;
        i += 1;
    }
    if i == 0 { format!("{bytes} B") } else { format!("{v:.1} {}", UNITS[i]) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_sizes_parse_with_binary_suffixes() {
        assert_eq!(parse_bytes("512"), Ok(512));
        assert_eq!(parse_bytes("8G"), Ok(8 << 30));
        assert_eq!(parse_bytes("3MiB"), Ok(3 << 20));
        assert_eq!(parse_bytes("2k"), Ok(2048));
        assert!(parse_bytes("16777216T").is_err());
        assert!(parse_bytes("-1").is_err());
        assert!(parse_bytes("1.5G").is_err());
    }

    #[test]
    fn over_budget_names_what_and_how_much() {
        // Within the default budget, and one past it.
        assert!(check("x", u128::from(DEFAULT_MAX_MEMORY), 1).is_ok());
        let e = check("tensor `w`", u128::from(DEFAULT_MAX_MEMORY) + 1, 1).unwrap_err();
        assert_eq!(
            e.to_string(),
            "tensor `w` needs 4.0 GiB of memory, more than the budget of 4.0 GiB (raise it with --max-memory)"
        );
        let e = check("y", u128::MAX, 2).unwrap_err();
        assert_eq!(e.bytes, None);
    }
}
