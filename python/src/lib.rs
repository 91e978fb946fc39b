//! `rramsim._rramsim`: the compiled half of the `rramsim` Python package.
//!
//! The pure-Python package `rramsim` (python/rramsim/) re-exports what is here.
//! Conventions for the bindings:
//! - errors reach Python as [`RramsimError`] or one of its subclasses, with the
//!   located message of the Rust error (`file:line:column: ...`), never a panic;
//! - long-running Rust code runs inside `py.detach(..)` so other Python threads
//!   keep running while a simulation does.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;

create_exception!(rramsim, RramsimError, PyException, "Base class of every error raised by rramsim.");
create_exception!(
    rramsim,
    InputError,
    RramsimError,
    "Bad input: a malformed file, an unknown name or an out-of-range value. \
     The message says where (file:line:column or the argument at fault)."
);

/// The version of the Rust crates this module was built from.
#[pyfunction]
fn version() -> &'static str {
    env!("CARGO_PKG_VERSION")
}

/// FNV-1a 64 checksum of `data`, computed without holding the GIL.
///
/// Small on purpose: it shows the pattern every long-running binding follows
/// (borrow or copy the inputs, `py.detach`, convert the result).
#[pyfunction]
fn fnv1a(py: Python<'_>, data: &[u8]) -> u64 {
    py.detach(|| rramsim_core::codec::fnv1a(data))
}

#[pymodule]
fn _rramsim(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("RramsimError", py.get_type::<RramsimError>())?;
    m.add("InputError", py.get_type::<InputError>())?;
    m.add_function(wrap_pyfunction!(version, m)?)?;
    m.add_function(wrap_pyfunction!(fnv1a, m)?)?;
    Ok(())
}
