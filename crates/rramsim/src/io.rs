//! File reading and atomic writing shared by every front end: an output file
//! is either complete or untouched, and read errors name the file.

use std::io::Write;
use std::path::Path;

use crate::error::{Error, Result};

/// Reads a whole text file; the error names it.
pub fn read_text(path: &Path) -> Result<String> {
    check_size(path)?;
    std::fs::read_to_string(path).map_err(|e| Error::input(format!("cannot read {}: {e}", path.display())))
}

/// Reads a whole binary file; the error names it.
pub fn read_bytes(path: &Path) -> Result<Vec<u8>> {
    check_size(path)?;
    std::fs::read(path).map_err(|e| Error::input(format!("cannot read {}: {e}", path.display())))
}

/// An input file is read whole: its size must fit the memory budget.
fn check_size(path: &Path) -> Result<()> {
    if let Ok(meta) = std::fs::metadata(path) {
        rramsim_core::budget::check(format_args!("reading {}", path.display()), u128::from(meta.len()), 1)?;
    }
    Ok(())
}

/// Fails unless `path`'s directory exists (checked before long work starts).
pub fn check_writable_dir(path: &Path) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        return Err(Error::input(format!(
            "cannot write {}: directory {} does not exist",
            path.display(),
            dir.display()
        )));
    }
    if path.file_name().is_none() {
        return Err(Error::input(format!("{} is not a file path", path.display())));
    }
    Ok(())
}

/// Writes `bytes` to `path` through a temporary file in the same directory and
/// a rename, so the destination is either complete or untouched.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, |w| {
        w.write_all(bytes).map_err(|e| Error::input(format!("cannot write {}: {e}", path.display())))
    })
}

/// Streams an output file: `fill` writes to a temporary file beside `path`,
/// which replaces `path` only if `fill` succeeds.
pub fn write_atomic_with<T, E: From<Error>>(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::result::Result<T, E>,
) -> std::result::Result<T, E> {
    check_writable_dir(path)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let file_name = path.file_name().expect("checked by check_writable_dir");
    let tmp = dir.join(format!(".{}.tmp{}", file_name.to_string_lossy(), std::process::id()));
    let io = |e: std::io::Error| Error::input(format!("cannot write {}: {e}", path.display()));
    let result = (|| {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, std::fs::File::create(&tmp).map_err(io)?);
        let value = fill(&mut w)?;
        w.into_inner().map_err(|e| io(e.into_error()))?.sync_all().map_err(io)?;
        std::fs::rename(&tmp, path).map_err(io)?;
        Ok(value)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_atomic_refuses_missing_directory() {
        let err = write_atomic(Path::new("/nonexistent-dir-rramsim/x.toml"), b"x").unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("does not exist"));
    }
}
