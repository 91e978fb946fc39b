//! File reading and atomic writing shared by every front end: an output file
//! is either complete or untouched, never one of the command's inputs, and read
//! errors name the file. Temporary files are registered so that a CLI that calls
//! [`remove_temp_files_on_signal`] removes them on Ctrl-C, SIGTERM, SIGHUP or a closed pipe.

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

/// An input file is read whole: it must be a regular file (a device or a pipe
/// has no size to check) whose size fits the memory budget.
fn check_size(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| Error::input(format!("cannot read {}: {e}", path.display())))?;
    if !meta.is_file() {
        return Err(Error::input(format!("cannot read {}: not a regular file", path.display())));
    }
    rramsim_core::budget::check(format_args!("reading {}", path.display()), u128::from(meta.len()), 1)?;
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

/// Where `path` resolves to: the canonical path of the file, or of its
/// directory joined with its name when the file does not exist yet.
fn resolve(path: &Path) -> Option<std::path::PathBuf> {
    if let Ok(p) = path.canonicalize() {
        return Some(p);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    Some(dir.canonicalize().ok()?.join(path.file_name()?))
}

/// Whether `output` names the existing file `input`: the same resolved path
/// (symbolic links followed) or, on Unix, the same device and inode (a hard link).
pub fn same_file(output: &Path, input: &Path) -> bool {
    let Ok(input_meta) = std::fs::metadata(input) else { return false };
    if !input_meta.is_file() {
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if let Ok(out_meta) = std::fs::metadata(output)
            && (out_meta.dev(), out_meta.ino()) == (input_meta.dev(), input_meta.ino())
        {
            return true;
        }
    }
    matches!((resolve(output), resolve(input)), (Some(a), Some(b)) if a == b)
}

/// Checks an output path before any work starts: its directory exists and it is
/// none of the command's `inputs` (files that do not exist, such as a preset or
/// zoo name, are skipped). `what` names the option (`-o`, `--trace`, …).
pub fn check_output(what: &str, output: &Path, inputs: &[&Path]) -> Result<()> {
    check_writable_dir(output).map_err(|e| e.context(what))?;
    if let Some(input) = inputs.iter().find(|i| same_file(output, i)) {
        let alias = if output == *input { String::new() } else { format!(" ({} is the same file)", output.display()) };
        return Err(Error::input(format!(
            "{what} {}: refusing to overwrite the input {}{alias}; choose another output path",
            output.display(),
            input.display()
        )));
    }
    Ok(())
}

/// Checks that no two outputs of one command are the same file.
pub fn check_distinct_outputs(outputs: &[(&str, &Path)]) -> Result<()> {
    for (i, (what_a, a)) in outputs.iter().enumerate() {
        for (what_b, b) in &outputs[i + 1..] {
            if resolve(a).is_some() && resolve(a) == resolve(b) {
                return Err(Error::input(format!(
                    "{what_a} and {what_b} both name {}; give them different files",
                    a.display()
                )));
            }
        }
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
    let _guard = TempFile::register(&tmp);
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

/// A registered temporary file: removed on SIGINT/SIGTERM while the guard
/// lives (see [`remove_temp_files_on_signal`]). Dropping the guard only
/// unregisters the path; the writer renames or removes the file itself.
#[derive(Debug)]
pub struct TempFile {
    #[cfg(unix)]
    slot: Option<usize>,
}

impl TempFile {
    /// Registers `path` for removal if the process is interrupted.
    pub fn register(path: &Path) -> TempFile {
        #[cfg(unix)]
        {
            TempFile { slot: signals::register(path) }
        }
        #[cfg(not(unix))]
        {
            let _ = path;
            TempFile {}
        }
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(slot) = self.slot {
            signals::unregister(slot);
        }
    }
}

/// Installs SIGINT, SIGTERM, SIGHUP and SIGPIPE handlers that remove every
/// registered temporary file (unfinished outputs, `.partial` traces) and then
/// end the process with the signal's default action, so that a closed stdout
/// (`| head -1`) ends the process quietly instead of a failed print. For
/// command-line front ends only (a library embedding rramsim keeps its own
/// handlers). No-op on non-Unix systems.
pub fn remove_temp_files_on_signal() {
    #[cfg(unix)]
    signals::install();
}

#[cfg(unix)]
#[allow(unsafe_code)]
mod signals {
    //! The only signal code: a fixed table of registered paths (leaked C
    //! strings, so a handler never reads freed memory) and a handler that uses
    //! async-signal-safe calls only (`unlink`, `signal`, `raise`).
    use std::ffi::{CString, c_char, c_int};
    use std::path::Path;
    use std::sync::atomic::{AtomicPtr, Ordering};

    const SLOTS: usize = 64;
    static PATHS: [AtomicPtr<c_char>; SLOTS] = [const { AtomicPtr::new(std::ptr::null_mut()) }; SLOTS];

    pub fn register(path: &Path) -> Option<usize> {
        use std::os::unix::ffi::OsStrExt;
        let c = CString::new(path.as_os_str().as_bytes()).ok()?;
        let ptr = c.into_raw();
        for (i, slot) in PATHS.iter().enumerate() {
            if slot.compare_exchange(std::ptr::null_mut(), ptr, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                return Some(i);
            }
        }
        // SAFETY: `ptr` came from `CString::into_raw` above and was not shared.
        drop(unsafe { CString::from_raw(ptr) });
        None
    }

    pub fn unregister(slot: usize) {
        // The string is leaked on purpose: a handler running on another thread
        // may still be reading it. A process registers a handful of outputs.
        PATHS[slot].store(std::ptr::null_mut(), Ordering::SeqCst);
    }

    extern "C" fn on_signal(signal: c_int) {
        for slot in &PATHS {
            let p = slot.load(Ordering::SeqCst);
            if !p.is_null() {
                // SAFETY: `p` is a leaked, NUL-terminated C string; unlink is
                // async-signal-safe.
                unsafe { libc::unlink(p) };
            }
        }
        // SAFETY: signal and raise are async-signal-safe; the default action of
        // SIGINT/SIGTERM/SIGHUP/SIGPIPE ends the process with the signal's status.
        unsafe {
            libc::signal(signal, libc::SIG_DFL);
            libc::raise(signal);
        }
    }

    pub fn install() {
        let handler = on_signal as extern "C" fn(c_int) as libc::sighandler_t;
        // SAFETY: installing a handler that only makes async-signal-safe calls,
        // and restoring SIGPIPE's default action.
        unsafe {
            libc::signal(libc::SIGINT, handler);
            libc::signal(libc::SIGTERM, handler);
            libc::signal(libc::SIGHUP, handler);
            // A closed stdout ends the process as SIGPIPE's default action
            // would (quietly, status 141), after removing the temporary files.
            libc::signal(libc::SIGPIPE, handler);
        }
    }
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

    #[test]
    fn outputs_that_are_inputs_are_refused() {
        let dir = std::env::temp_dir().join(format!("rramsim-io-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let input = dir.join("in.csv");
        std::fs::write(&input, "x").unwrap();
        let other = dir.join("out.csv");
        assert!(check_output("-o", &other, &[&input]).is_ok());
        // The same path, spelled differently.
        let err = check_output("-o", &dir.join(".").join("in.csv"), &[&input]).unwrap_err();
        assert_eq!(err.exit_code(), 2);
        assert!(err.to_string().contains("refusing to overwrite the input"), "{err}");
        #[cfg(unix)]
        {
            let link = dir.join("link.csv");
            let hard = dir.join("hard.csv");
            let _ = std::fs::remove_file(&link);
            let _ = std::fs::remove_file(&hard);
            std::os::unix::fs::symlink(&input, &link).unwrap();
            std::fs::hard_link(&input, &hard).unwrap();
            assert!(check_output("-o", &link, &[&input]).is_err());
            assert!(check_output("-o", &hard, &[&input]).is_err());
        }
        // A name that is not a file (a preset, a zoo network) is no input file.
        assert!(check_output("-o", &other, &[Path::new("isaac")]).is_ok());
        assert!(check_distinct_outputs(&[("--trace", &other), ("--save-baseline", &dir.join("./out.csv"))]).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
